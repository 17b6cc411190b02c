// The machine's limit for the CPU kernels: 4-lane WebAssembly SIMD multiplies and adds
// (f32x4.mul, f32x4.add; no fused multiply-add without relaxed SIMD), measured on one
// thread with a loop that keeps 24 independent chains in registers and touches no memory.
// The GEMM's GFLOP/s in bench/peers.ts (which measures this limit in the same run) are
// fractions of it: no WebAssembly kernel on this machine can go faster per thread.
//
// Run with: npx tsx bench/simd-limit.ts        (not a test: nothing asserts a time)
import { pathToFileURL } from 'node:url';
import { Func, Module } from '../base/wasm-assembler.ts';

const CHAINS = 12; // per kind: 12 multiply chains and 12 add chains (latency 4 × 2 ports ≤ 12 in flight)

function limitModule(): WebAssembly.Instance {
  // spin(iterations, address): p_i ← p_i · c and s_i ← s_i + c for 24 v128 chains, then stores them.
  const f = new Func(['i32', 'i32']);
  const [iters, addr] = [0, 1];
  const c = f.local('v128');
  const p = Array.from({ length: CHAINS }, () => f.local('v128'));
  const s = Array.from({ length: CHAINS }, () => f.local('v128'));
  f.get(addr).mem('v128.load').set(c);
  for (const r of [...p, ...s]) f.get(addr).mem('v128.load', 16).set(r);
  f.loop(() => {
    for (let i = 0; i < CHAINS; i++) {
      f.get(p[i]!).get(c).op('f32x4.mul').set(p[i]!);
      f.get(s[i]!).get(c).op('f32x4.add').set(s[i]!);
    }
    f.get(iters).i32(1).op('i32.sub').tee(iters).brIf(0);
  });
  [...p, ...s].forEach((r, i) =>
    f
      .get(addr)
      .get(r)
      .mem('v128.store', 32 + 16 * i),
  );
  const mod = new Module();
  mod.add(f, 'spin');
  return new WebAssembly.Instance(new WebAssembly.Module(mod.encode()));
}

/**
 * The limit in GFLOP/s on this thread: the best of 7 runs of ≈ 0.1–0.3 s (and the median),
 * since a busy machine can only slow a run down.
 */
export function simdLimit(iterations = 20_000_000): { best: number; median: number } {
  const instance = limitModule();
  const memory = instance.exports.memory as WebAssembly.Memory;
  new Float32Array(memory.buffer, 0, 8).set([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]); // c = 1: nothing overflows
  const spin = instance.exports.spin as (iterations: number, address: number) => void;
  const flops = iterations * 2 * CHAINS * 4;
  spin(1_000_000, 0); // warm-up: the optimizing tier
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    spin(iterations, 0);
    runs.push(flops / ((performance.now() - t0) * 1e6));
  }
  runs.sort((a, b) => a - b);
  return { best: runs[runs.length - 1]!, median: runs[runs.length >> 1]! };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { best, median } = simdLimit();
  console.log(`4-lane WebAssembly SIMD, separate multiply and add, one thread: ${best.toFixed(1)} GFLOP/s best, ${median.toFixed(1)} median of 7`);
}
