/**
 * GELU and its backward pass on large contiguous float32 tensors, split over the thread
 * pool through kernels/cpu/wasm-map.ts (the kernels: kernels/cpu/gelu-kernels.ts). Bitwise
 * the reference's results, for any thread count (spec/gelu-wasm.spec.ts).
 *
 * Why: on a [8·128, 1024] BERT activation, GELU forward and backward in JavaScript took
 * ≈ 20 % of a training step on one core while the GEMMs ran on all of them. The copies
 * cost ≈ 0.3 ns per element against ≈ 7–17 ns of arithmetic.
 */
import { gelu, geluGrad } from '../scalar.ts';
import { wasmMap } from './wasm-map.ts';
import { ERF_TABLE_AT, wasmRuntime } from './wasm-runtime.ts';

/** out = gelu(x); false (nothing done) where the WebAssembly runtime is missing or x too large for its memory. */
export function wasmGelu(x: Float32Array, out: Float32Array): boolean {
  const kernels = wasmRuntime()?.gelu;
  return !!kernels && wasmMap(kernels.gelu, [x], out, (i) => gelu(x[i]!), [ERF_TABLE_AT]);
}

/**
 * out = g · gelu′(x); false as for wasmGelu. Elements beyond erf's table (|x| ≳ 8.5, or NaN)
 * need Math.exp, which WebAssembly lacks: the kernel flags their tasks, and JavaScript
 * recomputes them.
 */
export function wasmGeluGrad(x: Float32Array, g: Float32Array, out: Float32Array): boolean {
  const kernels = wasmRuntime()?.gelu;
  return !!kernels && wasmMap(kernels.geluGrad, [x, g], out, (i) => g[i]! * geluGrad(x[i]!), [ERF_TABLE_AT]);
}
