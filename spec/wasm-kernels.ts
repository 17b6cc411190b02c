// What the specs of the WebAssembly elementwise kernels (GELU, exp, SiLU, softmax) share: a
// deterministic input generator with special values sprinkled in, and the three threadings
// every kernel must give the same bits under.

import { afterAll, beforeAll, expect } from 'vitest';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { setThreads, threadInfo, threadPool, threadsReady } from '../kernels/cpu/wasm-runtime.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import type { UnaryOp } from '../kernels/scalar.ts';
import type { View } from '../kernels/view.ts';

/**
 * `length` deterministic values: `at(u)` of a uniform u in [0, 1) (a splitmix-style hash of
 * the seed), except that a share `specialShare` of them are picked from `special`.
 */
export function seededValues<T extends Float32Array | Float64Array>(
  Type: new (n: number) => T,
  length: number,
  seed: number,
  at: (u: number) => number,
  special: readonly number[] = [],
  specialShare = 0.002,
): T {
  const out = new Type(length);
  for (let i = 0; i < length; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    out[i] = u < specialShare && special.length > 0 ? special[Math.floor((u / specialShare) * special.length)]! : at(u);
  }
  return out;
}

/** Runs the file's tests with two threads started (the count is restored afterwards). */
export function withTwoThreads(): void {
  let before = 1;
  beforeAll(async () => {
    before = threadInfo().threads;
    setThreads(2);
    await threadsReady();
  });
  afterAll(() => setThreads(before));
}

/**
 * Expects `check()` (a description of the first mismatch, or null) to pass with one thread,
 * two threads, and with the caller taking no task (every task on a worker).
 */
export function everyThreading(check: () => string | null, label = ''): void {
  for (const mode of ['one thread', 'two threads', 'workers only'] as const) {
    setThreads(mode === 'one thread' ? 1 : 2);
    const pool = threadPool();
    if (pool) pool.callerJoins = mode !== 'workers only';
    try {
      expect(check(), `${mode}${label}`).toBeNull();
    } finally {
      if (pool) pool.callerJoins = true;
    }
  }
}

/** The first element where `got` differs from `want` in any bit (−0 and NaN included), or null. */
export function mismatch(want: Float32Array | Float64Array, got: Float32Array | Float64Array): string | null {
  for (let i = 0; i < want.length; i++) if (!Object.is(want[i], got[i])) return `element ${i}: reference ${want[i]}, cpu ${got[i]}`;
  return null;
}

/** A float32 activation's forward (on x) and backward (on x, g) through both backends, compared bitwise. */
export function compareActivation(op: UnaryOp, x: View, g: View, n: number): string | null {
  const [a, b, c, d] = [0, 1, 2, 3].map(() => new Float32Array(n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  referenceBackend.unary(op, x, a, 0, 0);
  cpuBackend.unary(op, x, b, 0, 0);
  referenceBackend.unaryBackward(op, x, g, c, 0, 0);
  cpuBackend.unaryBackward(op, x, g, d, 0, 0);
  return mismatch(a, b) ?? mismatch(c, d);
}
