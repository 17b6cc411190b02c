/**
 * Sparse gradient values in COO form: a shape, strictly increasing flat indices and
 * the values at them. A gradient hook may return one instead of a dense tensor (that
 * is how SparseGrad hands SparseAdam only the entries it selected).
 *
 * Accumulation rules (used by the autograd engine and `.grad`):
 * - sparse + sparse: concatenate, then coalesce (duplicates summed; entries that sum
 *   to 0 stay present, as in torch).
 * - sparse + dense, dense + sparse: the dense result (scatter-add of the values).
 * - dense + dense: elementwise sum.
 */
import { allocate, type FloatStorage, isFloat, type DType } from '../base/dtype.ts';
import { DTypeError, ShapeError, ValueError } from '../base/errors.ts';
import { formatShape, numel, sameShape, type Shape } from '../base/shape.ts';
import { getBackend } from '../kernels/backend.ts';
import { viewOf } from './ops/util.ts';
import { Tensor } from './tensor.ts';

export type Grad = Tensor | SparseCoo;

/**
 * A sparse gradient in coordinate form: flat indices (strictly increasing) and their values.
 *
 * @example
 * ```ts
 * import { SparseCoo } from 'sparsegrad';
 * const s = new SparseCoo([2, 3], new Int32Array([1, 5]), new Float32Array([4, -1]));
 * s.nnz; // => 2
 * s.toDense(); // => [[0, 4, 0], [0, 0, -1]]
 * ```
 */
export class SparseCoo {
  readonly shape: readonly number[];
  readonly indices: Int32Array;
  readonly values: FloatStorage;

  /** Validates the invariants: flat indices in range and strictly increasing, one value each. */
  constructor(shape: Shape, indices: Int32Array, values: FloatStorage) {
    if (indices.length !== values.length) {
      throw new ShapeError(`SparseCoo: ${indices.length} indices but ${values.length} values`);
    }
    const size = numel(shape);
    for (let i = 0; i < indices.length; i++) {
      const ix = indices[i]!;
      if (ix < 0 || ix >= size) throw new ValueError(`SparseCoo: index ${ix} out of range for shape ${formatShape(shape)}`);
      if (i > 0 && ix <= indices[i - 1]!)
        throw new ValueError(
          `SparseCoo: indices must be strictly increasing (index ${i}: ${indices[i - 1]} then ${ix}); use SparseCoo.coalesce for unsorted input`,
        );
    }
    this.shape = [...shape];
    this.indices = indices;
    this.values = values;
  }

  get nnz(): number {
    return this.indices.length;
  }

  get dtype(): DType {
    return this.values instanceof Float64Array ? 'float64' : 'float32';
  }

  /** Dense tensor with the values at their indices and zeros elsewhere. */
  toDense(): Tensor {
    const data = allocate(this.dtype, numel(this.shape)) as FloatStorage;
    for (let i = 0; i < this.nnz; i++) data[this.indices[i]!] = this.values[i]!;
    return Tensor.fromStorage(data, this.shape);
  }

  /** The entries of a dense tensor with |value| > threshold (threshold 0 keeps every non-zero); NaN is always kept. */
  static fromDense(t: Tensor, threshold = 0): SparseCoo {
    if (!isFloat(t.dtype)) throw new DTypeError(`SparseCoo.fromDense(): expected a floating tensor, got ${t.dtype}`);
    const data = t.contiguous().data as FloatStorage;
    const kept: number[] = [];
    // `!(|v| ≤ threshold)` rather than `|v| > threshold`, so that NaN is kept, not silently dropped.
    for (let i = 0; i < data.length; i++) if (!(Math.abs(data[i]!) <= threshold)) kept.push(i);
    return SparseCoo.gather(t.shape, data, Int32Array.from(kept));
  }

  /** The entries of dense `data` at the given (strictly increasing) flat indices. */
  static gather(shape: Shape, data: FloatStorage, indices: Int32Array): SparseCoo {
    const values = allocate(data instanceof Float64Array ? 'float64' : 'float32', indices.length) as FloatStorage;
    for (let i = 0; i < indices.length; i++) values[i] = data[indices[i]!]!;
    return new SparseCoo(shape, indices, values);
  }

  /** Sort unsorted indices and sum duplicates. */
  static coalesce(shape: Shape, indices: ArrayLike<number>, values: FloatStorage): SparseCoo {
    const order = Array.from({ length: indices.length }, (_, i) => i).sort((a, b) => indices[a]! - indices[b]! || a - b);
    const outIdx: number[] = [];
    const outVal: number[] = [];
    for (const i of order) {
      const ix = indices[i]!;
      if (outIdx.length > 0 && outIdx[outIdx.length - 1] === ix) outVal[outVal.length - 1]! += values[i]!;
      else {
        outIdx.push(ix);
        outVal.push(values[i]!);
      }
    }
    const typed = allocate(values instanceof Float64Array ? 'float64' : 'float32', outVal.length) as FloatStorage;
    typed.set(outVal);
    return new SparseCoo(shape, Int32Array.from(outIdx), typed);
  }

  toString(): string {
    return `SparseCoo(shape=${formatShape(this.shape)}, nnz=${this.nnz}, dtype=${this.dtype})`;
  }
}

/**
 * Sum two gradients of the same shape following the rules above. Never mutates its inputs.
 *
 * @example
 * ```ts
 * import { addGrads, SparseCoo, tensor } from 'sparsegrad';
 * const s = new SparseCoo([2], new Int32Array([1]), new Float32Array([5]));
 * addGrads(tensor([1, 1]), s); // => [1, 6]
 * ```
 */
export function addGrads(a: Grad, b: Grad): Grad {
  checkSameShape(a, b);
  if (a instanceof SparseCoo && b instanceof SparseCoo) {
    const indices = new Int32Array(a.nnz + b.nnz);
    indices.set(a.indices);
    indices.set(b.indices, a.nnz);
    const values = allocate(a.dtype, a.nnz + b.nnz) as FloatStorage;
    values.set(a.values);
    values.set(b.values, a.nnz);
    return SparseCoo.coalesce(a.shape, indices, values);
  }
  if (a instanceof SparseCoo) return addSparseToDense(b as Tensor, a);
  if (b instanceof SparseCoo) return addSparseToDense(a, b);
  return a.add(b);
}

/**
 * a += b in place, the same values `addGrads(a, b)` would return: for a gradient the engine
 * has proven nobody else holds (core/ownership.ts), so the sum of a tensor's gradients
 * from several consumers (a tied embedding's lookup and output head, a residual's two
 * branches) needs no new buffer of the table's size. `a` must be contiguous and span its
 * whole storage (the caller checks); false when the dtypes differ or a's values are on a
 * device (nothing written).
 * Internal to the engine (core/autograd.ts): a user's tensors are never written this way.
 */
export function addGradInto(a: Tensor, b: Grad): boolean {
  checkSameShape(a, b);
  const backend = getBackend();
  // Device-resident values would be downloaded to be written here: sum into a new tensor.
  if (a.dtype !== b.dtype || backend.isResident?.(a.storage)) return false;
  if (b instanceof SparseCoo) scatterValues(a.data as FloatStorage, b);
  // Backend.binary allows out to be the storage a reads (kernels/backend.ts).
  else backend.binary('add', viewOf(a), viewOf(b), a.storage.data);
  a.storage.version++;
  return true;
}

/** Two gradients of one tensor have its shape; anything else is an engine or hook bug. */
function checkSameShape(a: Grad, b: Grad): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`cannot accumulate gradients of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
}

/** data[index] += value for each stored entry, in storage order (duplicates add up). */
function scatterValues(data: FloatStorage, sparse: SparseCoo): void {
  for (let i = 0; i < sparse.nnz; i++) data[sparse.indices[i]!]! += sparse.values[i]!;
}

function addSparseToDense(dense: Tensor, sparse: SparseCoo): Tensor {
  const out = dense.contiguous().clone();
  scatterValues(out.data as FloatStorage, sparse);
  return out;
}
