// The WebAssembly code of float32 add, sub, mul and div over large contiguous arrays
// (kernels/cpu/arith.ts runs it), so that the thread pool can split them: in a training step
// the residual adds, the scalings and the products of the backward pass are passes over
// whole activations, and JavaScript's loop (≈ 2 ns an element) took twice the copies'
// time. Four lanes at a time in float32: for these four operations a float32 result equals
// the float64 one rounded to float32 (float64 carries more than 2·24 + 2 bits, so the double
// rounding of JavaScript's Float32Array store cannot differ), so the results are bitwise the
// reference's (spec/arith-wasm.spec.ts).

import { Func } from '../../base/wasm-assembler.ts';
import { float32Ops, fourThenOne, taskRange } from './wasm-lanes.ts';

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
  const [count, at] = [f.local('i32'), f.local('i32')],
    bv = f.local('v128'),
    bs = f.local('f32');
  taskRange(f, [task, n, perTask], scalarB ? [a, out] : [a, b, out], count);
  if (scalarB) f.get(bBits).op('f32.reinterpret_i32').tee(bs).op('f32x4.splat').set(bv);
  f.get(count).i32(4).op('i32.mul').set(count); // in bytes from here on
  fourThenOne(f, at, count, (width) => {
    const ops = float32Ops(width);
    f.get(out).get(at).op('i32.add');
    f.get(a).get(at).op('i32.add').mem(ops.load);
    if (scalarB) f.get(width === 4 ? bv : bs);
    else f.get(b).get(at).op('i32.add').mem(ops.load);
    f.op(ops[op]).mem(ops.store);
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
