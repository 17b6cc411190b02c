/**
 * float32 add, sub, mul and div over large contiguous runs, through kernels/cpu/wasm-map.ts (the
 * kernels: kernels/cpu/arith-kernels.ts): both operands one contiguous run each, or one of them
 * a single value broadcast over the other (a scaling, a scalar added). Bitwise the reference's
 * results (spec/arith-wasm.spec.ts).
 *
 * Why: JavaScript's loop costs ≈ 2.4 ns an element, where copying into the wasm memory and
 * back costs ≈ 0.3 ns an element per array and four-lane SIMD next to nothing: on 1 M float32
 * elements an add of two arrays takes ≈ 1.5 ms instead of ≈ 2.4, a scaling ≈ 1.0. The copies
 * dominate, and they run on the calling thread, so the kernel runs there too (`onCaller`):
 * waking a worker for its ≈ 0.1 ms share cost more than it saved (1.7 ms on two threads).
 */
import { BINARY } from '../scalar.ts';
import type { View } from '../view.ts';
import type { ArithOp } from './arith-kernels.ts';
import { contiguousRun, wasmMap } from './wasm-map.ts';
import { wasmRuntime } from './wasm-runtime.ts';

const ARITH_OPS: ReadonlySet<string> = new Set<ArithOp>(['add', 'sub', 'mul', 'div']);

/** The one float32 value every element of v reads (all strides 0), or undefined. */
function broadcastValue(v: View): number | undefined {
  return v.data instanceof Float32Array && v.strides.every((s) => s === 0) ? v.data[v.offset] : undefined;
}

/** The i32 bits of a float32 value (how the scalar kernels take it). */
const bitsOf = (value: number) => new Int32Array(new Float32Array([value]).buffer)[0]!;

/**
 * out = a ∘ b (a and b broadcast to out's shape) where op is add, sub, mul or div and the
 * operands are large float32 runs; false (nothing done) otherwise, and where the runtime is
 * missing: the caller takes its JavaScript loops.
 */
export function wasmArith(op: string, a: View, b: View, out: Float32Array): boolean {
  const kernels = wasmRuntime()?.arith;
  if (!kernels || !ARITH_OPS.has(op)) return false;
  const k = kernels[op as ArithOp],
    f = BINARY[op as ArithOp];
  const aRun = contiguousRun(a, Float32Array);
  const bRun = contiguousRun(b, Float32Array);
  if (aRun && bRun) return wasmMap(k.arrays, [aRun, bRun], out, (i) => f(aRun[i]!, bRun[i]!), [], true);
  const [run, value] = aRun ? [aRun, broadcastValue(b)] : op === 'add' || op === 'mul' ? [bRun, broadcastValue(a)] : [undefined, undefined];
  // x ∘ s, or s ∘ x for the two operations where the order does not change a bit of the result.
  if (!run || value === undefined) return false;
  return wasmMap(k.scalar, [run], out, (i) => f(run[i]!, value), [bitsOf(value)], true);
}
