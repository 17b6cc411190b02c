/**
 * Reductions over any set of axes, with keepdim. The VJPs broadcast the output
 * gradient back over the reduced axes; max/min route it to the winners.
 */
import { noGrad, record } from '../autograd.ts';
import { assertFloat } from '../../base/dtype.ts';
import { IndexError, ValueError } from '../../base/errors.ts';
import { normalizeAxes, normalizeAxis } from '../../base/shape.ts';
import type { Tensor } from '../tensor.ts';
import type { ReduceOp } from '../../kernels/scalar.ts';
import { assertTensor, compute, viewOf } from './util.ts';
import { where } from './elementwise.ts';
import { scatterAddToZeros } from './indexing.ts';

type Axes = number | readonly number[] | undefined;

/** The shape with reduced axes removed (or kept as 1). */
function reducedShape(x: Tensor, axes: readonly number[], keepdim: boolean): number[] {
  return x.shape.flatMap((d, i) => (axes.includes(i) ? (keepdim ? [1] : []) : [d]));
}

/** The gradient of a reduction, reshaped with the reduced axes kept and expanded back to x. */
function spread(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return g.reshape(reducedShape(x, axes, true)).expand(x.shape);
}

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  return compute(x.dtype, reducedShape(x, axes, keepdim), (out, be) => be.reduce(op, viewOf(x), axes, out));
}

/**
 * Sum over `axes` (all when omitted), keeping them as size 1 with `keepdim`.
 *
 * @example
 * ```ts
 * import { sum, tensor } from 'sparsegrad';
 * const x = tensor([[1, 2], [3, 4]]);
 * sum(x).item(); // => 10
 * sum(x, 1); // => [3, 7]
 * sum(x, 0, true); // => [[4, 6]]
 * ```
 */
export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  assertTensor('sum', 'input', x);
  if (x.dtype === 'bool') return sum(x.to('int32'), axes, keepdim); // counting trues, as torch does
  const ax = normalizeAxes(axes, x.rank, 'sum');
  return record('SumBackward', reduceRaw('sum', x, ax, keepdim), [x], (g) => [spread(g, x, ax)]);
}

/**
 * mean = sum / count; the mean of nothing is NaN (0/0), as in torch.
 *
 * @example
 * ```ts
 * import { mean, tensor } from 'sparsegrad';
 * mean(tensor([[1, 2], [3, 4]]), 0); // => [2, 3]
 * ```
 */
export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  assertFloat('mean', 'input', x.dtype);
  const ax = normalizeAxes(axes, x.rank, 'mean');
  const count = ax.reduce((p, a) => p * x.shape[a]!, 1);
  return sum(x, ax, keepdim).div(count);
}

/**
 * Variance; unbiased (divide by n − 1, Bessel) by default as torch.var. Composite, so autograd derives its VJP.
 *
 * @example
 * ```ts
 * import { tensor, var_ } from 'sparsegrad';
 * var_(tensor([1, 2, 3, 4])).item(); // => 1.6667
 * var_(tensor([1, 2, 3, 4]), undefined, { unbiased: false }).item(); // => 1.25
 * ```
 */
export function variance(x: Tensor, axes?: Axes, options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  assertFloat('var', 'input', x.dtype);
  const ax = normalizeAxes(axes, x.rank, 'var');
  const count = ax.reduce((p, a) => p * x.shape[a]!, 1);
  const centered = x.sub(mean(x, ax, true));
  return sum(centered.mul(centered), ax, options.keepdim ?? false).div(Math.max(0, count - ((options.unbiased ?? true) ? 1 : 0)));
}

/** Max/min over all elements. The gradient is shared evenly among tied maxima (torch's rule for full reductions). */
function fullExtreme(op: 'max' | 'min', x: Tensor): Tensor {
  assertTensor(op, 'input', x);
  if (x.numel === 0)
    throw new ValueError(`${op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.`);
  const all = normalizeAxes(undefined, x.rank, op);
  const y = reduceRaw(op, x, all, false);
  return record(
    `${op}Backward`,
    y,
    [x],
    (g) => {
      const winners = x.eq(y).to(g.dtype);
      return [winners.mul(g).div(winners.sum())];
    },
    [x],
  );
}
export const amax = (x: Tensor) => fullExtreme('max', x);
export const amin = (x: Tensor) => fullExtreme('min', x);

/** Values and first indices of the max/min along one axis; the gradient goes to those indices. */
function extremeAlong(op: 'max' | 'min', x: Tensor, axis: number, keepdim: boolean): { values: Tensor; indices: Tensor } {
  assertTensor(op, 'input', x);
  const a = normalizeAxis(axis, x.rank, op);
  if (x.rank > 0 && x.shape[a] === 0) throw new IndexError(`${op}(): Expected reduction dim ${a} to have non-zero size.`);
  const shape = reducedShape(x, x.rank === 0 ? [] : [a], keepdim);
  const indices = compute('int32', shape, () => undefined);
  const values = compute(x.dtype, shape, (out, be) => (x.rank === 0 ? (out[0] = x.item()) : be.argReduce(op, viewOf(x), a, out, indices.data as Int32Array)));
  if (x.rank === 0) return { values: record(`${op}Backward`, values, [x], (g) => [g]), indices };
  const kept = keepdim ? indices : indices.unsqueeze(a);
  return {
    values: record(`${op}Backward`, values, [x], (g) => [scatterAddToZeros(x, a, kept, keepdim ? g : g.unsqueeze(a))]),
    indices,
  };
}
export const maxAlong = (x: Tensor, axis: number, keepdim = false) => extremeAlong('max', x, axis, keepdim);
export const minAlong = (x: Tensor, axis: number, keepdim = false) => extremeAlong('min', x, axis, keepdim);

/**
 * Index of the max (first one on ties); without an axis, into the flattened tensor.
 *
 * @example
 * ```ts
 * import { argmax, tensor } from 'sparsegrad';
 * argmax(tensor([[1, 9, 3], [7, 2, 7]]), 1); // => [1, 0]
 * argmax(tensor([[1, 9], [3, 4]])).item(); // => 1
 * ```
 */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  return axis === undefined ? maxAlong(x.reshape([-1]), 0).indices : maxAlong(x, axis, keepdim).indices;
}
/**
 * Index of the min (first one on ties); without an axis, into the flattened tensor.
 *
 * @example
 * ```ts
 * import { argmin, tensor } from 'sparsegrad';
 * argmin(tensor([[1, 9, 3], [7, 2, 2]]), 1); // => [0, 1]
 * ```
 */
export function argmin(x: Tensor, axis?: number, keepdim = false): Tensor {
  return axis === undefined ? minAlong(x.reshape([-1]), 0).indices : minAlong(x, axis, keepdim).indices;
}

/**
 * log Σ exp(x), stably: subtract the max first (a constant for autograd, so the VJP comes
 * out as softmax·g). Rows that are all −∞ give −∞, not NaN.
 *
 * @example
 * ```ts
 * import { logsumexp, tensor } from 'sparsegrad';
 * logsumexp(tensor([[0, 0], [1000, 1000]]), 1); // => [0.6931, 1000.6931]
 * ```
 */
export function logsumexp(x: Tensor, axes: Axes, keepdim = false): Tensor {
  assertFloat('logsumexp', 'input', x.dtype);
  const ax = normalizeAxes(axes, x.rank, 'logsumexp');
  const shift = noGrad(() => {
    const m = x.numel === 0 ? reduceRaw('sum', x, ax, true) : reduceRaw('max', x, ax, true);
    return where(m.abs().eq(Infinity), 0, m);
  });
  const out = sum(x.sub(shift).exp(), ax, true).log().add(shift);
  return keepdim ? out : out.reshape(reducedShape(x, ax, false));
}
