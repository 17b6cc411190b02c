/**
 * erf and e^(−x²) from kernels/erf.ts (GELU's forward and backward rest on them) against an
 * independent oracle: erf's Maclaurin series summed exactly in 400-bit fixed point with
 * BigInt, so its alternating, cancelling terms cost no precision. Tolerances are in ulps
 * of the true value, justified in each test.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { erf, expNegSquare } from '../kernels/erf.ts';

const BITS = 400n;
const ONE = 1n << BITS;
// 2/√π to 60 digits (mpmath), as a fixed-point number.
const TWO_OVER_SQRT_PI = (1_12837916709551257389615890312154517168810125865799771368817n * ONE) / 10n ** 59n;

/** x as m / 2^q with m, q integers (exact: x is a double). */
function asRatio(x: number): { m: bigint; q: bigint } {
  let q = 0n;
  while (!Number.isInteger(x)) {
    x *= 2;
    q++;
  }
  return { m: BigInt(x), q };
}

/** erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n!·(2n+1)), each term to 2^−400, rounded to a double at the end. */
function erfOracle(x: number): number {
  const { m, q } = asRatio(x);
  let term = (m * ONE) >> q; // x^(2n+1)/n!, fixed point
  let sum = 0n;
  for (let n = 0n; term !== 0n; n++) {
    sum += (n % 2n === 0n ? term : -term) / (2n * n + 1n);
    term = (term * m * m) / ((n + 1n) << (2n * q));
  }
  // BigInt → Number rounds to the nearest double; dividing by a power of two is exact.
  return Number((sum * TWO_OVER_SQRT_PI) >> BITS) / 2 ** Number(BITS);
}

const ulp = (v: number) => Math.max(Number.MIN_VALUE, 2 ** (Math.floor(Math.log2(Math.abs(v) || Number.MIN_VALUE)) - 52));

describe('erf', () => {
  test('known values', () => {
    const half = 0.5204998778130465; // the double nearest to erf(1/2) = 0.52049987781304653768… (mpmath)
    expect(Math.abs(erf(0.5) - half)).toBeLessThanOrEqual(ulp(half));
    expect(erf(-0.5)).toBe(-erf(0.5));
    expect(erf(0)).toBe(0);
    expect(erf(7)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });

  // The table's polynomial truncates below 1e-18 and Horner's rule in double adds a few
  // roundings of terms no larger than the result: within 2 ulps of the true value. Below
  // 2^−30 the fixed point is too coarse for the oracle, and erf(x) = 2x/√π·(1 − x²/3 + …)
  // is 2x/√π to far below an ulp.
  test('within 2 ulps of the exact series on (−7, 7)', () => {
    fc.assert(
      fc.property(fc.double({ min: -7, max: 7, noNaN: true }), (x) => {
        const exact = Math.abs(x) < 2 ** -30 ? x * 1.1283791670955126 : erfOracle(x);
        expect(Math.abs(erf(x) - exact), `erf(${x}): ${erf(x)} vs ${exact}`).toBeLessThanOrEqual(2 * ulp(exact));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  // Smoothness across the table's cells is what a finite-difference gradcheck needs: at each
  // boundary between cells the two polynomials agree to an ulp, so stepping over it erf
  // never moves back by more than one ulp (roundings, not a seam).
  test('no step back larger than an ulp across any cell boundary', () => {
    for (let k = 0; k < 384; k++) {
      const boundary = (k + 0.5) / 32 - 6;
      let previous = -Infinity;
      for (let i = -8; i <= 8; i++) {
        const x = boundary + i * 2 ** -50;
        expect(erf(x), `erf at ${x}`).toBeGreaterThanOrEqual(previous - ulp(previous));
        previous = erf(x);
      }
    }
  });

  test('odd to an ulp', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 7, noNaN: true }), (x) => {
        expect(Math.abs(erf(-x) + erf(x))).toBeLessThanOrEqual(ulp(erf(x)));
      }),
      { numRuns: 300, seed: 8 },
    );
  });
});

describe('expNegSquare', () => {
  // Against Math.exp(−x·x): x·x rounds (relative 2^−53), which moves e^(−x²) by x²·2^−53
  // relatively; each side adds a few ulps of its own. Bound: (x² + 4) ulps.
  test('e^(−x²) within (x² + 4) ulps of Math.exp on (−8, 8)', () => {
    fc.assert(
      fc.property(fc.double({ min: -8, max: 8, noNaN: true }), (x) => {
        const expected = Math.exp(-x * x);
        expect(Math.abs(expNegSquare(x) - expected), `x = ${x}`).toBeLessThanOrEqual((x * x + 4) * ulp(expected));
      }),
      { numRuns: 300, seed: 9 },
    );
  });
});
