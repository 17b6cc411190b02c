/**
 * Fused row normalisation (LayerNorm / RMSNorm core) as tight loops: the row is read
 * through its stride with plain index arithmetic, sums accumulate in doubles, and the
 * division by the row length happens once per row rather than once per element.
 */
import type { Backend } from '../backend.ts';
import { forEachOffset } from '../view.ts';

/** Calls visit(rowIndex, start, step) for each row along the last axis. */
function forEachLastAxisRow(shape: readonly number[], strides: readonly number[], offset: number, visit: (row: number, start: number, step: number) => void): void {
  const r = shape.length;
  const outer = { data: new Float64Array(0), shape: shape.slice(0, r - 1), strides: strides.slice(0, r - 1), offset };
  let row = 0;
  forEachOffset(outer.shape, [outer], ([start]) => visit(row++, start!, strides[r - 1]!));
}

export const normalize: Backend['normalize'] = (x, eps, centered, out, rstd) => {
  const len = x.shape[x.shape.length - 1]!;
  const src = x.data;
  forEachLastAxisRow(x.shape, x.strides, x.offset, (row, start, step) => {
    let sum = 0;
    if (centered) for (let j = 0, p = start; j < len; j++, p += step) sum += src[p]!;
    const mean = sum / len;
    let squares = 0;
    for (let j = 0, p = start; j < len; j++, p += step) squares += (src[p]! - mean) * (src[p]! - mean);
    const r = 1 / Math.sqrt(squares / len + eps);
    for (let j = 0, p = start, o = row * len; j < len; j++, p += step, o++) out[o] = (src[p]! - mean) * r;
    rstd[row] = r;
  });
};

export const normalizeBackward: Backend['normalizeBackward'] = (xhat, rstd, g, centered, out) => {
  const len = g.shape[g.shape.length - 1]!;
  const gs = g.data;
  forEachLastAxisRow(g.shape, g.strides, g.offset, (row, start, step) => {
    const base = row * len;
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0, p = start; j < len; j++, p += step) {
      sumG += gs[p]!;
      sumGX += gs[p]! * xhat[base + j]!;
    }
    const meanG = centered ? sumG / len : 0;
    const meanGX = sumGX / len;
    const r = rstd[row]!;
    for (let j = 0, p = start; j < len; j++, p += step) out[base + j] = r * (gs[p]! - meanG - xhat[base + j]! * meanGX);
  });
};
