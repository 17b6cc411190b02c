// The WebAssembly strided float32 copy (kernels/cpu/gather.ts) must move exactly the bits the
// reference's copy moves (NaN for NaN: see sameBits) for permuted and sliced views of any rank
// whose innermost run is contiguous and short (attention's merged heads, and others), at any
// offset into the storage; and it must decline, leaving the JavaScript copy to run, where it
// would not pay: contiguous tensors, long rows, a thin slice of a large tensor.

import fc from 'fast-check';
import { expect, test } from 'vitest';
import { wasmGather } from '../kernels/cpu/gather.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { wasmRuntime } from '../kernels/cpu/wasm-runtime.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import { contiguousStrides } from '../base/shape.ts';
import type { View } from '../kernels/view.ts';

/** Storage of random bit patterns: every float32 there is, NaNs with payloads included. */
function randomBits(length: number, seed: number): Float32Array {
  const bits = new Int32Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bits[i] = x;
  }
  return new Float32Array(bits.buffer);
}

/** The view of a contiguous tensor of `shape` (at `offset` in its storage) with its axes permuted; the last axis stays last. */
function permuted(shape: number[], order: number[], offset: number, seed: number): View<Float32Array> {
  const strides = contiguousStrides(shape);
  const size = shape.reduce((p, d) => p * d, 1);
  return { data: randomBits(offset + size, seed), shape: order.map((a) => shape[a]!), strides: order.map((a) => strides[a]!), offset };
}

/**
 * Equal bits, or NaN on both sides: the reference moves elements through JavaScript numbers,
 * which quiets a signaling NaN (its payload's top bit set), while the gather moves raw bits.
 */
const sameBits = (a: Float32Array, b: Float32Array) => {
  const [x, y] = [new Int32Array(a.buffer), new Int32Array(b.buffer)];
  return x.every((bits, i) => bits === y[i] || (Number.isNaN(a[i]!) && Number.isNaN(b[i]!)));
};

test.runIf(wasmRuntime() !== undefined)('permuted views: the gather runs and moves exactly the reference copy’s bits', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 4 }).chain((rank) =>
        fc.record({
          shape: fc.array(fc.integer({ min: 2, max: 40 }), { minLength: rank, maxLength: rank }),
          row: fc.integer({ min: 2, max: 255 }),
          order: fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }),
          offset: fc.integer({ min: 0, max: 9 }),
          seed: fc.integer(),
        }),
      ),
      ({ shape, row, order, offset, seed }) => {
        const full = [...shape, row];
        const size = full.reduce((p, d) => p * d, 1);
        // The axis before the rows must not be the one stored just before them (the two would
        // merge into rows of ≥ 256, which the JavaScript copy keeps).
        fc.pre(size >= 1 << 14 && size <= 1 << 20 && order[order.length - 1] !== shape.length - 1);
        const view = permuted(full, [...order, shape.length], offset, seed);
        const [want, got] = [new Float32Array(size), new Float32Array(size).fill(Number.NaN)];
        referenceBackend.copy(view, want);
        expect(wasmGather(view, got)).toBe(true);
        expect(sameBits(want, got)).toBe(true);
      },
    ),
    { numRuns: 40 },
  );
});

test.runIf(wasmRuntime() !== undefined)('attention’s heads merged back, through the backend’s copy', () => {
  const [batch, heads, seq, d] = [8, 4, 128, 64];
  const view = permuted([batch, heads, seq, d], [0, 2, 1, 3], 3, 7); // [b, h, s, d] read as [b, s, h, d]
  const [want, got] = [new Float32Array(batch * heads * seq * d), new Float32Array(batch * heads * seq * d)];
  referenceBackend.copy(view, want);
  cpuBackend.copy(view, got);
  expect(sameBits(want, got)).toBe(true);
});

test('where it would not pay, it declines and does nothing', () => {
  const out = new Float32Array(1 << 16).fill(7);
  const data = randomBits(1 << 20, 3);
  const contiguous: View = { data, shape: [256, 256], strides: [256, 1], offset: 5 };
  const longRows: View = { data, shape: [64, 4, 256], strides: [256, 16384, 1], offset: 0 };
  const thinSlice: View = { data, shape: [16, 4096], strides: [65536, 1], offset: 0 }; // 16 rows read of a 1 M span
  const small: View = { data, shape: [8, 64], strides: [128, 1], offset: 0 };
  for (const v of [contiguous, longRows, thinSlice]) expect(wasmGather(v, out)).toBe(false);
  expect(wasmGather(small, new Float32Array(512))).toBe(false);
  expect(out.every((x) => x === 7)).toBe(true);
});
