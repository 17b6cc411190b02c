// The WebAssembly exp, SiLU and softmax kernels (kernels/cpu/exp.ts) must give bitwise the
// reference's results — their exp is Math.exp's algorithm, the rest the same float64
// arithmetic in the same order — on any length past the threshold, any offset, odd row
// lengths, values past the kernel's range (recomputed in JavaScript), NaN, ±∞ and −0,
// masked (−∞) logits, and for one thread, two threads, and with every task run by a worker.

import fc from 'fast-check';
import type { FloatStorage } from '../base/dtype.ts';
import { expect, test } from 'vitest';
import { Module } from '../base/wasm-assembler.ts';
import { expIsExact } from '../kernels/cpu/exp.ts';
import { WASM_MAP_MIN } from '../kernels/cpu/wasm-map.ts';
import { addExpKernels, addSiluKernels, addSoftmaxKernels } from '../kernels/cpu/exp-kernels.ts';
import { addGeluKernels } from '../kernels/cpu/gelu-kernels.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { threadPool } from '../kernels/cpu/wasm-runtime.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import type { View } from '../kernels/view.ts';
import { compareActivation, everyThreading, mismatch, seededValues, withTwoThreads } from './wasm-kernels.ts';

// Around the kernel's range (±704), fdlibm's underflow threshold (−745.13…), exp(1) (which V8
// special-cases), the tiny-argument branch (|x| < 2⁻²⁸) and the k = 0 band (|x| ≤ ln 2 / 2).
const SPECIAL = [
  Number.NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1,
  -1,
  703.99,
  704,
  -704,
  709.7,
  710,
  -745.1,
  -745.2,
  -800,
  2 ** -29,
  -(2 ** -28),
  0.3465735,
  -0.3465736,
];

/** Deterministic values (u − 0.7)·scale, u uniform on [0, 1), with 0.2 % of SPECIAL sprinkled in unless `plain`. */
function values(length: number, seed: number, scale: number, Type: typeof Float32Array | typeof Float64Array = Float32Array, plain = false) {
  return seededValues<Float32Array | Float64Array>(Type, length, seed, (u) => (u - 0.7) * scale, plain ? [] : SPECIAL);
}

const view = (data: Float32Array | Float64Array, offset: number, shape: number[]): View<FloatStorage> => {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { data, shape, strides, offset };
};

function compareExp(x: View, n: number): string | null {
  const Type = x.data instanceof Float64Array ? Float64Array : Float32Array;
  const [a, b] = [new Type(n), new Type(n)];
  referenceBackend.unary('exp', x, a, 0, 0);
  cpuBackend.unary('exp', x, b, 0, 0);
  return mismatch(a, b);
}

function compareSoftmax(x: View<FloatStorage>, n: number): string | null {
  for (const log of [false, true]) {
    const [a, b] = [new Float32Array(n), new Float32Array(n)];
    referenceBackend.softmax(x, a, log);
    cpuBackend.softmax(x, b, log);
    const problem = mismatch(a, b);
    if (problem) return `${log ? 'log-softmax' : 'softmax'}: ${problem}`;
  }
  return null;
}

withTwoThreads();

test("the kernels' exp is this engine's Math.exp (V8: fdlibm), so the fast paths below are taken", () => {
  expect(expIsExact()).toBe(true);
});

test('each module stays under the 4 KiB that Chromium compiles synchronously', () => {
  for (const add of [addExpKernels, addSiluKernels, addSoftmaxKernels, addGeluKernels]) {
    const mod = new Module({ imported: { shared: true, maximumPages: 1 } });
    add((func, name) => mod.add(func, name));
    expect(mod.encode().length).toBeLessThan(4096);
  }
});

test('exp of contiguous float32 and float64 past the threshold: bitwise the reference, every threading', () => {
  const workerTasks = threadPool()?.workerTasks ?? 0;
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: WASM_MAP_MIN, max: 3 * WASM_MAP_MIN + 17 }),
        off: fc.integer({ min: 0, max: 7 }),
        seed: fc.integer(),
        f64: fc.boolean(),
      }),
      ({ n, off, seed, f64 }) => {
        const data = values(n + off, seed, 60, f64 ? Float64Array : Float32Array);
        everyThreading(() => compareExp(view(data, off, [n]), n));
      },
    ),
    { numRuns: 10 },
  );
  if (threadPool()?.parallel) expect(threadPool()!.workerTasks).toBeGreaterThan(workerTasks);
});

test('SiLU and its backward pass on contiguous float32 past the threshold: bitwise the reference, every threading', () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: WASM_MAP_MIN, max: 3 * WASM_MAP_MIN + 17 }),
        xOff: fc.integer({ min: 0, max: 7 }),
        gOff: fc.integer({ min: 0, max: 7 }),
        seed: fc.integer(),
        scale: fc.constantFrom(8, 2000),
      }),
      ({ n, xOff, gOff, seed, scale }) => {
        const x = view(values(n + xOff, seed, scale), xOff, [n]);
        const g = view(values(n + gOff, seed ^ 0x5bd1e995, 4), gOff, [n]);
        everyThreading(() => compareActivation('silu', x, g, n));
      },
    ),
    { numRuns: 10 },
  );
});

test('softmax and log-softmax over contiguous float32 rows: bitwise the reference, every threading', () => {
  fc.assert(
    fc.property(
      fc.record({ len: fc.integer({ min: 1, max: 3000 }), off: fc.integer({ min: 0, max: 5 }), seed: fc.integer(), scale: fc.constantFrom(1, 30, 3000) }),
      ({ len, off, seed, scale }) => {
        const rows = Math.ceil((WASM_MAP_MIN + 1) / len) + (seed & 3);
        const data = values(rows * len + off, seed, scale);
        everyThreading(() => compareSoftmax(view(data, off, [rows, len]), rows * len));
      },
    ),
    { numRuns: 15 },
  );
});

test('masked rows: −∞ logits give 0 in the kernels, an all-masked row NaN, a +∞ or NaN row NaN (JavaScript recomputes those)', () => {
  const rows = 64,
    len = 300;
  const data = values(rows * len, 11, 10, Float32Array, true) as Float32Array;
  for (let r = 0; r < rows; r++) for (let j = (r * 7) % len; j < len; j += 3) data[r * len + j] = -Infinity; // padding masks
  data.fill(-Infinity, 5 * len, 6 * len); // a fully masked row
  data[9 * len + 4] = Infinity;
  data[20 * len + 1] = Number.NaN;
  data[30 * len + 2] = -3.4e38; // finfo.min-style masks: far below the underflow threshold
  everyThreading(() => compareSoftmax(view(data, 0, [rows, len]), rows * len));
});

test('a large vocabulary (rows of 32,000, as a LLaMa head) and views that are not contiguous (JavaScript loops)', () => {
  const rows = 3,
    len = 32000;
  const data = values(rows * len, 5, 20, Float32Array, true);
  everyThreading(() => compareSoftmax(view(data, 0, [rows, len]), rows * len));
  const transposed: View<FloatStorage> = { data, shape: [len, rows], strides: [1, len], offset: 0 };
  expect(compareSoftmax(transposed, rows * len)).toBeNull();
  expect(compareExp(transposed, rows * len)).toBeNull();
});
