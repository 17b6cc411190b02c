/**
 * Small pieces every op file uses: turning a Tensor into a kernel View, making
 * results, lifting JS numbers to tensors, and reducing a broadcast gradient back to
 * its input's shape (the most common autograd bug is forgetting that step).
 */
import { allocate, assertSameDType, torchName, type DType, type Storage } from '../../base/dtype.ts';
import { DTypeError } from '../../base/errors.ts';
import { broadcastStrides, contiguousStrides, numel, sameShape, type Shape } from '../../base/shape.ts';
import { markMade } from '../ownership.ts';
import { Tensor } from '../tensor.ts';
import type { View } from '../../kernels/view.ts';
import { getBackend, type Backend } from '../../kernels/backend.ts';

export type Operand = Tensor | number;

/** TypeError for non-tensor arguments, worded like tfjs's. */
export function assertTensor(op: string, arg: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    const got = x === null ? 'null' : typeof x === 'object' ? ((x as object).constructor?.name ?? 'Object') : typeof x;
    throw new TypeError(`Argument '${arg}' passed to '${op}' must be a Tensor, but got '${got}'`);
  }
}

/** How the selected backend's kernels see `t` (S: the storage type the caller has checked, e.g. float). */
export function viewOf<S extends Storage = Storage>(t: Tensor): View<S> {
  return getBackend().view(t.storage, t.shape, t.strides, t.offset) as View<S>;
}

/** The view of `t` read as `shape` (stride 0 along broadcast axes). */
export function broadcastView<S extends Storage = Storage>(t: Tensor, shape: Shape): View<S> {
  return getBackend().view(t.storage, shape, broadcastStrides(t.shape, t.strides, shape), t.offset) as View<S>;
}

/**
 * A fresh contiguous tensor on storage the backend allocates, for a kernel to fill: its
 * contents are unspecified (torch.empty), so the kernel must write every element — unless
 * `zeroed`, for a kernel that adds into it (a scatter).
 */
export function empty(dtype: DType, shape: Shape, zeroed = false): Tensor {
  const storage = getBackend().allocate(dtype, numel(shape), !zeroed);
  markMade(storage); // fresh: backward may hand it to a .grad without a copy (core/ownership.ts)
  return new Tensor(storage, shape, contiguousStrides(shape), 0);
}

/**
 * Run a kernel that fills a fresh contiguous output, and wrap the output. The backend
 * allocates it, so a device backend's result may stay on its device; `out` is the
 * storage's host handle (fresh storage: reading it transfers nothing).
 */
export function compute(dtype: DType, shape: Shape, kernel: (out: Storage, backend: Backend) => void): Tensor {
  const y = empty(dtype, shape);
  kernel(y.storage.data, getBackend());
  return y;
}

/**
 * A JS number becomes a 0-d tensor of the other operand's dtype. Integer tensors
 * refuse fractional scalars rather than silently truncating them.
 */
export function scalarLike(op: string, value: number, like: Tensor): Tensor {
  if ((like.dtype === 'int32' || like.dtype === 'bool') && !Number.isInteger(value)) {
    throw new DTypeError(
      `${op}(): cannot combine a ${torchName(like.dtype)} tensor with the non-integer scalar ${value}; convert it with .to('float32') first`,
    );
  }
  const data = allocate(like.dtype, 1);
  data[0] = value;
  return Tensor.fromStorage(data, []);
}

/** Both operands as tensors of one dtype (at least one must be a tensor). */
export function operands(op: string, a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new TypeError(`${op}(): at least one argument must be a Tensor`);
  const ta = typeof a === 'number' ? scalarLike(op, a, b as Tensor) : a;
  const tb = typeof b === 'number' ? scalarLike(op, b, ta) : b;
  assertTensor(op, 'a', ta);
  assertTensor(op, 'b', tb);
  assertSameDType(op, ta.dtype, tb.dtype);
  return [ta, tb];
}

/**
 * Sum a gradient over the axes along which its input was broadcast:
 * leading axes the input did not have, and axes where the input had size 1.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  return g.sum(axes, true).reshape(shape);
}
