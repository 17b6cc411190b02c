/**
 * LayerNorm's and RMSNorm's forward pass (x̂, r, and x̂·weight + bias when asked) over large
 * contiguous float32 rows, split by rows over the thread pool (the kernel:
 * kernels/cpu/norm-kernels.ts). Bitwise the JavaScript kernels' results, for any thread count
 * (spec/norm-wasm.spec.ts).
 *
 * Why: on BERT's activations the two norms' forward passes ran in JavaScript on one core,
 * ≈ 5 ns an element, while the GEMMs beside them ran on all cores.
 */
import { inMemory, TASK_ELEMENTS } from './wasm-map.ts';
import { wasmRuntime } from './wasm-runtime.ts';

/** The forward's operands: `x` holds whole rows of `len`; weight and bias hold `len` values each. */
export interface NormRows {
  x: Float32Array;
  len: number;
  eps: number;
  centered: boolean;
  weight: Float32Array | null;
  bias: Float32Array | null;
  xhat: Float32Array;
  rstd: Float32Array;
  /** x̂·weight + bias, or null when only x̂ and r are wanted. */
  out: Float32Array | null;
}

/** Writes xhat, rstd (and out); false (nothing done) where the runtime is missing or the rows do not fit its memory. */
export function wasmNormRows({ x, len, eps, centered, weight, bias, xhat, rstd, out }: NormRows): boolean {
  const wasm = wasmRuntime();
  if (!wasm) return false;
  const rows = rstd.length;
  const rowsPerTask = Math.ceil(TASK_ELEMENTS / len),
    tasks = Math.ceil(rows / rowsPerTask);
  const present = <T>(t: T | null) => (t ? [t] : []);
  const done = inMemory([x, ...present(weight), ...present(bias)], [xhat, rstd, ...present(out)], 0, 8, (at) => {
    new Float64Array(wasm.memory.buffer, at.extra, 1)[0] = eps;
    const [xAt, ...more] = at.inputs;
    const weightAt = weight ? more.shift()! : 0,
      biasAt = bias ? more.shift()! : 0;
    const [xhatAt, rstdAt, outAt] = at.outputs;
    const args = [xAt!, xhatAt!, outAt ?? 0, rstdAt!, len, rowsPerTask, rows, centered ? 1 : 0, weightAt, biasAt, at.extra];
    wasm.pool.run(wasm.norm.normRows, tasks, args);
  });
  return done !== undefined;
}
