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

export function adamScalars(h: { lr: number; betas: readonly [number, number]; eps: number; weightDecay?: number }, step: number, variant: AdamVariant): AdamScalars {
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

/** The entries at `indices` only (moments dense, indexed like the parameter). */
export function adamAt(p: FloatStorage, indices: Int32Array, values: FloatStorage, m: FloatStorage, v: FloatStorage, c: AdamScalars): void {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    adamEntry(p, i, m, v, i, values[k]!, c);
  }
}

/** torch's checks and messages; SparseAdam (`positive`) also refuses lr = 0 and ε = 0. */
export function validateAdam(h: { lr: number; betas: readonly number[]; eps: number; weightDecay?: number }, positive = false): void {
  const inRange = (x: number) => (positive ? x > 0 : x >= 0);
  check(inRange(h.lr), `Invalid learning rate: ${pyFloat(h.lr)}`);
  check(inRange(h.eps), `Invalid epsilon value: ${pyFloat(h.eps)}`);
  check(h.betas.length === 2, `betas must be a pair, got ${h.betas.length} values`);
  h.betas.forEach((b, i) => check(b >= 0 && b < 1, `Invalid beta parameter at index ${i}: ${pyFloat(b)}`));
  if (h.weightDecay !== undefined) check(h.weightDecay >= 0, `Invalid weight_decay value: ${pyFloat(h.weightDecay)}`);
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

/** torch.optim.Adam's defaults. */
export const adam = adamRule('adam', 'Adam', 'adam', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
/** torch.optim.AdamW's defaults (weight decay 1e-2). */
export const adamW = adamRule('adamw', 'AdamW', 'adamw', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 });
/** transformers.AdamW's defaults (ε 1e-6; the HF Trainer passes its own adam_epsilon, 1e-8 by default). */
export const adamWHf = adamRule('adamw_hf', 'AdamW', 'adamw_hf', { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0 });
