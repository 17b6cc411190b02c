/**
 * Gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_
 * (`torch/nn/utils/clip_grad.py`): the total norm is the p-norm of the per-gradient
 * p-norms; every gradient is scaled by min(1, maxNorm / (total + 1e-6)). A sparse
 * gradient counts its stored values (absent entries are zeros).
 */
import type { FloatStorage } from '../base/dtype.ts';
import { ValueError } from '../base/errors.ts';
import { SparseCoo } from '../core/sparse.ts';
import { Tensor } from '../core/tensor.ts';
import { check, pyFloat } from './optimizer.ts';

export interface ClipOptions {
  /** p of the norm: any p > 0, or Infinity (max |g|). Default 2. */
  normType?: number;
  /** Throw when the total norm is NaN or ±Inf instead of scaling by it (torch's default: false). */
  errorIfNonfinite?: boolean;
}

/**
 * Clip the gradients of `parameters` in place; returns the total norm before clipping (0 when no gradient).
 *
 * @example
 * ```ts
 * import { clipGradNorm } from 'sparsegrad/optim';
 * import { tensor } from 'sparsegrad';
 * const w = tensor([3, 4], { requiresGrad: true });
 * w.mul(w).sum().mul(0.5).backward(); // gradient w = [3, 4], norm 5
 * clipGradNorm([w], 1); // => 5
 * w.grad; // => [0.6, 0.8]
 * ```
 */
export function clipGradNorm(parameters: Tensor | Iterable<Tensor>, maxNorm: number, { normType = 2, errorIfNonfinite = false }: ClipOptions = {}): number {
  check(normType > 0, `clipGradNorm: normType must be positive or Infinity, got ${pyFloat(normType)}`);
  const params = [...(parameters instanceof Tensor ? [parameters] : parameters)].filter((p) => p.grad !== null);
  const norms = params.map((p) => norm(gradValues(p), normType));
  const total = norm(norms, normType);
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError(
      `The total norm of order ${pyFloat(normType)} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
        'To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`',
    );
  }
  const coef = maxNorm / (total + 1e-6);
  // `!(coef >= 1)`: a NaN norm scales by NaN, as torch's clamp(coef, max=1) does. Scaling by 1 would change nothing.
  if (!(coef >= 1)) for (const p of params) scaleGrad(p, coef);
  return total;
}

function gradValues(p: Tensor): ArrayLike<number> {
  const g = p.grad!;
  return g instanceof SparseCoo ? g.values : g.contiguous().data;
}

/** The p-norm of values, accumulated in float64; p = 2 as √Σx² so that it is exact where it can be. */
function norm(values: ArrayLike<number>, p: number): number {
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    acc = p === Infinity ? (a > acc || Number.isNaN(a) ? a : acc) : acc + (p === 2 ? a * a : a ** p);
  }
  return p === Infinity ? acc : p === 2 ? Math.sqrt(acc) : acc ** (1 / p);
}

/**
 * Dense gradients are private copies (the engine clones on accumulation), so they scale
 * in place. A sparse one may be the very object a hook returned and still holds, so it is
 * replaced by a scaled copy rather than mutated.
 */
function scaleGrad(p: Tensor, coef: number): void {
  const g = p.grad!;
  const values = g instanceof SparseCoo ? g.values.slice() : (g.contiguous().data as FloatStorage);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * coef;
  if (g instanceof SparseCoo) p.grad = new SparseCoo(g.shape, g.indices, values);
  else if (values === g.data) g.storage.version++;
  else p.grad = Tensor.fromStorage(values, g.shape);
}
