/**
 * The SparseGrad bases of one layer type from its streamed Gram matrices
 * (docs/METHOD.md §3): V = eigenvectors of C_out, U = eigenvectors of C_in, as columns
 * with eigenvalues descending. These are the left singular vectors of the unfoldings
 * [M_1 … M_N] and [M_1ᵀ … M_Nᵀ], i.e. the reference's HOSVD factors: its `_VT` is V
 * (HOSVD u2, despite the name) and its `_U` is U (u3).
 */
import { ValueError } from '../../base/errors.ts';
import { symmetricEigen } from './eigen.ts';
import { rowOrthogonalityError, transpose } from './gram.ts';

/** The bases of one layer type, row-major float64; eigenvector k is column k. */
export interface Bases {
  /** in×in, the eigenvectors of C_in = Σ MᵀM (input side). */
  U: Float64Array;
  /** out×out, the eigenvectors of C_out = Σ MMᵀ (output side). */
  V: Float64Array;
  /** Descending: `u` of C_in (U's columns), `v` of C_out (V's columns); the squared singular values. */
  eigenvalues: { u: Float64Array; v: Float64Array };
}

/**
 * U and V from `GramAccumulator.finish()` (or any pair of symmetric Gram matrices).
 *
 * @example
 * ```ts
 * import { basesFromGram } from 'sparsegrad/nn';
 * const { V, eigenvalues } = basesFromGram({ cOut: new Float64Array([2, 0, 0, 3]), cIn: new Float64Array([1]) });
 * Array.from(eigenvalues.v); // => [3, 2]
 * Array.from(V); // => [0, 1, 1, 0]
 * ```
 */
export function basesFromGram({ cOut, cIn }: { cOut: Float64Array; cIn: Float64Array }): Bases {
  const v = symmetricEigen(cOut);
  const u = symmetricEigen(cIn);
  return { U: u.vectors, V: v.vectors, eigenvalues: { u: u.values, v: v.values } };
}

/**
 * max|QᵀQ − I| for Q rows×cols (row-major; square by default): how far its columns are
 * from orthonormal. §3 asks ≤ 1e-12 of U and V.
 *
 * @example
 * ```ts
 * import { orthogonalityError } from 'sparsegrad/nn';
 * orthogonalityError(new Float64Array([0, 1, 1, 0])); // => 0
 * orthogonalityError(new Float64Array([1, 1, 0, 1])); // => 1
 * ```
 */
export function orthogonalityError(q: Float64Array, cols = Math.round(Math.sqrt(q.length))): number {
  if (q.length === 0) return 0;
  const rows = q.length / cols;
  if (!(Number.isInteger(cols) && cols > 0 && Number.isInteger(rows))) {
    throw new ValueError(`orthogonalityError(): ${q.length} values do not form a matrix with ${cols} columns`);
  }
  return rowOrthogonalityError(transpose(q, rows, cols, new Float64Array(q.length)), cols, rows);
}
