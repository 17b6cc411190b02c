/**
 * How the WebAssembly elementwise kernels (GELU, exp, SiLU, softmax) are run on large
 * contiguous tensors: the operands are copied into the runtime's memory, the kernel runs in
 * tasks over the thread pool, and the result is copied out. The copies cost ≈ 0.3 ns per
 * element against several ns of arithmetic, which is why only large runs take this path.
 *
 * A kernel may leave elements it cannot compute exactly (an exp past its range, GELU's
 * derivative past erf's table): it sets its task's flag, and JavaScript recomputes that
 * task with the reference's own function. Results are bitwise the reference's for any thread
 * count (spec/gelu-wasm.spec.ts, spec/exp-wasm.spec.ts).
 */
import { numel } from '../../base/shape.ts';
import { collapseAxes, type View } from '../view.ts';
import { ensureBytes, HEAP_START, roundUp, wasmRuntime } from './wasm-runtime.ts';

/** Below this many elements the JavaScript loops are used (the copies and the wake-up would not pay). */
export const WASM_MAP_MIN = 1 << 14;
/** Elements per task: ≈ 0.1–0.3 ms of work, so many tasks balance a busy machine. */
export const TASK_ELEMENTS = 1 << 14;

export type Float = Float32Array | Float64Array;

/** Whole rows of `len` per task of a row-wise kernel: ≈ TASK_ELEMENTS elements (at least one row). */
export const rowsPerTask = (len: number) => Math.ceil(TASK_ELEMENTS / len);

/**
 * A view's elements as one contiguous run of `type`, when they are one of at least
 * WASM_MAP_MIN elements; else undefined (the caller takes its JavaScript loop).
 */
export function contiguousRun<T extends Float>(v: View, type: new (n: number) => T): T | undefined {
  // The size first: every float32 add, mul and sum asks (kernels/cpu/arith.ts, reduce.ts), most of them small.
  if (!(v.data instanceof type) || numel(v.shape) < WASM_MAP_MIN) return undefined;
  const c = collapseAxes(v.shape, [v.strides]);
  if (c.shape.length !== 1 || c.strides[0]![0] !== 1 || c.shape[0]! < WASM_MAP_MIN) return undefined;
  return v.data.subarray(v.offset, v.offset + c.shape[0]!) as T;
}

/**
 * Lays out the memory as flags (flagBytes, zeroed) | extra (extraBytes) | inputs | outputs,
 * copies the inputs in, runs `run` with those addresses, copies each output's length of
 * elements out, and returns the flags; undefined (nothing done) without the runtime or past
 * its memory's ceiling. Every array has the outputs' first element type.
 */
export function inMemory(
  inputs: Float[],
  outputs: Float[],
  flagBytes: number,
  extraBytes: number,
  run: (at: { inputs: number[]; outputs: number[]; flags: number; extra: number }) => void,
): Int32Array | undefined {
  const wasm = wasmRuntime();
  if (!wasm) return undefined;
  const bytes = outputs[0]!.BYTES_PER_ELEMENT;
  const flags = HEAP_START,
    extra = roundUp(flags + flagBytes, 64);
  let end = roundUp(extra + extraBytes, 64);
  const place = (x: Float) => {
    const a = end;
    end = roundUp(a + x.length * bytes, 64);
    return a;
  };
  const [inAt, outAt] = [inputs.map(place), outputs.map(place)];
  if (!ensureBytes(wasm.memory, end)) return undefined;
  const Mem = outputs[0] instanceof Float32Array ? Float32Array : Float64Array;
  new Int32Array(wasm.memory.buffer, flags, flagBytes >> 2).fill(0); // a kernel that never flags leaves them so
  inputs.forEach((x, i) => new Mem(wasm.memory.buffer, inAt[i]!, x.length).set(x as never));
  run({ inputs: inAt, outputs: outAt, flags, extra });
  outputs.forEach((out, i) => out.set(new Mem(wasm.memory.buffer, outAt[i]!, out.length) as never));
  return new Int32Array(wasm.memory.buffer, flags, flagBytes >> 2);
}

/**
 * out = kernel(inputs) elementwise. The kernel is called as
 * fn(task, ...inputs, out, n, TASK_ELEMENTS, ...extra, flags) (addresses in bytes); the
 * elements of a task it flagged are recomputed by `js(i)`. False (nothing done) where the
 * runtime is missing or the operands do not fit its memory. `onCaller` keeps every task on the
 * calling thread: for a kernel cheaper than the copies around it, waking workers costs more
 * than the share of work they would take.
 */
export function wasmMap(fn: number, inputs: Float[], out: Float, js: (i: number) => number, extra: number[] = [], onCaller = false): boolean {
  const wasm = wasmRuntime();
  if (!wasm) return false;
  const n = out.length,
    tasks = Math.ceil(n / TASK_ELEMENTS);
  const flags = inMemory(inputs, [out], 4 * tasks, 0, (at) =>
    wasm.pool.run(fn, tasks, [...at.inputs, at.outputs[0]!, n, TASK_ELEMENTS, ...extra, at.flags], onCaller ? Number.POSITIVE_INFINITY : 1),
  );
  if (!flags) return false;
  for (let t = 0; t < tasks; t++) {
    if (flags[t] === 0) continue;
    for (let i = t * TASK_ELEMENTS, end = Math.min(n, i + TASK_ELEMENTS); i < end; i++) out[i] = js(i);
  }
  return true;
}
