// The WebAssembly float32 add, sub, mul and div (kernels/cpu/arith.ts) must give bitwise the
// reference's results — a float32 operation equals the float64 one rounded to float32 for these
// four — on any length past the threshold, any offsets into the storages, NaN, ±∞, ±0, tiny and
// huge values (overflow, subnormal results), for two arrays and for an array with one value
// broadcast on either side (on the left only for add and mul, whose order does not matter);
// and on one thread, two threads and with every task run by a worker. Other layouts take the
// JavaScript loops, also checked.

import fc from 'fast-check';
import { afterEach, expect, test, vi } from 'vitest';
import { Module } from '../base/wasm-assembler.ts';
import { addArithKernels } from '../kernels/cpu/arith-kernels.ts';
import { addGatherKernel } from '../kernels/cpu/gather-kernels.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { WASM_MAP_MIN } from '../kernels/cpu/wasm-map.ts';
import { threadPool, wasmRuntime } from '../kernels/cpu/wasm-runtime.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import type { View } from '../kernels/view.ts';
import { everyThreading, mismatch, seededValues, withTwoThreads } from './wasm-kernels.ts';

const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 3e38, -3e38, 1e-38, -1e-45, 1.4e-45];
const values = (length: number, seed: number) => seededValues(Float32Array, length, seed, (u) => (u - 0.5) * 8, SPECIAL, 0.01);
const OPS = ['add', 'sub', 'mul', 'div'] as const;

const flat = (data: Float32Array, offset: number, n: number): View => ({ data, shape: [n], strides: [1], offset });
/** One value read by every element (stride 0). */
const single = (value: number, n: number): View => ({ data: new Float32Array([value]), shape: [n], strides: [0], offset: 0 });

function compare(op: (typeof OPS)[number], a: View, b: View, n: number): string | null {
  const [want, got] = [new Float32Array(n), new Float32Array(n)];
  referenceBackend.binary(op, a, b, want);
  cpuBackend.binary(op, a, b, got);
  const problem = mismatch(want, got);
  return problem && `${op}: ${problem}`;
}

withTwoThreads();
afterEach(() => vi.restoreAllMocks());

test('two contiguous float32 runs, and a run with one value: bitwise the reference, every threading', () => {
  const arith = Object.values(wasmRuntime()!.arith).flatMap((k) => [k.arrays, k.scalar]);
  const run = vi.spyOn(threadPool()!, 'run');
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: WASM_MAP_MIN, max: 2 * WASM_MAP_MIN + 7 }),
        aOff: fc.integer({ min: 0, max: 5 }),
        bOff: fc.integer({ min: 0, max: 5 }),
        seed: fc.integer(),
        value: fc.constantFrom(...SPECIAL, 0.125, -3.5, 7),
      }),
      ({ n, aOff, bOff, seed, value }) => {
        const a = flat(values(n + aOff, seed), aOff, n);
        const b = flat(values(n + bOff, seed ^ 0x2545f491), bOff, n);
        for (const op of OPS) {
          everyThreading(() => compare(op, a, b, n), `, ${op}, n = ${n}`);
          everyThreading(() => compare(op, a, single(value, n), n), `, ${op} by ${value}`);
          everyThreading(() => compare(op, single(value, n), a, n), `, ${value} ${op} a`);
        }
      },
    ),
    { numRuns: 6 },
  );
  // The kernels ran: both kinds, for every op (the JavaScript loops would pass the comparison too).
  expect(arith.every((fn) => run.mock.calls.some(([f]) => f === fn))).toBe(true);
});

test('other layouts (a transposed operand, a broadcast row) take the JavaScript loops, with the same results', () => {
  const rows = 160,
    cols = 130; // 20,800 elements, past the threshold
  const data = values(rows * cols, 5);
  const transposed: View = { data, shape: [cols, rows], strides: [1, cols], offset: 0 };
  const b: View = { data: values(rows * cols, 6), shape: [cols, rows], strides: [rows, 1], offset: 0 };
  const row: View = { data: values(rows, 7), shape: [cols, rows], strides: [0, 1], offset: 0 };
  for (const op of OPS) {
    expect(compare(op, transposed, b, rows * cols)).toBeNull();
    expect(compare(op, b, row, rows * cols)).toBeNull();
  }
});

test('the arithmetic module (with the strided copy’s gather) stays under the 4 KiB that Chromium compiles synchronously', () => {
  const mod = new Module({ imported: { shared: true, maximumPages: 1 } });
  addArithKernels((func, name) => mod.add(func, name));
  addGatherKernel((func, name) => mod.add(func, name));
  expect(mod.encode().length).toBeLessThan(4096);
});
