/**
 * Fast reductions: the kept axes are walked by an odometer, the reduced axes as
 * collapsed runs (usually one contiguous run), accumulating in a double.
 */
import type { Backend } from '../backend.ts';
import { REDUCE } from '../scalar.ts';
import { forEachOffset, forEachRow } from '../view.ts';

export const reduce: Backend['reduce'] = (op, x, axes, out) => {
  const { init, combine } = REDUCE[op];
  const pick = (keep: boolean) => x.shape.map((_, i) => i).filter((i) => axes.includes(i) !== keep);
  const kept = pick(true);
  const reduced = pick(false);
  const outer = { data: x.data, shape: kept.map((i) => x.shape[i]!), strides: kept.map((i) => x.strides[i]!), offset: x.offset };
  const innerShape = reduced.map((i) => x.shape[i]!);
  const innerStrides = reduced.map((i) => x.strides[i]!);
  const src = x.data;
  let o = 0;
  forEachOffset(outer.shape, [outer], ([start]) => {
    let acc = init;
    const inner = { data: src, shape: innerShape, strides: innerStrides, offset: start! };
    if (op === 'sum') {
      forEachRow(innerShape, [inner], ([s], length, [step]) => {
        for (let i = 0, j = s!; i < length; i++, j += step!) acc += src[j]!;
      });
    } else {
      forEachRow(innerShape, [inner], ([s], length, [step]) => {
        for (let i = 0, j = s!; i < length; i++, j += step!) acc = combine(acc, src[j]!);
      });
    }
    out[o++] = acc;
  });
};
