/**
 * exp, SiLU (and its backward pass) and softmax over large contiguous tensors, split over
 * the thread pool through kernels/cpu/wasm-map.ts (the kernels: kernels/cpu/exp-kernels.ts).
 * Bitwise the reference's results, for any thread count (spec/exp-wasm.spec.ts).
 *
 * Why: a LLaMa fine-tuning step spent ≈ 30 % of its time in the log-softmax over a
 * 32k-token vocabulary and the exp of its backward pass, one Math.exp call (≈ 7 ns) per
 * element on one core; the kernels compute two exps at a time in SIMD, on every core.
 *
 * The kernels carry their own exp (fdlibm's, Math.exp's algorithm in V8). Before first use
 * it is compared with this engine's Math.exp on PROBE values; where they differ in any bit
 * (another engine, another algorithm) the kernels are not used at all.
 */
import { silu, siluGrad } from '../scalar.ts';
import { type Float, inMemory, rowsPerTask, wasmMap } from './wasm-map.ts';
import { wasmRuntime } from './wasm-runtime.ts';

/** out = exp(x) elementwise (float32 or float64); false (nothing done) where the kernels are unavailable. */
export function wasmExp(x: Float, out: Float): boolean {
  const exp = wasmRuntime()?.exp;
  return !!exp && expIsExact() && wasmMap(out instanceof Float32Array ? exp.exp32 : exp.exp64, [x], out, (i) => Math.exp(x[i]!));
}

/** out = silu(x) (float32); false as for wasmExp. */
export function wasmSilu(x: Float32Array, out: Float32Array): boolean {
  const exp = wasmRuntime()?.exp;
  return !!exp && expIsExact() && wasmMap(exp.silu, [x], out, (i) => silu(x[i]!));
}

/** out = g · silu′(x) (float32); false as for wasmExp. */
export function wasmSiluGrad(x: Float32Array, g: Float32Array, out: Float32Array): boolean {
  const exp = wasmRuntime()?.exp;
  return !!exp && expIsExact() && wasmMap(exp.siluGrad, [x, g], out, (i) => g[i]! * siluGrad(x[i]!));
}

/**
 * Softmax (or log-softmax) of `rows` contiguous float32 rows of `len` elements into out.
 * Returns the rows the caller must compute itself (those of a task with an exponent past the
 * kernel's range: NaN, ±∞ in the row's maximum), or undefined (nothing done) where the
 * kernels are unavailable.
 */
export function wasmSoftmax(x: Float32Array, rows: number, len: number, out: Float32Array, log: boolean): number[] | undefined {
  const wasm = wasmRuntime();
  if (!wasm || !expIsExact()) return undefined;
  const perTask = rowsPerTask(len),
    tasks = Math.ceil(rows / perTask);
  const flags = inMemory([x], [out], 4 * tasks, log ? 16 * rows : 0, (at) => {
    const args = [at.inputs[0]!, at.outputs[0]!, len, perTask, rows, at.extra];
    if (!log) return wasm.pool.run(wasm.exp.softmax, tasks, [...args, at.flags]);
    wasm.pool.run(wasm.exp.logSoftmax, tasks, [...args, at.flags]);
    // (max, total) per row → (max, log total): WebAssembly has no logarithm.
    const stats = new Float64Array(wasm.memory.buffer, at.extra, 2 * rows);
    for (let r = 0; r < rows; r++) stats[2 * r + 1] = Math.log(stats[2 * r + 1]!);
    wasm.pool.run(wasm.exp.logSoftmaxOut, tasks, args);
  });
  if (!flags) return undefined;
  const redo: number[] = [];
  for (let t = 0; t < tasks; t++) if (flags[t] !== 0) for (let r = t * perTask; r < Math.min(rows, (t + 1) * perTask); r++) redo.push(r);
  return redo;
}

/**
 * Softmax's VJP over `rows` contiguous float32 rows of `len` (y the softmax, g the incoming
 * gradient) into out, bitwise kernels/cpu/softmax.ts's loop; false (nothing done) where the
 * kernels are unavailable or the rows do not fit the memory.
 */
export function wasmSoftmaxBackward(y: Float32Array, g: Float32Array, rows: number, len: number, out: Float32Array): boolean {
  const wasm = wasmRuntime();
  if (!wasm) return false;
  const perTask = rowsPerTask(len);
  const done = inMemory([y, g], [out], 0, 0, (at) =>
    wasm.pool.run(wasm.exp.softmaxBackward, Math.ceil(rows / perTask), [at.inputs[0]!, at.inputs[1]!, at.outputs[0]!, len, perTask, rows]),
  );
  return done !== undefined;
}

// Where Math.exp's algorithm is fdlibm's these agree bit for bit; a different algorithm
// (even a better-rounded one) differs on a good share of them.
const PROBE = (() => {
  const values = [0, -0, 1, -1, 0.5, 2 ** -28, -(2 ** -29), 0.34657359027997264, 1.0397207708399179, -700, 703.9, -746, -Infinity];
  let s = 0x2545f491;
  for (let i = 0; values.length < 4096; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    const u = (s >>> 0) / 2 ** 32;
    values.push(i % 2 ? (u - 0.5) * 40 : (u - 0.9) * 780);
  }
  return new Float64Array(values);
})();

let exact: boolean | undefined;
/** Whether the kernels' exp is this engine's Math.exp, bit for bit (checked once). */
export function expIsExact(): boolean {
  if (exact !== undefined) return exact;
  const wasm = wasmRuntime();
  if (!wasm) return (exact = false);
  const got = new Float64Array(PROBE.length);
  const flags = inMemory([PROBE], [got], 4, 0, (at) => wasm.pool.run(wasm.exp.exp64, 1, [at.inputs[0]!, at.outputs[0]!, PROBE.length, PROBE.length, at.flags]));
  exact = flags !== undefined && flags[0] === 0 && PROBE.every((x, i) => Object.is(got[i], Math.exp(x)));
  return exact;
}
