/**
 * Fused softmax / log-softmax over the last axis: three passes over each row (max,
 * exponentials and their sum, normalise), each exponential computed once and kept
 * in a float64 scratch row, so a float32 row is rounded once, on the final store.
 *
 * NaN needs no test of its own: the max pass skips it, but exp(NaN − max) is NaN, so
 * the total and then every output of that row are NaN, as in the reference. A row
 * that is all −Infinity (fully masked) gives exp(−∞ − (−∞)) = NaN the same way: the
 * documented result, torch's.
 */
import type { FloatStorage } from '../../base/dtype.ts';
import type { Backend } from '../backend.ts';
import { roundTo } from '../scalar.ts';
import { forEachLastAxisRow } from '../view.ts';
import { wasmSoftmax, wasmSoftmaxBackward } from './exp.ts';
import { contiguousRun } from './wasm-map.ts';

/** The exponentials of one row, kept between calls so softmax does not allocate. */
let scratch = new Float64Array(0);

/** One row: src[p + j·step] for j < len → out[o + j]. */
function softmaxRow(src: FloatStorage, p: number, step: number, len: number, out: FloatStorage, o: number, log: boolean, e: Float64Array): void {
  let max = -Infinity;
  for (let j = 0, q = p; j < len; j++, q += step) if (src[q]! > max) max = src[q]!;
  let total = 0;
  for (let j = 0, q = p; j < len; j++, q += step) total += e[j] = Math.exp(src[q]! - max);
  if (log) {
    const logTotal = Math.log(total);
    for (let j = 0, q = p; j < len; j++, q += step) out[o + j] = src[q]! - max - logTotal;
  } else {
    for (let j = 0; j < len; j++) out[o + j] = e[j]! / total;
  }
}

export const softmax: Backend['softmax'] = (x, out, log) => {
  const r = x.shape.length;
  const len = x.shape[r - 1]!;
  if (scratch.length < len) scratch = new Float64Array(len);
  // Large contiguous float32: the WebAssembly kernels over the thread pool (kernels/cpu/exp.ts),
  // bitwise these loops' results; they hand back the few rows they cannot do.
  const run = out instanceof Float32Array && len > 0 ? contiguousRun(x, Float32Array) : undefined;
  const redo = run && wasmSoftmax(run, run.length / len, len, out as Float32Array, log);
  if (redo) {
    for (const row of redo) softmaxRow(run, row * len, 1, len, out, row * len, log, scratch);
    return;
  }
  forEachLastAxisRow([x], ([start], row) => softmaxRow(x.data, start!, x.strides[r - 1]!, len, out, row * len, log, scratch));
};

/**
 * The VJP, one row at a time: s = Σ g·y (softmax) or Σ g (log-softmax), then each output
 * from its own element and s. Every intermediate is rounded to the dtype where the four
 * unfused ops (mul, sum, sub, mul — or exp, sum, mul, sub) store theirs, and s is summed
 * in float64 in the row's order as the sum kernel does, so the result is bitwise theirs.
 */
function softmaxBackwardRow(
  y: FloatStorage,
  p: number,
  ys: number,
  g: FloatStorage,
  q: number,
  gs: number,
  len: number,
  out: FloatStorage,
  o: number,
  log: boolean,
  single: boolean,
): void {
  let s = 0;
  if (log) {
    for (let j = 0; j < len; j++, q += gs) s += g[q]!;
    s = roundTo(s, single);
    q -= len * gs;
    for (let j = 0; j < len; j++, p += ys, q += gs) out[o + j] = g[q]! - roundTo(roundTo(Math.exp(y[p]!), single) * s, single);
  } else {
    for (let j = 0, a = p, b = q; j < len; j++, a += ys, b += gs) s += roundTo(g[b]! * y[a]!, single);
    s = roundTo(s, single);
    for (let j = 0; j < len; j++, p += ys, q += gs) out[o + j] = y[p]! * roundTo(g[q]! - s, single);
  }
}

export const softmaxBackward: Backend['softmaxBackward'] = (y, g, out, log) => {
  const r = y.shape.length;
  const len = y.shape[r - 1]!;
  // Large contiguous float32 (softmax, not log-softmax: its exp stays here): the WebAssembly kernel over the thread pool.
  const [yRun, gRun] = out instanceof Float32Array && !log && len > 0 ? [contiguousRun(y, Float32Array), contiguousRun(g, Float32Array)] : [];
  if (yRun && gRun && wasmSoftmaxBackward(yRun, gRun, yRun.length / len, len, out as Float32Array)) return;
  const single = out instanceof Float32Array;
  const [ys, gs] = [y.strides[r - 1]!, g.strides[r - 1]!];
  forEachLastAxisRow([y, g], ([p, q], row) => softmaxBackwardRow(y.data, p!, ys, g.data, q!, gs, len, out, row * len, log, single));
};
