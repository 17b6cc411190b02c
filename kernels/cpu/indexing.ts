/**
 * gather and scatterAdd as tight loops over collapsed runs of the index (an embedding's
 * lookup and its gradient, a cross-entropy's targets): the reference walks the same
 * positions in the same order with one callback per element, so the results are bitwise
 * the reference's (scatterAdd adds duplicates in the same order).
 *
 * Both read x (or write the target) at the index's position with the index value put in
 * along `axis`: a view of x over the index's shape whose stride along `axis` is 0, plus
 * index·stride.
 */
import { contiguousStrides } from '../../base/shape.ts';
import type { Backend } from '../backend.ts';
import { forEachRow, type View } from '../view.ts';

/** x seen over `shape` with its stride along `axis` zeroed: the index supplies that coordinate. */
const alongIndex = (x: View, shape: readonly number[], axis: number): View => ({
  ...x,
  shape: [...shape],
  strides: x.strides.map((s, d) => (d === axis ? 0 : s)),
});

export const gather: Backend['gather'] = (x, axis, index, out) => {
  const ids = index.data,
    src = x.data,
    step = x.strides[axis]!;
  let o = 0;
  forEachRow(index.shape, [index, alongIndex(x, index.shape, axis)], ([oi, ox], n, [ti, tx]) => {
    for (let i = 0, a = oi!, b = ox!; i < n; i++, a += ti!, b += tx!) out[o++] = src[b + ids[a]! * step]!;
  });
};

export const scatterAdd: Backend['scatterAdd'] = (target, targetShape, axis, index, src) => {
  const strides = contiguousStrides(targetShape);
  const t: View = { data: target, shape: [...targetShape], strides, offset: 0 };
  const ids = index.data,
    values = src.data,
    step = strides[axis]!;
  forEachRow(index.shape, [index, src, alongIndex(t, index.shape, axis)], ([oi, os, ot], n, [ti, ts, tt]) => {
    for (let i = 0, a = oi!, b = os!, c = ot!; i < n; i++, a += ti!, b += ts!, c += tt!) target[c + ids[a]! * step]! += values[b]!;
  });
};
