// Fast matrix multiply, same contract as kernels/reference/gemm.ts.
//
// The plan is the classic GotoBLAS/BLIS one:
// 1. Pack op(A) into panels of MR rows and op(B) into panels of NR columns,
//    laid out in the order the micro-kernel reads them. Transposes are
//    absorbed here, so A·B, A·Bᵀ and Aᵀ·B all reach the micro-kernel in one
//    layout and run at the same speed.
// 2. A WebAssembly SIMD micro-kernel (kernels/cpu/gemm-kernels.ts) keeps an MR×NR
//    tile of C in registers and streams one A panel and one B panel through it, over the whole of k:
//    each C tile is computed once and stored once (no zero-fill, no reload).
//    With relaxed SIMD (feature-detected) each step is one fused multiply-add.
// 3. Work is cut into tasks of (a block of A panels) × (a chunk of B panels)
//    and spread over a pool of threads sharing the module's memory
//    (kernels/cpu/wasm-runtime.ts). A C tile is always computed by the same
//    code over the same k order, whichever thread runs it, so results are
//    bitwise the same for any thread count.
// Without WebAssembly SIMD (and for tiny products) a blocked JS loop is used.

import type { FloatArray, Gemm } from '../reference/gemm.ts';
import { F32, F64, lanes, MR, NV } from './gemm-kernels.ts';
import { ensureBytes, HEAP_START, roundUp, wasmRuntime } from './wasm-runtime.ts';

const BLOCK_BYTES = 192 * 1024; // a block of packed A panels that stays in L2 while B panels stream by
/**
 * Work a thread must get before a product is split. The caller never waits for a worker
 * that has not started (kernels/threads/pool.ts), so splitting costs only the wake-up
 * call (a few µs) — but a worker takes ~10–50 µs to wake, so a share under ~256 k
 * multiply-adds (~15 µs at 35 GFLOP/s) would be done by the caller before it could help.
 */
export const PARALLEL_MIN_MACS = 1 << 18;

/** One past the last index of X(i, p) = off + i*is + p*ps over count×k. */
const reach = (count: number, is: number, k: number, ps: number) => (count - 1) * is + (k - 1) * ps + 1;

/** The SIMD path; returns false, computing nothing, when the operands would not fit under MAX_PAGES. */
function wasmGemm(
  ...[transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, bias, biasOff = 0]: [...Parameters<Gemm>, bias?: FloatArray, biasOff?: number]
): boolean {
  const wasm = wasmRuntime()!;
  const { memory, pool } = wasm;
  const t = c instanceof Float32Array ? F32 : F64;
  const K = t === F32 ? wasm.f32 : wasm.f64;
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

  // Memory layout, in elements, each part 64-byte aligned, from HEAP_START on:
  // raw A | raw B | packed A | packed B | C (mPad×nPad) | bias (nPad, if any).
  // Panels are padded up to whole tiles. The padding rows are read from
  // past the copied operands; they only feed C entries that are never copied
  // out, so their contents do not matter, but the reads must stay in memory.
  const rawA = HEAP_START / t.bytes;
  const rawB = roundUp(rawA + reach(mPad, aIs, k, aPs), 16);
  const packA = roundUp(rawB + reach(nPad, bIs, k, bPs), 16);
  const packB = packA + mPad * k,
    cAt = packB + nPad * k,
    biasAt = cAt + mPad * nPad,
    end = biasAt + (bias ? nPad : 0);
  if (!ensureBytes(memory, end * t.bytes)) return false; // past the memory's ceiling: the caller takes the JS path
  const mem = t === F32 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);

  const B = t.bytes;
  mem.set(a.subarray(aOff, aOff + reach(m, aIs, k, aPs)), rawA);
  mem.set(b.subarray(bOff, bOff + reach(n, bIs, k, bPs)), rawB);
  if (bias) mem.set(bias.subarray(biasOff, biasOff + n), biasAt); // its padding columns feed only C's padding
  // Packing is split into tasks of ≥ 64 KiB of output, so small operands stay on one thread,
  // and of ≥ 512 bytes of each source row: a task that packed one 32-byte panel of a long
  // row-major B would touch a new page (TLB miss) for every 32 bytes it copies, and its
  // neighbour would fetch the same cache lines again. 128×3072 · 3072×3072 (B = 37 MB):
  // 98 → 88 ms on one thread.
  const pack = (fn: number, src: number, is: number, ps: number, panels: number, w: number, dst: number) => {
    const perTask = Math.max(Math.ceil(512 / (w * B)), Math.ceil(65536 / (w * k * B)));
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
  if (wasmRuntime() && m * n * k >= 256 && wasmGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc)) return;
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
  if (
    wasmRuntime() &&
    m * n * k >= 256 &&
    c instanceof Float32Array &&
    wasmGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, bias, biasOff)
  )
    return;
  gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOff + i * ldc + j]! += bias[biasOff + j]!;
}
