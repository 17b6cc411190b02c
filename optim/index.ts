/**
 * `sparsegrad/optim`: pure update rules, the `Optimizer` shell over parameter groups,
 * schedules and gradient clipping. The classes are the shell with one rule, under
 * torch's names: `new AdamW(params, { lr })` is `new Optimizer(params, { rule: adamW, lr })`.
 */
import type { Tensor } from '../core/tensor.ts';
import { Optimizer, type GroupSpec, type Hyper, type OptimizerOptions, type Rule, type RuleState } from './optimizer.ts';
import { adam, adamW, adamWHf } from './rules/adam.ts';
import { sgd } from './rules/sgd.ts';
import { sparseAdam } from './rules/sparse-adam.ts';

export {
  NonFiniteGradError,
  Optimizer,
  pyFloat,
  type AnyRule,
  type DenseUpdate,
  type GroupSpec,
  type Hyper,
  type OptimizerOptions,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamStateDict,
  type Rule,
  type RuleState,
  type SparseUpdate,
} from './optimizer.ts';
export {
  adam,
  adamAt,
  adamEntry,
  adamScalars,
  adamW,
  adamWHf,
  validateAdam,
  type AdamHyper,
  type AdamScalars,
  type AdamState,
  type AdamVariant,
} from './rules/adam.ts';
export { sparseAdam, type SparseAdamHyper, type SparseAdamState } from './rules/sparse-adam.ts';
export { sgd, type SgdHyper, type SgdState } from './rules/sgd.ts';
export { constant, cosine, linear, LRScheduler, stepDecay, type DecayOptions, type Schedule, type WarmupOptions } from './schedule.ts';
export { clipGradNorm, type ClipOptions } from './clip.ts';

/** The constructor of an `Optimizer` bound to one rule (what `new AdamW(params, { lr })` calls). */
export type OptimizerClass<H extends Hyper> = new (params: readonly Tensor[] | readonly GroupSpec[], hyper?: Partial<H> & OptimizerOptions) => Optimizer;

/** An `Optimizer` class bound to one rule; hyper-parameters default to the rule's. */
function withRule<H extends Hyper, S extends RuleState>(rule: Rule<H, S>): OptimizerClass<H> {
  return class extends Optimizer {
    constructor(params: readonly Tensor[] | readonly GroupSpec[], hyper: Partial<H> & OptimizerOptions = {}) {
      super(params, { ...hyper, rule });
    }
  };
}

/**
 * `new SGD(params, hyper)`: the Optimizer with the `sgd` rule.
 *
 * @example
 * ```ts
 * import { SGD } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new SGD([w], { lr: 0.5 });
 * w.sum().backward();
 * opt.step();
 * w; // => [0.5, 1.5]
 * ```
 */
export const SGD = withRule(sgd);
/**
 * `new Adam(params, hyper)`: the Optimizer with the `adam` rule.
 *
 * @example
 * ```ts
 * import { Adam } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, -1], { requiresGrad: true });
 * const opt = new Adam([w], { lr: 0.1 });
 * w.mul(w).sum().backward();
 * opt.step();
 * w; // => [0.9, -0.9]
 * ```
 */
export const Adam = withRule(adam);
/**
 * `new AdamW(params, hyper)`: the Optimizer with the `adamW` rule.
 *
 * @example
 * ```ts
 * import { AdamW } from 'sparsegrad/optim';
 * import { Linear } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const fc = new Linear(4, 2);
 * const opt = new AdamW(fc.parameters(), { lr: 1e-3, weightDecay: 0.01 });
 * fc.forward(ones([3, 4])).pow(2).mean().backward();
 * opt.step();
 * opt.paramGroups[0]!.params.length; // => 2
 * ```
 */
export const AdamW = withRule(adamW);
/**
 * Hugging Face's `adamw_hf` (transformers 4.30 AdamW).
 *
 * @example
 * ```ts
 * import { AdamWHf } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new AdamWHf([w], { lr: 0.1 });
 * w.mul(w).sum().backward();
 * opt.step();
 * w; // => [0.9, 1.9]
 * ```
 */
export const AdamWHf = withRule(adamWHf);
/**
 * `new SparseAdam(params, hyper)`: the Optimizer with the `sparseAdam` rule; gradients must be sparse.
 *
 * @example
 * ```ts
 * import { SparseAdam } from 'sparsegrad/optim';
 * import { tensor, topK, type Tensor } from 'sparsegrad';
 * const w = tensor([1, 2, 3], { requiresGrad: true });
 * w.registerHook((g) => topK(g as Tensor, 2));
 * const opt = new SparseAdam([w], { lr: 0.1 });
 * w.mul(w).sum().backward();
 * opt.step();
 * w; // => [1, 1.9, 2.9]
 * ```
 */
export const SparseAdam = withRule(sparseAdam);
