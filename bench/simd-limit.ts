// The machine's limit for the CPU kernels: 4-lane WebAssembly SIMD multiplies and adds
// (f32x4.mul, f32x4.add; no fused multiply-add without relaxed SIMD), measured on one
// thread with a loop that keeps 24 independent chains in registers and touches no memory.
// The GEMM's GFLOP/s in bench/peers.ts and bench/gemm.bench.ts are fractions of this, on
// the same machine; the targets were set as fractions of it on another CPU.
//
// Run with: npx tsx bench/simd-limit.ts        (not a test: nothing asserts a time)
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

const instance = limitModule();
const memory = instance.exports.memory as WebAssembly.Memory;
new Float32Array(memory.buffer, 0, 8).set([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]); // c = 1: nothing overflows
const spin = instance.exports.spin as (iterations: number, address: number) => void;

const ITERATIONS = 20_000_000;
const FLOPS = ITERATIONS * 2 * CHAINS * 4;
spin(1_000_000, 0); // warm-up: the optimizing tier
const runs: number[] = [];
for (let r = 0; r < 7; r++) {
  const t0 = performance.now();
  spin(ITERATIONS, 0);
  runs.push(FLOPS / ((performance.now() - t0) * 1e6));
}
runs.sort((a, b) => a - b);
console.log(
  `4-lane WebAssembly SIMD, separate multiply and add, one thread: ${runs[runs.length - 1]!.toFixed(1)} GFLOP/s best, ${runs[runs.length >> 1]!.toFixed(1)} median of 7`,
);
