// Reference matrix multiply: the oracle every fast kernel is tested against.
// It favours obviousness over speed: a plain triple loop, summed in a double.

export type FloatArray = Float32Array | Float64Array;

/**
 * C = op(A) · op(B), overwriting the m×n block of C (row-major, beta = 0).
 *
 * op(A) is m×k. Untransposed, element (i, p) lives at a[aOff + i*lda + p];
 * with transA, A is stored k×m and (i, p) lives at a[aOff + p*lda + i].
 * op(B) is k×n, read the same way with transB. C(i, j) is c[cOff + i*ldc + j].
 */
export type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  aOff: number,
  lda: number,
  b: FloatArray,
  bOff: number,
  ldb: number,
  c: FloatArray,
  cOff: number,
  ldc: number,
) => void;

export const gemm: Gemm = (transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc) => {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const aip = (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p])!;
        const bpj = (transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j])!;
        sum += aip * bpj;
      }
      c[cOff + i * ldc + j] = sum;
    }
  }
};
