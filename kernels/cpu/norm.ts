/**
 * LayerNorm's and RMSNorm's forward pass (x̂, r, and x̂·weight + bias when asked) and backward
 * pass (dx, dWeight, dBias) over large contiguous float32 rows, split over the thread pool (the
 * kernels: kernels/cpu/norm-kernels.ts). Bitwise the JavaScript loops' results, for any thread
 * count (spec/norm-wasm.spec.ts).
 *
 * Why: on BERT's activations the two norms ran in JavaScript on one core, ≈ 5 ns an element
 * forward and ≈ 8 backward, while the GEMMs beside them ran on all cores. On [1024, 256]: the
 * forward 2.3 → 0.6 ms on one thread, the backward 2.0 → 1.3 ms (1.0 on two).
 */
import { inMemory, rowsPerTask } from './wasm-map.ts';
import { wasmRuntime } from './wasm-runtime.ts';

/** [t], or [] for an absent operand. */
const present = <T>(t: T | null): T[] => (t ? [t] : []);

/** Columns per task of the column sums: ≈ 8 tasks (a few per thread) of whole groups of four. */
const columnsPerTaskFor = (columns: number) => 4 * Math.ceil(columns / 32);

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
  const perTask = rowsPerTask(len),
    tasks = Math.ceil(rows / perTask);
  const done = inMemory([x, ...present(weight), ...present(bias)], [xhat, rstd, ...present(out)], 0, 8, (at) => {
    new Float64Array(wasm.memory.buffer, at.extra, 1)[0] = eps;
    const [xAt, ...more] = at.inputs;
    const weightAt = weight ? more.shift()! : 0,
      biasAt = bias ? more.shift()! : 0;
    const [xhatAt, rstdAt, outAt] = at.outputs;
    const args = [xAt!, xhatAt!, outAt ?? 0, rstdAt!, len, perTask, rows, centered ? 1 : 0, weightAt, biasAt, at.extra];
    wasm.pool.run(wasm.norm.normRows, tasks, args);
  });
  return done !== undefined;
}

/** The backward's operands: g and x̂ hold whole rows of `len`; dx, dWeight, dBias are written where given. */
export interface NormRowsBackward {
  g: Float32Array;
  xhat: Float32Array;
  rstd: Float32Array;
  weight: Float32Array | null;
  centered: boolean;
  dx: Float32Array | null;
  dWeight: Float32Array | null;
  dBias: Float32Array | null;
}

/**
 * normAffineBackward's results: dx split by rows, the columns' sums dWeight and dBias split by
 * columns (each sum keeps its order over the rows); false (nothing done) where the runtime is
 * missing or the rows do not fit its memory.
 */
export function wasmNormRowsBackward({ g, xhat, rstd, weight, centered, dx, dWeight, dBias }: NormRowsBackward): boolean {
  const wasm = wasmRuntime();
  const outputs = [dx, dWeight, dBias].filter((t) => t !== null);
  if (!wasm || outputs.length === 0) return false;
  const rows = rstd.length,
    len = xhat.length / rows;
  const perTask = rowsPerTask(len);
  const columnsPerTask = columnsPerTaskFor(len),
    columnTasks = Math.ceil(len / columnsPerTask);
  const done = inMemory([g, xhat, rstd, ...present(weight)], outputs, 0, 16 * columnsPerTask * columnTasks, (at) => {
    const [gAt, xhatAt, rstdAt, weightAt] = at.inputs;
    const outAt = (t: Float32Array | null) => (t ? at.outputs[outputs.indexOf(t)]! : 0);
    if (dx)
      wasm.pool.run(wasm.norm.normRowsBackward, Math.ceil(rows / perTask), [
        gAt!,
        xhatAt!,
        rstdAt!,
        outAt(dx),
        weightAt ?? 0,
        len,
        perTask,
        rows,
        centered ? 1 : 0,
      ]);
    if (dWeight || dBias)
      wasm.pool.run(wasm.norm.normColumnSums, columnTasks, [gAt!, xhatAt!, outAt(dWeight), outAt(dBias), len, columnsPerTask, rows, at.extra]);
  });
  return done !== undefined;
}

/**
 * out[j] = Σ_i x[i·cols + j] over the rows in order, in float64 (float32 rows, rounded on the
 * store): the sum over a tensor's leading axes, as a bias's gradient takes it. The norms'
 * column kernel without its weight part (kernels/cpu/reduce.ts uses it); false (nothing done)
 * where the runtime is missing or x does not fit its memory.
 */
export function wasmColumnSums(x: Float32Array, rows: number, cols: number, out: Float32Array): boolean {
  const wasm = wasmRuntime();
  if (!wasm || rows === 0) return false;
  const columnsPerTask = columnsPerTaskFor(cols),
    tasks = Math.ceil(cols / columnsPerTask);
  const done = inMemory([x], [out], 0, 16 * columnsPerTask * tasks, (at) => {
    const [xAt, outAt] = [at.inputs[0]!, at.outputs[0]!];
    wasm.pool.run(wasm.norm.normColumnSums, tasks, [xAt, xAt, 0, outAt, cols, columnsPerTask, rows, at.extra]);
  });
  return done !== undefined;
}
