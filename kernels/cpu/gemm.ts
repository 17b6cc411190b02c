// Fast matrix multiply, same contract as kernels/reference/gemm.ts.
//
// The plan is the classic GotoBLAS/BLIS one:
// 1. Pack op(A) into panels of MR rows and op(B) into panels of NR columns,
//    laid out in the order the micro-kernel reads them. Transposes are
//    absorbed here, so A·B, A·Bᵀ and Aᵀ·B all reach the micro-kernel in one
//    layout and run at the same speed.
// 2. A WebAssembly SIMD micro-kernel keeps an MR×NR tile of C in registers
//    and streams one A panel and one B panel through it, over the whole of k:
//    each C tile is computed once and stored once (no zero-fill, no reload).
//    With relaxed SIMD (feature-detected) each step is one fused multiply-add.
// 3. Work is cut into tasks of (a block of A panels) × (a chunk of B panels)
//    and spread over a pool of threads sharing the module's memory
//    (kernels/threads/pool.ts). A C tile is always computed by the same code
//    over the same k order, whichever thread runs it, so results are bitwise
//    the same for any thread count.
// Without WebAssembly SIMD (and for tiny products) a blocked JS loop is used.

import type { FloatArray, Gemm } from '../reference/gemm.ts';
import { ValueError } from '../../base/errors.ts';
import { CONTROL_BYTES, defaultThreads, ThreadPool } from '../threads/pool.ts';
import { Func, Module, type MemOp, type Op } from '../../base/wasm-assembler.ts';

// A 4×2-vector tile (8 accumulators). Larger tiles (6×2, 5×2, 4×3: 10–12 accumulators)
// and unrolling the k loop by 2 or 4 all measured 10–35 % slower under V8 11.3 (Node 20)
// on x86-64 (GFLOP/s per CPU-second, one thread, BERT-base shapes): V8's register
// allocator spills them.
const MR = 4; // rows in a register tile
const NV = 2; // SIMD vectors per tile row: NR = NV * lanes columns
const BLOCK_BYTES = 192 * 1024; // a block of packed A panels that stays in L2 while B panels stream by
/**
 * Work a thread must get before a product is split. The caller never waits for a worker
 * that has not started (kernels/threads/pool.ts), so splitting costs only the wake-up
 * call (a few µs) — but a worker takes ~10–50 µs to wake, so a share under ~256 k
 * multiply-adds (~15 µs at 35 GFLOP/s) would be done by the caller before it could help.
 */
export const PARALLEL_MIN_MACS = 1 << 18;
const MAX_PAGES = 32768; // 2 GiB: the memory's ceiling (a shared memory must declare one)

interface Dtype {
  bytes: number;
  load: MemOp;
  store: MemOp;
  splat: MemOp;
  add: Op;
  mul: Op;
  madd: Op;
}
const F32: Dtype = {
  bytes: 4,
  load: 'f32.load',
  store: 'f32.store',
  splat: 'v128.load32_splat',
  add: 'f32x4.add',
  mul: 'f32x4.mul',
  madd: 'f32x4.relaxed_madd',
};
const F64: Dtype = {
  bytes: 8,
  load: 'f64.load',
  store: 'f64.store',
  splat: 'v128.load64_splat',
  add: 'f64x2.add',
  mul: 'f64x2.mul',
  madd: 'f64x2.relaxed_madd',
};
const lanes = (t: Dtype) => 16 / t.bytes;

// All wasm functions below take addresses and strides in bytes, and loop
// do-while style, so every count they get must be at least 1.

/**
 * pack(src, is, ps, panels, k, dst): writes `panels` panels of w rows of
 * X(i, p) = src[i*is + p*ps] to dst: panel by panel, then p by p, the w
 * values of column p together. That is the order `tile` reads them in.
 * This is the strided packer: the w values of a column are gathered one by one.
 */
function packFunc(t: Dtype, w: number): Func {
  const f = new Func(Array(6).fill('i32'));
  const [src, is, ps, panels, k, dst] = [0, 1, 2, 3, 4, 5];
  const sp = f.local('i32'),
    q = f.local('i32'),
    kLeft = f.local('i32');
  f.loop(() => {
    f.get(src).set(sp).get(k).set(kLeft);
    f.loop(() => {
      f.get(sp).set(q);
      for (let r = 0; r < w; r++) {
        f.get(dst)
          .get(q)
          .mem(t.load)
          .mem(t.store, r * t.bytes);
        f.get(q).get(is).op('i32.add').set(q);
      }
      f.get(dst)
        .i32(w * t.bytes)
        .op('i32.add')
        .set(dst);
      f.get(sp).get(ps).op('i32.add').set(sp);
      f.get(kLeft).i32(1).op('i32.sub').tee(kLeft).brIf(0);
    });
    f.get(src).get(is).i32(w).op('i32.mul').op('i32.add').set(src);
    f.get(panels).i32(1).op('i32.sub').tee(panels).brIf(0);
  });
  return f;
}

const PACK_ROWS = 16; // k steps per pass of the contiguous packer

/**
 * The same packing when `is` is one element: the w values of column p are adjacent
 * (a row of B, or of a stored-transposed A) and move as vectors. The source's rows are
 * ps bytes apart — 3 to 12 KB for BERT's matrices — so a panel-by-panel pass would touch
 * a new page for every k step of every panel; instead, PACK_ROWS rows are packed into
 * every panel before moving on, so those rows' pages stay in the TLB and cache.
 */
function packContiguousFunc(t: Dtype, w: number): Func {
  const f = new Func(Array(6).fill('i32'));
  const [src, , ps, panels, k, dst] = [0, 1, 2, 3, 4, 5];
  const p0 = f.local('i32'),
    rows = f.local('i32'),
    pan = f.local('i32'),
    sp = f.local('i32'),
    dp = f.local('i32'),
    r = f.local('i32');
  const panelBytes = f.local('i32');
  f.get(k)
    .i32(w * t.bytes)
    .op('i32.mul')
    .set(panelBytes); // one packed panel: w·k values
  f.loop(() => {
    f.get(k).get(p0).op('i32.sub').set(rows);
    f.i32(PACK_ROWS).get(rows).i32(PACK_ROWS).get(rows).op('i32.lt_u').op('select').set(rows); // min(PACK_ROWS, k − p0)
    f.i32(0).set(pan);
    f.loop(() => {
      f.get(src)
        .get(pan)
        .i32(w * t.bytes)
        .op('i32.mul')
        .op('i32.add')
        .get(p0)
        .get(ps)
        .op('i32.mul')
        .op('i32.add')
        .set(sp);
      f.get(dst)
        .get(pan)
        .get(panelBytes)
        .op('i32.mul')
        .op('i32.add')
        .get(p0)
        .i32(w * t.bytes)
        .op('i32.mul')
        .op('i32.add')
        .set(dp);
      f.get(rows).set(r);
      f.loop(() => {
        for (let o = 0; o < w * t.bytes; o += 16) f.get(dp).get(sp).mem('v128.load', o).mem('v128.store', o);
        f.get(sp).get(ps).op('i32.add').set(sp);
        f.get(dp)
          .i32(w * t.bytes)
          .op('i32.add')
          .set(dp);
        f.get(r).i32(1).op('i32.sub').tee(r).brIf(0);
      });
      f.get(pan).i32(1).op('i32.add').tee(pan).get(panels).op('i32.ne').brIf(0);
    });
    f.get(p0).i32(PACK_ROWS).op('i32.add').tee(p0).get(k).op('i32.lt_u').brIf(0);
  });
  return f;
}

/** Pushes min(x, y) of two i32 locals (unsigned). */
const minU = (f: Func, x: number, y: number) => f.get(x).get(y).get(x).get(y).op('i32.lt_u').op('select');

/**
 * packTask(t, src, is, ps, panels, k, dst, perTask): task t of a pack, panels
 * [t·perTask, min((t+1)·perTask, panels)), so threads can share the packing.
 */
function packTaskFunc(t: Dtype, w: number, pack: number): Func {
  const f = new Func(Array(8).fill('i32'));
  const [task, src, is, ps, panels, k, dst, perTask] = [0, 1, 2, 3, 4, 5, 6, 7];
  const first = f.local('i32'),
    count = f.local('i32');
  f.get(task).get(perTask).op('i32.mul').set(first);
  f.get(panels).get(first).op('i32.sub').set(count);
  minU(f, count, perTask).set(count);
  f.get(src).get(first).get(is).op('i32.mul').i32(w).op('i32.mul').op('i32.add'); // src + first·w·is
  f.get(is).get(ps).get(count).get(k);
  f.get(dst)
    .get(first)
    .get(k)
    .op('i32.mul')
    .i32(w * t.bytes)
    .op('i32.mul')
    .op('i32.add'); // dst + first·w·k·bytes
  f.call(pack);
  return f;
}

/**
 * tile(a, b, c, k, ldc[, bias]): C[MR×NR] = Apanel · Bpanel over k steps (+ the NR bias
 * values at `bias`, added to every row before the store: the bias add of a linear layer,
 * fused into the epilogue). The A panel holds MR values per k step, the B panel NR values
 * per k step, and C rows are ldc bytes apart. The accumulators are locals, which start at 0.
 */
function tileFunc(t: Dtype, fma: boolean, withBias: boolean): Func {
  const f = new Func(withBias ? ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'] : ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, b, c, kc, ldc, bias] = [0, 1, 2, 3, 4, 5];
  const acc = Array.from({ length: MR }, () => Array.from({ length: NV }, () => f.local('v128')));
  const bv = Array.from({ length: NV }, () => f.local('v128'));
  const x = f.local('v128');
  f.loop(() => {
    bv.forEach((v, i) =>
      f
        .get(b)
        .mem('v128.load', 16 * i)
        .set(v),
    );
    for (let r = 0; r < MR; r++) {
      f.get(a)
        .mem(t.splat, r * t.bytes)
        .set(x); // A(r, p) in every lane
      acc[r]!.forEach((v, i) => {
        if (fma) f.get(x).get(bv[i]!).get(v).op(t.madd).set(v);
        else f.get(v).get(x).get(bv[i]!).op(t.mul).op(t.add).set(v);
      });
    }
    f.get(a)
      .i32(MR * t.bytes)
      .op('i32.add')
      .set(a);
    f.get(b)
      .i32(NV * 16)
      .op('i32.add')
      .set(b);
    f.get(kc).i32(1).op('i32.sub').tee(kc).brIf(0);
  });
  if (withBias) {
    bv.forEach((v, i) =>
      f
        .get(bias)
        .mem('v128.load', 16 * i)
        .set(v),
    );
    for (let r = 0; r < MR; r++) acc[r]!.forEach((v, i) => f.get(v).get(bv[i]!).op(t.add).set(v));
  }
  for (let r = 0; r < MR; r++) {
    acc[r]!.forEach((v, i) =>
      f
        .get(c)
        .get(v)
        .mem('v128.store', 16 * i),
    );
    f.get(c).get(ldc).op('i32.add').set(c);
  }
  return f;
}

/**
 * gemmTask(t, a, b, c, mTiles, nPanels, k, ldc, blockTiles, chunkPanels, rowBlocks[, bias]):
 * task t computes the C tiles of A panels [i0, i1) (row block t mod rowBlocks) times
 * B panels [j0, j1) (column chunk t div rowBlocks). B panels are the outer loop, so
 * each is reused from L1 by every A panel of the block, which stays in L2.
 */
function gemmTaskFunc(t: Dtype, tile: number, withBias: boolean): Func {
  const f = new Func(Array(withBias ? 12 : 11).fill('i32'));
  const [task, a, b, c, mTiles, nPanels, k, ldc, blockTiles, chunkPanels, rowBlocks, bias] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const NR = NV * lanes(t);
  const i0 = f.local('i32'),
    i1 = f.local('i32'),
    j = f.local('i32'),
    j1 = f.local('i32'),
    i = f.local('i32');
  const aStride = f.local('i32'),
    bStride = f.local('i32'),
    tmp = f.local('i32');
  f.get(k)
    .i32(MR * t.bytes)
    .op('i32.mul')
    .set(aStride);
  f.get(k)
    .i32(NR * t.bytes)
    .op('i32.mul')
    .set(bStride);
  f.get(task).get(rowBlocks).op('i32.rem_u').get(blockTiles).op('i32.mul').set(i0);
  f.get(i0).get(blockTiles).op('i32.add').set(tmp);
  minU(f, tmp, mTiles).set(i1);
  f.get(task).get(rowBlocks).op('i32.div_u').get(chunkPanels).op('i32.mul').set(j);
  f.get(j).get(chunkPanels).op('i32.add').set(tmp);
  minU(f, tmp, nPanels).set(j1);
  f.loop(() => {
    f.get(i0).set(i);
    f.loop(() => {
      f.get(a).get(i).get(aStride).op('i32.mul').op('i32.add');
      f.get(b).get(j).get(bStride).op('i32.mul').op('i32.add');
      f.get(c)
        .get(i)
        .get(ldc)
        .op('i32.mul')
        .i32(MR)
        .op('i32.mul')
        .op('i32.add')
        .get(j)
        .i32(NR * t.bytes)
        .op('i32.mul')
        .op('i32.add');
      f.get(k).get(ldc);
      if (withBias)
        f.get(bias)
          .get(j)
          .i32(NR * t.bytes)
          .op('i32.mul')
          .op('i32.add'); // this panel's NR bias values
      f.call(tile);
      f.get(i).i32(1).op('i32.add').tee(i).get(i1).op('i32.ne').brIf(0);
    });
    f.get(j).i32(1).op('i32.add').tee(j).get(j1).op('i32.ne').brIf(0);
  });
  return f;
}

/** Whether this engine validates relaxed SIMD (Node ≥ 22, Chromium ≥ 114; Node 20 only behind a flag). */
function hasRelaxedSimd(): boolean {
  const f = new Func([]);
  const v = f.local('v128');
  f.get(v).get(v).get(v).op('f32x4.relaxed_madd').set(v);
  const m = new Module();
  m.add(f);
  return WebAssembly.validate(m.encode());
}

/** One dtype's pool functions (indices into the pool's names; −1: not built). */
interface Kernels {
  packA: number;
  packAc: number;
  packB: number;
  packBc: number;
  gemm: number;
  gemmBias: number;
}

interface Wasm {
  memory: WebAssembly.Memory;
  pool: ThreadPool;
  fma: boolean;
  f32: Kernels;
  f64: Kernels;
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
  if (typeof WebAssembly !== 'object') return undefined;
  const memory = newMemory();
  const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  const simdProbe = new Module();
  simdProbe.add(tileFunc(F32, false, false));
  if (!WebAssembly.validate(simdProbe.encode())) return undefined; // no SIMD support
  const fma = relaxed && hasRelaxedSimd();
  const mod = new Module({ imported: { shared, maximumPages: MAX_PAGES } });
  const names: string[] = [];
  const task = (func: Func, name: string) => {
    mod.add(func, name);
    return names.push(name) - 1;
  };
  const kernels = {} as Record<'f32' | 'f64', Kernels>;
  for (const [name, t] of [
    ['f32', F32],
    ['f64', F64],
  ] as const) {
    const NR = NV * lanes(t);
    // w·bytes is a multiple of 16 for both tiles and dtypes, as packContiguousFunc's vector copies need.
    const packs = {
      packA: mod.add(packFunc(t, MR)),
      packAc: mod.add(packContiguousFunc(t, MR)),
      packB: mod.add(packFunc(t, NR)),
      packBc: mod.add(packContiguousFunc(t, NR)),
    };
    kernels[name] = {
      packA: task(packTaskFunc(t, MR, packs.packA), `${name}.packA`),
      packAc: task(packTaskFunc(t, MR, packs.packAc), `${name}.packAc`),
      packB: task(packTaskFunc(t, NR, packs.packB), `${name}.packB`),
      packBc: task(packTaskFunc(t, NR, packs.packBc), `${name}.packBc`),
      gemm: task(gemmTaskFunc(t, mod.add(tileFunc(t, fma, false)), false), `${name}.gemm`),
      // The fused bias only for float32 (the training dtype): it keeps the module under 4 KiB.
      gemmBias: t === F32 ? task(gemmTaskFunc(t, mod.add(tileFunc(t, fma, true)), true), `${name}.gemmBias`) : -1,
    };
  }
  // 3,726 bytes: under the 4 KiB limit that Chromium long put on synchronous
  // compilation on a page's main thread. Mind it when adding kernels.
  const module = new WebAssembly.Module(mod.encode());
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const pool = new ThreadPool(module, memory, instance, names);
  pool.setThreads(defaultThreads());
  return { memory, pool, fma, f32: kernels.f32, f64: kernels.f64 };
}

// Plain SIMD by default: relaxed_madd may be fused or not depending on the engine and the
// hardware, so with it a result could differ in the last bit between Node 20 (no relaxed
// SIMD) and a browser, which the project checks bitwise (spec/package/browser.spec.ts).
let wasm = compile(false);

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
  wasm?.pool.setThreads(n);
}

/** The pool behind the GEMM (undefined without WebAssembly SIMD): for tests and benchmarks. */
export let threadPool: ThreadPool | undefined = wasm?.pool;

/**
 * Opt in to (or out of) relaxed-SIMD fused multiply-adds in the GEMM, where the engine
 * validates them (Node ≥ 22, Chromium ≥ 114; Node 20 only with
 * --experimental-wasm-relaxed-simd). Faster where the CPU has FMA, but results may then
 * differ in the last bits from an engine without it (they stay independent of the thread
 * count). Rebuilds the kernels and their thread pool; returns whether FMA is now in use.
 *
 * @example
 * ```ts
 * import { setRelaxedSimd } from 'sparsegrad';
 * setRelaxedSimd(false); // => false
 * ```
 */
export function setRelaxedSimd(on: boolean): boolean {
  if (!wasm || wasm.fma === on || (on && !hasRelaxedSimd())) return wasm?.fma ?? false;
  const threads = wasm.pool.threadCount;
  wasm.pool.shutdown();
  wasm = compile(on)!;
  wasm.pool.setThreads(threads);
  threadPool = wasm.pool;
  return wasm.fma;
}

/**
 * The CPU kernels' threading: the count asked for, the workers running now, and whether FMA is used.
 *
 * @example
 * ```ts
 * import { threadInfo } from 'sparsegrad';
 * threadInfo().threads >= 1; // => true
 * ```
 */
export function threadInfo(): { threads: number; readyWorkers: number; parallel: boolean; fma: boolean } {
  if (!wasm) return { threads: 1, readyWorkers: 0, parallel: false, fma: false };
  return { threads: wasm.pool.threadCount, readyWorkers: wasm.pool.readyWorkers, parallel: wasm.pool.parallel, fma: wasm.fma };
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
  await wasm?.pool.ready();
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;
/** One past the last index of X(i, p) = off + i*is + p*ps over count×k. */
const reach = (count: number, is: number, k: number, ps: number) => (count - 1) * is + (k - 1) * ps + 1;

/** The SIMD path; returns false, computing nothing, when the operands would not fit under MAX_PAGES. */
function wasmGemm(
  ...[transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, bias, biasOff = 0]: [...Parameters<Gemm>, bias?: FloatArray, biasOff?: number]
): boolean {
  const { memory, pool } = wasm!;
  const t = c instanceof Float32Array ? F32 : F64;
  const K = t === F32 ? wasm!.f32 : wasm!.f64;
  const NR = NV * lanes(t),
    mPad = roundUp(m, MR),
    nPad = roundUp(n, NR);
  const mTiles = mPad / MR,
    nPanels = nPad / NR;
  // op(A)(i, p) = a[aOff + i*aIs + p*aPs], and op(B)ᵀ(j, p) likewise.
  const aIs = transA ? 1 : lda,
    aPs = transA ? lda : 1;
  const bIs = transB ? ldb : 1,
    bPs = transB ? 1 : ldb;

  // Memory layout, in elements, each part 64-byte aligned, after the pool's control block:
  // raw A | raw B | packed A | packed B | C (mPad×nPad) | bias (nPad, if any).
  // Panels are padded up to whole tiles. The padding rows are read from
  // past the copied operands; they only feed C entries that are never copied
  // out, so their contents do not matter, but the reads must stay in memory.
  const rawA = CONTROL_BYTES / t.bytes;
  const rawB = roundUp(rawA + reach(mPad, aIs, k, aPs), 16);
  const packA = roundUp(rawB + reach(nPad, bIs, k, bPs), 16);
  const packB = packA + mPad * k,
    cAt = packB + nPad * k,
    biasAt = cAt + mPad * nPad,
    end = biasAt + (bias ? nPad : 0);
  if (end * t.bytes > MAX_PAGES * 65536) return false; // past the memory's ceiling: the caller takes the JS path
  const missing = end * t.bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  const mem = t === F32 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);

  const B = t.bytes;
  mem.set(a.subarray(aOff, aOff + reach(m, aIs, k, aPs)), rawA);
  mem.set(b.subarray(bOff, bOff + reach(n, bIs, k, bPs)), rawB);
  if (bias) mem.set(bias.subarray(biasOff, biasOff + n), biasAt); // its padding columns feed only C's padding
  // Packing is split into tasks of ≥ 64 KiB of output, so small operands stay on one thread.
  const pack = (fn: number, src: number, is: number, ps: number, panels: number, w: number, dst: number) => {
    const perTask = Math.max(1, Math.ceil(65536 / (w * k * B)));
    pool.run(fn, Math.ceil(panels / perTask), [src * B, is * B, ps * B, panels, k, dst * B, perTask]);
  };
  pack(aIs === 1 ? K.packAc : K.packA, rawA, aIs, aPs, mTiles, MR, packA);
  pack(bIs === 1 ? K.packBc : K.packB, rawB, bIs, bPs, nPanels, NR, packB);

  // Row blocks of A panels that fit BLOCK_BYTES; column chunks sized so that every thread
  // gets a few tasks (the split never changes a C tile's arithmetic, only who runs it).
  const blockTiles = Math.max(1, Math.min(mTiles, Math.floor(BLOCK_BYTES / (MR * k * B))));
  const rowBlocks = Math.ceil(mTiles / blockTiles);
  // Many small tasks balance the load when another process takes a core for a while.
  const wantTasks = 16 * pool.threadCount;
  const chunkPanels = Math.max(1, Math.ceil(nPanels / Math.max(1, Math.ceil(wantTasks / rowBlocks))));
  const tasks = rowBlocks * Math.ceil(nPanels / chunkPanels);
  const minTasks = Math.ceil(PARALLEL_MIN_MACS / (blockTiles * MR * chunkPanels * NR * k));
  const args = [packA * B, packB * B, cAt * B, mTiles, nPanels, k, nPad * B, blockTiles, chunkPanels, rowBlocks];
  if (bias) pool.run(K.gemmBias, tasks, [...args, biasAt * B], minTasks);
  else pool.run(K.gemm, tasks, args, minTasks);

  if (ldc === n && nPad === n)
    c.set(mem.subarray(cAt, cAt + m * n), cOff); // rows line up: one copy
  else for (let i = 0; i < m; i++) c.set(mem.subarray(cAt + i * nPad, cAt + i * nPad + n), cOff + i * ldc);
  return true;
}

// The JS path keeps a transposed B here, grown on demand and reused.
let scratch32 = new Float32Array(0),
  scratch64 = new Float64Array(0);
function scratch(like: FloatArray, size: number): FloatArray {
  if (like instanceof Float32Array) {
    if (scratch32.length < size) scratch32 = new Float32Array(size);
    return scratch32;
  }
  if (scratch64.length < size) scratch64 = new Float64Array(size);
  return scratch64;
}

const JB = 512,
  KB = 128; // JS path blocks: KB×JB of B stays in L2

/** Blocked i-p-j loop: the inner loop runs along contiguous rows of B and C. */
const jsGemm: Gemm = (transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc) => {
  if (transB) {
    // make B's rows contiguous first
    const s = scratch(b, k * n);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) s[p * n + j] = b[bOff + j * ldb + p]!;
    b = s;
    bOff = 0;
    ldb = n;
  }
  const ai = transA ? 1 : lda,
    ap = transA ? lda : 1;
  for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(j0 + JB, n);
    for (let p0 = 0; p0 < k; p0 += KB) {
      const p1 = Math.min(p0 + KB, k);
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * ldc;
        for (let p = p0; p < p1; p++) {
          const aip = a[aOff + i * ai + p * ap]!,
            bp = bOff + p * ldb;
          for (let j = j0; j < j1; j++) c[ci + j]! += aip * b[bp + j]!;
        }
      }
    }
  }
};

/** C = op(A) · op(B); see kernels/reference/gemm.ts for the exact contract. */
export const gemm: Gemm = (transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc) => {
  if (m === 0 || n === 0) return;
  // Below ~256 multiply-adds the copies into wasm memory cost more than they save.
  if (wasm && m * n * k >= 256 && wasmGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc)) return;
  jsGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
};

/**
 * C = op(A) · op(B) + bias, the bias (n values from bias[biasOff]) added to every row: a
 * linear layer's forward in one pass. In float32 the micro-kernel adds it in its epilogue,
 * after the sum is rounded to float32; float64 (and tiny products) add it after the GEMM.
 * Either way the result is bitwise that of gemm followed by a separate add.
 */
export function gemmBias(
  ...[transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, bias, biasOff]: [...Parameters<Gemm>, bias: FloatArray, biasOff: number]
): void {
  if (m === 0 || n === 0) return;
  if (wasm && m * n * k >= 256 && c instanceof Float32Array && wasmGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, bias, biasOff))
    return;
  gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOff + i * ldc + j]! += bias[biasOff + j]!;
}
