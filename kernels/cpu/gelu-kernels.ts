// The WebAssembly code of GELU and its backward pass on float32 tensors (kernels/cpu/gelu.ts
// runs it), so that the thread pool can split them: in a BERT layer they are the largest
// elementwise passes, and in JavaScript they run on one core.
//
// Each function is the JavaScript one (kernels/scalar.ts gelu and geluGrad, kernels/erf.ts
// erf and expNegSquare) operation for operation: the same float64 operations in the same
// order on the same table of coefficients, which the runtime copies into the shared memory at
// ERF_TABLE_AT. WebAssembly never fuses or reorders float operations, so the results are
// bitwise those of the reference kernels (spec/gelu-wasm.spec.ts).
//
// Two elements at a time, as the two float64 lanes of a v128 (wasm-lanes.ts): the arithmetic
// is the same for both, but each lane has its own grid cell, so every coefficient is loaded
// into lane 0 from one row and into lane 1 from the other. The polynomials are most of the
// work, and half as many instructions do it (≈ 1.8× faster than one element at a time).

import type { Func } from '../../base/wasm-assembler.ts';
import { ERF_GRID } from '../erf.ts';
import { INV_SQRT_2PI, SQRT1_2 } from '../scalar.ts';
import { FLOAT32, mapFunc } from './wasm-lanes.ts';

const { stepsPerUnit: STEPS, limit: LIMIT, degree: DEGREE, slopeAt: SLOPE_AT, stride: STRIDE, sqrtPiOver2: SQRT_PI_OVER_2 } = ERF_GRID;
const ROW_BYTES = STRIDE * 8; // one grid point's coefficients, float64

/** Bytes of the coefficient table. */
export const ERF_TABLE_BYTES = ERF_GRID.table.byteLength;

const CONSTANTS = {
  sqrt1_2: SQRT1_2,
  invSqrt2pi: INV_SQRT_2PI,
  sqrtPiOver2: SQRT_PI_OVER_2,
  limit: LIMIT,
  steps: STEPS,
  cellWidth: 1 / STEPS, // a power of two: cell · (1/64) is cell / 64 exactly, as JavaScript computes it
  half: 0.5,
  one: 1,
  zero: 0,
  signBit: -0,
};
type Constant = (name: keyof typeof CONSTANTS) => number;

/** The two lanes' table rows (byte addresses) and offsets h, for z whose in-range lanes are marked in `inside`. */
interface Cells {
  row0: number;
  row1: number;
  h: number;
}

/**
 * For each lane of z with |z| < 6 (all ones in `inside`, else zeros): the grid cell
 * ((z + 6)·64 + 0.5, truncated) as its table row, and h = z − (cell/64 − 6). Lanes outside
 * take z = 0's cell, so every load stays in the table; their results are replaced.
 */
function cells(f: Func, c: Constant, table: number, z: number, inside: number): Cells {
  const zIn = f.local('v128'),
    cell = f.local('v128'),
    index = f.local('v128');
  const [row0, row1] = [f.local('i32'), f.local('i32')];
  const h = f.local('v128');
  f.get(z).get(c('zero')).get(inside).op('v128.bitselect').set(zIn);
  f.get(zIn).get(c('limit')).op('f64x2.add').get(c('steps')).op('f64x2.mul').get(c('half')).op('f64x2.add').op('f64x2.trunc').set(cell);
  f.get(zIn).get(cell).get(c('cellWidth')).op('f64x2.mul').get(c('limit')).op('f64x2.sub').op('f64x2.sub').set(h);
  f.get(cell).op('i32x4.trunc_sat_f64x2_s_zero').set(index);
  for (const [lane, row] of [
    [0, row0],
    [1, row1],
  ] as const)
    f.get(index).extractLaneI32(lane).i32(ROW_BYTES).op('i32.mul').get(table).op('i32.add').set(row);
  return { row0, row1, h };
}

/** Pushes the pair (coefficient `slot` of lane 0's row, the same of lane 1's). */
function coefficient(f: Func, { row0, row1 }: Cells, slot: number): void {
  f.get(row1)
    .get(row0)
    .mem('v128.load64_splat', 8 * slot)
    .loadLane64(1, 8 * slot);
}

/** Pushes Horner's rule on the row's slots first…first+count−1 at h: ((s_last·h + …)·h + s_first. */
function horner(f: Func, at: Cells, first: number, count: number): void {
  coefficient(f, at, first + count - 1);
  for (let slot = first + count - 2; slot >= first; slot--) {
    f.get(at.h).op('f64x2.mul');
    coefficient(f, at, slot);
    f.op('f64x2.add');
  }
}

/** Pushes erf's polynomial at h: ((c₇·h + c₆)·h + …)·h + c₀. */
const erfPolynomial = (f: Func, at: Cells) => horner(f, at, 0, DEGREE + 1);

/** Pushes e^(−z²) = √π/2 · erf′, the derivative's polynomial ((7·c₇·h + 6·c₆)·h + …)·h + c₁. */
function expNegSquarePolynomial(f: Func, c: Constant, at: Cells): void {
  f.get(c('sqrtPiOver2'));
  horner(f, at, SLOPE_AT + 1, DEGREE);
  f.op('f64x2.mul');
}

/** z = x/√2 into a local, and the mask of its lanes inside the table (|z| < 6; NaN is not). */
function scaled(f: Func, c: Constant, x: number): { z: number; inside: number } {
  const z = f.local('v128'),
    inside = f.local('v128');
  f.get(x).get(c('sqrt1_2')).op('f64x2.mul').tee(z).op('f64x2.abs').get(c('limit')).op('f64x2.lt').set(inside);
  return { z, inside };
}

/**
 * gelu(t, x, out, n, perTask, table, flags): out = x·Φ(x) = (0.5·x)·(1 + erf(x/√2)). Beyond
 * the table erf(z) is ±1, the sign of z; a NaN x gives NaN through 0.5·x whatever erf says.
 */
const geluFunc = () =>
  mapFunc(FLOAT32, 1, 1, CONSTANTS, (f, c, [x], _inRange, [table]) => {
    const { z, inside } = scaled(f, c, x!);
    const at = cells(f, c, table!, z, inside);
    f.get(c('half')).get(x!).op('f64x2.mul').get(c('one'));
    erfPolynomial(f, at);
    f.get(z).get(c('one')).get(c('signBit')).op('v128.bitselect'); // copysign(1, z)
    f.get(inside).op('v128.bitselect');
    f.op('f64x2.add').op('f64x2.mul');
  });

/**
 * geluGrad(t, x, g, out, n, perTask, table, flags): out = g · ((0.5·(1 + erf(z))) + ((x·1/√(2π))·e^(−z²)))
 * where |z| = |x/√2| < 6. Elsewhere (|x| ≳ 8.5, or NaN) JavaScript's Math.exp is needed, which
 * WebAssembly lacks: the lane's result is meaningless, and the task is flagged so that the
 * caller recomputes it with the JavaScript function.
 */
const geluGradFunc = () =>
  mapFunc(FLOAT32, 2, 1, CONSTANTS, (f, c, [x, g], inRange, [table]) => {
    const { z, inside } = scaled(f, c, x!);
    f.get(inRange).get(inside).op('v128.and').set(inRange);
    const at = cells(f, c, table!, z, inside);
    f.get(g!);
    f.get(c('half')).get(c('one'));
    erfPolynomial(f, at);
    f.op('f64x2.add').op('f64x2.mul');
    f.get(x!).get(c('invSqrt2pi')).op('f64x2.mul');
    expNegSquarePolynomial(f, c, at);
    f.op('f64x2.mul').op('f64x2.add').op('f64x2.mul');
  });

/** The pool functions (indices into the pool's names). */
export interface GeluKernels {
  gelu: number;
  geluGrad: number;
}

/** Adds the two kernels through `task(func, name)`, which adds a function the pool may run. */
export function addGeluKernels(task: (func: Func, name: string) => number): GeluKernels {
  return { gelu: task(geluFunc(), 'f32.gelu'), geluGrad: task(geluGradFunc(), 'f32.geluGrad') };
}
