/**
 * Fast elementwise kernels: axes are collapsed first (a contiguous tensor of any rank
 * is one run), then each run is a tight indexed loop. Same scalar table as the
 * reference, so only the iteration differs — results are bitwise the reference's.
 *
 * Calling the table's `f` once per element is a megamorphic call (every op goes
 * through the same call site), so V8 cannot inline it and boxes each result. For
 * the cheap arithmetic ops that dominate a training step (bias add, residuals,
 * scaling, masks) that call costs more than the arithmetic — written out, they run
 * about 5× faster (bench/elementwise.bench.ts). A separate loop for all-contiguous
 * runs measured no faster than the strided one, so there is none.
 */
import type { Storage } from '../../base/dtype.ts';
import type { Backend } from '../backend.ts';
import { BINARY, UNARY, type BinaryOp } from '../scalar.ts';
import { forEachRow } from '../view.ts';

/** One run of a binary map: out[o + i] = a[ja + i·ta] ∘ b[jb + i·tb] for i < n. */
type BinaryRun = (a: Storage, ja: number, ta: number, b: Storage, jb: number, tb: number, out: Storage, o: number, n: number) => void;

/**
 * add, sub, mul and div written out, so the operator compiles into the loop. Each
 * must compute exactly what BINARY[op] computes (kernels.spec.ts checks it bitwise).
 */
const ARITHMETIC: Partial<Record<BinaryOp, BinaryRun>> = {
  add: (a, ja, ta, b, jb, tb, out, o, n) => { for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! + b[jb]!; },
  sub: (a, ja, ta, b, jb, tb, out, o, n) => { for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! - b[jb]!; },
  mul: (a, ja, ta, b, jb, tb, out, o, n) => { for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! * b[jb]!; },
  div: (a, ja, ta, b, jb, tb, out, o, n) => { for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! / b[jb]!; },
};

/** Any other op: one call of the scalar table's function per element. */
function tableRun(f: (a: number, b: number) => number): BinaryRun {
  return (a, ja, ta, b, jb, tb, out, o, n) => {
    for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = f(a[ja]!, b[jb]!);
  };
}

export const binary: Backend['binary'] = (op, a, b, out) => {
  const run = ARITHMETIC[op] ?? tableRun(BINARY[op]);
  let o = 0;
  forEachRow(a.shape, [a, b], ([ja, jb], n, [ta, tb]) => {
    run(a.data, ja!, ta!, b.data, jb!, tb!, out, o, n);
    o += n;
  });
};

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
