/**
 * Softmax's VJP in one kernel (Backend.softmaxBackward, kernels/cpu/softmax.ts) must give
 * bitwise what the four ops it replaces give — y·(g − Σ g·y) for softmax, g − exp(y)·Σ g for
 * log-softmax — in both float dtypes, along any axis, whatever the layout of x and of the
 * incoming gradient, with masked (−∞) entries and non-finite gradients. The unfused run is the
 * same cpu backend without the kernel, so only the fusion differs. The gradient itself is
 * checked against finite differences by the op table (spec/ops.table.ts), which runs the
 * fused path.
 */
import fc from 'fast-check';
import { afterEach, expect, test, vi } from 'vitest';
import { tensor, type Tensor } from '../index.ts';
import { registerBackend, withBackend } from '../kernels/backend.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { WASM_MAP_MIN } from '../kernels/cpu/wasm-map.ts';
import { threadPool, wasmRuntime } from '../kernels/cpu/wasm-runtime.ts';
import { everyThreading, mismatch, seededValues, withTwoThreads } from './wasm-kernels.ts';

registerBackend({ ...cpuBackend, name: 'cpu-unfused-softmax', softmaxBackward: undefined });

afterEach(() => vi.restoreAllMocks());
withTwoThreads();

/** A value: mostly plain, sometimes a mask (−∞ in x), a huge or non-finite gradient. */
const value = fc.oneof(
  { weight: 12, arbitrary: fc.double({ min: -6, max: 6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(-Infinity, 1e30, -1e30, Number.NaN, 0, -0) },
);

const cases = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
    dtype: fc.constantFrom('float32' as const, 'float64' as const),
    log: fc.boolean(),
    axisPick: fc.nat(),
    xTransposed: fc.boolean(),
    gTransposed: fc.boolean(),
  })
  .chain((c) => {
    const n = c.shape.reduce((p, d) => p * d, 1);
    return fc.record({ c: fc.constant(c), x: fc.array(value, { minLength: n, maxLength: n }), g: fc.array(value, { minLength: n, maxLength: n }) });
  });

type Case = typeof cases extends fc.Arbitrary<infer T> ? T : never;

/** `values` laid out as `shape`, stored contiguously or column by column (read through a reversed permutation). */
function make(values: number[], shape: number[], dtype: 'float32' | 'float64', transposed: boolean): Tensor {
  if (!transposed || shape.length < 2) return tensor(values, { shape, dtype });
  const reversed = shape.map((_, i) => shape.length - 1 - i);
  return tensor(values, { shape, dtype }).permute(reversed).contiguous().permute(reversed);
}

function run({ c, x: xs, g: gs }: Case, backend: string): number[] {
  return withBackend(backend, () => {
    const x = make(xs, c.shape, c.dtype, c.xTransposed).detach().setRequiresGrad();
    const axis = c.axisPick % c.shape.length;
    const y = c.log ? x.logSoftmax(axis) : x.softmax(axis);
    y.backward(make(gs, c.shape, c.dtype, c.gTransposed));
    return Array.from((x.grad as Tensor).toTypedArray() as ArrayLike<number>);
  });
}

test('the fused softmax / log-softmax VJP: bitwise the unfused ops, both dtypes, any axis and layout', () => {
  const fused = vi.spyOn(cpuBackend, 'softmaxBackward');
  fc.assert(
    fc.property(cases, (k) => {
      const [want, got] = [run(k, 'cpu-unfused-softmax'), run(k, 'cpu')];
      const differs = got.findIndex((v, j) => !Object.is(v, want[j]));
      expect(differs, `${JSON.stringify(k.c)}: grad[${differs}] fused ${got[differs]}, unfused ${want[differs]}`).toBe(-1);
    }),
    { numRuns: 300 },
  );
  expect(fused).toHaveBeenCalled();
});

test('on large contiguous float32 rows the WebAssembly kernel gives bitwise the loop, every threading', () => {
  const kernel = wasmRuntime()!.exp.softmaxBackward;
  const run = vi.spyOn(threadPool()!, 'run');
  fc.assert(
    fc.property(fc.record({ len: fc.integer({ min: 1, max: 200 }), seed: fc.integer(), special: fc.boolean() }), ({ len, seed, special }) => {
      const rows = Math.ceil(WASM_MAP_MIN / len) + (seed & 3);
      const specials = special ? [Number.NaN, Number.POSITIVE_INFINITY, -0, 1e30] : [];
      const y = seededValues(Float32Array, rows * len, seed, (u) => u, specials, 0.002);
      const g = seededValues(Float32Array, rows * len, seed + 1, (u) => (u - 0.5) * 4, specials, 0.002);
      // The same rows padded by one element each: not one contiguous run, so the loop takes them.
      const pad = (d: Float32Array) => {
        const p = new Float32Array(rows * (len + 1));
        for (let i = 0; i < rows; i++) p.set(d.subarray(i * len, (i + 1) * len), i * (len + 1));
        return { data: p, shape: [rows, len], strides: [len + 1, 1], offset: 0 };
      };
      const flat = (d: Float32Array) => ({ data: d, shape: [rows, len], strides: [len, 1], offset: 0 });
      everyThreading(() => {
        const [want, got] = [new Float32Array(rows * len), new Float32Array(rows * len)];
        cpuBackend.softmaxBackward!(pad(y), pad(g), want, false);
        cpuBackend.softmaxBackward!(flat(y), flat(g), got, false);
        return mismatch(want, got);
      }, `, ${rows} × ${len}`);
    }),
    { numRuns: 30 },
  );
  expect(run.mock.calls.some(([fn]) => fn === kernel)).toBe(true);
});
