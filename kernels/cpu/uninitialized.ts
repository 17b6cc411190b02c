/**
 * Storage whose contents are unspecified, for an output that its kernel overwrites entirely
 * (Backend.allocate's `uninitialized`, asked by core/ops/util.ts `empty`).
 *
 * Why: `new Float32Array(n)` zero-fills, and a training step allocates its activations and
 * gradients afresh: on a BERT encoder layer (W3 in bench/peers.ts) ≈ 100 MB per step, ≈ 10 ms of
 * memset on two threads, ≈ 7 % of the step. Node and Bun hand out memory without filling it
 * (`Buffer.allocUnsafeSlow`, found on globalThis: no import); elsewhere (browsers, Deno) the
 * storage is zeroed as before. Only large float buffers take this path: small ones cost little
 * to zero, and integer outputs may be read before being written (argmax's indices).
 *
 * Tests poison it (setUninitializedFill(NaN), spec/setup.ts): an element that a kernel failed
 * to write then reads NaN, which every comparison with the reference notices.
 */
import type { DType, FloatStorage } from '../../base/dtype.ts';

/** Below this size zero-filling costs little; the usual allocation is kept. */
const MIN_BYTES = 64 * 1024;
/** Above it the usual allocation's checks and messages apply. */
const MAX_BYTES = 2 ** 31;

let poison: number | null = null;

/** Fill every uninitialized storage with `value` from now on (null: leave it as it comes). For tests. */
export function setUninitializedFill(value: number | null): void {
  poison = value;
}

type UnsafeAllocator = { allocUnsafeSlow?(bytes: number): Uint8Array<ArrayBuffer> };

/** Float storage without zero-filling, or undefined where the platform (or the request) has no such path. */
export function uninitializedStorage(dtype: DType, length: number): FloatStorage | undefined {
  if (dtype !== 'float32' && dtype !== 'float64') return undefined;
  const Type = dtype === 'float32' ? Float32Array : Float64Array;
  const bytes = length * Type.BYTES_PER_ELEMENT;
  const buffers = (globalThis as { Buffer?: UnsafeAllocator }).Buffer;
  if (!Number.isSafeInteger(length) || bytes < MIN_BYTES || bytes > MAX_BYTES || typeof buffers?.allocUnsafeSlow !== 'function') return undefined;
  const raw = buffers.allocUnsafeSlow(bytes); // its own ArrayBuffer (not the pool), offset 0, so aligned for float64
  const data = new Type(raw.buffer, raw.byteOffset, length);
  if (poison !== null) data.fill(poison);
  return data;
}
