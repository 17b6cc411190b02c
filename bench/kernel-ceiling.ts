// The GEMM's ceiling on this machine: its WebAssembly micro-kernel (kernels/cpu/gemm-kernels.ts,
// a 4 × 8 float32 tile of C in registers, 4-lane fused multiply-adds where the engine has
// relaxed SIMD, multiplies and adds otherwise) run over and over on an
// A panel and a B panel small enough to stay in L1 cache — no packing, no copies, no threads.
// What a product reaches beyond that is lost to memory traffic, packing and scheduling; the
// GFLOP/s of bench/peers.ts (which measures this in the same run) are read against it.
//
// It also measures what this machine gives parallel code right now: the same loop on two
// threads at once (parallelCapacity). Two cores of their own run it ≈ 2× as fast as one;
// two virtual CPUs that share a physical core, or a busy host, ≈ 1×, and then no thread
// scaling can show, whatever the engine does.
//
// Run with: npx tsx bench/kernel-ceiling.ts        (not a test: nothing asserts a time)
// (The fused kernel needs relaxed SIMD: main() turns it on, on Node 20 through its flag.)
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Func, Module } from '../base/wasm-assembler.ts';
import { F32, hasRelaxedSimd, lanes, MR, NV, tileFunc } from '../kernels/cpu/gemm-kernels.ts';
import { threadInfo } from '../kernels/cpu/wasm-runtime.ts';
import { enableRelaxedSimd } from '../node.ts';

const K = 256; // panels of 4 × 256 and 256 × 8 float32: 12 KiB, in L1
const NR = NV * lanes(F32);

/** repeat(times): calls the tile on the panels at 0 and 16 KiB `times` times, C at 32 KiB. */
function ceilingModule(fma: boolean): WebAssembly.Module {
  const mod = new Module();
  const tile = mod.add(tileFunc(F32, fma, false));
  const f = new Func(['i32']);
  f.loop(() => {
    f.i32(0)
      .i32(16384)
      .i32(32768)
      .i32(K)
      .i32(NR * 4)
      .i32(0) // start from 0, not from C
      .call(tile);
    f.get(0).i32(1).op('i32.sub').tee(0).brIf(0);
  });
  mod.add(f, 'repeat');
  return new WebAssembly.Module(mod.encode());
}

/**
 * A measuring thread, in plain JavaScript (Node's eval mode): it fills the panels (nothing
 * overflows), says it is ready, waits for the common start, then times `repeat(calls)` 7
 * times after one call to warm up (the optimizing tier) and reports the best and median
 * GFLOP/s — the best, since a busy machine can only slow a run down.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, calls, flops, start } = workerData;
const instance = new WebAssembly.Instance(module);
const memory = instance.exports.memory;
new Float32Array(memory.buffer, 0, 16384 / 4).fill(0.5);
new Float32Array(memory.buffer, 16384, 16384 / 4).fill(0.25);
parentPort.postMessage('ready');
Atomics.wait(start, 0, 0);
instance.exports.repeat(calls);
const runs = [];
for (let r = 0; r < 7; r++) {
  const t0 = performance.now();
  instance.exports.repeat(calls);
  runs.push(flops / ((performance.now() - t0) * 1e6));
}
runs.sort((a, b) => a - b);
parentPort.postMessage({ best: runs[runs.length - 1], median: runs[runs.length >> 1] });
`;

export interface Rate {
  best: number;
  median: number;
}

/**
 * The micro-kernel's GFLOP/s on `threads` threads started together, each on panels of its
 * own (each a worker, so one thread and several are measured alike). By default the kernel
 * the engine uses now (threadInfo().fma); `fma` picks one (true: where the engine has it).
 */
export async function parallelCeiling(threads: number, fma = threadInfo().fma, calls = 100_000): Promise<Rate[]> {
  const start = new Int32Array(new SharedArrayBuffer(4));
  const workerData = { module: ceilingModule(fma && hasRelaxedSimd()), calls, flops: calls * 2 * MR * NR * K, start };
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true, workerData }));
  const reply = (w: Worker) =>
    new Promise<unknown>((done, fail) => {
      w.once('message', done);
      w.once('error', fail);
    });
  try {
    await Promise.all(workers.map(reply)); // 'ready': every worker waits on `start`
    const rates = workers.map(reply);
    Atomics.store(start, 0, 1);
    Atomics.notify(start, 0);
    return (await Promise.all(rates)) as Rate[];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The micro-kernel's GFLOP/s on one thread: the best of 7 runs of ≈ 0.1–0.3 s, and the median. */
export async function kernelCeiling(fma = threadInfo().fma): Promise<Rate> {
  return (await parallelCeiling(1, fma))[0]!;
}

export interface Capacity {
  /** One thread's rate, measured alone: the ceiling (kernelCeiling). */
  one: Rate;
  /** Each thread's median GFLOP/s, all running at once. */
  together: number[];
  /** Σ together ÷ one's median: ≈ the thread count on cores of their own. */
  ratio: number;
}

/**
 * How much more `threads` threads at once get through the micro-kernel than one thread alone;
 * `one` is the one-thread ceiling itself, so a caller that wants both measures it once.
 */
export async function parallelCapacity(threads = 2): Promise<Capacity> {
  const one = await kernelCeiling();
  const together = (await parallelCeiling(threads)).map((r) => r.median);
  return { one, together, ratio: together.reduce((a, b) => a + b, 0) / one.median };
}

/** The capacity in words. */
export function capacityLine(c: Capacity): string {
  const n = c.together.length;
  return `parallel capacity: ${n} threads at once run the micro-kernel at ${c.together.map((x) => x.toFixed(1)).join(' + ')} GFLOP/s against ${c.one.median.toFixed(1)} for one alone (medians of 7): ${c.ratio.toFixed(2)}× (${n}× on ${n} cores of their own)`;
}

/** Prints the ceiling of both kernels (the fused one where the engine has relaxed SIMD) and the parallel capacity of the one in use. */
export async function main(): Promise<void> {
  enableRelaxedSimd();
  const plain = await kernelCeiling(false);
  console.log(
    `GEMM micro-kernel on L1-resident panels, one thread, multiplies and adds: ${plain.best.toFixed(1)} GFLOP/s best, ${plain.median.toFixed(1)} median of 7`,
  );
  if (hasRelaxedSimd()) {
    const fma = await kernelCeiling(true);
    console.log(`with relaxed-SIMD fused multiply-adds: ${fma.best.toFixed(1)} GFLOP/s best, ${fma.median.toFixed(1)} median of 7`);
  }
  console.log(capacityLine(await parallelCapacity(2)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
