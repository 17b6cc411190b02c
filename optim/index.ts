/**
 * `sparsegrad/optim`: pure update rules, the `Optimizer` shell over parameter groups,
 * schedules and gradient clipping. The classes are the shell with one rule, under
 * torch's names: `new AdamW(params, { lr })` is `new Optimizer(params, { rule: adamW, lr })`.
 */
import type { Tensor } from '../core/tensor.ts';
import { Optimizer, type GroupSpec, type Hyper, type Rule, type RuleState } from './optimizer.ts';
import { adam, adamW, adamWHf } from './rules/adam.ts';
import { sgd } from './rules/sgd.ts';
import { sparseAdam } from './rules/sparse-adam.ts';

export { Optimizer, pyFloat, type AnyRule, type DenseUpdate, type GroupSpec, type Hyper, type OptimizerStateDict, type ParamGroup, type ParamStateDict, type Rule, type RuleState, type SparseUpdate } from './optimizer.ts';
export { adam, adamAt, adamEntry, adamScalars, adamW, adamWHf, validateAdam, type AdamHyper, type AdamScalars, type AdamState, type AdamVariant } from './rules/adam.ts';
export { sparseAdam, type SparseAdamHyper, type SparseAdamState } from './rules/sparse-adam.ts';
export { sgd, type SgdHyper, type SgdState } from './rules/sgd.ts';
export { constant, cosine, linear, LRScheduler, stepDecay, type DecayOptions, type Schedule, type WarmupOptions } from './schedule.ts';
export { clipGradNorm, type ClipOptions } from './clip.ts';

/** The constructor of an `Optimizer` bound to one rule (what `new AdamW(params, { lr })` calls). */
export type OptimizerClass<H extends Hyper> = new (params: readonly Tensor[] | readonly GroupSpec[], hyper?: Partial<H>) => Optimizer;

/** An `Optimizer` class bound to one rule; hyper-parameters default to the rule's. */
function withRule<H extends Hyper, S extends RuleState>(rule: Rule<H, S>): OptimizerClass<H> {
  return class extends Optimizer {
    constructor(params: readonly Tensor[] | readonly GroupSpec[], hyper: Partial<H> = {}) {
      super(params, { ...hyper, rule });
    }
  };
}

export const SGD = withRule(sgd);
export const Adam = withRule(adam);
export const AdamW = withRule(adamW);
/** Hugging Face's `adamw_hf` (transformers 4.30 AdamW). */
export const AdamWHf = withRule(adamWHf);
export const SparseAdam = withRule(sparseAdam);
