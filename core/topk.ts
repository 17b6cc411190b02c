/**
 * Top-k by magnitude, returning a SparseCoo — the selection step of SparseGrad and
 * MeProp. The k-th largest |g| is found by quickselect (expected O(n), never a full
 * sort), with a three-way partition so that many equal values (zeros from padded
 * rows) do not make it quadratic.
 *
 * Modes:
 * - 'threshold' (the reference's): thr = k-th largest |g|; keep every entry with
 *   |g| ≥ thr and g ≠ 0. Ties at thr are all kept (the count may exceed k); with
 *   fewer than k non-zeros all of them are kept.
 * - 'exact': keep exactly min(k, nnz) non-zero entries; among ties the lower flat index wins.
 */
import { isFloat, type FloatStorage } from '../base/dtype.ts';
import { DTypeError, ValueError } from '../base/errors.ts';
import { SparseCoo } from './sparse.ts';
import type { Tensor } from './tensor.ts';

export type TopKMode = 'threshold' | 'exact';

/**
 * The k entries of largest magnitude as a SparseCoo (modes above).
 *
 * @example
 * ```ts
 * import { tensor, topK } from 'sparsegrad';
 * const s = topK(tensor([[0.1, -3], [2, 0.5]]), 2);
 * Array.from(s.indices); // => [1, 2]
 * s.toDense(); // => [[0, -3], [2, 0]]
 * ```
 */
export function topK(dense: Tensor, k: number, mode: TopKMode = 'threshold'): SparseCoo {
  if (!isFloat(dense.dtype)) throw new DTypeError(`topK(): expected a floating tensor, got ${dense.dtype}`);
  if (!Number.isInteger(k) || k < 1) throw new ValueError(`topK(): k must be a positive integer, got ${k}`);
  const data = dense.contiguous().data as FloatStorage;
  // One scratch array of magnitudes in the gradient's own dtype (|x| is exact), which
  // quickselect reorders; the selection pass below recomputes |x| from the data.
  const scratch = data instanceof Float64Array ? new Float64Array(data.length) : new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) throw new ValueError(`topK(): gradient entry ${i} is ${v}; a non-finite gradient cannot be sparsified`);
    scratch[i] = Math.abs(v);
  }
  if (k >= data.length) return SparseCoo.fromDense(dense);
  const threshold = kthLargest(scratch, k);
  const kept: number[] = [];
  if (mode === 'threshold') {
    for (let i = 0; i < data.length; i++) if (Math.abs(data[i]!) >= threshold && data[i] !== 0) kept.push(i);
  } else {
    // Everything strictly above the threshold, then ties in index order until k are kept.
    let above = 0;
    for (let i = 0; i < data.length; i++) if (Math.abs(data[i]!) > threshold) above++;
    let tiesLeft = k - above;
    for (let i = 0; i < data.length; i++) {
      const m = Math.abs(data[i]!);
      if (m === 0) continue;
      if (m > threshold || (m === threshold && tiesLeft-- > 0)) kept.push(i);
    }
  }
  return SparseCoo.gather(dense.shape, data, Int32Array.from(kept));
}

/**
 * The k-th largest value (1-based) of `values`, which is reordered in place.
 * Iterative quickselect with a median-of-three pivot and a three-way partition.
 */
export function kthLargest(values: Float32Array | Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1; // position in descending order
  for (;;) {
    if (lo === hi) return values[lo]!;
    const pivot = medianOfThree(values[lo]!, values[(lo + hi) >> 1]!, values[hi]!);
    // Partition [lo, hi] into  > pivot | = pivot | < pivot  (descending).
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = values[i]!;
      if (v > pivot) swap(values, lt++, i++);
      else if (v < pivot) swap(values, i, gt--);
      else i++;
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else return pivot;
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

function swap(values: Float32Array | Float64Array, i: number, j: number): void {
  const t = values[i]!;
  values[i] = values[j]!;
  values[j] = t;
}
