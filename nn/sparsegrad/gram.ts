/**
 * Streamed Gram matrices of the preliminary phase (docs/METHOD.md §3): for every gradient
 * slice M (out×in) accumulate, in float64, C_out += M·Mᵀ and C_in += Mᵀ·M. Their
 * eigenvectors are the left singular vectors of the stacked unfoldings [M_1 … M_N] and
 * [M_1ᵀ … M_Nᵀ], so the stack itself (≈2.5 GB at BERT-base) is never stored.
 *
 * Also the dense helpers the eigensolver shares: products accumulated through the
 * selected backend's matmul, symmetric halves and transposes, all over row-major
 * Float64Arrays. The products are float64, so they need a backend that computes in
 * float64 (cpu, reference); gpu.js refuses with a DTypeError that says to run the work
 * under withBackend('cpu', …).
 */
import type { FloatStorage } from '../../base/dtype.ts';
import { ShapeError, ValueError } from '../../base/errors.ts';
import { getBackend } from '../../kernels/backend.ts';
import type { View } from '../../kernels/view.ts';

/**
 * The rows×cols matrix op(M) stored at `off` with leading dimension `ld` (row-major), as a
 * strided view: op(M) = M reads rows at stride ld; op(M) = Mᵀ swaps the two strides.
 * The backend's matmul reads the strides, so Aᵀ·A and A·Aᵀ never copy a transpose.
 */
function matrix(data: FloatStorage, off: number, ld: number, trans: boolean, rows: number, cols: number): View<FloatStorage> {
  return { data, shape: [rows, cols], strides: trans ? [1, ld] : [ld, 1], offset: off };
}

/**
 * Row chunk of `addProduct` (and panel of the staircases): the matmul overwrites its
 * output, so each chunk lands in a scratch first. 128 to 256 rows timed alike on the
 * Gram shapes; fewer re-pack the shared operand more often, more waste more of the
 * staircase.
 */
const CHUNK = 256;
let scratch = new Float64Array(0);

/**
 * C += alpha·op(A)·op(B) on the m×n block of C, in the GEMM's argument layout (op(A) is
 * m×k at aOff with leading dimension lda, transposed when transA; C is float64). The
 * backend's float64 matmul does the work; the chunked add keeps the scratch in cache.
 */
export function addProduct(
  alpha: number,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: FloatStorage,
  aOff: number,
  lda: number,
  b: FloatStorage,
  bOff: number,
  ldb: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  if (k === 0) return;
  if (scratch.length < Math.min(m, CHUNK) * n) scratch = new Float64Array(Math.min(m, CHUNK) * n);
  const t = scratch;
  const backend = getBackend();
  const opB = matrix(b, bOff, ldb, transB, k, n);
  for (let i0 = 0; i0 < m; i0 += CHUNK) {
    const rows = Math.min(CHUNK, m - i0);
    const opA = matrix(a, aOff + i0 * (transA ? 1 : lda), lda, transA, rows, k);
    backend.matmul(opA, opB, t.subarray(0, rows * n));
    for (let i = 0; i < rows; i++) {
      const ci = cOff + (i0 + i) * ldc,
        ti = i * n;
      for (let j = 0; j < n; j++) c[ci + j]! += alpha * t[ti + j]!;
    }
  }
}

/**
 * C += alpha·X·Yᵀ on the upper triangle of the n×n block of C, for X and Y n×k; with
 * `transposed` they are stored k×n (X(i, p) = x[xOff + p·ldx + i]), else n×k. A
 * staircase of row panels, each multiplied only by the rows at and after it, costs
 * (1 + CHUNK/n)/2 of the full product. Diagonal blocks are written whole; the rest of
 * the lower triangle is left alone.
 */
export function addUpperProduct(
  alpha: number,
  transposed: boolean,
  n: number,
  k: number,
  x: Float64Array,
  xOff: number,
  ldx: number,
  y: Float64Array,
  yOff: number,
  ldy: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const xAt = xOff + i0 * (transposed ? 1 : ldx),
      yAt = yOff + i0 * (transposed ? 1 : ldy);
    addProduct(alpha, transposed, !transposed, Math.min(CHUNK, n - i0), n - i0, k, x, xAt, ldx, y, yAt, ldy, c, cOff + i0 * ldc + i0, ldc);
  }
}

/** C += X·Xᵀ on the upper triangle of the rows×rows matrix C, for X rows×cols. */
export function addGramUpper(x: Float64Array, rows: number, cols: number, c: Float64Array): void {
  addUpperProduct(1, false, rows, cols, x, 0, cols, x, 0, cols, c, 0, rows);
}

/** Tile of the transposing loops: a TILE×TILE block of source and destination stays in L1. */
const TILE = 32;

/** Copies the upper triangle of the n×n matrix c onto its lower triangle. */
function mirrorUpper(c: Float64Array, n: number): void {
  for (let i0 = 0; i0 < n; i0 += TILE) {
    for (let j0 = 0; j0 <= i0; j0 += TILE) {
      for (let i = i0; i < Math.min(i0 + TILE, n); i++) {
        for (let j = j0; j < Math.min(j0 + TILE, i); j++) c[i * n + j] = c[j * n + i]!;
      }
    }
  }
}

/** dst (cols×rows) = srcᵀ (src rows×cols), converting to float64 on the way. */
export function transpose(src: FloatStorage, rows: number, cols: number, dst: Float64Array): Float64Array {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      for (let i = i0; i < Math.min(i0 + TILE, rows); i++) {
        for (let j = j0; j < Math.min(j0 + TILE, cols); j++) dst[j * rows + i] = src[i * cols + j]!;
      }
    }
  }
  return dst;
}

/** max|X·Xᵀ − I| for X rows×cols: how far its rows are from orthonormal. */
export function rowOrthogonalityError(x: Float64Array, rows: number, cols: number): number {
  const g = new Float64Array(rows * rows);
  addGramUpper(x, rows, cols, g);
  let err = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) err = Math.max(err, Math.abs(g[i * rows + j]! - (i === j ? 1 : 0)));
  }
  return err;
}

/** What `GramAccumulator.finish()` returns: both Gram matrices, full and symmetric. */
export interface GramResult {
  /** Σ M·Mᵀ, out×out row-major. */
  cOut: Float64Array;
  /** Σ Mᵀ·M, in×in row-major. */
  cIn: Float64Array;
  /** How many slices were added. */
  slices: number;
}

/**
 * Streams gradient slices of one layer type and accumulates their Gram matrices in
 * float64. Only upper triangles are accumulated (symmetry halves the ≈9 GMAC of a
 * 768×3072 slice); `finish()` mirrors them once.
 *
 * @example
 * ```ts
 * import { GramAccumulator } from 'sparsegrad/nn';
 * const gram = new GramAccumulator(2, 3);
 * gram.add(new Float32Array([1, 0, 0, 0, 1, 0])); // one 2×3 slice M
 * gram.add(new Float32Array([1, 0, 0, 0, 1, 0]));
 * const { cOut, slices } = gram.finish();
 * [Array.from(cOut), slices]; // => [[2, 0, 0, 2], 2]
 * ```
 */
export class GramAccumulator {
  private readonly cOut: Float64Array;
  private readonly cIn: Float64Array;
  private readonly mT: Float64Array;
  /** The widened float32 slice, allocated on the first one. */
  private m64: Float64Array | undefined;
  private slices = 0;
  private finished = false;

  constructor(
    readonly outFeatures: number,
    readonly inFeatures: number,
  ) {
    if (!(Number.isInteger(outFeatures) && Number.isInteger(inFeatures) && outFeatures >= 0 && inFeatures >= 0)) {
      throw new ValueError(`GramAccumulator: sizes must be non-negative integers, got out ${outFeatures}, in ${inFeatures}`);
    }
    this.cOut = new Float64Array(outFeatures * outFeatures);
    this.cIn = new Float64Array(inFeatures * inFeatures);
    this.mT = new Float64Array(outFeatures * inFeatures);
  }

  /** Adds one slice M (out×in, row-major, the layout of a weight's `.grad`). */
  add(m: FloatStorage): void {
    const { outFeatures: out, inFeatures: inn } = this;
    if (this.finished) throw new ValueError('GramAccumulator.add(): finish() was already called');
    if (m.length !== out * inn) {
      throw new ShapeError(`GramAccumulator.add(): expected a slice of ${out}x${inn} = ${out * inn} values, got ${m.length}`);
    }
    for (let i = 0; i < m.length; i++) {
      if (!Number.isFinite(m[i]!)) throw new ValueError(`GramAccumulator.add(): slice ${this.slices} has a non-finite value ${m[i]} at index ${i}`);
    }
    const m64 = m instanceof Float64Array ? m : this.widen(m);
    addGramUpper(m64, out, inn, this.cOut);
    // Mᵀ with contiguous rows lets each GEMM copy only the rows it reads.
    addGramUpper(transpose(m64, out, inn, this.mT), inn, out, this.cIn);
    this.slices++;
  }

  /** float32 slices are widened first (exactly), so both dtypes give the same sums. */
  private widen(m: Float32Array): Float64Array {
    this.m64 ??= new Float64Array(m.length);
    this.m64.set(m);
    return this.m64;
  }

  /** The accumulated matrices (not copies); the accumulator is closed afterwards. */
  finish(): GramResult {
    if (this.finished) throw new ValueError('GramAccumulator.finish(): already called');
    this.finished = true;
    mirrorUpper(this.cOut, this.outFeatures);
    mirrorUpper(this.cIn, this.inFeatures);
    return { cOut: this.cOut, cIn: this.cIn, slices: this.slices };
  }
}
