/**
 * Fused softmax / log-softmax over the last axis: three passes over each row (max,
 * sum of exponentials, normalise), each exponential computed once.
 */
import type { Backend } from '../backend.ts';
import { forEachOffset } from '../view.ts';

export const softmax: Backend['softmax'] = (x, out, log) => {
  const r = x.shape.length;
  const len = x.shape[r - 1]!;
  const step = x.strides[r - 1]!;
  const src = x.data;
  const rows = { data: src, shape: x.shape.slice(0, r - 1), strides: x.strides.slice(0, r - 1), offset: x.offset };
  let o = 0;
  forEachOffset(rows.shape, [rows], ([start]) => {
    let max = -Infinity;
    for (let j = 0, p = start!; j < len; j++, p += step) if (src[p]! > max || src[p] !== src[p]) max = src[p]!;
    let total = 0;
    for (let j = 0, p = start!; j < len; j++, p += step) {
      const e = Math.exp(src[p]! - max);
      out[o + j] = e;
      total += e;
    }
    if (log) {
      const shift = max + Math.log(total);
      for (let j = 0, p = start!; j < len; j++, p += step) out[o + j] = src[p]! - shift;
    } else {
      for (let j = 0; j < len; j++) out[o + j]! /= total;
    }
    o += len;
  });
};
