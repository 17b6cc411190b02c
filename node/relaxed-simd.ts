/**
 * Fused multiply-adds for the GEMM on Node 20 (Node only; re-exported by `sparsegrad/node`).
 * The kernels use WebAssembly's relaxed-SIMD `relaxed_madd` wherever the engine validates it
 * (Node ≥ 22, Chromium ≥ 114). Node 20's V8 (11.3) has the same instructions, complete, behind
 * `--experimental-wasm-relaxed-simd`; V8 reads that flag each time it compiles a module, so
 * setting it at run time and rebuilding the kernels turns them on without restarting Node.
 */
import { setFlagsFromString } from 'node:v8';
import { setRelaxedSimd } from '../kernels/cpu/wasm-runtime.ts';

/**
 * Use relaxed-SIMD fused multiply-adds in the GEMM, setting Node 20's flag if the engine does
 * not validate them yet (what `sparsegrad` the command does at start). Returns whether they are
 * in use now: false where the engine has no relaxed SIMD at all. Same results as
 * `setRelaxedSimd(true)` on Node ≥ 22; `setRelaxedSimd(false)` turns them off again.
 *
 * @example
 * ```ts
 * import { enableRelaxedSimd } from 'sparsegrad/node';
 * import { threadInfo } from 'sparsegrad';
 * enableRelaxedSimd() === threadInfo().fma; // => true
 * ```
 */
export function enableRelaxedSimd(): boolean {
  if (setRelaxedSimd(true)) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return setRelaxedSimd(true);
}
