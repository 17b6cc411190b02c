// The preliminary phase's Gram route (docs/METHOD.md §3, §12.1): streamed C_out, C_in
// equal the naive sums, their traces the total squared Frobenius norm, and the bases
// from them equal the left singular vectors of the explicit stacked unfoldings
// [M_1 … M_N] and [M_1ᵀ … M_Nᵀ] (up to sign, for distinct eigenvalues).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';
import { basesFromGram, orthogonalityError } from '../../nn/sparsegrad/bases.ts';
import { symmetricEigen } from '../../nn/sparsegrad/eigen.ts';
import { GramAccumulator } from '../../nn/sparsegrad/gram.ts';
import { arbSeed, assertClose, type Bound } from '../kit/index.ts';

/** N seeded slices out×in; float32 ones hold float32-rounded values. */
function slices(count: number, out: number, inF: number, seed: number, dtype: 'float32' | 'float64' = 'float64') {
  const g = new Generator(seed);
  return Array.from({ length: count }, () => {
    const values = Array.from({ length: out * inF }, () => g.normal());
    return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  });
}

function accumulate(ms: readonly (Float32Array | Float64Array)[], out: number, inF: number) {
  const acc = new GramAccumulator(out, inF);
  ms.forEach((m) => acc.add(m));
  return acc.finish();
}

/** X·Xᵀ of a row-major rows×cols matrix given by its entries, as a plain float64 sum. */
function naiveGram(rows: number, cols: number, x: (i: number, p: number) => number): Float64Array {
  const c = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) for (let p = 0; p < cols; p++) c[i * rows + j]! += x(i, p) * x(j, p);
  return c;
}

/** Sums in a different order agree to a few ulps of the summed magnitudes. */
const SUM_ORDER: Bound = { name: 'summation order', atol: 1e-12, rtol: 1e-12, atolRelativeToMax: true };

const trace = (c: Float64Array, n: number) => Array.from({ length: n }, (_, i) => c[i * n + i]!).reduce((s, x) => s + x, 0);

describe('GramAccumulator', () => {
  test('C_out and C_in equal the naive sums; traces equal Σ‖M_n‖²_F', () => {
    const arb = fc.record({
      out: fc.integer({ min: 1, max: 9 }),
      inF: fc.integer({ min: 1, max: 9 }),
      count: fc.integer({ min: 1, max: 5 }),
      seed: arbSeed(),
      dtype: fc.constantFrom<'float32' | 'float64'>('float64', 'float32'),
    });
    fc.assert(
      fc.property(arb, ({ out, inF, count, seed, dtype }) => {
        const ms = slices(count, out, inF, seed, dtype);
        const { cOut, cIn, slices: n } = accumulate(ms, out, inF);
        expect(n).toBe(count);
        // [M_1 … M_N] is out×(N·in); [M_1ᵀ … M_Nᵀ] is in×(N·out).
        assertClose(
          cOut,
          naiveGram(out, count * inF, (i, p) => ms[Math.floor(p / inF)]![i * inF + (p % inF)]!),
          SUM_ORDER,
          'C_out',
        );
        assertClose(
          cIn,
          naiveGram(inF, count * out, (i, p) => ms[Math.floor(p / out)]![(p % out) * inF + i]!),
          SUM_ORDER,
          'C_in',
        );
        const frobenius = ms.flatMap((m) => Array.from(m)).reduce((s, x) => s + x * x, 0);
        assertClose([trace(cOut, out), trace(cIn, inF)], [frobenius, frobenius], SUM_ORDER, 'traces');
      }),
      { numRuns: 60 },
    );
  });

  test('sizes beyond one GEMM panel (the symmetric staircase and its mirror)', () => {
    const out = 300,
      inF = 13,
      ms = slices(2, out, inF, 4);
    const { cOut, cIn } = accumulate(ms, out, inF);
    assertClose(
      cOut,
      naiveGram(out, 2 * inF, (i, p) => ms[Math.floor(p / inF)]![i * inF + (p % inF)]!),
      SUM_ORDER,
      'C_out',
    );
    assertClose(
      cIn,
      naiveGram(inF, 2 * out, (i, p) => ms[Math.floor(p / out)]![(p % out) * inF + i]!),
      SUM_ORDER,
      'C_in',
    );
    expect(cOut).toEqual(Float64Array.from(cOut, (_, x) => cOut[(x % out) * out + Math.floor(x / out)]!)); // exactly symmetric
  });

  test('float32 slices give bitwise the result of their float64 copies', () => {
    const f32 = slices(3, 7, 11, 8, 'float32');
    expect(accumulate(f32, 7, 11)).toEqual(
      accumulate(
        f32.map((m) => Float64Array.from(m)),
        7,
        11,
      ),
    );
  });

  test('bad input: wrong slice size, non-finite values, use after finish', () => {
    const acc = new GramAccumulator(2, 3);
    expect(() => acc.add(new Float32Array(5))).toThrow(ShapeError);
    expect(() => acc.add(new Float32Array(5))).toThrow(/expected a slice of 2x3 = 6 values, got 5/);
    expect(() => acc.add(Float64Array.of(0, 0, 0, 0, NaN, 0))).toThrow(/slice 0 has a non-finite value NaN at index 4/);
    acc.add(new Float64Array(6));
    expect(acc.finish().slices).toBe(1);
    expect(() => acc.add(new Float64Array(6))).toThrow(ValueError);
    expect(() => acc.finish()).toThrow(/already called/);
    expect(() => new GramAccumulator(2.5, 3)).toThrow(ValueError);
  });
});

describe('basesFromGram', () => {
  /**
   * The SVD route: left singular vectors of an unfolding S are the eigenvectors of the
   * explicit S·Sᵀ. Compared column by column up to sign, where the eigenvalue is
   * separated from its neighbours (elsewhere the basis is not unique).
   */
  function expectSameBasis(gram: { vectors: Float64Array; values: Float64Array }, svd: { vectors: Float64Array; values: Float64Array }, n: number): void {
    const top = svd.values[0]!;
    assertClose(gram.values, svd.values, { name: 'eigenvalues', atol: 1e-12 * top, rtol: 0 });
    for (let k = 0; k < n; k++) {
      const gap = Math.min(k > 0 ? svd.values[k - 1]! - svd.values[k]! : Infinity, k < n - 1 ? svd.values[k]! - svd.values[k + 1]! : Infinity);
      if (gap < 1e-6 * top) continue;
      const column = (v: Float64Array) => Array.from({ length: n }, (_, i) => v[i * n + k]!);
      const a = column(gram.vectors),
        b = column(svd.vectors);
      const sign = Math.sign(a.reduce((s, x, i) => s + x * b[i]!, 0));
      assertClose(
        a.map((x) => sign * x),
        b,
        { name: 'up to sign', atol: (1e-12 * top) / gap, rtol: 0 },
        `eigenvector ${k}`,
      );
    }
  }

  test('the Gram route equals the SVD route on the explicit stack', () => {
    fc.assert(
      fc.property(fc.record({ seed: arbSeed(), count: fc.integer({ min: 1, max: 6 }) }), ({ seed, count }) => {
        const out = 6,
          inF = 9,
          ms = slices(count, out, inF, seed, 'float32');
        const bases = basesFromGram(accumulate(ms, out, inF));
        const stackV = naiveGram(out, count * inF, (i, p) => ms[Math.floor(p / inF)]![i * inF + (p % inF)]!);
        const stackU = naiveGram(inF, count * out, (i, p) => ms[Math.floor(p / out)]![(p % out) * inF + i]!);
        expectSameBasis({ vectors: bases.V, values: bases.eigenvalues.v }, symmetricEigen(stackV), out);
        expectSameBasis({ vectors: bases.U, values: bases.eigenvalues.u }, symmetricEigen(stackU), inF);
        expect(orthogonalityError(bases.U)).toBeLessThanOrEqual(1e-12);
        expect(orthogonalityError(bases.V)).toBeLessThanOrEqual(1e-12);
      }),
      { numRuns: 40 },
    );
  });
});
