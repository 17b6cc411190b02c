// The WebAssembly GELU kernels (kernels/cpu/gelu.ts) must give bitwise the reference's
// results — they are the same float64 arithmetic — on any length past the threshold, any
// offset into the storage, values beyond erf's table, NaN, ±∞ and −0, and for one thread,
// two threads, and with every task run by a worker. Views that are not one contiguous
// run fall back to the JavaScript loops, also checked.

import fc from 'fast-check';
import { expect, test } from 'vitest';
import { WASM_MAP_MIN } from '../kernels/cpu/wasm-map.ts';
import { threadPool } from '../kernels/cpu/wasm-runtime.ts';
import type { View } from '../kernels/view.ts';
import { compareActivation, everyThreading, seededValues, withTwoThreads } from './wasm-kernels.ts';

const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 8.4, 8.5, -8.5, 9, -30, 1e30, -1e-30];

/** Deterministic float32 values: mostly uniform on [−6, 6), with special values sprinkled in. */
const values = (length: number, seed: number) => seededValues(Float32Array, length, seed, (u) => (u - 0.5) * 12, SPECIAL);

const flat = (data: Float32Array, offset: number, n: number): View => ({ data, shape: [n], strides: [1], offset });

const compareBoth = (x: View, g: View, n: number) => compareActivation('gelu', x, g, n);

const sizes = fc.record({
  n: fc.integer({ min: WASM_MAP_MIN, max: 3 * WASM_MAP_MIN + 17 }),
  xOff: fc.integer({ min: 0, max: 7 }),
  gOff: fc.integer({ min: 0, max: 7 }),
  seed: fc.integer(),
});

withTwoThreads();

test('contiguous float32 past the threshold: bitwise the reference, 1 and 2 threads, all tasks on workers', () => {
  const workerTasks = threadPool()?.workerTasks ?? 0;
  fc.assert(
    fc.property(sizes, ({ n, xOff, gOff, seed }) => {
      const x = flat(values(n + xOff, seed), xOff, n);
      const g = flat(values(n + gOff, seed ^ 0x5bd1e995), gOff, n);
      everyThreading(() => compareBoth(x, g, n), `, n = ${n}`);
    }),
    { numRuns: 12 },
  );
  if (threadPool()?.parallel) expect(threadPool()!.workerTasks).toBeGreaterThan(workerTasks);
});

test('the table edge: every element beyond ±6√2 is recomputed in JavaScript, the others kept', () => {
  const n = WASM_MAP_MIN + 3;
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
