/**
 * Fast elementwise kernels: axes are collapsed first (a contiguous tensor of any rank
 * is one run), then each run is a tight indexed loop. Same scalar table as the
 * reference, so only the iteration differs.
 */
import type { Storage } from '../../core/dtype.ts';
import type { Backend } from '../backend.ts';
import { BINARY, UNARY } from '../scalar.ts';
import { forEachRow } from '../view.ts';

export const unary: Backend['unary'] = (op, x, out, p, q) => {
  const f = UNARY[op].f;
  const src = x.data;
  let o = 0;
  forEachRow(x.shape, [x], ([start], length, [step]) => {
    for (let i = 0, j = start!; i < length; i++, j += step!) out[o++] = f(src[j]!, p, q);
  });
};

export const unaryBackward: Backend['unaryBackward'] = (op, x, g, out, p, q) => {
  const df = UNARY[op].df;
  const xs = x.data;
  const gs = g.data;
  let o = 0;
  forEachRow(x.shape, [x, g], ([sx, sg], length, [tx, tg]) => {
    for (let i = 0, j = sx!, k = sg!; i < length; i++, j += tx!, k += tg!) out[o++] = gs[k]! * df(xs[j]!, p, q);
  });
};

export const binary: Backend['binary'] = (op, a, b, out) => {
  const f = BINARY[op];
  const as = a.data;
  const bs = b.data;
  let o = 0;
  forEachRow(a.shape, [a, b], ([sa, sb], length, [ta, tb]) => {
    for (let i = 0, j = sa!, k = sb!; i < length; i++, j += ta!, k += tb!) out[o++] = f(as[j]!, bs[k]!);
  });
};

export const where: Backend['where'] = (cond, a, b, out) => {
  const cs = cond.data;
  const as = a.data;
  const bs = b.data;
  let o = 0;
  forEachRow(a.shape, [cond, a, b], ([sc, sa, sb], length, [tc, ta, tb]) => {
    for (let i = 0, c = sc!, j = sa!, k = sb!; i < length; i++, c += tc!, j += ta!, k += tb!) out[o++] = cs[c] ? as[j]! : bs[k]!;
  });
};

export function copy(x: Parameters<Backend['copy']>[0], out: Storage): void {
  const src = x.data;
  let o = 0;
  forEachRow(x.shape, [x], ([start], length, [step]) => {
    if (step === 1 && src.constructor === out.constructor) {
      out.set(src.subarray(start!, start! + length) as never, o); // a memcpy for contiguous runs
      o += length;
    } else {
      for (let i = 0, j = start!; i < length; i++, j += step!) out[o++] = src[j]!;
    }
  });
}
