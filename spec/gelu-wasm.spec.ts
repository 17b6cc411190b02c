// The WebAssembly GELU kernels (kernels/cpu/gelu.ts) must give bitwise the reference's
// results — they are the same float64 arithmetic — on any length past the threshold, any
// offset into the storage, values beyond erf's table, NaN, ±∞ and −0, and for one thread,
// two threads, and with every task run by a worker. Views that are not one contiguous
// run fall back to the JavaScript loops, also checked.

import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { WASM_GELU_MIN } from '../kernels/cpu/gelu.ts';
import { setThreads, threadInfo, threadPool, threadsReady } from '../kernels/cpu/wasm-runtime.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import type { View } from '../kernels/view.ts';

const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 8.4, 8.5, -8.5, 9, -30, 1e30, -1e-30];

/** Deterministic float32 values: mostly N(0, 3²)-like, with special values sprinkled in. */
function values(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    out[i] = u < 0.002 ? SPECIAL[Math.floor(u * 6000) % SPECIAL.length]! : (u - 0.5) * 12;
  }
  return out;
}

const flat = (data: Float32Array, offset: number, n: number): View => ({ data, shape: [n], strides: [1], offset });

function mismatches(want: Float32Array, got: Float32Array): string | null {
  for (let i = 0; i < want.length; i++) if (!Object.is(want[i], got[i])) return `element ${i}: reference ${want[i]}, cpu ${got[i]}`;
  return null;
}

/** Forward and backward through both backends on `x` (and `g`), compared bitwise. */
function compareBoth(x: View, g: View, n: number): string | null {
  const [a, b, c, d] = [0, 1, 2, 3].map(() => new Float32Array(n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  referenceBackend.unary('gelu', x, a, 0, 0);
  cpuBackend.unary('gelu', x, b, 0, 0);
  referenceBackend.unaryBackward('gelu', x, g, c, 0, 0);
  cpuBackend.unaryBackward('gelu', x, g, d, 0, 0);
  return mismatches(a, b) ?? mismatches(c, d);
}

const sizes = fc.record({
  n: fc.integer({ min: WASM_GELU_MIN, max: 3 * WASM_GELU_MIN + 17 }),
  xOff: fc.integer({ min: 0, max: 7 }),
  gOff: fc.integer({ min: 0, max: 7 }),
  seed: fc.integer(),
});

let before = 1;
beforeAll(async () => {
  before = threadInfo().threads;
  setThreads(2);
  await threadsReady();
});
afterAll(() => setThreads(before));

test('contiguous float32 past the threshold: bitwise the reference, 1 and 2 threads, all tasks on workers', () => {
  const workerTasks = threadPool?.workerTasks ?? 0;
  fc.assert(
    fc.property(sizes, ({ n, xOff, gOff, seed }) => {
      const x = flat(values(n + xOff, seed), xOff, n);
      const g = flat(values(n + gOff, seed ^ 0x5bd1e995), gOff, n);
      for (const mode of ['one thread', 'two threads', 'workers only'] as const) {
        setThreads(mode === 'one thread' ? 1 : 2);
        if (threadPool) threadPool.callerJoins = mode !== 'workers only';
        try {
          const problem = compareBoth(x, g, n);
          expect(problem, `${mode}, n = ${n}`).toBeNull();
        } finally {
          if (threadPool) threadPool.callerJoins = true;
        }
      }
    }),
    { numRuns: 12 },
  );
  if (threadPool?.parallel) expect(threadPool.workerTasks).toBeGreaterThan(workerTasks);
});

test('the table edge: every element beyond ±6√2 is recomputed in JavaScript, the others kept', () => {
  const n = WASM_GELU_MIN + 3;
  const data = values(n, 1);
  for (let i = 0; i < n; i += 97) data[i] = (i % 2 ? 1 : -1) * (8.4852 + (i % 5) * 1e-4); // around 6·√2 ≈ 8.48528
  expect(compareBoth(flat(data, 0, n), flat(values(n, 2), 0, n), n)).toBeNull();
});

test('views that are not one contiguous run take the JavaScript loops, with the same results', () => {
  const rows = 200,
    cols = 130; // 26,000 elements, past the threshold
  const data = values(rows * cols, 3);
  const transposed: View = { data, shape: [cols, rows], strides: [1, cols], offset: 0 };
  const g = flat(values(rows * cols, 4), 0, rows * cols);
  const gShaped: View = { ...g, shape: [cols, rows], strides: [rows, 1] };
  expect(compareBoth(transposed, gShaped, rows * cols)).toBeNull();
});
