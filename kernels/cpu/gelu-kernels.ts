// The WebAssembly code of GELU and its backward pass on float32 tensors (kernels/cpu/gelu.ts
// runs it), so that the thread pool can split them: in a BERT layer they are the largest
// elementwise passes, and in JavaScript they run on one core.
//
// Each function is the JavaScript one (kernels/scalar.ts gelu and geluGrad, kernels/erf.ts
// erf and expNegSquare) instruction for instruction: the same float64 operations in the
// same order on the same table of coefficients, which the runtime copies into the shared
// memory at ERF_TABLE_AT. WebAssembly never fuses or reorders float operations, so the
// results are bitwise those of the reference kernels (spec/gelu-wasm.spec.ts).

import { Func } from '../../base/wasm-assembler.ts';
import { ERF_GRID } from '../erf.ts';
import { INV_SQRT_2PI, SQRT1_2 } from '../scalar.ts';

const { stepsPerUnit: STEPS, limit: LIMIT, degree: DEGREE, sqrtPiOver2: SQRT_PI_OVER_2 } = ERF_GRID;
const ROW_BYTES = (DEGREE + 1) * 8; // one grid point's coefficients c₀…c₁₀, float64

/** Bytes of the coefficient table. */
export const ERF_TABLE_BYTES = ERF_GRID.table.byteLength;

/** The grid cell of z (|z| < LIMIT) as a table address, and z's offset h from its grid point. */
function cellAndOffset(f: Func, table: number, z: number, row: number, h: number): void {
  const cell = f.local('i32');
  // cell = ((z + 6)·32 + 0.5) | 0: in range, so truncation is JavaScript's | 0.
  f.get(z).f64(LIMIT).op('f64.add').f64(STEPS).op('f64.mul').f64(0.5).op('f64.add').op('i32.trunc_f64_s').set(cell);
  // h = z − (cell / 32 − 6)
  f.get(z).get(cell).op('f64.convert_i32_s').f64(STEPS).op('f64.div').f64(LIMIT).op('f64.sub').op('f64.sub').set(h);
  f.get(cell).i32(ROW_BYTES).op('i32.mul').get(table).op('i32.add').set(row);
}

/** Pushes erf's polynomial at h: ((c₁₀·h + c₉)·h + …)·h + c₀. */
function erfPolynomial(f: Func, row: number, h: number): void {
  f.get(row).mem('f64.load', 8 * DEGREE);
  for (let n = DEGREE - 1; n >= 0; n--)
    f.get(h)
      .op('f64.mul')
      .get(row)
      .mem('f64.load', 8 * n)
      .op('f64.add');
}

/** Pushes the derivative's polynomial at h: ((10·c₁₀·h + 9·c₉)·h + …)·h + c₁, times √π/2 (= e^(−z²)). */
function expNegSquarePolynomial(f: Func, row: number, h: number): void {
  const slope = f.local('f64');
  f.get(row)
    .mem('f64.load', 8 * DEGREE)
    .f64(DEGREE)
    .op('f64.mul');
  for (let n = DEGREE - 1; n >= 1; n--) {
    f.get(h)
      .op('f64.mul')
      .get(row)
      .mem('f64.load', 8 * n);
    if (n > 1) f.f64(n).op('f64.mul');
    f.op('f64.add');
  }
  f.set(slope).f64(SQRT_PI_OVER_2).get(slope).op('f64.mul');
}

/**
 * The element range of task t: [t·perTask, min(n, (t + 1)·perTask)), as byte addresses
 * into each array (of `bytes`-byte elements) and a count (≥ 1: the caller makes
 * ⌈n / perTask⌉ tasks). The exp kernels' map (kernels/cpu/exp-kernels.ts) uses it too.
 */
export function taskRange(f: Func, [task, n, perTask]: [number, number, number], arrays: number[], count: number, bytes = 4): void {
  const first = f.local('i32');
  f.get(task).get(perTask).op('i32.mul').set(first);
  f.get(n).get(first).op('i32.sub').set(count);
  f.get(count).get(perTask).get(count).get(perTask).op('i32.lt_u').op('select').set(count); // min(count, perTask)
  for (const a of arrays) f.get(a).get(first).i32(bytes).op('i32.mul').op('i32.add').set(a);
}

/** gelu(t, x, out, n, perTask, table): out = x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
function geluFunc(): Func {
  const f = new Func(Array(6).fill('i32'));
  const [task, x, out, n, perTask, table] = [0, 1, 2, 3, 4, 5];
  const count = f.local('i32'),
    row = f.local('i32');
  const v = f.local('f64'),
    z = f.local('f64'),
    h = f.local('f64');
  taskRange(f, [task, n, perTask], [x, out], count);
  f.loop(() => {
    f.get(x).mem('f32.load').op('f64.promote_f32').tee(v).f64(SQRT1_2).op('f64.mul').set(z);
    f.get(out);
    f.f64(0.5).get(v).op('f64.mul').f64(1);
    // erf(z): the table inside ±6; beyond, ±1 (NaN stays NaN).
    f.get(z).op('f64.abs').f64(LIMIT).op('f64.lt');
    f.ifElse(
      'f64',
      () => {
        cellAndOffset(f, table, z, row, h);
        erfPolynomial(f, row, h);
      },
      () => {
        f.f64(Number.NaN).f64(1).get(z).op('f64.copysign').get(z).get(z).op('f64.ne').op('select');
      },
    );
    f.op('f64.add').op('f64.mul').op('f32.demote_f64').mem('f32.store');
    f.get(x).i32(4).op('i32.add').set(x);
    f.get(out).i32(4).op('i32.add').set(out);
    f.get(count).i32(1).op('i32.sub').tee(count).brIf(0);
  });
  return f;
}

/**
 * geluGrad(t, x, g, out, n, perTask, table, flags): out = g · (Φ(x) + x·φ(x)) where |x/√2| < 6.
 * Elsewhere (|x| ≳ 8.5, or NaN) JavaScript's Math.exp is needed, which WebAssembly lacks:
 * the element is left at 0 and the task's flag (an i32 at flags + 4t) is set to 1, so the
 * caller recomputes those few elements with the JavaScript function.
 */
function geluGradFunc(): Func {
  const f = new Func(Array(8).fill('i32'));
  const [task, x, g, out, n, perTask, table, flags] = [0, 1, 2, 3, 4, 5, 6, 7];
  const count = f.local('i32'),
    row = f.local('i32'),
    flag = f.local('i32');
  const v = f.local('f64'),
    z = f.local('f64'),
    h = f.local('f64');
  taskRange(f, [task, n, perTask], [x, g, out], count);
  f.i32(0).set(flag);
  f.loop(() => {
    f.get(x).mem('f32.load').op('f64.promote_f32').tee(v).f64(SQRT1_2).op('f64.mul').set(z);
    f.get(out);
    f.get(z).op('f64.abs').f64(LIMIT).op('f64.lt');
    f.ifElse(
      'f64',
      () => {
        cellAndOffset(f, table, z, row, h);
        // g · ((0.5 · (1 + erf(z))) + ((x · 1/√(2π)) · e^(−z²)))
        f.get(g).mem('f32.load').op('f64.promote_f32');
        f.f64(0.5).f64(1);
        erfPolynomial(f, row, h);
        f.op('f64.add').op('f64.mul');
        f.get(v).f64(INV_SQRT_2PI).op('f64.mul');
        expNegSquarePolynomial(f, row, h);
        f.op('f64.mul').op('f64.add').op('f64.mul');
      },
      () => {
        f.i32(1).set(flag);
        f.f64(0);
      },
    );
    f.op('f32.demote_f64').mem('f32.store');
    f.get(x).i32(4).op('i32.add').set(x);
    f.get(g).i32(4).op('i32.add').set(g);
    f.get(out).i32(4).op('i32.add').set(out);
    f.get(count).i32(1).op('i32.sub').tee(count).brIf(0);
  });
  f.get(flags).get(task).i32(4).op('i32.mul').op('i32.add').get(flag).mem('i32.store');
  return f;
}

/** The pool functions (indices into the pool's names). */
export interface GeluKernels {
  gelu: number;
  geluGrad: number;
}

/** Adds the two kernels through `task(func, name)`, which adds a function the pool may run. */
export function addGeluKernels(task: (func: Func, name: string) => number): GeluKernels {
  return { gelu: task(geluFunc(), 'f32.gelu'), geluGrad: task(geluGradFunc(), 'f32.geluGrad') };
}
