// The symmetric eigensolver behind the SparseGrad bases (docs/METHOD.md §3, §12.1):
// C·V = V·Λ with Λ descending, VᵀV = I to 1e-12, the sign rule, V·Λ·Vᵀ = C, on random
// matrices and on the cases that break eigensolvers (repeated, clustered and zero
// eigenvalues, diagonal input, closed forms). Where eigenvalues repeat, the basis is
// arbitrary within the eigenspace, so only basis-independent identities are checked.
import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import { ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';
import { orthogonalityError } from '../../nn/sparsegrad/bases.ts';
import { symmetricEigen, type SymmetricEigen } from '../../nn/sparsegrad/eigen.ts';
import { arbSeed, assertClose, T64, type Bound } from '../kit/index.ts';

/** Row-major m×k times k×n, summed in float64: the oracle's plain loop. */
function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
  }
  return c;
}

const transposed = (a: Float64Array, n: number) => Float64Array.from(a, (_, x) => a[(x % n) * n + Math.floor(x / n)]!);
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** Symmetric n×n with N(0, scale²) entries. */
function randomSymmetric(n: number, seed: number, scale = 1): Float64Array {
  const g = new Generator(seed),
    c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) c[i * n + j] = c[j * n + i] = scale * g.normal();
  return c;
}

/** A random orthogonal n×n matrix: Gram–Schmidt (twice) on the columns of a Gaussian one. */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const g = new Generator(seed),
    q = Float64Array.from({ length: n * n }, () => g.normal());
  const col = (j: number) => Array.from({ length: n }, (_, i) => i * n + j);
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const r = col(i).reduce((s, x, row) => s + q[x]! * q[row * n + j]!, 0);
        col(j).forEach((x, row) => (q[x]! -= r * q[row * n + i]!));
      }
    }
    const norm = Math.hypot(...col(j).map((x) => q[x]!));
    col(j).forEach((x) => (q[x]! /= norm));
  }
  return q;
}

/** Q·diag(λ)·Qᵀ for a random orthogonal Q: a symmetric matrix with spectrum λ (returned with Q). */
function withSpectrum(lambda: readonly number[], seed: number): { c: Float64Array; q: Float64Array } {
  const n = lambda.length,
    q = randomOrthogonal(n, seed);
  const ql = Float64Array.from(q, (x, at) => x * lambda[at % n]!);
  return { c: matmul(ql, transposed(q, n), n, n, n), q };
}

/** T64, with its absolute part scaled to the matrix: T64 on C / max|C|. */
const t64Scaled = (scale: number): Bound => ({ name: `T64·${scale.toPrecision(3)}`, atol: T64.atol * scale, rtol: T64.rtol });

/**
 * Every basis-independent property of a decomposition of C. The residuals must also
 * meet what a backward-stable solver guarantees, |C·V − V·Λ| ≤ c·n·ε·‖C‖_F (c = 50),
 * far inside T64.
 */
function checkDecomposition(c: Float64Array, n: number, { values, vectors: v }: SymmetricEigen): void {
  expect(values.length).toBe(n);
  expect(v.length).toBe(n * n);
  for (let k = 1; k < n; k++) expect(values[k]).toBeLessThanOrEqual(values[k - 1]!);
  expect(orthogonalityError(v)).toBeLessThanOrEqual(1e-12);
  for (let k = 0; k < n; k++) {
    let at = 0;
    for (let i = 1; i < n; i++) if (Math.abs(v[i * n + k]!) > Math.abs(v[at * n + k]!)) at = i;
    expect(v[at * n + k], `sign rule, column ${k}`).toBeGreaterThan(0);
  }
  const vl = Float64Array.from(v, (x, at) => x * values[at % n]!);
  const cv = matmul(c, v, n, n, n),
    back = matmul(vl, transposed(v, n), n, n, n);
  const scale = maxAbs(c);
  assertClose(cv, vl, t64Scaled(scale), 'C·V = V·Λ');
  assertClose(back, c, t64Scaled(scale), 'V·Λ·Vᵀ = C');
  const stable = 50 * n * Number.EPSILON * Math.hypot(...c);
  expect(maxAbs(cv.map((x, at) => x - vl[at]!)), 'backward error of C·V = V·Λ').toBeLessThanOrEqual(stable);
  expect(maxAbs(back.map((x, at) => x - c[at]!)), 'backward error of V·Λ·Vᵀ = C').toBeLessThanOrEqual(stable);
}

/** The projector onto the span of columns [k0, k1) of an n×n matrix: basis-independent. */
function projector(v: Float64Array, n: number, k0: number, k1: number): Float64Array {
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = k0; k < k1; k++) p[i * n + j]! += v[i * n + k]! * v[j * n + k]!;
  return p;
}

describe('symmetricEigen', () => {
  test('random symmetric matrices, sizes 1–40 and magnitudes 1e-150 … 1e150', () => {
    const arb = fc.record({ n: fc.integer({ min: 1, max: 40 }), seed: arbSeed(), exponent: fc.constantFrom(0, 0, -150, -3, 3, 150) });
    fc.assert(
      fc.property(arb, ({ n, seed, exponent }) => {
        const c = randomSymmetric(n, seed, 10 ** exponent);
        checkDecomposition(c, n, symmetricEigen(c));
      }),
      { numRuns: 100 },
    );
  });

  test('256×256 and 300×300: many Householder blocks, rotation batches, Gram–Schmidt blocks and GEMM chunks', () => {
    for (const n of [256, 300]) {
      const c = randomSymmetric(n, n);
      checkDecomposition(c, n, symmetricEigen(c));
    }
  });

  test('block-diagonal input: reflections vanish mid-way, the tridiagonal splits, eigenvectors stay in their block', () => {
    const n = 20,
      split = 12,
      c = randomSymmetric(n, 20);
    for (let i = 0; i < split; i++) for (let j = split; j < n; j++) c[i * n + j] = c[j * n + i] = 0;
    const result = symmetricEigen(c);
    checkDecomposition(c, n, result);
    for (let k = 0; k < n; k++) {
      const mass = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => result.vectors[(from + i) * n + k]! ** 2).reduce((s, x) => s + x, 0);
      expect(Math.min(mass(0, split), mass(split, n)), `eigenvector ${k} mixes the blocks`).toBeLessThanOrEqual(1e-20);
    }
  });

  test('diagonal input: the eigenvectors are exactly the sorted unit vectors', () => {
    const diagonal = [0.5, -3, 7, 0, 2.25, -0.125];
    const n = diagonal.length,
      c = new Float64Array(n * n);
    diagonal.forEach((x, i) => (c[i * n + i] = x));
    const { values, vectors } = symmetricEigen(c);
    const order = diagonal.map((_, i) => i).sort((i, j) => diagonal[j]! - diagonal[i]!);
    expect([...values]).toEqual(order.map((i) => diagonal[i]));
    const expected = new Float64Array(n * n);
    order.forEach((row, k) => (expected[row * n + k] = 1));
    expect(vectors).toEqual(expected);
  });

  test('the identity and the zero matrix: every vector is an eigenvector', () => {
    for (const value of [1, 0]) {
      const n = 9,
        c = new Float64Array(n * n);
      for (let i = 0; i < n; i++) c[i * n + i] = value;
      const result = symmetricEigen(c);
      expect([...result.values]).toEqual(Array(n).fill(value));
      checkDecomposition(c, n, result);
    }
  });

  test('repeated eigenvalues in a rotated basis: the eigenspace projectors are recovered', () => {
    const lambda = [3, 3, 3, 1, 1, 0.5, -2, -2, -2, -2];
    const n = lambda.length,
      { c, q } = withSpectrum(lambda, 11);
    const result = symmetricEigen(c);
    checkDecomposition(c, n, result);
    assertClose(result.values, lambda, t64Scaled(3), 'eigenvalues');
    for (const [k0, k1] of [
      [0, 3],
      [3, 5],
      [5, 6],
      [6, 10],
    ] as const) {
      assertClose(projector(result.vectors, n, k0, k1), projector(q, n, k0, k1), t64Scaled(1), `projector ${k0}..${k1}`);
    }
  });

  test('rank-deficient Gram matrices: the null space is found and annihilated', () => {
    const n = 30,
      r = 7,
      g = new Generator(5);
    const b = Float64Array.from({ length: n * r }, () => g.normal());
    const c = matmul(
      b,
      Float64Array.from({ length: r * n }, (_, x) => b[(x % n) * r + Math.floor(x / n)]!),
      n,
      r,
      n,
    );
    const result = symmetricEigen(c);
    checkDecomposition(c, n, result);
    const top = result.values[0]!;
    expect(result.values[r - 1]).toBeGreaterThan(1e-3 * top);
    for (let k = r; k < n; k++) expect(Math.abs(result.values[k]!)).toBeLessThanOrEqual(1e-13 * top);
    const btv = matmul(
      Float64Array.from({ length: r * n }, (_, x) => b[(x % n) * r + Math.floor(x / n)]!),
      result.vectors,
      r,
      n,
      n,
    );
    for (let i = 0; i < r; i++) for (let k = r; k < n; k++) expect(Math.abs(btv[i * n + k]!)).toBeLessThanOrEqual(1e-12 * Math.sqrt(top));
  });

  test('clustered eigenvalues (gaps of 1e-9) stay orthogonal and accurate', () => {
    const lambda = [...Array.from({ length: 12 }, (_, k) => 1 + k * 1e-9), 5, -1, 0.25, 1e-12];
    const n = lambda.length,
      { c } = withSpectrum(lambda, 3);
    const result = symmetricEigen(c);
    checkDecomposition(c, n, result);
    const sorted = [...lambda].sort((x, y) => y - x);
    expect(maxAbs(result.values.map((x, k) => x - sorted[k]!))).toBeLessThanOrEqual(1e-14 * 5 * n);
  });

  test('1×1: the value itself and the vector [1]', () => {
    for (const x of [5, -3, 0, 1e-300]) {
      const { values, vectors } = symmetricEigen(Float64Array.of(x));
      expect([...values, ...vectors]).toEqual([x, 1]);
    }
  });

  test('2×2: the closed form', () => {
    for (const [a, b, d] of [
      [2, 1, 2],
      [1, -3, 4],
      [0, 1, 0],
      [5, 0, -1],
      [-1, 0, 3],
      [1e-8, 2, -7],
    ] as const) {
      const mean = (a + d) / 2,
        radius = Math.hypot((a - d) / 2, b);
      const { values, vectors } = symmetricEigen(Float64Array.of(a, b, b, d));
      assertClose(values, [mean + radius, mean - radius], t64Scaled(maxAbs([a, b, d])), `eigenvalues of [${a} ${b}; ${b} ${d}]`);
      for (const [k, lambda] of [
        [0, mean + radius],
        [1, mean - radius],
      ] as const) {
        // (b, λ − a) is an eigenvector when b ≠ 0; else a unit vector.
        let x: number = b,
          y = lambda - a;
        if (b === 0) [x, y] = lambda === a ? [1, 0] : [0, 1];
        const norm = Math.hypot(x, y),
          sign = Math.abs(x) >= Math.abs(y) ? Math.sign(x) : Math.sign(y);
        assertClose([vectors[k]!, vectors[2 + k]!], [(sign * x) / norm, (sign * y) / norm], t64Scaled(1), `eigenvector ${k}`);
      }
    }
  });

  test('known answer: the second-difference matrix [2 −1; −1 2 −1; …]', () => {
    // Eigenvalues 2 − 2cos(kπ/(n+1)), eigenvectors sin(ikπ/(n+1)) up to sign: their two
    // largest entries tie in exact arithmetic, so rounding decides the sign rule's pick.
    const n = 50,
      c = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      c[i * n + i] = 2;
      if (i > 0) c[i * n + i - 1] = c[(i - 1) * n + i] = -1;
    }
    const result = symmetricEigen(c);
    checkDecomposition(c, n, result);
    const lambda = Array.from({ length: n }, (_, j) => 2 - 2 * Math.cos(((n - j) * Math.PI) / (n + 1)));
    expect(maxAbs(result.values.map((x, j) => x - lambda[j]!))).toBeLessThanOrEqual(1e-13);
    for (let j = 0; j < n; j++) {
      const k = n - j,
        norm = Math.sqrt(2 / (n + 1));
      const overlap = Array.from({ length: n }, (_, i) => result.vectors[i * n + j]! * norm * Math.sin(((i + 1) * k * Math.PI) / (n + 1)));
      expect(Math.abs(1 - Math.abs(overlap.reduce((s, x) => s + x, 0)))).toBeLessThanOrEqual(1e-12);
    }
  });

  test('only the upper triangle is read', () => {
    const n = 12,
      c = randomSymmetric(n, 1),
      garbled = c.slice();
    for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) garbled[i * n + j] = 1e3 * (i - j);
    expect(symmetricEigen(garbled)).toEqual(symmetricEigen(c));
  });

  test('scaling by a power of two scales the eigenvalues exactly and leaves the vectors bitwise', () => {
    const n = 20,
      c = randomSymmetric(n, 9),
      base = symmetricEigen(c);
    const scaled = symmetricEigen(c.map((x) => x * 2 ** -40));
    expect(scaled.vectors).toEqual(base.vectors);
    expect(scaled.values).toEqual(base.values.map((x) => x * 2 ** -40));
  });

  test('bad input: not square, non-finite', () => {
    expect(() => symmetricEigen(new Float64Array(6))).toThrow(ValueError);
    expect(() => symmetricEigen(new Float64Array(6))).toThrow(/expected an n×n matrix, got 6 values/);
    expect(() => symmetricEigen(Float64Array.of(1, NaN, NaN, 1))).toThrow(/non-finite entry NaN at \(0, 1\)/);
    expect(() => symmetricEigen(Float64Array.of(Infinity))).toThrow(ValueError);
  });

  test('without WebAssembly: the JS rotations (and JS GEMM) give the same decomposition', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    vi.resetModules();
    const { symmetricEigen: fallback } = await import('../../nn/sparsegrad/eigen.ts');
    vi.unstubAllGlobals();
    const n = 75,
      c = randomSymmetric(n, 75),
      result = fallback(c),
      wasm = symmetricEigen(c);
    checkDecomposition(c, n, result);
    assertClose(result.values, wasm.values, t64Scaled(maxAbs(c)), 'eigenvalues');
    assertClose(result.vectors, wasm.vectors, t64Scaled(1), 'eigenvectors (distinct eigenvalues, same signs)');
  });

  test('the empty matrix', () => {
    expect(symmetricEigen(new Float64Array(0))).toEqual({ values: new Float64Array(0), vectors: new Float64Array(0) });
  });
});

describe('orthogonalityError', () => {
  test('measures max|QᵀQ − I|, for square and tall matrices', () => {
    expect(orthogonalityError(Float64Array.of(1, 0, 1, 1))).toBe(1); // QᵀQ = [2 1; 1 1]
    const s = Math.SQRT1_2;
    expect(orthogonalityError(Float64Array.of(s, 0, s, 0, 0, 1), 2)).toBeLessThanOrEqual(2 * Number.EPSILON); // 3×2
    expect(orthogonalityError(Float64Array.of(0.5, 0, 0, 2))).toBe(3);
    expect(() => orthogonalityError(new Float64Array(5), 2)).toThrow(ValueError);
  });
});
