// The WebAssembly code of LayerNorm's and RMSNorm's forward pass on float32 rows
// (kernels/cpu/normalize.ts runs it through kernels/cpu/norm.ts), so that the thread pool can
// split the rows: in a BERT layer the two norms' forward passes ran on one core while the GEMMs
// ran on all of them.
//
// The function is the JavaScript one (kernels/cpu/normalize.ts: rowSum, normalize, normAffine)
// operation for operation: the row's sums in float64 in the same four partial sums (lanes 0
// and 1 of one v128 are sums 0 and 1, of the other sums 2 and 3; the tail goes into sum 0),
// combined in the same order; x̂ = (x − mean)·r in float64, rounded once on the store; the
// affine step in float32, which rounds a float32 product or sum exactly as the float64 one
// stored into a Float32Array would. WebAssembly never fuses or reorders float operations, so
// the results are bitwise those of the JavaScript kernels (spec/norm-wasm.spec.ts).

import { Func } from '../../base/wasm-assembler.ts';
import { FLOAT32, pairs, rowRange } from './wasm-lanes.ts';

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
  const [row, rowEnd, at, j, outRow] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const [mean, r, lenF] = [f.local('f64'), f.local('f64'), f.local('f64')];
  const v = f.local('v128');
  rowRange(f, [task, rowsPerTask, rows, len], [x, xhat], row, rowEnd);
  f.get(len).op('f64.convert_i32_s').set(lenF);
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
      f.get(out).get(row).get(len).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(outRow);
      f.i32(0).set(j);
      const step = (lanes: 4 | 1) => {
        const [load, store, mul, add] =
          lanes === 4 ? (['v128.load', 'v128.store', 'f32x4.mul', 'f32x4.add'] as const) : (['f32.load', 'f32.store', 'f32.mul', 'f32.add'] as const);
        const value = lanes === 4 ? v : f.local('f32');
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
        f.get(j)
          .i32(4 * lanes)
          .op('i32.add')
          .set(j);
      };
      for (const lanes of [4, 1] as const)
        f.block(() => {
          f.loop(() => {
            // continue while j + 4·lanes ≤ len·4 (bytes): whole groups first, then single elements
            f.get(j)
              .i32(4 * lanes)
              .op('i32.add')
              .get(len)
              .i32(4)
              .op('i32.mul')
              .op('i32.gt_u')
              .brIf(1);
            step(lanes);
            f.br(0);
          });
        });
    });
    for (const a of [x, xhat]) f.get(a).get(len).i32(4).op('i32.mul').op('i32.add').set(a);
    f.get(row).i32(1).op('i32.add').tee(row).get(rowEnd).op('i32.ne').brIf(0);
  });
  return f;
}

/** The pool function (an index into the pool's names). */
export interface NormKernels {
  normRows: number;
}

/** Adds the kernel through `task(func, name)` (one module). */
export function addNormKernels(task: (func: Func, name: string) => number): NormKernels {
  return { normRows: task(normRowsFunc(), 'f32.normRows') };
}
