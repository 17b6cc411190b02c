// The WebAssembly forward pass of LayerNorm and RMSNorm (kernels/cpu/norm.ts) must give bitwise
// what the JavaScript kernels give — x̂, r and x̂·weight + bias, the same float64 sums in the
// same order — for row lengths with every remainder mod 4, with and without centring, weight
// and bias, rows of large, tiny, zero and non-finite values, and on one thread, two threads
// and with every task run by a worker. The JavaScript loops are the ones a strided x takes, so
// the comparison runs them on the same rows read through a transposed view.

import fc from 'fast-check';
import { afterEach, expect, test, vi } from 'vitest';
import { Module } from '../base/wasm-assembler.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { normAffineBackwardLoops } from '../kernels/cpu/normalize.ts';
import { addNormKernels } from '../kernels/cpu/norm-kernels.ts';
import { WASM_MAP_MIN } from '../kernels/cpu/wasm-map.ts';
import { threadPool, wasmRuntime } from '../kernels/cpu/wasm-runtime.ts';
import type { View } from '../kernels/view.ts';
import { everyThreading, mismatch, seededValues, withTwoThreads } from './wasm-kernels.ts';

withTwoThreads();
afterEach(() => vi.restoreAllMocks());

const SPECIAL = [Number.NaN, Number.POSITIVE_INFINITY, -0, 0, 3e38, 1e-38];

/** The same rows twice: contiguous (the kernel's path) and as the transpose of a column-major copy (the loops'). */
function both(data: Float32Array, rows: number, len: number): [View<Float32Array>, View<Float32Array>] {
  const columnMajor = new Float32Array(rows * len);
  for (let i = 0; i < rows; i++) for (let j = 0; j < len; j++) columnMajor[j * rows + i] = data[i * len + j]!;
  return [
    { data, shape: [rows, len], strides: [len, 1], offset: 0 },
    { data: columnMajor, shape: [rows, len], strides: [1, rows], offset: 0 },
  ];
}

/**
 * Row values: plain, or powers of two from 2⁻⁶⁰ to 2⁶⁰ of either sign, whose float64 sums depend
 * on the order of the additions (a sum taken in another order than the loops' shows).
 */
const plain = (u: number) => (u - 0.3) * 6;
const wide = (u: number) => (u < 0.5 ? -1 : 1) * 2 ** (Math.floor(((u * 2) % 1) * 121) - 60);

function compare(
  rows: number,
  len: number,
  seed: number,
  centered: boolean,
  withWeight: boolean,
  withBias: boolean,
  special: boolean,
  orderSensitive: boolean,
): string | null {
  const data = seededValues(Float32Array, rows * len, seed, orderSensitive ? wide : plain, special ? SPECIAL : [], 0.001);
  const [fast, strided] = both(data, rows, len);
  const column = (s: number): View<Float32Array> => ({ data: seededValues(Float32Array, len, s, (u) => u * 2 - 0.5), shape: [len], strides: [1], offset: 0 });
  const [weight, bias] = [withWeight ? column(seed + 1) : null, withBias ? column(seed + 2) : null];
  const run = (x: View<Float32Array>) => {
    const [xhat, out, rstd] = [new Float32Array(rows * len), new Float32Array(rows * len), new Float32Array(rows)];
    if (weight || bias) cpuBackend.normAffine!(x, 1e-5, centered, weight, bias, xhat, rstd, out);
    else cpuBackend.normalize(x, 1e-5, centered, xhat, rstd);
    return { xhat, out, rstd };
  };
  const [want, got] = [run(strided), run(fast)];
  const label = `rows ${rows}, len ${len}, centered ${centered}, weight ${withWeight}, bias ${withBias}`;
  for (const k of ['xhat', 'rstd', 'out'] as const) {
    const problem = mismatch(want[k], got[k]);
    if (problem) return `${label}: ${k} ${problem}`;
  }
  return null;
}

/** What both passes' cases vary: the row length, the values' seed, centring, a weight, order-sensitive rows. */
const rowCases = {
  len: fc.integer({ min: 1, max: 300 }),
  seed: fc.integer(),
  centered: fc.boolean(),
  weight: fc.boolean(),
  orderSensitive: fc.boolean(),
};

test('LayerNorm / RMSNorm forward over contiguous float32 rows: bitwise the JavaScript kernels, every threading', () => {
  const normRows = wasmRuntime()!.norm.normRows;
  const run = vi.spyOn(threadPool()!, 'run');
  fc.assert(
    fc.property(fc.record({ ...rowCases, bias: fc.boolean(), special: fc.boolean() }), ({ len, seed, centered, weight, bias, special, orderSensitive }) => {
      const rows = Math.ceil(WASM_MAP_MIN / len) + (seed & 3);
      everyThreading(() => compare(rows, len, seed, centered, weight, bias, special, orderSensitive));
    }),
    { numRuns: 40 },
  );
  expect(run.mock.calls.some(([fn]) => fn === normRows)).toBe(true); // the kernel ran (the loops would pass too)
});

test('the norm module stays under the 4 KiB that Chromium compiles synchronously', () => {
  const mod = new Module({ imported: { shared: true, maximumPages: 1 } });
  addNormKernels((func, name) => mod.add(func, name));
  expect(mod.encode().length).toBeLessThan(4096);
});

test('their backward pass (dx by rows, dWeight and dBias by columns): bitwise the JavaScript loops, every threading', () => {
  const kernels = wasmRuntime()!.norm;
  const run = vi.spyOn(threadPool()!, 'run');
  fc.assert(
    fc.property(
      fc.record({ ...rowCases, wanted: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()) }),
      ({ len, seed, centered, weight, wanted, orderSensitive }) => {
        const rows = Math.ceil(WASM_MAP_MIN / len) + (seed & 3);
        const values = (n: number, s: number) => seededValues(Float32Array, n, s, orderSensitive ? wide : plain, SPECIAL, 0.001);
        const g: View<Float32Array> = { data: values(rows * len, seed), shape: [rows, len], strides: [len, 1], offset: 0 };
        const xhat = values(rows * len, seed + 1);
        const rstd = seededValues(Float32Array, rows, seed + 2, (u) => u * 3);
        const w: View<Float32Array> | null = weight ? { data: values(len, seed + 3), shape: [len], strides: [1], offset: 0 } : null;
        const results = (kernel: typeof normAffineBackwardLoops) => {
          const [dx, dWeight, dBias] = [rows * len, len, len].map((n, i) => (wanted[i] ? new Float32Array(n) : null));
          kernel(g, xhat, rstd, w, centered, dx!, dWeight!, dBias!);
          return [dx, dWeight, dBias];
        };
        everyThreading(() => {
          const [want, got] = [results(normAffineBackwardLoops), results(cpuBackend.normAffineBackward!)];
          for (let i = 0; i < 3; i++) {
            const problem = want[i] && mismatch(want[i]!, got[i]!);
            if (problem) return `len ${len}, rows ${rows}, centered ${centered}, weight ${weight}: ${['dx', 'dWeight', 'dBias'][i]} ${problem}`;
          }
          return null;
        });
      },
    ),
    { numRuns: 40 },
  );
  for (const fn of [kernels.normRowsBackward, kernels.normColumnSums]) expect(run.mock.calls.some(([f]) => f === fn)).toBe(true);
});

test('a float32 sum over leading axes (a bias gradient) takes the column kernel: bitwise the loops, every threading', () => {
  const columnSums = wasmRuntime()!.norm.normColumnSums;
  const run = vi.spyOn(threadPool()!, 'run');
  fc.assert(
    fc.property(
      fc.record({ cols: fc.integer({ min: 1, max: 300 }), lead: fc.integer({ min: 1, max: 3 }), seed: fc.integer(), orderSensitive: fc.boolean() }),
      ({ cols, lead, seed, orderSensitive }) => {
        const rows = Math.ceil(WASM_MAP_MIN / cols) + (seed & 7);
        const data = seededValues(Float32Array, rows * cols, seed, orderSensitive ? wide : plain, SPECIAL, 0.001);
        // The same rows padded by one element each: not one contiguous run, so the loops sum them.
        const padded = new Float32Array(rows * (cols + 1));
        for (let i = 0; i < rows; i++) padded.set(data.subarray(i * cols, (i + 1) * cols), i * (cols + 1));
        // `lead` leading axes: rows split as [rows / …, …] where it divides, else one axis.
        const split = lead > 1 && rows % 2 === 0 ? [2, rows / 2] : [rows];
        const shape = [...split, cols];
        const axes = split.map((_, i) => i);
        const strides = (rowStride: number) => (split.length === 2 ? [(rows / 2) * rowStride, rowStride, 1] : [rowStride, 1]);
        const fast: View = { data, shape, strides: strides(cols), offset: 0 };
        const loops: View = { data: padded, shape, strides: strides(cols + 1), offset: 0 };
        everyThreading(() => {
          const [want, got] = [new Float32Array(cols), new Float32Array(cols)];
          cpuBackend.reduce('sum', loops, axes, want);
          cpuBackend.reduce('sum', fast, axes, got);
          return mismatch(want, got);
        }, `, ${rows} × ${cols}`);
      },
    ),
    { numRuns: 30 },
  );
  expect(run.mock.calls.some(([fn, , args]) => fn === columnSums && args[2] === 0)).toBe(true); // the kernel ran, without the weight part
});
