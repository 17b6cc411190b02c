/**
 * The Adam family as one arithmetic, in three published variants:
 * - `adam`: torch's Adam; weight decay is L2, folded into the gradient
 *   (pytorch `torch/optim/adam.py`, `_single_tensor_adam`).
 * - `adamW`: torch's AdamW; decoupled decay `p·(1 − lr·wd)` before the step, ε added
 *   after bias correction (`torch/optim/adamw.py`).
 * - `adamWHf`: Hugging Face's `adamw_hf` (transformers 4.30 `optimization.py`,
 *   `AdamW.step`); ε added to the *uncorrected* √v, the correction folded into the step
 *   size, decay `p += p·(−lr·wd)` after the step. SparseAdam (sparse-adam.ts) uses this
 *   ε form too, so with every index present it equals `adamWHf` at wd = 0 bitwise.
 *
 * The order of operations is written once, in `adamEntry`, in float64 with each buffer
 * rounded once when stored:
 *   g ← grad (+ wd·p for Adam's L2)
 *   m ← m + (1−β1)·(g − m)        torch's `lerp_` form, and SparseAdam's
 *   v ← v + (1−β2)·(g·g − v)       SparseAdam's form (torch's Adam: β2·v + (1−β2)·g²; equal in exact arithmetic)
 *   p ← p·k − α·(m / (√v / s + ε))
 *   p ← p + p·(−lr·wd)             HF only, when wd > 0
 * torch's form: s = √(1−β2ᵗ), α = lr/(1−β1ᵗ); HF's and SparseAdam's: s = 1, α = lr·√(1−β2ᵗ)/(1−β1ᵗ).
 * k = 1 − lr·wd for torch's AdamW, else 1. Dividing by s = 1 and multiplying by k = 1
 * are exact, which is what lets all forms share one loop.
 */
import type { FloatStorage } from '../../base/dtype.ts';
import { allocate } from '../../base/dtype.ts';
import { check, pyFloat, type Hyper, type Rule, type RuleState } from '../optimizer.ts';

export interface AdamHyper extends Hyper {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

/** torch's buffer names, so state dicts read like torch's. */
export interface AdamState extends RuleState {
  exp_avg: FloatStorage;
  exp_avg_sq: FloatStorage;
}

export type AdamVariant = 'adam' | 'adamw' | 'adamw_hf' | 'sparse_adam';

/** The per-step scalars of one update: computed once per parameter tensor, never per entry. */
export interface AdamScalars {
  readonly oneMinusBeta1: number;
  readonly oneMinusBeta2: number;
  /** α above. */
  readonly stepSize: number;
  /** s above: √(1−β2ᵗ) in torch's ε form, 1 in HF's. */
  readonly sqrtCorrection2: number;
  readonly eps: number;
  /** Adam's L2 coefficient (0: none). */
  readonly l2: number;
  /** k above. */
  readonly decayFirst: number;
  /** HF's −lr·wd (0 or −0: none). */
  readonly decayAfter: number;
}

/**
 * The per-step scalars of `variant` at `step` (counted from 1).
 *
 * @example
 * ```ts
 * import { adamScalars } from 'sparsegrad/optim';
 * const c = adamScalars({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8 }, 1, 'adam');
 * c.stepSize; // => 1
 * c.sqrtCorrection2; // => 0.0316
 * ```
 */
export function adamScalars(
  h: { lr: number; betas: readonly [number, number]; eps: number; weightDecay?: number },
  step: number,
  variant: AdamVariant,
): AdamScalars {
  const [beta1, beta2] = h.betas;
  const wd = h.weightDecay ?? 0;
  const correction1 = 1 - beta1 ** step;
  const correction2 = 1 - beta2 ** step;
  const torchEps = variant === 'adam' || variant === 'adamw';
  return {
    oneMinusBeta1: 1 - beta1,
    oneMinusBeta2: 1 - beta2,
    stepSize: torchEps ? h.lr / correction1 : (h.lr * Math.sqrt(correction2)) / correction1,
    sqrtCorrection2: torchEps ? Math.sqrt(correction2) : 1,
    eps: h.eps,
    l2: variant === 'adam' ? wd : 0,
    decayFirst: variant === 'adamw' ? 1 - h.lr * wd : 1,
    decayAfter: variant === 'adamw_hf' ? -h.lr * wd : 0,
  };
}

/**
 * One entry's update — the only place the Adam arithmetic is written. The parameter
 * entry is `p[i]`, its moments `m[j]`, `v[j]` (j = i for dense moments; SparseAdam's
 * sparse moments store them compactly). Small enough for V8 to inline into each loop.
 *
 * @example
 * ```ts
 * import { adamEntry, adamScalars } from 'sparsegrad/optim';
 * const p = new Float64Array([1]), m = new Float64Array(1), v = new Float64Array(1);
 * adamEntry(p, 0, m, v, 0, 2, adamScalars({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8 }, 1, 'adam'));
 * [p[0], m[0], v[0]]; // => [0.9, 0.2, 0.004]
 * ```
 */
export function adamEntry(p: FloatStorage, i: number, m: FloatStorage, v: FloatStorage, j: number, grad: number, c: AdamScalars): void {
  const g = c.l2 === 0 ? grad : grad + c.l2 * p[i]!;
  m[j] = m[j]! + c.oneMinusBeta1 * (g - m[j]!);
  v[j] = v[j]! + c.oneMinusBeta2 * (g * g - v[j]!);
  // Read the moments back as stored (float32 rounds), as torch's step sees them.
  let x = p[i]! * c.decayFirst - c.stepSize * (m[j]! / (Math.sqrt(v[j]!) / c.sqrtCorrection2 + c.eps));
  if (c.decayAfter !== 0) x += x * c.decayAfter;
  p[i] = x;
}

/**
 * The entries at `indices` only (moments dense, indexed like the parameter).
 *
 * @example
 * ```ts
 * import { adamAt, adamScalars } from 'sparsegrad/optim';
 * const p = new Float64Array([1, 1, 1]), m = new Float64Array(3), v = new Float64Array(3);
 * adamAt(p, new Int32Array([2]), new Float64Array([2]), m, v, adamScalars({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8 }, 1, 'adam'));
 * Array.from(p); // => [1, 1, 0.9]
 * ```
 */
export function adamAt(p: FloatStorage, indices: Int32Array, values: FloatStorage, m: FloatStorage, v: FloatStorage, c: AdamScalars): void {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    adamEntry(p, i, m, v, i, values[k]!, c);
  }
}

/**
 * torch's checks and messages; SparseAdam (`positive`) also refuses lr = 0 and ε = 0.
 * Stricter than torch in one way: lr, ε and weight decay must be finite (torch takes
 * lr = inf and turns every weight into ±inf or NaN at the first step).
 *
 * @example
 * ```ts
 * import { validateAdam } from 'sparsegrad/optim';
 * let message = '';
 * try { validateAdam({ lr: -1, betas: [0.9, 0.999], eps: 1e-8 }); } catch (e) { message = (e as Error).message; }
 * message; // => 'Invalid learning rate: -1.0'
 * ```
 */
export function validateAdam(h: { lr: number; betas: readonly number[]; eps: number; weightDecay?: number }, positive = false): void {
  const inRange = (x: number) => Number.isFinite(x) && (positive ? x > 0 : x >= 0);
  check(inRange(h.lr), `Invalid learning rate: ${pyFloat(h.lr)}`);
  check(inRange(h.eps), `Invalid epsilon value: ${pyFloat(h.eps)}`);
  check(Array.isArray(h.betas) && h.betas.length === 2, `betas must be a pair, got ${Array.isArray(h.betas) ? `${h.betas.length} values` : String(h.betas)}`);
  h.betas.forEach((b, i) => check(b >= 0 && b < 1, `Invalid beta parameter at index ${i}: ${pyFloat(b)}`));
  if (h.weightDecay !== undefined) check(Number.isFinite(h.weightDecay) && h.weightDecay >= 0, `Invalid weight_decay value: ${pyFloat(h.weightDecay)}`);
}

function adamRule(name: string, torchName: string, variant: AdamVariant, defaults: AdamHyper): Rule<AdamHyper, AdamState> {
  return {
    name,
    defaults: Object.freeze(defaults),
    refusal: `${torchName} does not support sparse gradients, please consider SparseAdam instead`,
    validate: (h) => validateAdam(h),
    init: (size, dtype) => ({ exp_avg: allocate(dtype, size) as FloatStorage, exp_avg_sq: allocate(dtype, size) as FloatStorage }),
    dense(p, grad, state, h, step) {
      const c = adamScalars(h, step, variant);
      const { exp_avg: m, exp_avg_sq: v } = state;
      for (let i = 0; i < p.length; i++) adamEntry(p, i, m, v, i, grad[i]!, c);
    },
  };
}

/**
 * torch.optim.Adam's defaults.
 *
 * @example
 * ```ts
 * import { adam, Optimizer } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new Optimizer([w], { rule: adam, lr: 0.1 });
 * w.mul(w).sum().backward();
 * opt.step(); // Adam's first step moves each entry by lr against its gradient's sign
 * w; // => [0.9, 1.9]
 * ```
 */
export const adam = adamRule('adam', 'Adam', 'adam', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
/**
 * torch.optim.AdamW's defaults (weight decay 1e-2).
 *
 * @example
 * ```ts
 * import { adamW, Optimizer } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new Optimizer([w], { rule: adamW, lr: 0.1, weightDecay: 0.01 });
 * w.mul(w).sum().backward();
 * opt.step(); // p·(1 − lr·wd) − lr·sign(g)
 * w; // => [0.899, 1.898]
 * ```
 */
export const adamW = adamRule('adamw', 'AdamW', 'adamw', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 });
/**
 * transformers.AdamW's defaults (ε 1e-6; the HF Trainer passes its own adam_epsilon, 1e-8 by default).
 *
 * @example
 * ```ts
 * import { adamWHf, Optimizer } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([1, 2], { requiresGrad: true });
 * const opt = new Optimizer([w], { rule: adamWHf, lr: 0.1 });
 * w.mul(w).sum().backward();
 * opt.step();
 * w; // => [0.9, 1.9]
 * ```
 */
export const adamWHf = adamRule('adamw_hf', 'AdamW', 'adamw_hf', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0 });
