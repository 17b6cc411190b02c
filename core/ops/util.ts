/**
 * Small pieces every op file uses: turning a Tensor into a kernel View, making
 * results, lifting JS numbers to tensors, and reducing a broadcast gradient back to
 * its input's shape (the most common autograd bug is forgetting that step).
 */
import { allocate, assertSameDType, torchName, type DType, type Storage } from '../../base/dtype.ts';
import { DTypeError } from '../../base/errors.ts';
import { broadcastStrides, contiguousStrides, numel, sameShape, type Shape } from '../../base/shape.ts';
import { Tensor, type TensorStorage } from '../tensor.ts';
import type { View } from '../../kernels/view.ts';
import { getBackend, type Backend } from '../../kernels/backend.ts';

export type Operand = Tensor | number;

/** TypeError for non-tensor arguments, worded like tfjs's. */
export function assertTensor(op: string, arg: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    const got = x === null ? 'null' : typeof x === 'object' ? (x as object).constructor?.name ?? 'Object' : typeof x;
    throw new TypeError(`Argument '${arg}' passed to '${op}' must be a Tensor, but got '${got}'`);
  }
}

export function viewOf<S extends Storage = Storage>(t: Tensor): View<S> {
  return makeView(t, t.shape, t.strides) as View<S>;
}

/** The view of `t` read as `shape` (stride 0 along broadcast axes). */
export function broadcastView(t: Tensor, shape: Shape): View {
  return makeView(t, shape, broadcastStrides(t.shape, t.strides, shape));
}

/**
 * Ordinary storage: `data` is the typed array itself, read once here (the CPU path).
 * Storage whose values live on a device, handed to a device backend: `data` becomes a
 * getter, so the backend finds the values through `storage` and nothing is downloaded
 * unless it reads `data`. Any other backend gets the downloaded array (see TensorStorage.device).
 */
function makeView(t: Tensor, shape: Shape, strides: readonly number[]): View {
  const storage = t.storage;
  if (storage.device?.resident && getBackend().allocate) return deviceView(storage, shape, strides, t.offset);
  return { data: storage.data, shape, strides, offset: t.offset, storage };
}

function deviceView(storage: TensorStorage, shape: Shape, strides: readonly number[], offset: number): View {
  return { get data() { return storage.data; }, shape, strides, offset, storage };
}

/**
 * Run a kernel that fills a fresh contiguous output, and wrap the output. A device backend
 * (Backend.allocate) supplies the output storage, so the result may stay on the device.
 */
export function compute(dtype: DType, shape: Shape, kernel: (out: Storage, backend: Backend) => void): Tensor {
  const backend = getBackend();
  if (backend.allocate) {
    const storage = backend.allocate(dtype, numel(shape));
    kernel(storage.data, backend); // fresh storage: `data` is the host handle, no transfer
    return new Tensor(storage, shape, contiguousStrides(shape), 0);
  }
  const out = allocate(dtype, shape.reduce((p, d) => p * d, 1));
  kernel(out, backend);
  return Tensor.fromStorage(out, shape);
}

/**
 * A JS number becomes a 0-d tensor of the other operand's dtype. Integer tensors
 * refuse fractional scalars rather than silently truncating them.
 */
export function scalarLike(op: string, value: number, like: Tensor): Tensor {
  if ((like.dtype === 'int32' || like.dtype === 'bool') && !Number.isInteger(value)) {
    throw new DTypeError(`${op}(): cannot combine a ${torchName(like.dtype)} tensor with the non-integer scalar ${value}; convert it with .to('float32') first`);
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
