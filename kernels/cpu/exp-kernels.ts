// The WebAssembly code of exp, SiLU and softmax over float32 (and exp over float64) arrays
// (kernels/cpu/exp.ts runs it), so that the thread pool can split them: in a LLaMa step the
// log-softmax over a 32k-token vocabulary and the exp of its backward pass took ≈ 30 % of
// the time, one Math.exp call (≈ 7 ns) per element, on one core.
//
// WebAssembly has no exp instruction, so the kernels carry one: fdlibm's __ieee754_exp, the
// algorithm V8 implements Math.exp with, computed for two float64 lanes at once. Same
// operations, same order, no fusing: the results are Math.exp's bit for bit. The runtime
// checks that on this engine before first use (kernels/cpu/exp.ts; an engine whose Math.exp
// is another algorithm keeps the JavaScript loops), and spec/exp-wasm.spec.ts checks the
// kernels against the reference.
//
// fdlibm's exp, for |x| inside the range where 2^k is a normal number:
//   k  = trunc(x/ln 2 ± 1/2), but k = 0 when |x| ≤ ln 2 / 2 (tested on x's high word);
//   hi = x − k·ln2HI, lo = k·ln2LO, r = hi − lo    (ln2HI has 21 low zero bits: k·ln2HI is exact)
//   c  = r − r²(P1 + r²(P2 + r²(P3 + r²(P4 + r²·P5))))
//   exp(x) = 2^k · (1 − ((lo − r·c/(2 − c)) − hi)),  and 1 + x when |x| < 2⁻²⁸;
//   exp(1) = Math.E exactly (V8's version special-cases it: the formula is one ulp off there).
// Lanes outside that range (|x| ≥ 704, NaN) are flagged for JavaScript, except x below
// fdlibm's underflow threshold, whose exp is +0 (−∞ included: masked attention logits).

import { Func } from '../../base/wasm-assembler.ts';
import { FLOAT32, FLOAT64, flagTask, float32Ops, fourThenOne, type Lanes, mapFunc, pairs, rowRange, splatConstants, startTask } from './wasm-lanes.ts';

// fdlibm's constants, written as the shortest decimals of the same doubles (bits in hex).
const INV_LN2 = Math.LOG2E; // 0x3ff71547_652b82fe
const LN2_HI = 0.6931471803691238; // 0x3fe62e42_fee00000
const LN2_LO = 1.9082149292705877e-10; // 0x3dea39ef_35793c76
const P = [0.16666666666666602, -0.0027777777777015593, 0.00006613756321437934, -0.0000016533902205465252, 4.1381367970572385e-8];
/** exp(x) for x below this is +0 in fdlibm (its u_threshold). */
const UNDERFLOW = -745.1332191019411;
/** Past |x| = 704 the kernels leave the lane to JavaScript (2^k stays normal below it). */
const RANGE = 704;
/** fdlibm takes k = 0 when x's high word is ≤ 0x3fd62e42, i.e. |x| below this double. */
const K_ZERO_BELOW = new Float64Array(new Uint32Array([0, 0x3fd62e43]).buffer)[0]!;
const TINY = 2 ** -28; // below it fdlibm returns 1 + x

/** The v128 constants the exp code reads, splatted into locals once per call. */
const CONSTANTS = {
  invLn2: INV_LN2,
  half: 0.5,
  signBit: -0,
  ln2Hi: LN2_HI,
  ln2Lo: LN2_LO,
  p1: P[0]!,
  p2: P[1]!,
  p3: P[2]!,
  p4: P[3]!,
  p5: P[4]!,
  one: 1,
  two: 2,
  range: RANGE,
  underflow: UNDERFLOW,
  kZeroBelow: K_ZERO_BELOW,
  tiny: TINY,
  e: Math.E,
  zero: 0,
  // k + 1023 + 2⁵² is exact, and its low mantissa bits are k + 1023: shifted left by 52 they
  // are 2^k's exponent field (the bits above them shift out).
  biasMagic: 1023 + 2 ** 52,
};

type ExpConstants = (name: keyof typeof CONSTANTS) => number;
const expConstants = (f: Func): ExpConstants => splatConstants(f, CONSTANTS);

/**
 * Pushes exp of the two f64 lanes of local `x`, and clears the lanes of the v128 local
 * `inRange` (all ones at the start of a task) where a lane is outside the kernel's range: its
 * result is then meaningless, and JavaScript recomputes the task (see flagTask).
 */
function pushExp(f: Func, C: ExpConstants, x: number, inRange: number): void {
  const [ax, k, hi, lo, r, t, cc] = Array.from({ length: 7 }, () => f.local('v128')) as [number, number, number, number, number, number, number];
  f.get(x).op('f64x2.abs').set(ax);
  // inRange &= |x| < RANGE or x < UNDERFLOW
  f.get(ax).get(C('range')).op('f64x2.lt').get(x).get(C('underflow')).op('f64x2.lt').op('v128.or');
  f.get(inRange).op('v128.and').set(inRange);
  // k = trunc(x/ln 2 + copysign(1/2, x)), then 0 where |x| < K_ZERO_BELOW
  f.get(x).get(C('invLn2')).op('f64x2.mul');
  f.get(x).get(C('signBit')).op('v128.and').get(C('half')).op('v128.or');
  f.op('f64x2.add').op('f64x2.trunc');
  f.get(ax).get(C('kZeroBelow')).op('f64x2.lt').op('v128.andnot').set(k);
  // hi = x − k·ln2HI, lo = k·ln2LO, r = hi − lo, t = r²
  f.get(x).get(k).get(C('ln2Hi')).op('f64x2.mul').op('f64x2.sub').set(hi);
  f.get(k).get(C('ln2Lo')).op('f64x2.mul').set(lo);
  f.get(hi).get(lo).op('f64x2.sub').tee(r).get(r).op('f64x2.mul').set(t);
  // c = r − t·(P1 + t·(P2 + t·(P3 + t·(P4 + t·P5))))
  f.get(r).get(t);
  f.get(C('p1')).get(t).get(C('p2')).get(t).get(C('p3')).get(t).get(C('p4')).get(t).get(C('p5'));
  for (let i = 0; i < 4; i++) f.op('f64x2.mul').op('f64x2.add');
  f.op('f64x2.mul').op('f64x2.sub').set(cc);
  // y = 1 − ((lo − r·c/(2 − c)) − hi), times 2^k built from its bits: (k + 1023) << 52, read off k + biasMagic
  f.get(C('one')).get(lo);
  f.get(r).get(cc).op('f64x2.mul').get(C('two')).get(cc).op('f64x2.sub').op('f64x2.div');
  f.op('f64x2.sub').get(hi).op('f64x2.sub').op('f64x2.sub');
  f.get(k).get(C('biasMagic')).op('f64x2.add').i32(52).op('i64x2.shl');
  f.op('f64x2.mul');
  // 1 + x where |x| < 2⁻²⁸; e where x = 1; +0 where x < UNDERFLOW
  f.set(r).get(C('one')).get(x).op('f64x2.add').get(r).get(ax).get(C('tiny')).op('f64x2.lt').op('v128.bitselect');
  f.set(r).get(C('e')).get(r).get(x).get(C('one')).op('f64x2.eq').op('v128.bitselect');
  f.get(x).get(C('underflow')).op('f64x2.lt').op('v128.andnot');
}

/** exp: out = exp(x), in float32 (rounded once, from the float64 exp, as a Float32Array store rounds) or float64. */
const expFunc = (t: Lanes) => mapFunc(t, 1, 0, CONSTANTS, (f, c, [x], inRange) => pushExp(f, c, x!, inRange));

/**
 * Pushes σ(x) as kernels/scalar.ts computes it — 1 / (1 + e) for x ≥ 0, e / (1 + e) for x < 0,
 * with e = exp(−|x|) either way (e^−x for x ≥ 0, e^x below) — and leaves it in `s` too.
 */
function pushSigmoid(f: Func, c: ExpConstants, x: number, inRange: number, s: number): void {
  const e = f.local('v128'),
    d = f.local('v128');
  f.get(x).get(c('signBit')).op('v128.or').set(e); // −|x|
  pushExp(f, c, e, inRange);
  f.tee(e).get(c('one')).op('f64x2.add').set(d);
  f.get(e).get(d).op('f64x2.div');
  f.get(c('one')).get(d).op('f64x2.div');
  f.get(x).get(c('zero')).op('f64x2.lt').op('v128.bitselect').tee(s);
}

/** SiLU: out = x·σ(x). */
const siluFunc = () =>
  mapFunc(FLOAT32, 1, 0, CONSTANTS, (f, c, [x], inRange) => {
    const s = f.local('v128');
    f.get(x!);
    pushSigmoid(f, c, x!, inRange, s);
    f.op('f64x2.mul');
  });

/** SiLU's backward: out = g · (σ(x)·(1 + x·(1 − σ(x)))). */
const siluGradFunc = () =>
  mapFunc(FLOAT32, 2, 0, CONSTANTS, (f, c, [x, g], inRange) => {
    const s = f.local('v128');
    f.get(g!);
    pushSigmoid(f, c, x!, inRange, s);
    f.get(c('one')).get(x!).get(c('one')).get(s).op('f64x2.sub').op('f64x2.mul').op('f64x2.add');
    f.op('f64x2.mul').op('f64x2.mul');
  });

/**
 * softmax32(task, x, out, len, rowsPerTask, rows, stats, flags): for each row of the task,
 * max = its largest element (NaN skipped, as `>` skips it), total = Σ exp(x − max) added in
 * order, in float64. Log-softmax stores (max, total) at stats + 16·row, for JavaScript to
 * take the logarithm (logSoftmaxOut32 finishes); softmax writes out = exp(x − max) / total,
 * computing each exp a second time rather than keeping a float64 row.
 */
function softmax32Func(log: boolean): Func {
  const f = new Func(Array(8).fill('i32'));
  const [task, x, out, len, rowsPerTask, rows, stats, flags] = [0, 1, 2, 3, 4, 5, 6, 7];
  const row = f.local('i32'),
    rowEnd = f.local('i32'),
    at = f.local('i32'),
    j = f.local('i32'),
    inRange = f.local('v128');
  const max = f.local('f64'),
    total = f.local('f64'),
    s = f.local('f64');
  const v = f.local('v128'),
    maxes = f.local('v128');
  const c = expConstants(f);
  rowRange(f, [task, rowsPerTask, rows, len], [x, out], row, rowEnd);
  startTask(f, inRange);
  /** exp(x[at…] − max) for a pair (or a single), left in v's place on the stack. */
  const shiftedExp = (single: boolean) => {
    f.get(x).get(at).op('i32.add');
    FLOAT32.load(f, single);
    f.get(maxes).op('f64x2.sub').set(v);
    pushExp(f, c, v, inRange);
  };
  f.loop(() => {
    // max over the row, one element at a time: max = x > max ? x : max
    f.f64(Number.NEGATIVE_INFINITY).set(max);
    f.i32(0).set(j);
    f.loop(() => {
      f.get(x).get(j).op('i32.add').mem('f32.load').op('f64.promote_f32').tee(s);
      f.get(max).get(s).get(max).op('f64.gt').op('select').set(max);
      f.get(j).i32(4).op('i32.add').tee(j).get(len).i32(4).op('i32.mul').op('i32.ne').brIf(0);
    });
    f.get(max).op('f64x2.splat').set(maxes);
    f.f64(0).set(total);
    pairs(f, FLOAT32, len, at, (single) => {
      shiftedExp(single);
      f.set(v);
      f.get(total).get(v).extractLane(0).op('f64.add').set(total);
      if (!single) f.get(total).get(v).extractLane(1).op('f64.add').set(total);
    });
    if (log) {
      f.get(stats).get(row).i32(16).op('i32.mul').op('i32.add').tee(j).get(max).mem('f64.store');
      f.get(j).get(total).mem('f64.store', 8);
    } else {
      pairs(f, FLOAT32, len, at, (single) => {
        f.get(out).get(at).op('i32.add');
        shiftedExp(single);
        f.get(total).op('f64x2.splat').op('f64x2.div');
        FLOAT32.store(f, single);
      });
    }
    f.get(x).get(len).i32(4).op('i32.mul').op('i32.add').set(x);
    f.get(out).get(len).i32(4).op('i32.mul').op('i32.add').set(out);
    f.get(row).i32(1).op('i32.add').tee(row).get(rowEnd).op('i32.ne').brIf(0);
  });
  flagTask(f, flags, task, inRange);
  return f;
}

/**
 * logSoftmaxOut32(task, x, out, len, rowsPerTask, rows, stats): out = (x − max) − logTotal
 * for each row of the task, with (max, logTotal) at stats + 16·row.
 */
function logSoftmaxOut32Func(): Func {
  const f = new Func(Array(7).fill('i32'));
  const [task, x, out, len, rowsPerTask, rows, stats] = [0, 1, 2, 3, 4, 5, 6];
  const row = f.local('i32'),
    rowEnd = f.local('i32'),
    j = f.local('i32');
  const max = f.local('f64'),
    logTotal = f.local('f64');
  rowRange(f, [task, rowsPerTask, rows, len], [x, out], row, rowEnd);
  f.loop(() => {
    f.get(stats).get(row).i32(16).op('i32.mul').op('i32.add').tee(j).mem('f64.load').set(max);
    f.get(j).mem('f64.load', 8).set(logTotal);
    f.i32(0).set(j);
    f.loop(() => {
      f.get(out).get(j).op('i32.add');
      f.get(x).get(j).op('i32.add').mem('f32.load').op('f64.promote_f32').get(max).op('f64.sub').get(logTotal).op('f64.sub');
      f.op('f32.demote_f64').mem('f32.store');
      f.get(j).i32(4).op('i32.add').tee(j).get(len).i32(4).op('i32.mul').op('i32.ne').brIf(0);
    });
    f.get(x).get(len).i32(4).op('i32.mul').op('i32.add').set(x);
    f.get(out).get(len).i32(4).op('i32.mul').op('i32.add').set(out);
    f.get(row).i32(1).op('i32.add').tee(row).get(rowEnd).op('i32.ne').brIf(0);
  });
  return f;
}

/**
 * softmaxBackward32(task, y, g, out, len, rowsPerTask, rows): softmax's VJP for each row of the
 * task, as kernels/cpu/softmax.ts computes it: s = Σ round(g·y) in float64 along the row, one
 * element after the other, rounded; then out = y·round(g − s), four at a time in float32 (a
 * float32 product or difference rounds as the float64 one stored into a Float32Array). No exp:
 * it shares the softmax module for its rows, not its arithmetic.
 */
function softmaxBackward32Func(): Func {
  const f = new Func(Array(7).fill('i32'));
  const [task, y, g, out, len, rowsPerTask, rows] = [0, 1, 2, 3, 4, 5, 6];
  const [row, rowEnd, at, end] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const s = f.local('f64'),
    s32 = f.local('f32'),
    sv = f.local('v128');
  rowRange(f, [task, rowsPerTask, rows, len], [y, g, out], row, rowEnd);
  f.get(len).i32(4).op('i32.mul').set(end);
  f.loop(() => {
    f.f64(0).set(s);
    f.i32(0).set(at);
    f.loop(() => {
      f.get(s)
        .get(g)
        .get(at)
        .op('i32.add')
        .mem('f32.load')
        .get(y)
        .get(at)
        .op('i32.add')
        .mem('f32.load')
        .op('f32.mul')
        .op('f64.promote_f32')
        .op('f64.add')
        .set(s);
      f.get(at).i32(4).op('i32.add').tee(at).get(end).op('i32.ne').brIf(0);
    });
    f.get(s).op('f32.demote_f64').tee(s32).op('f32x4.splat').set(sv);
    fourThenOne(f, at, end, (width) => {
      const { load, store, sub, mul } = float32Ops(width);
      f.get(out).get(at).op('i32.add');
      f.get(y).get(at).op('i32.add').mem(load);
      f.get(g)
        .get(at)
        .op('i32.add')
        .mem(load)
        .get(width === 4 ? sv : s32)
        .op(sub)
        .op(mul)
        .mem(store);
    });
    for (const a of [y, g, out]) f.get(a).get(end).op('i32.add').set(a);
    f.get(row).i32(1).op('i32.add').tee(row).get(rowEnd).op('i32.ne').brIf(0);
  });
  return f;
}

/** The pool functions (indices into the pool's names). */
export interface ExpKernels {
  exp32: number;
  exp64: number;
  silu: number;
  siluGrad: number;
  softmax: number;
  logSoftmax: number;
  logSoftmaxOut: number;
  softmaxBackward: number;
}

/**
 * Adds the exp kernels through `task(func, name)`, which adds a function the pool may run.
 * Each kernel inlines its exp (≈ 1 KiB with its constants), so the families are separate
 * modules, each under 4 KiB: exp, SiLU, softmax.
 */
export function addExpKernels(task: (func: Func, name: string) => number): Pick<ExpKernels, 'exp32' | 'exp64'> {
  return { exp32: task(expFunc(FLOAT32), 'f32.exp'), exp64: task(expFunc(FLOAT64), 'f64.exp') };
}

/** Adds the SiLU kernels likewise (another module). */
export function addSiluKernels(task: (func: Func, name: string) => number): Pick<ExpKernels, 'silu' | 'siluGrad'> {
  return { silu: task(siluFunc(), 'f32.silu'), siluGrad: task(siluGradFunc(), 'f32.siluGrad') };
}

/** Adds the softmax kernels likewise (another module). */
export function addSoftmaxKernels(
  task: (func: Func, name: string) => number,
): Pick<ExpKernels, 'softmax' | 'logSoftmax' | 'logSoftmaxOut' | 'softmaxBackward'> {
  return {
    softmax: task(softmax32Func(false), 'f32.softmax'),
    logSoftmax: task(softmax32Func(true), 'f32.logSoftmax'),
    logSoftmaxOut: task(logSoftmaxOut32Func(), 'f32.logSoftmaxOut'),
    softmaxBackward: task(softmaxBackward32Func(), 'f32.softmaxBackward'),
  };
}
