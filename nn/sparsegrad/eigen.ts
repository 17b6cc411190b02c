/**
 * Symmetric eigensolver in float64 for the SparseGrad bases (docs/METHOD.md §3): sizes up
 * to 4096², deterministic output, no dependencies. The classic route, O(n³):
 *
 * 1. Householder tridiagonalisation Qᵀ·A·Q = T, blocked so that half its flops are
 *    rank-2b updates through the WebAssembly GEMM (the LAPACK dsytrd/dlatrd scheme).
 * 2. Qᵀ formed from the reflectors in compact-WY blocks, again through the GEMM.
 * 3. Implicit QL with Wilkinson shifts on T (Martin and Wilkinson's imtql2, from the
 *    Handbook for Automatic Computation); its plane rotations are recorded and applied
 *    to Qᵀ in batches, strip by strip, by a small WebAssembly SIMD kernel.
 * 4. Descending order, one block modified Gram–Schmidt pass (two if still needed)
 *    until max|VᵀV − I| ≤ 1e-12, and the sign rule.
 *
 * Eigenvectors are kept as rows of Zᵀ throughout: every rotation and every Gram–Schmidt
 * projection then runs along contiguous memory of the row-major arrays.
 */
import { ValueError } from '../../base/errors.ts';
import { Func, Module } from '../../base/wasm-assembler.ts';
import { addProduct, addUpperProduct, rowOrthogonalityError, transpose } from './gram.ts';

/** Eigenvalues in descending order; eigenvector k is column k of the n×n row-major `vectors`. */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/** The bound on max|VᵀV − I| that docs/METHOD.md §3 asks of the bases. */
export const ORTHOGONALITY_TOLERANCE = 1e-12;

/**
 * Eigen-decomposition A = V·diag(values)·Vᵀ of a symmetric n×n matrix (row-major; only
 * its upper triangle is read). Values come in descending order; the largest-magnitude
 * entry of each eigenvector is positive (ties: the lowest row); max|VᵀV − I| ≤ 1e-12.
 *
 * @example
 * ```ts
 * import { symmetricEigen } from 'sparsegrad/nn';
 * const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]));
 * Array.from(values); // => [3, 1]
 * Array.from(vectors); // => [0.7071, 0.7071, 0.7071, -0.7071]
 * ```
 */
export function symmetricEigen(a: Float64Array, n = Math.round(Math.sqrt(a.length))): SymmetricEigen {
  if (!(Number.isInteger(n) && n >= 0 && a.length === n * n)) {
    throw new ValueError(`symmetricEigen(): expected an n×n matrix, got ${a.length} values for n = ${n}`);
  }
  let max = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const x = a[i * n + j]!;
      if (!Number.isFinite(x)) throw new ValueError(`symmetricEigen(): non-finite entry ${x} at (${i}, ${j})`);
      max = Math.max(max, Math.abs(x));
    }
  }
  if (max === 0) return { values: new Float64Array(n), vectors: identity(n) };

  // Scale by a power of two towards max|a| ≈ 1: exact, so that the squares in norms
  // and rotations can neither overflow nor underflow where it matters. Eigenvalues are
  // scaled back at the end.
  const scale = 2 ** Math.round(Math.log2(max));
  const work = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) work[i] = a[i]! / scale;

  const { d, e, tau } = tridiagonalize(work, n);
  const zt = formQt(work, tau, n);
  tridiagonalQL(d, e, zt, n);

  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j]! - d[i]! || i - j);
  const values = Float64Array.from(order, (i) => d[i]! * scale);
  const sorted = work; // the reflectors are spent: reuse the buffer
  order.forEach((from, to) => sorted.set(zt.subarray(from * n, (from + 1) * n), to * n));

  orthonormalizeRows(sorted, n);
  for (let k = 0; k < n; k++) applySignRule(sorted.subarray(k * n, (k + 1) * n));
  return { values, vectors: transpose(sorted, n, n, zt) };
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/**
 * Reflectors per block. Larger blocks move more flops into the GEMM but make the
 * per-step corrections (O(b·n) each) and the compact-WY triangle costlier.
 */
const NB = 32;

/**
 * Householder tridiagonalisation, in place: afterwards T has diagonal d and
 * off-diagonal e (e[j] couples j and j+1, e[n−1] = 0), and row j of `a` holds the
 * reflector H_j = I − tau[j]·v·vᵀ in columns j+1.. (v[0] = 1), with Q = H_0·H_1⋯H_{n−2}.
 *
 * Step j picks H_j to map x = row j right of the diagonal onto β·e₁, and then
 * H·A₂₂·H = A₂₂ − v·wᵀ − w·vᵀ with p = τ·A₂₂·v and w = p − (τ/2)(pᵀv)·v. Within a block
 * those rank-2 updates are only recorded (V and W); each step corrects the one row and
 * the one product A₂₂·v it needs, and the trailing matrix takes all of them at the end
 * of the block as a single rank-2b GEMM update A₂₂ −= [V W]·[W V]ᵀ. Only the upper
 * triangle of `a` is read or kept up to date.
 */
function tridiagonalize(a: Float64Array, n: number): { d: Float64Array; e: Float64Array; tau: Float64Array } {
  const d = new Float64Array(n),
    e = new Float64Array(n),
    tau = new Float64Array(n);
  // Block rows, full length n: V in rows 0..b−1, W in rows b..2b−1 (and swapped in wv).
  const vw = new Float64Array(2 * NB * n),
    wv = new Float64Array(2 * NB * n);
  const y = new Float64Array(n),
    vtv = new Float64Array(NB),
    wtv = new Float64Array(NB);

  for (let j0 = 0; j0 < n - 1; j0 += NB) {
    const b = Math.min(NB, n - 1 - j0);
    vw.fill(0);
    for (let t = 0; t < b; t++) {
      const j = j0 + t,
        row = j * n,
        len = n - j - 1;
      // Row j (from the diagonal on), brought up to date with the block's pending updates.
      for (let q = 0; q < t; q++) {
        const vq = q * n,
          wq = (b + q) * n,
          vj = vw[vq + j]!,
          wj = vw[wq + j]!;
        for (let c = j; c < n; c++) a[row + c]! -= vj * vw[wq + c]! + wj * vw[vq + c]!;
      }
      d[j] = a[row + j]!;
      const h = reflect(a, row + j + 1, len);
      e[j] = h.beta;
      tau[j] = h.tau;
      const vt = t * n,
        wt = (b + t) * n;
      vw.set(a.subarray(row + j + 1, row + n), vt + j + 1);
      if (h.tau === 0) continue; // H_j = I: nothing to update, W row stays zero

      // y = A₂₂·v with A₂₂ as stored (the block's updates are still pending) ...
      symmetricProduct(a, n, j + 1, vw, vt, y);
      // ... minus the pending V·Wᵀ·v + W·Vᵀ·v.
      for (let q = 0; q < t; q++) {
        vtv[q] = dot(vw, q * n + j + 1, vw, vt + j + 1, len);
        wtv[q] = dot(vw, (b + q) * n + j + 1, vw, vt + j + 1, len);
      }
      for (let r = j + 1; r < n; r++) {
        let s = y[r]!;
        for (let q = 0; q < t; q++) s -= vw[q * n + r]! * wtv[q]! + vw[(b + q) * n + r]! * vtv[q]!;
        y[r] = h.tau * s; // p
      }
      const k = 0.5 * h.tau * dot(y, j + 1, vw, vt + j + 1, len);
      for (let r = j + 1; r < n; r++) vw[wt + r] = y[r]! - k * vw[vt + r]!;
    }
    // The trailing matrix takes the whole block at once.
    const s = j0 + b;
    wv.set(vw.subarray(b * n, 2 * b * n), 0);
    wv.set(vw.subarray(0, b * n), b * n);
    addUpperProduct(-1, true, n - s, 2 * b, vw, s, n, wv, s, n, a, s * n + s, n);
  }
  if (n > 0) d[n - 1] = a[n * n - 1]!;
  return { d, e, tau };
}

/**
 * y[s..n) = A[s.., s..]·v, v[c] = x[xo + c], from the upper triangle of the n×n matrix a:
 * each stored entry is loaded once and serves both its row's dot product and its
 * column's update of y. This is the level-2 half of the tridiagonalisation's flops; four
 * rows at a time share the loads of v and y, which runs about twice as fast in V8.
 */
function symmetricProduct(a: Float64Array, n: number, s: number, x: Float64Array, xo: number, y: Float64Array): void {
  y.fill(0, s, n);
  let r = s;
  for (; r + 4 <= n; r += 4) {
    upperRows(a, n, r, r + 4, x, xo, y); // the 4×4 diagonal block
    const a0 = r * n,
      a1 = a0 + n,
      a2 = a1 + n,
      a3 = a2 + n;
    const v0 = x[xo + r]!,
      v1 = x[xo + r + 1]!,
      v2 = x[xo + r + 2]!,
      v3 = x[xo + r + 3]!;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    for (let c = r + 4; c < n; c++) {
      const x0 = a[a0 + c]!,
        x1 = a[a1 + c]!,
        x2 = a[a2 + c]!,
        x3 = a[a3 + c]!,
        vc = x[xo + c]!;
      s0 += x0 * vc;
      s1 += x1 * vc;
      s2 += x2 * vc;
      s3 += x3 * vc;
      y[c]! += x0 * v0 + x1 * v1 + (x2 * v2 + x3 * v3);
    }
    y[r]! += s0;
    y[r + 1]! += s1;
    y[r + 2]! += s2;
    y[r + 3]! += s3;
  }
  upperRows(a, n, r, n, x, xo, y);
}

/** The rows [r0, r1) of `symmetricProduct`, entry by entry, over the columns before r1. */
function upperRows(a: Float64Array, n: number, r0: number, r1: number, x: Float64Array, xo: number, y: Float64Array): void {
  for (let q = r0; q < r1; q++) {
    const aq = q * n,
      vq = x[xo + q]!;
    let sum = a[aq + q]! * vq;
    for (let c = q + 1; c < r1; c++) {
      sum += a[aq + c]! * x[xo + c]!;
      y[c]! += a[aq + c]! * vq;
    }
    y[q]! += sum;
  }
}

/**
 * The reflector H = I − τ·v·vᵀ with H·x = β·e₁ for x = a[off .. off+len), written over
 * x as v (v[0] = 1). β takes the sign opposite to x[0], so x[0] − β never cancels.
 * A zero tail needs no reflection: τ = 0 and β = x[0].
 */
function reflect(a: Float64Array, off: number, len: number): { beta: number; tau: number } {
  const alpha = a[off]!;
  let sigma = 0;
  for (let i = 1; i < len; i++) sigma += a[off + i]! * a[off + i]!;
  if (sigma === 0) {
    a[off] = 1;
    return { beta: alpha, tau: 0 };
  }
  const norm = Math.sqrt(alpha * alpha + sigma);
  const beta = alpha >= 0 ? -norm : norm;
  const pivot = alpha - beta;
  for (let i = 1; i < len; i++) a[off + i]! /= pivot;
  a[off] = 1;
  return { beta, tau: (beta - alpha) / beta };
}

/** Σ x[xo + i]·y[yo + i] over len terms, four running sums to hide the add latency. */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += x[xo + i]! * y[yo + i]!;
    s1 += x[xo + i + 1]! * y[yo + i + 1]!;
    s2 += x[xo + i + 2]! * y[yo + i + 2]!;
    s3 += x[xo + i + 3]! * y[yo + i + 3]!;
  }
  for (; i < len; i++) s0 += x[xo + i]! * y[yo + i]!;
  return s0 + s1 + (s2 + s3);
}

/** y[yo + i] += alpha·x[xo + i] over len terms. */
function axpy(alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): void {
  for (let i = 0; i < len; i++) y[yo + i]! += alpha * x[xo + i]!;
}

/**
 * Qᵀ = H_{n−2}⋯H_0 from the reflectors left in `a` by `tridiagonalize`. Each block
 * B = H_j0⋯H_j0+b−1 = I − V·T·Vᵀ (compact WY: T upper triangular with
 * T[t][t] = τ_t and T[0:t, t] = −τ_t·T[0:t, 0:t]·Vᵀv_t); accumulating backwards,
 * Qᵀ ← Qᵀ·Bᵀ = Qᵀ − (Qᵀ·V)·Tᵀ·Vᵀ only changes rows and columns after j0.
 */
function formQt(a: Float64Array, tau: Float64Array, n: number): Float64Array {
  const zt = identity(n);
  const vb = new Float64Array(NB * n),
    y = new Float64Array(NB * n);
  const tm = new Float64Array(NB * NB),
    vtv = new Float64Array(NB);
  const lastBlock = Math.max(0, Math.floor((n - 2) / NB) * NB);
  for (let j0 = lastBlock; j0 >= 0 && j0 < n - 1; j0 -= NB) {
    const b = Math.min(NB, n - 1 - j0),
      len = n - j0 - 1,
      off = (j0 + 1) * n + j0 + 1;
    // V as b rows over columns j0+1..n−1: v_t starts at its own column j0+t+1.
    vb.fill(0, 0, b * len);
    for (let t = 0; t < b; t++) vb.set(a.subarray((j0 + t) * n + j0 + t + 1, (j0 + t + 1) * n), t * len + t);
    for (let t = 0; t < b; t++) {
      for (let r = 0; r < t; r++) vtv[r] = dot(vb, r * len + t, vb, t * len + t, len - t); // v_r·v_t
      for (let q = 0; q < t; q++) {
        let s = 0;
        for (let r = q; r < t; r++) s += tm[q * NB + r]! * vtv[r]!;
        tm[q * NB + t] = -tau[j0 + t]! * s;
      }
      tm[t * NB + t] = tau[j0 + t]!;
    }
    y.fill(0, 0, len * b);
    addProduct(1, false, true, len, b, len, zt, off, n, vb, 0, len, y, 0, b); // Qᵀ·V
    for (let r = 0; r < len; r++) {
      // · Tᵀ, in place: entry q needs entries ≥ q only
      for (let q = 0; q < b; q++) {
        let s = 0;
        for (let t = q; t < b; t++) s += y[r * b + t]! * tm[q * NB + t]!;
        y[r * b + q] = s;
      }
    }
    addProduct(-1, false, false, len, len, b, y, 0, b, vb, 0, len, zt, off, n); // · Vᵀ
  }
  return zt;
}

/**
 * Implicit QL on the tridiagonal (d, e), writing eigenvalues over d (unsorted) and
 * rotating the rows of zt into the eigenvectors.
 *
 * For the active block [l, m] (e[m] negligible), one step shifts by the Wilkinson shift μ
 * — the eigenvalue of the leading 2×2 nearer d[l] — and chases the bulge from the
 * bottom up with plane rotations in rows (i, i+1), i = m−1 … l: in exact arithmetic,
 * the QL step of T − μI. Convergence is cubic. An off-diagonal counts as negligible once
 * |e[m]| ≤ ε·max_i(|d_i| + |e_i|): an absolute test, as accurate as the Householder
 * stage before it, and immune to stalling on tiny diagonals.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, zt: Float64Array, n: number): void {
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!));
  const tol = Number.EPSILON * norm;
  const rotations = new RotationBatch(zt, n);
  let budget = 30 * n; // LAPACK's dsteqr allows 30 iterations per eigenvalue on average

  for (let l = 0; l < n; l++) {
    for (;;) {
      let m = l;
      while (m < n - 1 && Math.abs(e[m]!) > tol) m++;
      if (m === l) break;
      if (budget-- === 0) throw new ValueError(`symmetricEigen(): QL did not converge for eigenvalue ${l} of ${n}`);
      rotations.reserve(m - l);

      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r)); // d[m] − μ
      let s = 1,
        c = 1,
        p = 0,
        i = m - 1;
      for (; i >= l; i--) {
        const f = s * e[i]!,
          bb = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // underflow: recover by restarting on the split the rotation found
          d[i + 1]! -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * bb;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - bb;
        rotations.push(i, c, s);
      }
      if (r === 0 && i >= l) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  rotations.finish();
}

/** Column strip of `RotationBatch.flush`: n rows × STRIP doubles stay in L2 (768 KB at n = 3072). */
const STRIP = 32;

/**
 * Plane rotations recorded in order and applied to the rows of Zᵀ in batches. Applied
 * one at a time, every QL step would stream all of Zᵀ through memory; a batch of many
 * steps is applied strip by strip, so each strip is loaded once per batch.
 *
 * A QL step rotates rows (m−1, m), (m−2, m−1), … (l, l+1) in turn: such a run is one
 * kernel call per strip. The kernel is WebAssembly SIMD, two doubles per instruction,
 * about four times the JS loop it falls back to (with bitwise the same results). Both
 * see the same layout, in the memory of a fresh wasm instance when there is one: Zᵀ
 * with rows padded to an even length (16-byte aligned), then the rotations as
 * (c, s, −s) triples.
 */
class RotationBatch {
  private readonly z: Float64Array;
  private readonly kernel: ((...args: number[]) => void) | undefined;
  private readonly ld: number;
  private readonly capacity: number;
  private count = 0;
  /** (first row, first rotation, length) of each run, flat. */
  private runs: number[] = [];

  constructor(
    private readonly zt: Float64Array,
    private readonly n: number,
  ) {
    this.ld = n + (n & 1);
    this.capacity = 16 * Math.max(n, 64);
    const length = n * this.ld + 3 * this.capacity;
    if (sweepModule) {
      // An instance per batch, so that its memory (Zᵀ: 134 MB at n = 4096) goes with it.
      const ex = new WebAssembly.Instance(sweepModule).exports;
      const memory = ex.memory as WebAssembly.Memory;
      memory.grow(Math.ceil((length * 8) / 65536));
      this.z = new Float64Array(memory.buffer, 0, length);
      this.kernel = ex.sweep as (...args: number[]) => void;
    } else {
      this.z = new Float64Array(length);
      this.kernel = undefined;
    }
    for (let i = 0; i < n; i++) this.z.set(zt.subarray(i * n, (i + 1) * n), i * this.ld);
  }

  /** Makes room for `k` more rotations. */
  reserve(k: number): void {
    if (this.count + k > this.capacity) this.flush();
  }

  /** Records (row_i, row_i+1) ← (c·row_i − s·row_i+1, s·row_i + c·row_i+1). */
  push(i: number, c: number, s: number): void {
    const at = this.n * this.ld + 3 * this.count,
      runs = this.runs,
      last = runs.length - 3;
    this.z[at] = c;
    this.z[at + 1] = s;
    this.z[at + 2] = -s;
    // Rows one above the run's last one extend it (whether or not the QL step restarted).
    if (last >= 0 && runs[last]! - runs[last + 2]! === i) runs[last + 2]!++;
    else runs.push(i, this.count, 1);
    this.count++;
  }

  flush(): void {
    const { z, kernel, n, ld, runs } = this;
    for (let c0 = 0; c0 < ld; c0 += STRIP) {
      const width = Math.min(STRIP, ld - c0);
      for (let r = 0; r < runs.length; r += 3) {
        const a = runs[r]! * ld + c0,
          cs = n * ld + 3 * runs[r + 1]!,
          count = runs[r + 2]!;
        if (kernel) kernel(a * 8, cs * 8, count, width / 2, ld * 8);
        else sweep(z, a, cs, count, width, ld);
      }
    }
    this.count = 0;
    this.runs = [];
  }

  /** Flushes and copies the rotated rows back into zt. */
  finish(): void {
    this.flush();
    for (let i = 0; i < this.n; i++) this.zt.set(this.z.subarray(i * this.ld, i * this.ld + this.n), i * this.n);
  }
}

/**
 * One run of rotations: `count` of them with their (c, s, −s) triples from z[cs] on,
 * the first on the rows at z[a] and z[a + ld], each next one a row higher, over `width`
 * entries of each row. The JS fallback of `sweepFunc`.
 */
function sweep(z: Float64Array, a: number, cs: number, count: number, width: number, ld: number): void {
  for (let r = 0; r < count; r++, a -= ld, cs += 3) {
    const c = z[cs]!,
      s = z[cs + 1]!;
    for (let x = a; x < a + width; x++) {
      const u = z[x]!,
        v = z[x + ld]!;
      z[x] = c * u - s * v;
      z[x + ld] = s * u + c * v;
    }
  }
}

/** `sweep` as WebAssembly: sweep(a, cs, count, pairs, ld) with bytes for addresses and stride, f64x2 pairs for width. */
function sweepFunc(): Func {
  const f = new Func(['i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, cs, count, pairs, ld] = [0, 1, 2, 3, 4];
  const p = f.local('i32'),
    left = f.local('i32');
  const [c, s, ns, x, y] = [0, 0, 0, 0, 0].map(() => f.local('v128')) as [number, number, number, number, number];
  f.loop(() => {
    f.get(cs).mem('v128.load64_splat', 0).set(c);
    f.get(cs).mem('v128.load64_splat', 8).set(s);
    f.get(cs).mem('v128.load64_splat', 16).set(ns);
    f.get(a).set(p).get(pairs).set(left);
    f.loop(() => {
      f.get(p).mem('v128.load').set(x);
      f.get(p).get(ld).op('i32.add').mem('v128.load').set(y);
      // c·x − s·y as c·x + (−s)·y: the assembler has no f64x2.sub, and rounding is the same.
      f.get(p).get(c).get(x).op('f64x2.mul').get(ns).get(y).op('f64x2.mul').op('f64x2.add').mem('v128.store');
      f.get(p).get(ld).op('i32.add').get(s).get(x).op('f64x2.mul').get(c).get(y).op('f64x2.mul').op('f64x2.add').mem('v128.store');
      f.get(p).i32(16).op('i32.add').set(p);
      f.get(left).i32(1).op('i32.sub').tee(left).brIf(0);
    });
    f.get(a).get(ld).op('i32.sub').set(a);
    f.get(cs).i32(24).op('i32.add').set(cs);
    f.get(count).i32(1).op('i32.sub').tee(count).brIf(0);
  });
  return f;
}

/** The compiled `sweepFunc`, or undefined without WebAssembly SIMD. */
const sweepModule = (() => {
  if (typeof WebAssembly !== 'object') return undefined;
  const mod = new Module();
  mod.add(sweepFunc(), 'sweep');
  const bytes = mod.encode();
  return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : undefined;
})();

/** Rows per Gram–Schmidt block: wide enough for the GEMM, narrow enough for the in-block loops. */
const MGS_BLOCK = 64;

/**
 * Block modified Gram–Schmidt over the n rows of q, in order, repeated (at most twice)
 * until max|Q·Qᵀ − I| ≤ 1e-12. Each block is orthonormalised by plain MGS, then
 * projected out of every later row at once, Q_later −= (Q_later·Q_blockᵀ)·Q_block: two
 * GEMMs. Each row thus meets the blocks before it one after the other, in MGS order;
 * only within one block are its projections classical, which costs nothing here: the
 * rows arrive orthonormal to rounding (κ ≈ 1), where classical and modified agree.
 */
function orthonormalizeRows(q: Float64Array, n: number): void {
  const coefficients = new Float64Array(n * MGS_BLOCK);
  for (let pass = 1; ; pass++) {
    for (let j0 = 0; j0 < n; j0 += MGS_BLOCK) {
      const b = Math.min(MGS_BLOCK, n - j0),
        later = (j0 + b) * n,
        rest = n - j0 - b;
      for (let j = j0; j < j0 + b; j++) {
        for (let i = j0; i < j; i++) axpy(-dot(q, i * n, q, j * n, n), q, i * n, q, j * n, n);
        const norm = Math.sqrt(dot(q, j * n, q, j * n, n));
        if (!(norm > 0)) throw new ValueError(`symmetricEigen(): eigenvector ${j} vanished in Gram–Schmidt`);
        for (let x = j * n; x < (j + 1) * n; x++) q[x]! /= norm;
      }
      coefficients.fill(0, 0, rest * b);
      addProduct(1, false, true, rest, b, n, q, later, n, q, j0 * n, n, coefficients, 0, b);
      addProduct(-1, false, false, rest, n, b, coefficients, 0, b, q, j0 * n, n, q, later, n);
    }
    const err = rowOrthogonalityError(q, n, n);
    if (err <= ORTHOGONALITY_TOLERANCE) return;
    if (pass === 2) throw new ValueError(`symmetricEigen(): max|VᵀV − I| = ${err} after two Gram–Schmidt passes`);
  }
}

/**
 * Flips v so that its largest-magnitude entry is positive; ties go to the lowest index
 * (the first one met, as the comparison is strict).
 */
function applySignRule(v: Float64Array): void {
  let at = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[at]!)) at = i;
  if (v[at]! < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
}
