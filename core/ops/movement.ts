/**
 * Movement ops change how storage is read, not what it holds: reshape (of a contiguous
 * tensor), permute, expand, squeeze, slice are views sharing storage. Their VJPs move
 * the gradient back the opposite way. cat/stack/clone/cast copy.
 */
import { record } from '../autograd.ts';
import { allocate, isFloat, type DType } from '../../base/dtype.ts';
import { IndexError, ShapeError, ValueError } from '../../base/errors.ts';
import { broadcastStrides, checkNumel, contiguousStrides, formatShape, normalizeAxis, resolveShape, sameShape, type Shape } from '../../base/shape.ts';
import { Tensor } from '../tensor.ts';
import { assertTensor, compute, sumToShape, viewOf } from './util.ts';

/** A contiguous copy; the gradient passes through unchanged. */
export function clone(x: Tensor): Tensor {
  const y = compute(x.dtype, x.shape, (out, be) => be.copy(viewOf(x), out));
  return record('CloneBackward', y, [x], (g) => [g]);
}

/** Convert dtype; bool is "≠ 0", floats round, int32 truncates toward zero. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return x;
  if (dtype === 'bool') return x.ne(0);
  const y = compute(dtype, x.shape, (out, be) => be.copy(viewOf(x), out));
  if (!isFloat(dtype) || !isFloat(x.dtype)) return y;
  return record('CastBackward', y, [x], (g) => [g.to(x.dtype)]);
}

/**
 * Same elements, new shape. A view when x is contiguous, a copy otherwise.
 *
 * @example
 * ```ts
 * import { reshape, tensor } from 'sparsegrad';
 * reshape(tensor([1, 2, 3, 4, 5, 6]), [2, -1]); // => [[1, 2, 3], [4, 5, 6]]
 * ```
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = resolveShape('reshape', shape, x.numel);
  const base = x.isContiguous() ? x : clone(x);
  return asView('ReshapeBackward', base, target, contiguousStrides(target), base.offset, (g) => g.reshape(x.shape));
}

/** Like reshape but never copies: a non-contiguous input is an error. */
export function view(x: Tensor, shape: Shape): Tensor {
  if (!x.isContiguous()) {
    throw new ShapeError(
      `view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.`,
    );
  }
  return reshape(x, shape);
}

/**
 * Merge the axes from `startAxis` to `endAxis` into one.
 *
 * @example
 * ```ts
 * import { flatten, zeros } from 'sparsegrad';
 * flatten(zeros([2, 3, 4])).shape; // => [24]
 * flatten(zeros([2, 3, 4]), 1).shape; // => [2, 12]
 * ```
 */
export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  if (x.rank === 0) return x.reshape([1]);
  const s = normalizeAxis(startAxis, x.rank, 'flatten');
  const e = normalizeAxis(endAxis, x.rank, 'flatten');
  const merged = x.shape.slice(s, e + 1).reduce((p, q) => p * q, 1);
  return x.reshape([...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/**
 * Reorder axes; the gradient is permuted back by the inverse permutation.
 *
 * @example
 * ```ts
 * import { permute, zeros } from 'sparsegrad';
 * permute(zeros([2, 3, 4]), [2, 0, 1]).shape; // => [4, 2, 3]
 * ```
 */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  if (axes.length !== x.rank) throw new ShapeError(`permute(): number of dims don't match in permute (got ${axes.length} for a tensor of rank ${x.rank})`);
  const order = axes.map((a) => normalizeAxis(a, x.rank, 'permute'));
  if (new Set(order).size !== order.length) throw new ValueError(`permute(): repeated dim in ${formatShape(axes)}`);
  const inverse = new Array<number>(order.length);
  order.forEach((a, i) => (inverse[a] = i));
  return asView(
    'PermuteBackward',
    x,
    order.map((a) => x.shape[a]!),
    order.map((a) => x.strides[a]!),
    x.offset,
    (g) => g.permute(inverse),
  );
}

/**
 * Swap two axes (a view).
 *
 * @example
 * ```ts
 * import { tensor, transpose } from 'sparsegrad';
 * transpose(tensor([[1, 2, 3], [4, 5, 6]]), 0, 1); // => [[1, 4], [2, 5], [3, 6]]
 * ```
 */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  if (x.rank < 2 && a === -2 && b === -1) return x; // a 0-d or 1-d tensor is its own transpose
  const order = x.shape.map((_, i) => i);
  const [i, j] = [normalizeAxis(a, x.rank, 'transpose'), normalizeAxis(b, x.rank, 'transpose')];
  [order[i], order[j]] = [order[j]!, order[i]!];
  return permute(x, order);
}

/**
 * Broadcast to `shape` with stride 0 (no copy); -1 keeps a size. The gradient is summed back.
 *
 * @example
 * ```ts
 * import { expand, tensor } from 'sparsegrad';
 * expand(tensor([[1], [2]]), [2, 3]); // => [[1, 1, 1], [2, 2, 2]]
 * ```
 */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0)
    throw new ShapeError(
      `expand: the number of sizes provided (${shape.length}) must be greater or equal to the number of dimensions in the tensor (${x.rank})`,
    );
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  if (target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      `expand: invalid size in ${formatShape(shape)} for a tensor of shape ${formatShape(x.shape)} (-1 may only keep an existing dimension)`,
    );
  }
  // A stride-0 view allocates nothing, but every kernel would walk all its elements.
  checkNumel('expand', target);
  return asView('ExpandBackward', x, target, broadcastStrides(x.shape, x.strides, target), x.offset, (g) => sumToShape(g, x.shape));
}

/**
 * Drop size-1 axes: the given one, or all of them.
 *
 * @example
 * ```ts
 * import { squeeze, zeros } from 'sparsegrad';
 * squeeze(zeros([1, 3, 1])).shape; // => [3]
 * squeeze(zeros([1, 3, 1]), 0).shape; // => [3, 1]
 * ```
 */
export function squeeze(x: Tensor, axis?: number): Tensor {
  const drop =
    axis === undefined
      ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
      : [normalizeAxis(axis, x.rank, 'squeeze')].filter((i) => x.shape[i] === 1);
  const keep = (_: number, i: number) => !drop.includes(i);
  return asView('SqueezeBackward', x, x.shape.filter(keep), x.strides.filter(keep), x.offset, (g) => g.reshape(x.shape));
}

/**
 * Insert a size-1 axis at `axis`.
 *
 * @example
 * ```ts
 * import { tensor, unsqueeze } from 'sparsegrad';
 * unsqueeze(tensor([1, 2]), 1); // => [[1], [2]]
 * ```
 */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  const shape = [...x.shape.slice(0, a), 1, ...x.shape.slice(a)];
  const strides = [...x.strides.slice(0, a), a < x.rank ? x.strides[a]! * x.shape[a]! : 1, ...x.strides.slice(a)];
  return asView('UnsqueezeBackward', x, shape, strides, x.offset, (g) => g.reshape(x.shape));
}

/**
 * Python-style slicing along one axis: negative bounds count from the end, bounds are
 * clamped, `step` > 0 skips. A view; the gradient is scattered into a zero tensor.
 *
 * @example
 * ```ts
 * import { slice, tensor } from 'sparsegrad';
 * slice(tensor([0, 1, 2, 3, 4, 5]), 0, 1, 5, 2); // => [1, 3]
 * slice(tensor([[1, 2, 3], [4, 5, 6]]), 1, -2); // => [[2, 3], [5, 6]]
 * ```
 */
export function slice(x: Tensor, axis: number, start?: number, end?: number, step = 1): Tensor {
  const a = normalizeAxis(axis, x.rank, 'slice');
  if (!Number.isInteger(step) || step <= 0) throw new ValueError(`slice(): step must be a positive integer, got ${step}`);
  const n = x.shape[a]!;
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIndex(start ?? 0);
  const e = Math.max(clampIndex(end ?? n), s);
  const length = Math.ceil((e - s) / step);
  const shape = x.shape.map((d, i) => (i === a ? length : d));
  const strides = x.strides.map((st, i) => (i === a ? st * step : st));
  return asView('SliceBackward', x, shape, strides, x.offset + (length > 0 ? s * x.strides[a]! : 0), (g) => {
    const dx = x.zerosLike();
    dx.slice(a, s, e, step).copy_(g);
    return dx;
  });
}

/**
 * `length` elements from `start` along an axis; unlike slice, out-of-range bounds are an error.
 *
 * @example
 * ```ts
 * import { narrow, tensor } from 'sparsegrad';
 * narrow(tensor([[1, 2, 3], [4, 5, 6]]), 1, 1, 2); // => [[2, 3], [5, 6]]
 * ```
 */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'narrow');
  const n = x.shape[a]!;
  const s = start < 0 ? start + n : start;
  if (s < 0 || length < 0 || s + length > n) {
    throw new IndexError(`narrow(): start (${start}) + length (${length}) exceeds dimension size (${n}).`);
  }
  return slice(x, a, s, s + length);
}

/**
 * Join along an existing axis. Shapes must agree elsewhere; the gradient is split back.
 *
 * @example
 * ```ts
 * import { cat, tensor } from 'sparsegrad';
 * cat([tensor([[1, 2]]), tensor([[3, 4]])]); // => [[1, 2], [3, 4]]
 * cat([tensor([[1], [2]]), tensor([[3], [4]])], 1); // => [[1, 3], [2, 4]]
 * ```
 */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ValueError('cat(): expected a non-empty list of Tensors');
  tensors.forEach((t, i) => assertTensor('cat', `tensors[${i}]`, t));
  const first = tensors[0]!;
  const a = normalizeAxis(axis, first.rank, 'cat');
  for (const [i, t] of tensors.entries()) {
    if (t.dtype !== first.dtype) throw new TypeError(`cat(): expected all tensors to have dtype ${first.dtype}, but tensor ${i} has ${t.dtype}`);
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== a && d !== first.shape[j])) {
      throw new ShapeError(
        `cat(): Sizes of tensors must match except in dimension ${a}. Expected ${formatShape(first.shape)} but got ${formatShape(t.shape)} for tensor number ${i} in the list.`,
      );
    }
  }
  const sizes = tensors.map((t) => t.shape[a]!);
  const shape = first.shape.map((d, j) => (j === a ? sizes.reduce((p, q) => p + q, 0) : d));
  const y = Tensor.fromStorage(
    allocate(
      first.dtype,
      shape.reduce((p, d) => p * d, 1),
    ),
    shape,
  );
  let at = 0;
  for (const t of tensors) {
    y.slice(a, at, at + t.shape[a]!).copy_(t.detach());
    at += t.shape[a]!;
  }
  return record('CatBackward', y, tensors, (g) => split(g, sizes, a));
}

/**
 * Join along a new axis.
 *
 * @example
 * ```ts
 * import { stack, tensor } from 'sparsegrad';
 * stack([tensor([1, 2]), tensor([3, 4])], 1); // => [[1, 3], [2, 4]]
 * ```
 */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ValueError('stack(): expected a non-empty list of Tensors');
  const a = normalizeAxis(axis, tensors[0]!.rank + 1, 'stack');
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, tensors[0]!.shape))
      throw new ShapeError(
        `stack expects each tensor to be equal size, but got ${formatShape(tensors[0]!.shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`,
      );
  });
  return cat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

/**
 * Views of consecutive pieces: `sizes` is one size (the last piece may be smaller) or a list.
 *
 * @example
 * ```ts
 * import { split, tensor } from 'sparsegrad';
 * split(tensor([1, 2, 3, 4, 5]), 2).map((t) => t.toArray()); // => [[1, 2], [3, 4], [5]]
 * split(tensor([1, 2, 3, 4, 5]), [1, 4]).map((t) => t.shape[0]); // => [1, 4]
 * ```
 */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis(axis, x.rank, 'split');
  const n = x.shape[a]!;
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new ValueError(`split(): split_size must be a positive integer, but got ${sizes}`);
    list = Array.from({ length: Math.max(1, Math.ceil(n / sizes)) }, (_, i) => Math.min(sizes, n - i * sizes));
  } else {
    list = [...sizes];
    if (list.reduce((p, q) => p + q, 0) !== n)
      throw new ShapeError(
        `split_with_sizes expects split_sizes to sum exactly to ${n} (input tensor's size at dimension ${a}), but got split_sizes=${formatShape(list)}`,
      );
  }
  let at = 0;
  return list.map((len) => slice(x, a, at, (at += len)));
}

/**
 * `chunks` nearly equal pieces (torch.chunk: each of size ceil(n / chunks)).
 *
 * @example
 * ```ts
 * import { chunk, tensor } from 'sparsegrad';
 * chunk(tensor([1, 2, 3, 4, 5]), 3).map((t) => t.toArray()); // => [[1, 2], [3, 4], [5]]
 * ```
 */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ValueError(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
  const n = x.shape[normalizeAxis(axis, x.rank, 'chunk')]!;
  return split(x, Math.max(1, Math.ceil(n / chunks)), axis);
}

function asView(name: string, x: Tensor, shape: Shape, strides: readonly number[], offset: number, vjp: (g: Tensor) => Tensor): Tensor {
  return record(name, x.asStrided(shape, strides, offset), [x], (g) => [vjp(g)]);
}
