// The fast GEMM must agree with the reference on every shape, transpose,
// offset and leading dimension, and must write nothing outside its C block.

import fc from 'fast-check';
import { test, expect, vi } from 'vitest';
import { gemm as reference, type FloatArray } from '../kernels/reference/gemm.ts';
import { gemm as fast, gemmBatch, gemmBias, PARALLEL_MIN_MACS, timeGemmPhases } from '../kernels/cpu/gemm.ts';
import { Module } from '../base/wasm-assembler.ts';
import { addGemmKernels, hasRelaxedSimd } from '../kernels/cpu/gemm-kernels.ts';
import { setRelaxedSimd, setThreads, threadInfo, threadPool, threadsReady } from '../kernels/cpu/wasm-runtime.ts';

type Gemm = typeof reference;
type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const DTYPES: Ctor[] = [Float32Array, Float64Array];

// |got - want| <= scale * Σ_p |a_ip·b_pj| + rel * |want|: summation order differs, and a
// reordered sum's error scales with its terms, not with its result, which may cancel
// (docs/TESTING.md §1). The worst case for k ≤ 70 float32 terms is k·2⁻²⁴ ≈ 4.2e-6 of Σ|terms|.
const TOLERANCE = new Map<Ctor, { scale: number; rel: number }>([
  [Float32Array, { scale: 1e-5, rel: 1e-4 }],
  [Float64Array, { scale: 1e-12, rel: 1e-10 }],
]);

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aOff: number;
  bOff: number;
  cOff: number;
  aPad: number;
  bPad: number;
  cPad: number;
  seed: number;
}

const size = fc.integer({ min: 0, max: 70 });
const small = fc.integer({ min: 0, max: 5 });
const cases: fc.Arbitrary<Case> = fc.record({
  m: size,
  n: size,
  k: size,
  transA: fc.boolean(),
  transB: fc.boolean(),
  aOff: small,
  bOff: small,
  cOff: small,
  aPad: small,
  bPad: small,
  cPad: small,
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
  const lda = (p.transA ? p.m : p.k) + p.aPad,
    ldb = (p.transB ? p.k : p.n) + p.bPad,
    ldc = p.n + p.cPad;
  return {
    lda,
    ldb,
    ldc,
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
  const want = o.c.slice(),
    got = o.c.slice();
  call(reference, p, o, want);
  call(gemm, p, o, got);

  const inBlock = (x: number) => x >= p.cOff && (x - p.cOff) % o.ldc < p.n && x < p.cOff + p.m * o.ldc;
  // Σ|a_ip·b_pj| per output: the reference on |A| and |B|, in float64.
  const terms = new Float64Array(want.length);
  call(reference, p, { ...o, a: Float64Array.from(o.a, Math.abs), b: Float64Array.from(o.b, Math.abs) }, terms);
  const { scale, rel } = TOLERANCE.get(T)!;
  for (let x = 0; x < want.length; x++) {
    const ok = inBlock(x) ? Math.abs(got[x]! - want[x]!) <= scale * terms[x]! + rel * Math.abs(want[x]!) : got[x] === o.c[x];
    if (!ok) return `${T.name} c[${x}]: got ${got[x]}, want ${want[x]}${inBlock(x) ? '' : ' (outside the block)'}`;
  }
  return null;
}

test('fast gemm matches the reference on random shapes, transposes and strides', () => {
  fc.assert(
    fc.property(cases, (p) => {
      for (const T of DTYPES) expect(compare(fast, T, p)).toBeNull();
    }),
    { numRuns: 100 },
  );
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

// A long k (> 4,096) is summed in k-blocks (kernels/cpu/gemm.ts, KC = 512 steps), each tile reloaded
// from C between them. The plain kernel's arithmetic is a float multiply then a float add per
// step, which JavaScript can replay exactly (Math.fround in float32): every entry must be the
// bits of one pass over k in order, and the fused bias added once, after the last block.
test('k-blocks continue each sum exactly: the plain kernel equals one sequential pass over a long k, bitwise, bias too', () => {
  const before = threadInfo().fma;
  setRelaxedSimd(false);
  try {
    for (const k of [4097, 4600, 5127])
      for (const T of DTYPES) {
        const round = T === Float32Array ? Math.fround : (x: number) => x;
        const p: Case = { m: 9, n: 21, k, transA: k % 2 === 0, transB: true, aOff: 1, bOff: 2, cOff: 0, aPad: 0, bPad: 1, cPad: 0, seed: k };
        const o = operands(T, p);
        const bias = random(T, p.n, 5);
        const [plain, fused] = [o.c.slice(), o.c.slice()];
        call(fast, p, o, plain);
        gemmBias(p.transA, p.transB, p.m, p.n, p.k, o.a, p.aOff, o.lda, o.b, p.bOff, o.ldb, fused, p.cOff, o.ldc, bias, 0);
        for (let i = 0; i < p.m; i++)
          for (let j = 0; j < p.n; j++) {
            let sum = 0;
            for (let q = 0; q < k; q++) {
              const a = o.a[p.aOff + (p.transA ? q * o.lda + i : i * o.lda + q)]!;
              const b = o.b[p.bOff + (p.transB ? j * o.ldb + q : q * o.ldb + j)]!;
              sum = round(sum + round(a * b));
            }
            const at = p.cOff + i * o.ldc + j;
            expect(Object.is(plain[at], sum), `${T.name} k=${k} c[${i}, ${j}]: ${plain[at]} vs ${sum}`).toBe(true);
            if (T === Float32Array) expect(Object.is(fused[at], round(sum + bias[j]!)), `bias, k=${k} c[${i}, ${j}]`).toBe(true);
          }
      }
  } finally {
    setRelaxedSimd(before);
  }
});

// The bias is added in the micro-kernel's epilogue, after the sum is rounded to the dtype:
// bitwise the result of gemm followed by a separate add, on every path (wasm and tiny JS).
test('gemmBias equals gemm followed by adding the bias to every row, bitwise', () => {
  fc.assert(
    fc.property(cases, fc.integer({ min: 0, max: 3 }), (p, biasOff) => {
      for (const T of DTYPES) {
        const o = operands(T, p);
        const bias = random(T, biasOff + p.n, p.seed + 3);
        const fused = o.c.slice(),
          separate = o.c.slice();
        gemmBias(p.transA, p.transB, p.m, p.n, p.k, o.a, p.aOff, o.lda, o.b, p.bOff, o.ldb, fused, p.cOff, o.ldc, bias, biasOff);
        call(fast, p, o, separate);
        for (let i = 0; i < p.m; i++) for (let j = 0; j < p.n; j++) separate[p.cOff + i * o.ldc + j]! += bias[biasOff + j]!;
        const differs = fused.findIndex((x, i) => !Object.is(x, separate[i]));
        expect(differs, `${T.name} ${p.m}×${p.n}×${p.k} c[${differs}]: fused ${fused[differs]}, separate ${separate[differs]}`).toBe(-1);
      }
    }),
    { numRuns: 100 },
  );
});

test('a NaN in A turns exactly its row of C into NaN', () => {
  const nanCase = fc.record({ p: cases, i: fc.nat(), q: fc.nat() }).filter(({ p }) => p.m > 0 && p.n > 0 && p.k > 0);
  fc.assert(
    fc.property(nanCase, ({ p, i, q }) => {
      i %= p.m;
      q %= p.k;
      for (const T of DTYPES) {
        const o = operands(T, p);
        o.a[p.aOff + (p.transA ? q * o.lda + i : i * o.lda + q)] = NaN;
        call(fast, p, o, o.c);
        const nansPerRow = Array.from({ length: p.m }, (_, r) => o.c.subarray(p.cOff + r * o.ldc, p.cOff + r * o.ldc + p.n).filter(Number.isNaN).length);
        expect(nansPerRow).toEqual(nansPerRow.map((_, r) => (r === i ? p.n : 0)));
      }
    }),
    { numRuns: 100 },
  );
});

test('the JS fallback, used without WebAssembly, matches the reference', async () => {
  vi.stubGlobal('WebAssembly', undefined);
  vi.resetModules();
  const { gemm: fallback } = await import('../kernels/cpu/gemm.ts');
  vi.unstubAllGlobals();
  fc.assert(
    fc.property(cases, (p) => {
      for (const T of DTYPES) expect(compare(fallback, T, p)).toBeNull();
    }),
    { numRuns: 100 },
  );
  // Big enough to cross the JS path's cache blocks (k > 128, n > 512).
  const p = { m: 9, n: 530, k: 140, transA: true, transB: true, aOff: 1, bOff: 2, cOff: 3, aPad: 2, bPad: 1, cPad: 2, seed: 3 };
  for (const T of DTYPES) expect(compare(fallback, T, p)).toBeNull();
});

// Work is split into tasks by output tiles, and a C tile is computed by the same code over
// the same k order whichever thread takes it: results must be bitwise the same for any
// thread count. Here every task of the two-thread run goes to the worker (the caller only
// waits), so a worker that computed anything differently would show.
test('results do not depend on the thread count (bitwise), on all layouts and both dtypes', async () => {
  const pool = threadPool()!;
  expect(threadInfo().parallel).toBe(true); // Node ≥ 20 has shared memory and worker_threads
  const before = threadInfo().threads;
  setThreads(2);
  await threadsReady();
  const big = fc.integer({ min: 33, max: 200 });
  const bigCases = fc.record({
    m: big,
    n: big,
    k: fc.integer({ min: 1, max: 160 }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    aOff: small,
    bOff: small,
    cOff: small,
    aPad: small,
    bPad: small,
    cPad: small,
    seed: fc.integer(),
  });
  try {
    fc.assert(
      fc.property(bigCases, (p) => {
        for (const T of DTYPES) {
          const o = operands(T, p);
          const one = o.c.slice(),
            two = o.c.slice();
          setThreads(1);
          call(fast, p, o, one);
          setThreads(2);
          pool.callerJoins = false;
          const tasksBefore = threadInfo().workerTasks; // the public count of the workers' tasks
          try {
            call(fast, p, o, two);
          } finally {
            pool.callerJoins = true;
          }
          const viaWorker = threadInfo().workerTasks > tasksBefore;
          // Products too small to split stay on the caller; four times the threshold must not.
          if (p.m * p.n * p.k >= 4 * PARALLEL_MIN_MACS) expect(viaWorker, `${T.name} ${p.m}×${p.n}×${p.k} ran on the caller`).toBe(true);
          const differs = one.findIndex((x, i) => !Object.is(x, two[i]));
          expect(differs, `${T.name} c[${differs}]: 1 thread ${one[differs]}, 2 threads ${two[differs]}`).toBe(-1);
        }
      }),
      {
        numRuns: 30,
        // Always one product well past the threshold, each transpose of it in turn.
        examples: [false, true].flatMap((transA) =>
          [false, true].map((transB) => [{ m: 140, n: 200, k: 160, transA, transB, aOff: 1, bOff: 2, cOff: 3, aPad: 1, bPad: 0, cPad: 2, seed: 5 }] as [Case]),
        ),
      },
    );
  } finally {
    setThreads(before);
  }
});

// A batch of products (batched matmul: attention's one product per row and head) shares the
// pool's jobs; each product must come out bitwise as the single-product GEMM computes it,
// whatever the thread count, and nothing may be written outside the C blocks. A and B are
// read at offsets `step` apart: 0 (an operand broadcast over the batch), a few elements
// (overlapping operands, as the heads interleaved in one attention tensor), or whole operands.
type Steps = { a: number; b: number };
function batchAgrees(T: Ctor, p: Case, count: number, steps: (length: { a: number; b: number }) => Steps, seed: number): string | null {
  const o = operands(T, p);
  const step = steps({ a: o.a.length, b: o.b.length });
  const cLen = p.m * o.ldc + p.cPad;
  const a = random(T, o.a.length + (count - 1) * step.a, seed),
    b = random(T, o.b.length + (count - 1) * step.b, seed + 1);
  const aOffs = Array.from({ length: count }, (_, i) => p.aOff + i * step.a);
  const bOffs = Array.from({ length: count }, (_, i) => p.bOff + i * step.b);
  const cOffs = Array.from({ length: count }, (_, i) => p.cOff + i * cLen);
  const start = random(T, p.cOff + count * cLen + 3, seed + 2);
  const want = start.slice(),
    got = start.slice();
  for (let i = 0; i < count; i++) fast(p.transA, p.transB, p.m, p.n, p.k, a, aOffs[i]!, o.lda, b, bOffs[i]!, o.ldb, want, cOffs[i]!, o.ldc);
  gemmBatch(p.transA, p.transB, p.m, p.n, p.k, a, aOffs, o.lda, b, bOffs, o.ldb, got, cOffs, o.ldc);
  const differs = got.findIndex((x, i) => !Object.is(x, want[i]));
  return differs < 0 ? null : `${T.name} ${count} × ${p.m}×${p.n}×${p.k} c[${differs}]: batch ${got[differs]}, one by one ${want[differs]}`;
}

const stepKind = fc.constantFrom<(length: number) => number>(
  () => 0, // broadcast
  () => 3, // overlapping
  (length) => length, // apart
);

test('a GEMM batch equals its products one by one, bitwise, on 1 and 2 threads', async () => {
  const before = threadInfo().threads;
  try {
    for (const threads of [1, 2]) {
      setThreads(threads);
      await threadsReady();
      fc.assert(
        fc.property(cases, fc.integer({ min: 1, max: 6 }), stepKind, stepKind, fc.integer(), (p, count, aStep, bStep, seed) => {
          for (const T of DTYPES) expect(batchAgrees(T, p, count, (len) => ({ a: aStep(len.a), b: bStep(len.b) }), seed)).toBeNull();
        }),
        { numRuns: 80 },
      );
    }
  } finally {
    setThreads(before);
  }
});

// 15 products of 256×256·256×256 float32 lay out ≈ 1.3 MB each in wasm memory: past the 16 MiB
// a batch may take at once, so it runs in two groups; each product must still be its own.
test('a GEMM batch larger than one group of wasm memory runs in groups, with the same results', () => {
  const p: Case = { m: 256, n: 256, k: 256, transA: false, transB: true, aOff: 1, bOff: 0, cOff: 2, aPad: 0, bPad: 0, cPad: 0, seed: 4 };
  for (const steps of [(len: Steps) => len, () => ({ a: 64, b: 0 })]) expect(batchAgrees(Float32Array, p, 15, steps, 11)).toBeNull();
});

test('each GEMM module stays under the 4 KiB that Chromium compiles synchronously', () => {
  for (const fma of [false, true])
    for (const dtype of ['f32', 'f64'] as const) {
      const mod = new Module({ imported: { shared: true, maximumPages: 32768 } });
      addGemmKernels(mod, (func, name) => mod.add(func, name), fma, dtype);
      expect(mod.encode().length).toBeLessThan(4096);
    }
});

test('setThreads() rejects counts that are not positive integers', () => {
  for (const bad of [0, -1, 1.5, NaN]) expect(() => setThreads(bad)).toThrow(/setThreads\(\): the thread count must be a positive integer/);
});

// Both GEMM kernels meet one contract: the fused multiply-add one (the default where the
// engine has relaxed SIMD: Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd, as
// vitest.config.ts runs it) and the plain one (engines without it, or setRelaxedSimd(false)).
test.for([true, false])('with fused multiply-adds %s: matches the reference, bitwise independent of the thread count', async (fma, ctx) => {
  const before = threadInfo().fma;
  if (setRelaxedSimd(fma) !== fma) {
    ctx.skip(); // this engine does not validate relaxed SIMD (Node 20 without the flag)
    return;
  }
  try {
    fc.assert(
      fc.property(cases, (p) => {
        for (const T of DTYPES) expect(compare(fast, T, p)).toBeNull();
      }),
      { numRuns: 100 },
    );
    setThreads(2);
    await threadsReady();
    const p: Case = { m: 140, n: 200, k: 160, transA: true, transB: false, aOff: 1, bOff: 2, cOff: 3, aPad: 1, bPad: 0, cPad: 2, seed: 9 };
    for (const T of DTYPES) {
      const o = operands(T, p);
      const one = o.c.slice(),
        two = o.c.slice();
      setThreads(1);
      call(fast, p, o, one);
      setThreads(2);
      threadPool()!.callerJoins = false;
      try {
        call(fast, p, o, two);
      } finally {
        threadPool()!.callerJoins = true;
      }
      expect(one.findIndex((x, i) => !Object.is(x, two[i]))).toBe(-1);
    }
  } finally {
    setRelaxedSimd(before);
  }
});

test('the engine uses fused multiply-adds by default wherever it validates relaxed SIMD', () => {
  expect(threadInfo().fma).toBe(hasRelaxedSimd());
});

test("timeGemmPhases adds each wasm GEMM phase's time while on, nothing while off, and changes no result", () => {
  const [m, n, k] = [96, 80, 64];
  const a = random(Float32Array, m * k, 1),
    b = random(Float32Array, k * n, 2);
  const product = () => {
    const c = new Float32Array(m * n);
    fast(false, false, m, n, k, a, 0, k, b, 0, n, c, 0, n);
    return c;
  };
  const untimed = product();
  const times = timeGemmPhases(true)!;
  const timed = product();
  expect(timeGemmPhases(false)).toBeNull();
  expect(Object.keys(times)).toEqual(['copy in', 'pack A', 'pack B', 'multiply', 'copy out']);
  expect(Object.values(times).every((ms) => ms >= 0)).toBe(true);
  expect(times.multiply).toBeGreaterThan(0); // tens of µs; Node's clock resolves well below that
  const after = { ...times };
  product(); // off: the record no longer moves
  expect(times).toEqual(after);
  expect(timed.findIndex((x, i) => !Object.is(x, untimed[i]))).toBe(-1);
});
