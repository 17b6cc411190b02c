// The WebAssembly code of LayerNorm's and RMSNorm's forward and backward passes on float32
// rows (kernels/cpu/normalize.ts runs it through kernels/cpu/norm.ts), so that the thread pool
// can split the work: in a BERT layer the two norms ran on one core while the GEMMs ran on all
// of them.
//
// Each function is the JavaScript one (kernels/cpu/normalize.ts: rowSum, normalize, normAffine,
// normAffineBackwardLoops)
// operation for operation: the row's sums in float64 in the same four partial sums (lanes 0
// and 1 of one v128 are sums 0 and 1, of the other sums 2 and 3; the tail goes into sum 0),
// combined in the same order; x̂ = (x − mean)·r in float64, rounded once on the store; the
// affine step in float32, which rounds a float32 product or sum exactly as the float64 one
// stored into a Float32Array would. WebAssembly never fuses or reorders float operations, so
// the results are bitwise those of the JavaScript kernels (spec/norm-wasm.spec.ts).

import { Func } from '../../base/wasm-assembler.ts';
import { FLOAT32, float32Ops, fourThenOne, pairs, rowRange } from './wasm-lanes.ts';

/**
 * Pushes Σ (x_j − shift)^power over the `len` float32 elements at x (power 1 or 2), summed as
 * rowSum sums them: four partial sums over j mod 4, the tail (len mod 4) into the first, then
 * (s0 + s1) + (s2 + s3).
 */
function pushRowSum(f: Func, x: number, len: number, shift: number, power: 1 | 2): void {
  const [s01, s23, v] = [f.local('v128'), f.local('v128'), f.local('v128')];
  const [at, left] = [f.local('i32'), f.local('i32')];
  const s0 = f.local('f64'),
    t = f.local('f64');
  /** acc += (the pair at x + at + offset − shift)^power */
  const addPair = (acc: number, offset: number) => {
    f.get(acc);
    f.get(x).get(at).op('i32.add').mem('v128.load64_zero', offset).op('f64x2.promote_low_f32x4');
    f.get(shift).op('f64x2.splat').op('f64x2.sub');
    if (power === 2) f.tee(v).get(v).op('f64x2.mul');
    f.op('f64x2.add').set(acc);
  };
  f.f64(0).op('f64x2.splat').tee(s01).set(s23);
  f.i32(0).set(at);
  f.get(len).i32(2).op('i32.shr_u').set(left);
  f.block(() => {
    f.get(left).op('i32.eqz').brIf(0);
    f.loop(() => {
      addPair(s01, 0);
      addPair(s23, 8);
      f.get(at).i32(16).op('i32.add').set(at);
      f.get(left).i32(1).op('i32.sub').tee(left).brIf(0);
    });
  });
  f.get(s01).extractLane(0).set(s0);
  f.get(len).i32(3).op('i32.and').set(left);
  f.block(() => {
    f.get(left).op('i32.eqz').brIf(0);
    f.loop(() => {
      f.get(x).get(at).op('i32.add').mem('f32.load').op('f64.promote_f32').get(shift).op('f64.sub').set(t);
      f.get(s0).get(t);
      if (power === 2) f.get(t).op('f64.mul');
      f.op('f64.add').set(s0);
      f.get(at).i32(4).op('i32.add').set(at);
      f.get(left).i32(1).op('i32.sub').tee(left).brIf(0);
    });
  });
  f.get(s0).get(s01).extractLane(1).op('f64.add');
  f.get(s23).extractLane(0).get(s23).extractLane(1).op('f64.add');
  f.op('f64.add');
}

/**
 * normRows(task, x, xhat, out, rstd, len, rowsPerTask, rows, centered, weight, bias, epsAt):
 * for each row of the task, mean (0 unless `centered`), r = 1/√(Σ(x − mean)²/len + eps) (eps
 * the float64 at epsAt), x̂ = (x − mean)·r into xhat, r into rstd; then, where `out` is not 0,
 * out = x̂·weight + bias (weight and bias: len values each, 0 where absent; rounded after the
 * product and after the sum).
 */
function normRowsFunc(): Func {
  const f = new Func(Array(12).fill('i32'));
  const [task, x, xhat, out, rstd, len, rowsPerTask, rows, centered, weight, bias, epsAt] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [row, rowEnd, at, j, outRow, rowBytes] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [mean, r, lenF] = [f.local('f64'), f.local('f64'), f.local('f64')];
  const v = f.local('v128');
  rowRange(f, [task, rowsPerTask, rows, len], [x, xhat], row, rowEnd);
  f.get(len).op('f64.convert_i32_s').set(lenF);
  f.get(len).i32(4).op('i32.mul').set(rowBytes);
  f.loop(() => {
    // mean = Σx / len (centered), else 0; r = 1 / √(Σ(x − mean)² / len + eps)
    f.f64(0).set(mean);
    f.block(() => {
      f.get(centered).op('i32.eqz').brIf(0);
      pushRowSum(f, x, len, mean, 1);
      f.get(lenF).op('f64.div').set(mean);
    });
    f.f64(1);
    pushRowSum(f, x, len, mean, 2);
    f.get(lenF).op('f64.div').get(epsAt).mem('f64.load').op('f64.add').op('f64.sqrt').op('f64.div').set(r);
    f.get(rstd).get(row).i32(4).op('i32.mul').op('i32.add').get(r).op('f32.demote_f64').mem('f32.store');
    // x̂ = (x − mean)·r, two at a time
    pairs(f, FLOAT32, len, at, (single) => {
      f.get(xhat).get(at).op('i32.add');
      f.get(x).get(at).op('i32.add');
      FLOAT32.load(f, single);
      f.get(mean).op('f64x2.splat').op('f64x2.sub').get(r).op('f64x2.splat').op('f64x2.mul');
      FLOAT32.store(f, single);
    });
    // out = x̂·weight + bias, four at a time, then one at a time
    f.block(() => {
      f.get(out).op('i32.eqz').brIf(0);
      f.get(out).get(row).get(rowBytes).op('i32.mul').op('i32.add').set(outRow);
      fourThenOne(f, j, rowBytes, (width) => {
        const { load, store, mul, add } = float32Ops(width);
        const value = width === 4 ? v : f.local('f32');
        f.get(xhat).get(j).op('i32.add').mem(load).set(value);
        f.block(() => {
          f.get(weight).op('i32.eqz').brIf(0);
          f.get(value).get(weight).get(j).op('i32.add').mem(load).op(mul).set(value);
        });
        f.block(() => {
          f.get(bias).op('i32.eqz').brIf(0);
          f.get(value).get(bias).get(j).op('i32.add').mem(load).op(add).set(value);
        });
        f.get(outRow).get(j).op('i32.add').get(value).mem(store);
      });
    });
    for (const a of [x, xhat]) f.get(a).get(rowBytes).op('i32.add').set(a);
    f.get(row).i32(1).op('i32.add').tee(row).get(rowEnd).op('i32.ne').brIf(0);
  });
  return f;
}

/** Pushes v (an f64 on the stack) rounded to float32 and back: what storing it into a Float32Array keeps. */
const round32 = (f: Func) => f.op('f32.demote_f64').op('f64.promote_f32');

/**
 * Sets the float32 local `into` to g′_j = g_j·w_j rounded to float32 (g_j where there is no
 * weight), for the element at byte offset `at` of the row (g at `g`, the weight's columns at
 * `weight`).
 */
function setGradAtXhat(f: Func, g: number, weight: number, at: number, into: number): void {
  f.get(g).get(at).op('i32.add').mem('f32.load').set(into);
  f.block(() => {
    f.get(weight).op('i32.eqz').brIf(0);
    f.get(into).get(weight).get(at).op('i32.add').mem('f32.load').op('f32.mul').set(into);
  });
}

/**
 * normRowsBackward(task, g, xhat, rstd, dx, weight, len, rowsPerTask, rows, centered): for each
 * row of the task, as normAffineBackward computes it (kernels/cpu/normalize.ts): the sums of
 * g′ and of round(g′·x̂) in float64, one after the other along the row; then
 * dx = r·g′ + (−round(r·round(round(Σg′x̂)/len)))·x̂ + (−round(r·round(round(Σg′)/len))), the last
 * term only when `centered`.
 */
function normRowsBackwardFunc(): Func {
  const f = new Func(Array(10).fill('i32'));
  const [task, g, xhat, rstd, dx, weight, len, rowsPerTask, rows, centered] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [row, rowEnd, at, end] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [sumG, sumGx, r, along, shift, lenF] = [f.local('f64'), f.local('f64'), f.local('f64'), f.local('f64'), f.local('f64'), f.local('f64')];
  const gw32 = f.local('f32');
  rowRange(f, [task, rowsPerTask, rows, len], [g, xhat, dx], row, rowEnd);
  f.get(len).op('f64.convert_i32_s').set(lenF);
  f.get(len).i32(4).op('i32.mul').set(end);
  /** −round(r · round(round(sum) / len)) */
  const term = (sum: number) => {
    f.get(r).get(sum);
    round32(f).get(lenF).op('f64.div');
    round32(f).op('f64.mul');
    round32(f).op('f64.neg');
  };
  f.loop(() => {
    f.f64(0).set(sumG);
    f.f64(0).set(sumGx);
    f.i32(0).set(at);
    f.loop(() => {
      setGradAtXhat(f, g, weight, at, gw32);
      f.get(sumG).get(gw32).op('f64.promote_f32').op('f64.add').set(sumG);
      f.get(sumGx).get(gw32).get(xhat).get(at).op('i32.add').mem('f32.load').op('f32.mul').op('f64.promote_f32').op('f64.add').set(sumGx);
      f.get(at).i32(4).op('i32.add').tee(at).get(end).op('i32.ne').brIf(0);
    });
    f.get(rstd).get(row).i32(4).op('i32.mul').op('i32.add').mem('f32.load').op('f64.promote_f32').set(r);
    term(sumGx);
    f.set(along);
    f.f64(0).set(shift);
    f.block(() => {
      f.get(centered).op('i32.eqz').brIf(0);
      term(sumG);
      f.set(shift);
    });
    f.i32(0).set(at);
    f.loop(() => {
      setGradAtXhat(f, g, weight, at, gw32);
      f.get(dx).get(at).op('i32.add');
      f.get(r).get(gw32).op('f64.promote_f32').op('f64.mul');
      f.get(along).get(xhat).get(at).op('i32.add').mem('f32.load').op('f64.promote_f32').op('f64.mul').op('f64.add');
      f.get(shift).op('f64.add').op('f32.demote_f64').mem('f32.store');
      f.get(at).i32(4).op('i32.add').tee(at).get(end).op('i32.ne').brIf(0);
    });
    for (const a of [g, xhat, dx]) f.get(a).get(end).op('i32.add').set(a);
    f.get(row).i32(1).op('i32.add').tee(row).get(rowEnd).op('i32.ne').brIf(0);
  });
  return f;
}

/**
 * normColumnSums(task, g, xhat, dWeight, dBias, len, columnsPerTask, rows, scratch): for each
 * column of the task, the weight's gradient Σ round(g·x̂) and the bias's Σ g, in float64 over
 * the rows in order (as the JavaScript loop adds them), rounded to float32 on the store; where
 * dWeight is 0 only the bias's sums (a sum over rows of any tensor: kernels/cpu/reduce.ts). The
 * columns are split among the tasks, never the rows, so every sum keeps its order. A task walks
 * the rows, adding its block of each row into float64 sums kept in `scratch` (16 bytes per
 * column of a task): reading the rows in order streams memory, where walking down a column
 * would miss the cache on every row. Four columns at a time, then one at a time.
 */
function normColumnSumsFunc(): Func {
  const f = new Func(Array(9).fill('i32'));
  const [task, g, xhat, dWeight, dBias, len, columnsPerTask, rows, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [first, bytes, row, j, accB, accW, rowBytes] = [
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
  ];
  const pair = f.local('v128');
  // This task's columns [first, first + bytes/4), its sums at accB (Σ g) and accW (Σ round(g·x̂)).
  f.get(task).get(columnsPerTask).op('i32.mul').set(first);
  f.get(len).get(first).op('i32.sub').set(bytes);
  f.get(bytes).get(columnsPerTask).get(bytes).get(columnsPerTask).op('i32.lt_u').op('select').i32(4).op('i32.mul').set(bytes);
  f.get(scratch).get(task).get(columnsPerTask).op('i32.mul').i32(16).op('i32.mul').op('i32.add').tee(accB);
  f.get(columnsPerTask).i32(8).op('i32.mul').op('i32.add').set(accW);
  for (const a of [g, xhat]) f.get(a).get(first).i32(4).op('i32.mul').op('i32.add').set(a);
  /** For j over the task's bytes: `width` columns (4, or 1) at a time while they fit. */
  const columns = (body: (width: 4 | 1) => void) => fourThenOne(f, j, bytes, body);
  /** The pairs (or the single) of columns at j: byte offsets into a row, and into the float64 sums. */
  const parts = (width: 4 | 1) => (width === 4 ? [0, 8] : [0]);
  columns((width) => {
    for (const acc of [accB, accW])
      for (const k of parts(width)) {
        f.get(acc).get(j).i32(2).op('i32.mul').op('i32.add');
        if (width === 4)
          f.f64(0)
            .op('f64x2.splat')
            .mem('v128.store', 2 * k);
        else f.f64(0).mem('f64.store');
      }
  });
  f.get(rows).set(row);
  f.get(len).i32(4).op('i32.mul').set(rowBytes);
  f.loop(() => {
    columns((width) => {
      const load = width === 4 ? 'v128.load64_zero' : 'v128.load32_splat';
      /** sums[j…] += the low lanes of what `push` pushes, widened (lane 0 only for a single column) */
      const addInto = (acc: number, k: number, push: () => void) => {
        const at = () => f.get(acc).get(j).i32(2).op('i32.mul').op('i32.add');
        at();
        at().mem(width === 4 ? 'v128.load' : 'f64.load', 2 * k);
        push();
        f.op('f64x2.promote_low_f32x4');
        if (width === 4) f.op('f64x2.add').mem('v128.store', 2 * k);
        else f.extractLane(0).op('f64.add').mem('f64.store');
      };
      for (const k of parts(width)) {
        f.get(g).get(j).op('i32.add').mem(load, k).set(pair);
        addInto(accB, k, () => f.get(pair));
        f.block(() => {
          f.get(dWeight).op('i32.eqz').brIf(0);
          addInto(accW, k, () => f.get(pair).get(xhat).get(j).op('i32.add').mem(load, k).op('f32x4.mul'));
        });
      }
    });
    for (const a of [g, xhat]) f.get(a).get(rowBytes).op('i32.add').set(a);
    f.get(row).i32(1).op('i32.sub').tee(row).brIf(0);
  });
  // Round and store: dWeight, dBias at the task's columns.
  for (const [out, acc] of [
    [dWeight, accW],
    [dBias, accB],
  ] as const)
    f.block(() => {
      f.get(out).op('i32.eqz').brIf(0);
      f.get(out).get(first).i32(4).op('i32.mul').op('i32.add').set(out);
      columns((width) => {
        for (const k of parts(width)) {
          f.get(out).get(j).op('i32.add');
          f.get(acc)
            .get(j)
            .i32(2)
            .op('i32.mul')
            .op('i32.add')
            .mem('v128.load', 2 * k);
          if (width === 4) f.op('f32x4.demote_f64x2_zero').storeLane64(0, k);
          else f.extractLane(0).op('f32.demote_f64').mem('f32.store');
        }
      });
    });
  return f;
}

/** The pool functions (indices into the pool's names). */
export interface NormKernels {
  normRows: number;
  normRowsBackward: number;
  normColumnSums: number;
}

/** Adds the kernels through `task(func, name)` (one module). */
export function addNormKernels(task: (func: Func, name: string) => number): NormKernels {
  return {
    normRows: task(normRowsFunc(), 'f32.normRows'),
    normRowsBackward: task(normRowsBackwardFunc(), 'f32.normRowsBackward'),
    normColumnSums: task(normColumnSumsFunc(), 'f32.normColumnSums'),
  };
}
