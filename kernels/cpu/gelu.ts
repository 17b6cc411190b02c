/**
 * GELU and its backward pass on large contiguous float32 tensors, split over the thread
 * pool: the operands are copied into the WebAssembly memory, the kernels
 * (kernels/cpu/gelu-kernels.ts) run in tasks of TASK_ELEMENTS, and the result is copied
 * out. Bitwise the reference's results, for any thread count (spec/gelu-wasm.spec.ts).
 *
 * Why: on a [8·128, 1024] BERT activation, GELU forward and backward in JavaScript took
 * ≈ 20 % of a training step on one core while the GEMMs ran on all of them. The copies
 * cost ≈ 0.3 ns per element against ≈ 7–17 ns of arithmetic.
 */
import { ERF_GRID } from '../erf.ts';
import { geluGrad, SQRT1_2 } from '../scalar.ts';
import { ERF_TABLE_AT, ensureBytes, HEAP_START, roundUp, wasmRuntime } from './wasm-runtime.ts';

/** Below this many elements the JavaScript loop is used (the copies and the wake-up would not pay). */
export const WASM_GELU_MIN = 1 << 14;
const TASK_ELEMENTS = 1 << 14; // ≈ 0.1–0.3 ms of work per task: many tasks balance a busy machine

/** out = gelu(x); false (nothing done) where the WebAssembly runtime is missing or x too large for its memory. */
export function wasmGelu(x: Float32Array, out: Float32Array): boolean {
  const wasm = wasmRuntime();
  const n = x.length;
  const xAt = HEAP_START,
    outAt = roundUp(xAt + 4 * n, 64),
    end = outAt + 4 * n;
  if (!wasm || !ensureBytes(wasm.memory, end)) return false;
  const mem = new Float32Array(wasm.memory.buffer);
  mem.set(x, xAt / 4);
  wasm.pool.run(wasm.gelu.gelu, Math.ceil(n / TASK_ELEMENTS), [xAt, outAt, n, TASK_ELEMENTS, ERF_TABLE_AT]);
  out.set(mem.subarray(outAt / 4, outAt / 4 + n));
  return true;
}

/** out = g · gelu′(x); false (nothing done) as for wasmGelu. */
export function wasmGeluGrad(x: Float32Array, g: Float32Array, out: Float32Array): boolean {
  const wasm = wasmRuntime();
  const n = x.length;
  const tasks = Math.ceil(n / TASK_ELEMENTS);
  const flagsAt = HEAP_START,
    xAt = roundUp(flagsAt + 4 * tasks, 64),
    gAt = roundUp(xAt + 4 * n, 64),
    outAt = roundUp(gAt + 4 * n, 64),
    end = outAt + 4 * n;
  if (!wasm || !ensureBytes(wasm.memory, end)) return false;
  const mem = new Float32Array(wasm.memory.buffer);
  mem.set(x, xAt / 4);
  mem.set(g, gAt / 4);
  wasm.pool.run(wasm.gelu.geluGrad, tasks, [xAt, gAt, outAt, n, TASK_ELEMENTS, ERF_TABLE_AT, flagsAt]);
  out.set(mem.subarray(outAt / 4, outAt / 4 + n));
  // Elements beyond erf's table (|x| ≳ 8.5, or NaN) need Math.exp: the kernel flagged their
  // tasks and left them for JavaScript, with the same condition.
  const flags = new Int32Array(wasm.memory.buffer, flagsAt, tasks);
  for (let t = 0; t < tasks; t++) {
    if (flags[t] === 0) continue;
    for (let i = t * TASK_ELEMENTS, end = Math.min(n, i + TASK_ELEMENTS); i < end; i++) {
      if (!(Math.abs(x[i]! * SQRT1_2) < ERF_GRID.limit)) out[i] = g[i]! * geluGrad(x[i]!);
    }
  }
  return true;
}
