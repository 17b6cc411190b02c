// The fast GEMM must agree with the reference on every shape, transpose,
// offset and leading dimension, and must write nothing outside its C block.

import fc from 'fast-check';
import { test, expect, vi } from 'vitest';
import { gemm as reference, type FloatArray } from '../kernels/reference/gemm.ts';
import { gemm as fast } from '../kernels/cpu/gemm.ts';

type Gemm = typeof reference;
type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const DTYPES: Ctor[] = [Float32Array, Float64Array];

// |got - want| <= scale * max|want| + rel * |want|: summation order differs.
const TOLERANCE = new Map<Ctor, { scale: number; rel: number }>([
  [Float32Array, { scale: 1e-5, rel: 1e-4 }],
  [Float64Array, { scale: 1e-12, rel: 1e-10 }],
]);

interface Case {
  m: number; n: number; k: number; transA: boolean; transB: boolean;
  aOff: number; bOff: number; cOff: number; aPad: number; bPad: number; cPad: number; seed: number;
}

const size = fc.integer({ min: 0, max: 70 });
const small = fc.integer({ min: 0, max: 5 });
const cases: fc.Arbitrary<Case> = fc.record({
  m: size, n: size, k: size, transA: fc.boolean(), transB: fc.boolean(),
  aOff: small, bOff: small, cOff: small, aPad: small, bPad: small, cPad: small,
  seed: fc.integer(),
});

/** Deterministic values in [-2, 2) (mulberry32), so cases stay cheap to shrink. */
function random(T: Ctor, length: number, seed: number): FloatArray {
  const out = new T(length);
  for (let i = 0; i < length; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 4 - 2;
  }
  return out;
}

/** Operands for a case; every stored element, padding included, is random. */
function operands(T: Ctor, p: Case) {
  const lda = (p.transA ? p.m : p.k) + p.aPad, ldb = (p.transB ? p.k : p.n) + p.bPad, ldc = p.n + p.cPad;
  return {
    lda, ldb, ldc,
    a: random(T, p.aOff + (p.transA ? p.k : p.m) * lda, p.seed),
    b: random(T, p.bOff + (p.transB ? p.n : p.k) * ldb, p.seed + 1),
    c: random(T, p.cOff + p.m * ldc + 3, p.seed + 2),
  };
}

function call(gemm: Gemm, p: Case, o: ReturnType<typeof operands>, c: FloatArray): void {
  gemm(p.transA, p.transB, p.m, p.n, p.k, o.a, p.aOff, o.lda, o.b, p.bOff, o.ldb, c, p.cOff, o.ldc);
}

/** Runs `gemm` and the reference; returns the first disagreement, or null. */
function compare(gemm: Gemm, T: Ctor, p: Case): string | null {
  const o = operands(T, p);
  const want = o.c.slice(), got = o.c.slice();
  call(reference, p, o, want);
  call(gemm, p, o, got);

  const inBlock = (x: number) => x >= p.cOff && (x - p.cOff) % o.ldc < p.n && x < p.cOff + p.m * o.ldc;
  let max = 0;
  for (let x = 0; x < want.length; x++) if (inBlock(x)) max = Math.max(max, Math.abs(want[x]));
  const { scale, rel } = TOLERANCE.get(T)!;
  for (let x = 0; x < want.length; x++) {
    const ok = inBlock(x) ? Math.abs(got[x] - want[x]) <= scale * max + rel * Math.abs(want[x]) : got[x] === o.c[x];
    if (!ok) return `${T.name} c[${x}]: got ${got[x]}, want ${want[x]}${inBlock(x) ? '' : ' (outside the block)'}`;
  }
  return null;
}

test('fast gemm matches the reference on random shapes, transposes and strides', () => {
  fc.assert(fc.property(cases, (p) => {
    for (const T of DTYPES) expect(compare(fast, T, p)).toBeNull();
  }), { numRuns: 100 });
});

test('fast gemm matches the reference on large shapes', () => {
  const base = { aOff: 3, bOff: 1, cOff: 2, aPad: 0, bPad: 4, seed: 7 };
  const shapes = [
    { m: 128, n: 300, k: 768, transA: false, transB: true, cPad: 0 }, // x · Wᵀ
    { m: 300, n: 97, k: 130, transA: true, transB: false, cPad: 0 }, // Gᵀ · X
    { m: 67, n: 256, k: 520, transA: false, transB: false, cPad: 3 }, // k spans several blocks
  ];
  for (const shape of shapes) for (const T of DTYPES) expect(compare(fast, T, { ...base, ...shape })).toBeNull();
});

test('a NaN in A turns exactly its row of C into NaN', () => {
  const nanCase = fc.record({ p: cases, i: fc.nat(), q: fc.nat() })
    .filter(({ p }) => p.m > 0 && p.n > 0 && p.k > 0);
  fc.assert(fc.property(nanCase, ({ p, i, q }) => {
    i %= p.m; q %= p.k;
    for (const T of DTYPES) {
      const o = operands(T, p);
      o.a[p.aOff + (p.transA ? q * o.lda + i : i * o.lda + q)] = NaN;
      call(fast, p, o, o.c);
      const nansPerRow = Array.from({ length: p.m }, (_, r) =>
        o.c.subarray(p.cOff + r * o.ldc, p.cOff + r * o.ldc + p.n).filter(Number.isNaN).length);
      expect(nansPerRow).toEqual(nansPerRow.map((_, r) => (r === i ? p.n : 0)));
    }
  }), { numRuns: 100 });
});

test('the JS fallback, used without WebAssembly, matches the reference', async () => {
  vi.stubGlobal('WebAssembly', undefined);
  vi.resetModules();
  const { gemm: fallback } = await import('../kernels/cpu/gemm.ts');
  vi.unstubAllGlobals();
  fc.assert(fc.property(cases, (p) => {
    for (const T of DTYPES) expect(compare(fallback, T, p)).toBeNull();
  }), { numRuns: 100 });
  // Big enough to cross the JS path's cache blocks (k > 128, n > 512).
  const p = { m: 9, n: 530, k: 140, transA: true, transB: true, aOff: 1, bOff: 2, cOff: 3, aPad: 2, bPad: 1, cPad: 2, seed: 3 };
  for (const T of DTYPES) expect(compare(fallback, T, p)).toBeNull();
});
