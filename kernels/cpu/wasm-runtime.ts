// The WebAssembly runtime behind the fast CPU kernels: one memory (shared between threads
// where the platform allows it), the compiled kernel modules (the GEMM's, GELU's) instantiated
// on it, and the thread pool that runs their tasks (kernels/threads/pool.ts). The kernels
// (kernels/cpu/gemm.ts, gelu.ts, exp.ts) copy their operands into the memory from HEAP_START on.
//
// Memory layout: the pool's control block | erf's coefficient table (GELU) | operands.

import { type Func, Module } from '../../base/wasm-assembler.ts';
import { ValueError } from '../../base/errors.ts';
import { ERF_GRID } from '../erf.ts';
import { CONTROL_BYTES, defaultThreads, type PoolModule, ThreadPool } from '../threads/pool.ts';
import { addArithKernels, type ArithKernels } from './arith-kernels.ts';
import { addGatherKernel } from './gather-kernels.ts';
import { addExpKernels, addSiluKernels, addSoftmaxKernels, type ExpKernels } from './exp-kernels.ts';
import { addGeluKernels, ERF_TABLE_BYTES, type GeluKernels } from './gelu-kernels.ts';
import { addNormKernels, type NormKernels } from './norm-kernels.ts';
import { addGemmKernels, type GemmKernels, hasRelaxedSimd, hasSimd } from './gemm-kernels.ts';

export const MAX_PAGES = 32768; // 2 GiB: the memory's ceiling (a shared memory must declare one)
/** Where erf's table lives (GELU's kernels read it). */
export const ERF_TABLE_AT = CONTROL_BYTES;
/** The first byte kernels may use for their operands (64-byte aligned). */
export const HEAP_START = roundUp(ERF_TABLE_AT + ERF_TABLE_BYTES, 64);

export interface Wasm {
  memory: WebAssembly.Memory;
  pool: ThreadPool;
  fma: boolean;
  f32: GemmKernels;
  f64: GemmKernels;
  gelu: GeluKernels;
  exp: ExpKernels;
  arith: ArithKernels;
  /** The strided float32 copy (kernels/cpu/gather.ts), in the arithmetic's module. */
  gather: number;
  norm: NormKernels;
}

/** The shared memory if this platform allows one (cross-origin isolated pages, Node), else a private one. */
function newMemory(): WebAssembly.Memory {
  try {
    if (typeof SharedArrayBuffer === 'function') return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  } catch {
    /* shared memory unavailable: one thread */
  }
  return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
}

function compile(relaxed: boolean): Wasm | undefined {
  if (typeof WebAssembly !== 'object' || !hasSimd()) return undefined;
  const memory = newMemory();
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  const fma = relaxed && hasRelaxedSimd();
  // One module per family of kernels, each under the 4 KiB limit that Chromium long put on
  // synchronous compilation on a page's main thread (the GEMM's, one per dtype, 2,493 and 1,777 bytes, GELU's 2,731,
  // exp's 2,034, SiLU's 2,335, softmax's 3,534, the arithmetic's with the strided copy's gather 1,832, the norms' 2,389): mind it when adding kernels.
  const parts: PoolModule[] = [];
  const build = (add: (mod: Module, task: (func: Func, name: string) => number) => void) => {
    const mod = new Module({ imported: { shared, maximumPages: MAX_PAGES } });
    const names: string[] = [];
    const first = parts.reduce((n, p) => n + p.names.length, 0);
    add(mod, (func, name) => {
      mod.add(func, name);
      return first + names.push(name) - 1;
    });
    const module = new WebAssembly.Module(mod.encode());
    parts.push({ module, instance: new WebAssembly.Instance(module, { env: { memory } }), names });
  };
  const gemm = {} as Record<'f32' | 'f64', GemmKernels>;
  let gelu!: GeluKernels;
  let exp!: ReturnType<typeof addExpKernels>;
  let silu!: ReturnType<typeof addSiluKernels>;
  let softmax!: ReturnType<typeof addSoftmaxKernels>;
  let arith!: ArithKernels;
  let gather!: number;
  let norm!: NormKernels;
  build((mod, task) => (gemm.f32 = addGemmKernels(mod, task, fma, 'f32')));
  build((mod, task) => (gemm.f64 = addGemmKernels(mod, task, fma, 'f64')));
  build((_, task) => (gelu = addGeluKernels(task)));
  build((_, task) => (exp = addExpKernels(task)));
  build((_, task) => (silu = addSiluKernels(task)));
  build((_, task) => (softmax = addSoftmaxKernels(task)));
  build((_, task) => {
    arith = addArithKernels(task);
    gather = addGatherKernel(task);
  });
  build((_, task) => (norm = addNormKernels(task)));
  ensureBytes(memory, HEAP_START);
  new Float64Array(memory.buffer, ERF_TABLE_AT, ERF_GRID.table.length).set(ERF_GRID.table);
  const pool = new ThreadPool(parts, memory);
  return { memory, pool, fma, f32: gemm.f32, f64: gemm.f64, gelu, exp: { ...exp, ...silu, ...softmax }, arith, gather, norm };
}

/** x rounded up to a multiple of `to` (addresses, padded sizes). */
export function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/**
 * Grows `memory` so that it holds at least `bytes` bytes; false, growing nothing, past the
 * memory's ceiling (MAX_PAGES): the kernel then takes its JavaScript path.
 */
export function ensureBytes(memory: WebAssembly.Memory, bytes: number): boolean {
  if (bytes > MAX_PAGES * 65536) return false;
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  return true;
}

// The runtime is built on first use, not at import: importing the library compiles nothing and
// starts no worker, and a setting made before the first kernel runs (setThreads,
// setRelaxedSimd, or Node 20's enableRelaxedSimd) costs no rebuild.
//
// Fused multiply-adds wherever the engine validates relaxed SIMD (Node ≥ 22, Chromium ≥ 114,
// Node 20 with --experimental-wasm-relaxed-simd): a GEMM's inner step is then one instruction
// instead of two, ≈ 1.3× the plain kernel's speed. Results may differ in the last bits from an
// engine without it; `setRelaxedSimd(false)` gives the plain kernel everywhere.
let wasm: Wasm | undefined | null = null; // null: not built yet
let wantFma = true;
let wantThreads: number | undefined; // undefined: every core

function build(): Wasm | undefined {
  const built = compile(wantFma);
  built?.pool.setThreads(wantThreads ?? defaultThreads());
  return built;
}

/** The runtime (built on the first call), or undefined where WebAssembly SIMD is missing (the kernels then use JavaScript). */
export function wasmRuntime(): Wasm | undefined {
  if (wasm === null) wasm = build();
  return wasm;
}

/**
 * Use n threads for the CPU kernels (the caller plus n − 1 workers); the default is
 * every core. Results do not depend on n. Where shared memory or workers are
 * unavailable, any n runs on one thread.
 *
 * @example
 * ```ts
 * import { setThreads, threadInfo } from 'sparsegrad';
 * setThreads(1);
 * threadInfo().threads; // => 1
 * ```
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setThreads(): the thread count must be a positive integer, got ${n}`);
  wantThreads = n;
  wasm?.pool.setThreads(n);
}

/** The pool behind the GEMM (undefined without WebAssembly SIMD): for tests and benchmarks. */
export function threadPool(): ThreadPool | undefined {
  return wasmRuntime()?.pool;
}

/**
 * Turn relaxed-SIMD fused multiply-adds in the GEMM on or off. On by default wherever the
 * engine validates relaxed SIMD (Node ≥ 22, Chromium ≥ 114; Node 20 only with
 * --experimental-wasm-relaxed-simd, or `enableRelaxedSimd()` from `sparsegrad/node`). A fused
 * multiply-add rounds once where a multiply and an add round twice, so results may differ in
 * the last bits from an engine without it; turn it off to get the same bits on every engine.
 * Results never depend on the thread count, either way. Called before the first kernel runs, it
 * only chooses how they will be built; after, it rebuilds them and their thread pool. Returns
 * whether FMA is (or will be) in use: false where the engine lacks relaxed SIMD.
 *
 * @example
 * ```ts
 * import { setRelaxedSimd } from 'sparsegrad';
 * setRelaxedSimd(false); // => false
 * ```
 */
export function setRelaxedSimd(on: boolean): boolean {
  if (wasm === null) {
    // Not built yet: the first kernel builds it so.
    wantFma = on;
    return on && hasSimd() && hasRelaxedSimd();
  }
  if (!wasm || wasm.fma === on || (on && !hasRelaxedSimd())) return wasm?.fma ?? false;
  wantFma = on;
  wasm.pool.shutdown();
  wasm = build();
  return wasm!.fma;
}

/**
 * The CPU kernels' threading: the count asked for, the workers running now, whether FMA is
 * used, and how many kernel tasks the workers have run since the pool started (the caller's
 * thread runs the rest): a count that grows while you compute shows the workers really share it.
 *
 * @example
 * ```ts
 * import { threadInfo } from 'sparsegrad';
 * threadInfo().threads >= 1; // => true
 * ```
 */
export function threadInfo(): { threads: number; readyWorkers: number; parallel: boolean; fma: boolean; workerTasks: number } {
  const runtime = wasmRuntime();
  if (!runtime) return { threads: 1, readyWorkers: 0, parallel: false, fma: false, workerTasks: 0 };
  const { pool } = runtime;
  return { threads: pool.threadCount, readyWorkers: pool.readyWorkers, parallel: pool.parallel, fma: runtime.fma, workerTasks: pool.workerTasks };
}

/**
 * Resolves once the requested workers have started (benchmarks and tests wait for it).
 *
 * @example
 * ```ts
 * import { setThreads, threadInfo, threadsReady } from 'sparsegrad';
 * setThreads(2);
 * await threadsReady();
 * threadInfo().readyWorkers <= 1; // => true
 * ```
 */
export async function threadsReady(): Promise<void> {
  await wasmRuntime()?.pool.ready();
}
