/**
 * Indexing ops: gather/scatterAdd along an axis (each the other's VJP), indexSelect
 * (a gather with a broadcast index), masks, triangles and one-hot encodings.
 */
import { record } from '../autograd.ts';
import { DTypeError, IndexError, ShapeError } from '../../base/errors.ts';
import { formatShape, normalizeAxis, sameShape } from '../../base/shape.ts';
import { getBackend } from '../../kernels/backend.ts';
import type { Tensor } from '../tensor.ts';
import { arange } from '../creation.ts';
import { assertTensor, compute, empty, viewOf } from './util.ts';
import { where } from './elementwise.ts';

function assertIndex(op: string, index: Tensor): void {
  assertTensor(op, 'index', index);
  if (index.dtype !== 'int32') throw new DTypeError(`${op}(): Expected dtype int32 for index, got ${index.dtype}`);
}

/** Every index value must lie in [0, size): checked up front, never a silent wrong read. */
function assertInRange(op: string, index: Tensor, size: number, axis: number): void {
  const values = index.toTypedArray();
  for (const v of values) {
    if (v < 0 || v >= size) throw new IndexError(`${op}(): index ${v} is out of bounds for dimension ${axis} with size ${size}`);
  }
}

/** Index shape must match x's rank and not exceed it off-axis (torch.gather's rule). */
function assertGatherShapes(op: string, x: Tensor, axis: number, index: Tensor): void {
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== axis && d > x.shape[i]!)) {
    throw new ShapeError(`${op}(): Size does not match at dimension ${axis}: index ${formatShape(index.shape)} for input ${formatShape(x.shape)}`);
  }
}

/**
 * out[i][j] = x[i][index[i][j]] (axis 1); VJP: scatter-add the gradient back to those positions.
 *
 * @example
 * ```ts
 * import { gather, tensor } from 'sparsegrad';
 * const index = tensor([[2, 0], [1, 1]], { dtype: 'int32' });
 * gather(tensor([[10, 20, 30], [40, 50, 60]]), 1, index); // => [[30, 10], [50, 50]]
 * ```
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('gather', 'input', x);
  assertIndex('gather', index);
  const a = normalizeAxis(axis, x.rank, 'gather');
  assertGatherShapes('gather', x, a, index);
  assertInRange('gather', index, x.shape[a]!, a);
  return gatherInRange(x, a, index);
}

/** gather with the index already checked (indexSelect checks its 1-D index, not the broadcast one). */
function gatherInRange(x: Tensor, a: number, index: Tensor): Tensor {
  const y = compute(x.dtype, index.shape, (out, be) => be.gather(viewOf(x), a, viewOf(index), out));
  return record('GatherBackward', y, [x], (g) => [scatterAddToZeros(x, a, index, g)]);
}

/**
 * zeros like x with src added at the index, which an op made or already checked: a gradient
 * routed back to the entries a forward picked (gather's, max's). Scattered onto fresh zeros
 * directly, where `x.zerosLike().scatterAdd()` would clone them (a second allocation as large
 * as x: 30522 × 256 for BERT's word embeddings) and check the index again; and made by an op,
 * the result can become a leaf's .grad without a copy (core/ownership.ts).
 */
export function scatterAddToZeros(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  return addScattered(empty(x.dtype, x.shape, true), null, axis, index, src);
}

/**
 * x with src added at the indexed positions (duplicates accumulate); VJP: g for x, gather(g) for src.
 *
 * @example
 * ```ts
 * import { scatterAdd, tensor, zeros } from 'sparsegrad';
 * const index = tensor([0, 2, 0], { dtype: 'int32' });
 * scatterAdd(zeros([3]), 0, index, tensor([1, 2, 3])); // => [4, 0, 2]
 * ```
 */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('scatterAdd', 'input', x);
  assertTensor('scatterAdd', 'src', src);
  assertIndex('scatterAdd', index);
  const a = normalizeAxis(axis, x.rank, 'scatterAdd');
  assertGatherShapes('scatterAdd', x, a, index);
  // torch allows src larger than index; we require equal shapes so that src's gradient is exactly gather(g).
  if (!sameShape(src.shape, index.shape)) {
    throw new ShapeError(`scatterAdd(): expected src ${formatShape(src.shape)} to have the index's shape ${formatShape(index.shape)}`);
  }
  if (src.dtype !== x.dtype) throw new DTypeError(`scatterAdd(): expected src dtype ${x.dtype}, got ${src.dtype}`);
  assertInRange('scatterAdd', index, x.shape[a]!, a);
  return addScattered(x.detach().clone(), x, a, index, src); // the clone is fresh and contiguous: the kernel adds into it
}

/**
 * Adds src at the (checked) index into y, a fresh contiguous tensor of its own, and records
 * the op: its gradient is g for x (when there is one) and gather(g) for src.
 */
function addScattered(y: Tensor, x: Tensor | null, axis: number, index: Tensor, src: Tensor): Tensor {
  getBackend().scatterAdd(y.data, y.shape, axis, viewOf(index), viewOf(src));
  const srcGrad = (g: Tensor) => (src.requiresGrad ? g.gather(axis, index) : null);
  return x ? record('ScatterAddBackward', y, [x, src], (g) => [g, srcGrad(g)]) : record('ScatterAddBackward', y, [src], (g) => [srcGrad(g)]);
}

/**
 * Rows (or slices along `axis`) of x picked by a 1-D index; a gather whose index is broadcast.
 *
 * @example
 * ```ts
 * import { indexSelect, tensor } from 'sparsegrad';
 * indexSelect(tensor([[1, 2], [3, 4], [5, 6]]), 0, tensor([2, 0], { dtype: 'int32' })); // => [[5, 6], [1, 2]]
 * ```
 */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('indexSelect', 'input', x);
  assertIndex('indexSelect', index);
  if (index.rank > 1) throw new ShapeError(`indexSelect(): Index is supposed to be a vector, got shape ${formatShape(index.shape)}`);
  const a = normalizeAxis(axis, x.rank, 'indexSelect');
  const shape = x.shape.map((d, i) => (i === a ? index.numel : d));
  assertInRange('indexSelect', index, x.shape[a]!, a);
  const lifted = index.reshape(x.shape.map((_, i) => (i === a ? index.numel : 1)));
  return gatherInRange(x, a, lifted.expand(shape));
}

/**
 * x with `value` wherever mask is true (mask broadcasts); the gradient is zero there.
 *
 * @example
 * ```ts
 * import { maskedFill, tensor } from 'sparsegrad';
 * const x = tensor([1, -2, 3]);
 * maskedFill(x, x.lt(0), 0); // => [1, 0, 3]
 * ```
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  assertTensor('maskedFill', 'mask', mask);
  if (mask.dtype !== 'bool') throw new DTypeError(`maskedFill(): expected a bool mask, got ${mask.dtype}`);
  return where(mask, value, x);
}

/** Keep the lower (tril) or upper (triu) triangle of the last two axes, relative to `diagonal`. */
function triangle(x: Tensor, diagonal: number, lower: boolean): Tensor {
  if (x.rank < 2) throw new ShapeError(`${lower ? 'tril' : 'triu'}: input tensor must have at least 2 dimensions`);
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  const offset = arange(cols).unsqueeze(0).sub(arange(rows).unsqueeze(1)); // j − i
  const keep = lower ? offset.le(diagonal) : offset.ge(diagonal);
  return where(keep, x, 0);
}
/**
 * The lower triangle of the last two axes, on and below `diagonal`; zeros elsewhere.
 *
 * @example
 * ```ts
 * import { ones, tril } from 'sparsegrad';
 * tril(ones([3, 3])); // => [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
 * ```
 */
export const tril = (x: Tensor, diagonal = 0) => triangle(x, diagonal, true);
/**
 * The upper triangle (see tril); `diagonal` 1 drops the main diagonal, as a causal mask wants.
 *
 * @example
 * ```ts
 * import { ones, triu } from 'sparsegrad';
 * triu(ones([3, 3]), 1); // => [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
 * ```
 */
export const triu = (x: Tensor, diagonal = 0) => triangle(x, diagonal, false);

/**
 * One-hot encoding along a new last axis: int32 by default, like torch's integer result.
 *
 * @example
 * ```ts
 * import { oneHot, tensor } from 'sparsegrad';
 * oneHot(tensor([0, 2], { dtype: 'int32' }), 3); // => [[1, 0, 0], [0, 0, 1]]
 * ```
 */
export function oneHot(indices: Tensor, numClasses: number, dtype: 'int32' | 'float32' | 'float64' = 'int32'): Tensor {
  assertIndex('oneHot', indices);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new IndexError(`oneHot(): numClasses must be a positive integer, got ${numClasses}`);
  assertInRange('oneHot', indices, numClasses, -1);
  return indices.unsqueeze(-1).eq(arange(numClasses)).to(dtype);
}
