/**
 * Fast reductions, in one pass over x in row-major order: each element is combined
 * into its output slot, whose position is x's index with the reduced axes given
 * stride 0. Axes are collapsed as for elementwise maps, so the inner loop is one of
 *  - reducing the innermost axis: output stride 0, the accumulator stays in a register;
 *  - keeping it: output stride 1, a whole row of x is added into a row of outputs —
 *    how the bias gradient (sum over the leading axes) streams through memory once,
 *    instead of walking each column with a large stride.
 * Row-major order also means each output sees its elements in the reference's order,
 * so results match the reference exactly (the tests only rely on a tolerance).
 * Sums accumulate in float64 (a scratch row when `out` is not float64).
 */
import type { Storage } from '../../base/dtype.ts';
import { contiguousStrides } from '../../base/shape.ts';
import type { Backend } from '../backend.ts';
import { REDUCE, type ReduceOp } from '../scalar.ts';
import { forEachRow, type View } from '../view.ts';
import { wasmColumnSums } from './norm.ts';
import { contiguousRun } from './wasm-map.ts';

/** Combine x[j + i·step] into acc[k + i·accStep] for i < n. */
type CombineRun = (acc: Float64Array, k: number, accStep: number, x: Storage, j: number, step: number, n: number) => void;

const sumRun: CombineRun = (acc, k, accStep, x, j, step, n) => {
  if (accStep === 0) {
    let s = acc[k]!;
    for (let i = 0; i < n; i++, j += step) s += x[j]!;
    acc[k] = s;
  } else {
    for (const end = k + n * accStep; k !== end; k += accStep, j += step) acc[k]! += x[j]!;
  }
};

/** max and min call the table's combine step (only two targets: V8 inlines both). */
function extremumRun(combine: (acc: number, x: number) => number): CombineRun {
  return (acc, k, accStep, x, j, step, n) => {
    for (let i = 0; i < n; i++, k += accStep, j += step) acc[k] = combine(acc[k]!, x[j]!);
  };
}

const RUNS: Record<ReduceOp, CombineRun> = {
  sum: sumRun,
  max: extremumRun(REDUCE.max.combine),
  min: extremumRun(REDUCE.min.combine),
};

/**
 * A float32 sum over leading axes of a large contiguous x (a bias's gradient): the WebAssembly
 * column sums over the thread pool (kernels/cpu/norm.ts), each column summed in float64 over the
 * rows in order, as the loop below sums it, so bitwise its result. False where it does not apply.
 */
function columnSums(x: View, axes: readonly number[], out: Float32Array): boolean {
  const k = axes.length;
  if (k === 0 || k === x.shape.length || !axes.every((a, i) => a === i)) return false;
  const run = contiguousRun(x, Float32Array);
  const rows = x.shape.slice(0, k).reduce((p, d) => p * d, 1);
  return run !== undefined && wasmColumnSums(run, rows, run.length / rows, out);
}

/**
 * The float64 accumulators: out itself when it is float64, else a scratch row kept
 * between calls so reductions do not allocate. Past 64 Ki outputs (512 KiB) the row
 * is allocated per call instead, so one huge reduction does not pin its memory.
 */
const KEEP_SCRATCH_UP_TO = 1 << 16;
let scratch = new Float64Array(0);
function accumulatorFor(out: Storage): Float64Array {
  if (out instanceof Float64Array) return out;
  if (out.length > KEEP_SCRATCH_UP_TO) return new Float64Array(out.length);
  if (scratch.length < out.length) scratch = new Float64Array(out.length);
  return scratch;
}

export const reduce: Backend['reduce'] = (op, x, axes, out) => {
  if (op === 'sum' && out instanceof Float32Array && columnSums(x, axes, out)) return;
  const acc = accumulatorFor(out);
  const n = out.length;
  acc.fill(REDUCE[op].init, 0, n);
  // Output strides on x's axes: contiguous over the kept axes, 0 along the reduced ones.
  const kept = contiguousStrides(x.shape.filter((_, i) => !axes.includes(i)));
  let next = 0;
  const accStrides = x.shape.map((_, i) => (axes.includes(i) ? 0 : kept[next++]!));
  const run = RUNS[op];
  const accView = { data: acc, shape: x.shape, strides: accStrides, offset: 0 };
  forEachRow(x.shape, [x, accView], ([j, k], length, [step, accStep]) => run(acc, k!, accStep!, x.data, j!, step!, length));
  if (acc !== out) out.set(acc.subarray(0, n));
};
