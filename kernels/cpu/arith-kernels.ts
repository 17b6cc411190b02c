// The WebAssembly code of float32 add, sub, mul and div over large contiguous arrays
// (kernels/cpu/arith.ts runs it), so that the thread pool can split them: in a training step
// the residual adds, the scalings and the products of the backward pass are passes over
// whole activations, and JavaScript's loop (≈ 2 ns an element) took twice the copies'
// time. Four lanes at a time in float32: for these four operations a float32 result equals
// the float64 one rounded to float32 (float64 carries more than 2·24 + 2 bits, so the double
// rounding of JavaScript's Float32Array store cannot differ), so the results are bitwise the
// reference's (spec/arith-wasm.spec.ts).

import { Func, type Op } from '../../base/wasm-assembler.ts';
import { taskRange } from './wasm-lanes.ts';

export type ArithOp = 'add' | 'sub' | 'mul' | 'div';

/**
 * op(task, a, b, out, n, perTask, flags) — out = a ∘ b over elements [task·perTask, …) of n —
 * or, with `scalarB`, op(task, a, out, n, perTask, bBits, flags): out = a ∘ b with one b,
 * passed as the i32 bits of its float32.
 */
function arithFunc(op: ArithOp, scalarB: boolean): Func {
  const f = new Func(Array(7).fill('i32'));
  const [task, a] = [0, 1];
  const [b, out, n, perTask, bBits] = scalarB ? [-1, 2, 3, 4, 5] : [2, 3, 4, 5, -1];
  const count = f.local('i32'),
    quads = f.local('i32'),
    bv = f.local('v128'),
    bs = f.local('f32');
  const vector = `f32x4.${op}` as Op,
    single = `f32.${op}` as Op;
  taskRange(f, [task, n, perTask], scalarB ? [a, out] : [a, b, out], count);
  if (scalarB) f.get(bBits).op('f32.reinterpret_i32').tee(bs).op('f32x4.splat').set(bv);
  const pushB = (one: boolean) => (scalarB ? f.get(one ? bs : bv) : f.get(b).mem(one ? 'f32.load' : 'v128.load'));
  const advance = (bytes: number) => {
    for (const p of scalarB ? [a, out] : [a, b, out]) f.get(p).i32(bytes).op('i32.add').set(p);
  };
  f.get(count).i32(2).op('i32.shr_u').set(quads);
  f.block(() => {
    f.get(quads).op('i32.eqz').brIf(0);
    f.loop(() => {
      f.get(out).get(a).mem('v128.load');
      pushB(false);
      f.op(vector).mem('v128.store');
      advance(16);
      f.get(quads).i32(1).op('i32.sub').tee(quads).brIf(0);
    });
  });
  f.get(count).i32(3).op('i32.and').set(count);
  f.block(() => {
    f.get(count).op('i32.eqz').brIf(0);
    f.loop(() => {
      f.get(out).get(a).mem('f32.load');
      pushB(true);
      f.op(single).mem('f32.store');
      advance(4);
      f.get(count).i32(1).op('i32.sub').tee(count).brIf(0);
    });
  });
  return f;
}

/** The pool functions (indices into the pool's names): per op, two arrays and an array with one value. */
export type ArithKernels = Record<ArithOp, { arrays: number; scalar: number }>;

/** Adds the eight kernels through `task(func, name)` (one module). */
export function addArithKernels(task: (func: Func, name: string) => number): ArithKernels {
  const ops: ArithOp[] = ['add', 'sub', 'mul', 'div'];
  return Object.fromEntries(
    ops.map((op) => [op, { arrays: task(arithFunc(op, false), `f32.${op}`), scalar: task(arithFunc(op, true), `f32.${op}Scalar`) }]),
  ) as ArithKernels;
}
