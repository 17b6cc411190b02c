/**
 * Indexing ops: gather/scatterAdd along an axis (each the other's VJP), indexSelect
 * (a gather with a broadcast index), masks, triangles and one-hot encodings.
 */
import { record } from '../autograd.ts';
import { IndexError, ShapeError } from '../../base/errors.ts';
import { formatShape, normalizeAxis, sameShape } from '../../base/shape.ts';
import { getBackend } from '../../kernels/backend.ts';
import type { Tensor } from '../tensor.ts';
import { arange } from '../creation.ts';
import { assertTensor, compute, viewOf } from './util.ts';
import { where } from './elementwise.ts';

function assertIndex(op: string, index: Tensor): void {
  assertTensor(op, 'index', index);
  if (index.dtype !== 'int32') throw new TypeError(`${op}(): Expected dtype int32 for index, got ${index.dtype}`);
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

/** out[i][j] = x[i][index[i][j]] (axis 1); VJP: scatter-add the gradient back to those positions. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('gather', 'input', x);
  assertIndex('gather', index);
  const a = normalizeAxis(axis, x.rank, 'gather');
  assertGatherShapes('gather', x, a, index);
  assertInRange('gather', index, x.shape[a]!, a);
  const y = compute(x.dtype, index.shape, (out, be) => be.gather(viewOf(x), a, viewOf(index), out));
  return record('GatherBackward', y, [x], (g) => [x.zerosLike().scatterAdd(a, index, g)]);
}

/** x with src added at the indexed positions (duplicates accumulate); VJP: g for x, gather(g) for src. */
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
  if (src.dtype !== x.dtype) throw new TypeError(`scatterAdd(): expected src dtype ${x.dtype}, got ${src.dtype}`);
  assertInRange('scatterAdd', index, x.shape[a]!, a);
  const y = x.detach().clone(); // fresh and contiguous: the kernel adds into it
  getBackend().scatterAdd(y.data, y.shape, a, viewOf(index), viewOf(src));
  return record('ScatterAddBackward', y, [x, src], (g) => [g, src.requiresGrad ? g.gather(a, index) : null]);
}

/** Rows (or slices along `axis`) of x picked by a 1-D index; a gather whose index is broadcast. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('indexSelect', 'input', x);
  assertIndex('indexSelect', index);
  if (index.rank > 1) throw new ShapeError(`indexSelect(): Index is supposed to be a vector, got shape ${formatShape(index.shape)}`);
  const a = normalizeAxis(axis, x.rank, 'indexSelect');
  const shape = x.shape.map((d, i) => (i === a ? index.numel : d));
  const lifted = index.reshape(x.shape.map((_, i) => (i === a ? index.numel : 1)));
  return gather(x, a, lifted.expand(shape));
}

/** x with `value` wherever mask is true (mask broadcasts); the gradient is zero there. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  assertTensor('maskedFill', 'mask', mask);
  if (mask.dtype !== 'bool') throw new TypeError(`maskedFill(): expected a bool mask, got ${mask.dtype}`);
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
export const tril = (x: Tensor, diagonal = 0) => triangle(x, diagonal, true);
export const triu = (x: Tensor, diagonal = 0) => triangle(x, diagonal, false);

/** One-hot encoding along a new last axis: int32 by default, like torch's integer result. */
export function oneHot(indices: Tensor, numClasses: number, dtype: 'int32' | 'float32' | 'float64' = 'int32'): Tensor {
  assertIndex('oneHot', indices);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new IndexError(`oneHot(): numClasses must be a positive integer, got ${numClasses}`);
  assertInRange('oneHot', indices, numClasses, -1);
  return indices.unsqueeze(-1).eq(arange(numClasses)).to(dtype);
}
