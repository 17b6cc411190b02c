// The GEMM's ceiling on this machine: its WebAssembly micro-kernel (kernels/cpu/gemm-kernels.ts,
// a 4 × 8 float32 tile of C in registers, 4-lane multiplies and adds) run over and over on an
// A panel and a B panel small enough to stay in L1 cache — no packing, no copies, no threads.
// What a product reaches beyond that is lost to memory traffic, packing and scheduling; the
// GFLOP/s of bench/peers.ts (which measures this in the same run) are read against it.
//
// Run with: npx tsx bench/kernel-ceiling.ts        (not a test: nothing asserts a time)
import { pathToFileURL } from 'node:url';
import { Func, Module } from '../base/wasm-assembler.ts';
import { F32, hasRelaxedSimd, lanes, MR, NV, tileFunc } from '../kernels/cpu/gemm-kernels.ts';

const K = 256; // panels of 4 × 256 and 256 × 8 float32: 12 KiB, in L1
const NR = NV * lanes(F32);

/** repeat(times): calls the tile on the panels at 0 and 16 KiB `times` times, C at 32 KiB. */
function ceilingModule(fma: boolean): WebAssembly.Instance {
  const mod = new Module();
  const tile = mod.add(tileFunc(F32, fma, false));
  const f = new Func(['i32']);
  f.loop(() => {
    f.i32(0)
      .i32(16384)
      .i32(32768)
      .i32(K)
      .i32(NR * 4)
      .call(tile);
    f.get(0).i32(1).op('i32.sub').tee(0).brIf(0);
  });
  mod.add(f, 'repeat');
  return new WebAssembly.Instance(new WebAssembly.Module(mod.encode()));
}

/**
 * The micro-kernel's GFLOP/s on this thread: the best of 7 runs of ≈ 0.1–0.3 s (and the
 * median), since a busy machine can only slow a run down. With `fma`, the relaxed-SIMD
 * kernel (where the engine has it).
 */
export function kernelCeiling(fma = false, calls = 100_000): { best: number; median: number } {
  const instance = ceilingModule(fma && hasRelaxedSimd());
  const memory = instance.exports.memory as WebAssembly.Memory;
  new Float32Array(memory.buffer, 0, 16384 / 4).fill(0.5); // A and B: nothing overflows
  new Float32Array(memory.buffer, 16384, 16384 / 4).fill(0.25);
  const repeat = instance.exports.repeat as (times: number) => void;
  const flops = calls * 2 * MR * NR * K;
  repeat(calls); // warm-up: the optimizing tier
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    repeat(calls);
    runs.push(flops / ((performance.now() - t0) * 1e6));
  }
  runs.sort((a, b) => a - b);
  return { best: runs[runs.length - 1]!, median: runs[runs.length >> 1]! };
}

/** Prints the ceiling (plain SIMD, and relaxed-SIMD FMA where the engine has it). */
export function main(): void {
  const { best, median } = kernelCeiling();
  console.log(`GEMM micro-kernel on L1-resident panels, one thread: ${best.toFixed(1)} GFLOP/s best, ${median.toFixed(1)} median of 7`);
  if (hasRelaxedSimd()) {
    const fma = kernelCeiling(true);
    console.log(`with relaxed-SIMD FMA: ${fma.best.toFixed(1)} GFLOP/s best, ${fma.median.toFixed(1)} median of 7`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
