// Fast matrix multiply, same contract as kernels/reference/gemm.ts.
//
// The plan is the classic GotoBLAS/BLIS one:
// 1. Pack op(A) into panels of MR rows and op(B) into panels of NR columns,
//    laid out in the order the micro-kernel reads them. Transposes are
//    absorbed here, so A·B, A·Bᵀ and Aᵀ·B all reach the micro-kernel in one
//    layout and run at the same speed.
// 2. A WebAssembly SIMD micro-kernel (kernels/cpu/gemm-kernels.ts) keeps an MR×NR
//    tile of C in registers and streams one A panel and one B panel through it, over the
//    whole of k, or over k-blocks of KC steps when k is long (the tile reloaded from C
//    between them: the same sums in the same order); C is never zero-filled.
//    With relaxed SIMD (feature-detected) each step is one fused multiply-add.
// 3. Work is cut into tasks of (a block of A panels) × (a chunk of B panels)
//    and spread over a pool of threads sharing the module's memory
//    (kernels/cpu/wasm-runtime.ts). A C tile is always computed by the same
//    code over the same k order, whichever thread runs it, so results are
//    bitwise the same for any thread count.
// Without WebAssembly SIMD (and for tiny products, with the plain kernel) a blocked JS loop is used.

import type { FloatArray, Gemm } from '../reference/gemm.ts';
import { F32, F64, lanes, MR, NV } from './gemm-kernels.ts';
import { ensureBytes, HEAP_START, roundUp, wasmRuntime } from './wasm-runtime.ts';

const BLOCK_BYTES = 192 * 1024; // a block of packed A panels that stays in L2 while B panels stream by
/**
 * A k longer than LONG_K is summed in k-blocks of KC steps (gemmTaskFunc): a B panel's KC rows
 * (16 KiB: 8 × 512 float32, or 4 × 512 float64) then stay in L1 for every A panel of a block.
 * Up to LONG_K a whole A panel and B panel fit in L2 and one pass is as fast or faster (each
 * k-block stores and reloads the C tiles); beyond it they stream from memory: 307 × 30,522 ·
 * 30,522 × 256 (an MLM head's dX) ran at 20–26 GFLOP/s in one pass, 31–46 in k-blocks (two
 * threads, alternating runs).
 */
const LONG_K = 4096,
  KC = 512;
/**
 * Work a thread must get before a product is split. The caller never waits for a worker
 * that has not started (kernels/threads/pool.ts), so splitting costs only the wake-up
 * call (a few µs) — but a worker takes ~10–50 µs to wake, so a share under ~256 k
 * multiply-adds (~15 µs at 35 GFLOP/s) would be done by the caller before it could help.
 */
export const PARALLEL_MIN_MACS = 1 << 18;

/** The wasm GEMM's steps, timed for bench/kernel-profile.ts: where a product's time goes besides the micro-kernel. */
export type GemmPhase = 'copy in' | 'pack A' | 'pack B' | 'multiply' | 'copy out';
let phaseTimes: Record<GemmPhase, number> | null = null;

/**
 * From now on, add each wasm GEMM's time per phase (ms) into the record returned, or stop
 * (off: null). Off by default; on, it costs one clock read per phase.
 */
export function timeGemmPhases(on: boolean): Record<GemmPhase, number> | null {
  phaseTimes = on ? { 'copy in': 0, 'pack A': 0, 'pack B': 0, multiply: 0, 'copy out': 0 } : null;
  return phaseTimes;
}

/** One past the last index of X(i, p) = off + i*is + p*ps over count×k. */
const reach = (count: number, is: number, k: number, ps: number) => (count - 1) * is + (k - 1) * ps + 1;

/**
 * Bytes of wasm memory one batched call may lay out at once: a batch past it runs in
 * groups (the memory never shrinks, so one huge batch would keep it large).
 */
const GROUP_BYTES = 16 << 20;
/** The pool numbers a job's tasks in 16 bits (kernels/threads/pool.ts). */
const MAX_TASKS = 0xffff;

/**
 * Copies one operand of a group of products into wasm memory at element `at`, and writes
 * where each product's copy starts (bytes from `at`) into the i32 table at element `table`.
 * Products whose operands overlap — the heads of one attention tensor, interleaved in its
 * rows, or an operand broadcast over the batch — share one copy of the span that covers
 * them all, when that copies no more than one slot per product would; else each gets a
 * slot of `slot` elements. `rows`/`padRows` give each operand's extent without and with the
 * padding rows, which the packer reads (only into C's discarded padding) and must find in
 * memory. Returns the end of the copy (elements).
 */
function placeOperand(
  mem: FloatArray,
  x: FloatArray,
  offs: readonly number[],
  [rows, padRows]: [number, number],
  at: number,
  slot: number,
  table: Int32Array,
): number {
  const g = offs.length;
  let lo = Infinity,
    hi = -Infinity;
  for (const o of offs) {
    lo = Math.min(lo, o);
    hi = Math.max(hi, o);
  }
  if (hi - lo + rows <= g * rows) {
    mem.set(x.subarray(lo, hi + rows), at);
    offs.forEach((o, i) => (table[i] = (o - lo) * mem.BYTES_PER_ELEMENT));
    return at + hi - lo + padRows;
  }
  offs.forEach((o, i) => {
    mem.set(x.subarray(o, o + rows), at + i * slot);
    table[i] = i * slot * mem.BYTES_PER_ELEMENT;
  });
  return at + g * slot;
}

/**
 * The batch C_i = op(A_i)·op(B_i) (+ bias), i < aOffs.length, every product of the same
 * shape and leading dimensions, the i-th reading A at aOffs[i] and B at bOffs[i] and writing
 * C at cOffs[i]. The batch shares each of the three pool jobs (pack A, pack B, multiply), so
 * the small products of attention (one per batch row and head) split over the threads as
 * one large product would, instead of paying three wake-ups each. Returns false, computing
 * nothing, when even one product would not fit under MAX_PAGES.
 */
function wasmGemm(
  ...[transA, transB, m, n, k, a, aOffs, lda, b, bOffs, ldb, c, cOffs, ldc, bias, biasOff = 0]: [...BatchArgs, bias?: FloatArray, biasOff?: number]
): boolean {
  const wasm = wasmRuntime()!;
  const { memory, pool } = wasm;
  const t = c instanceof Float32Array ? F32 : F64;
  const K = t === F32 ? wasm.f32 : wasm.f64;
  const B = t.bytes;
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
  const aRows: [number, number] = [reach(m, aIs, k, aPs), reach(mPad, aIs, k, aPs)],
    bRows: [number, number] = [reach(n, bIs, k, bPs), reach(nPad, bIs, k, bPs)];

  // Memory layout, in elements, each part 64-byte aligned, from HEAP_START on, for a group
  // of g products: the offset tables of raw A and raw B (g i32 each) | raw A (g slots, or
  // one shared span: placeOperand) | raw B | g packed A | g packed B | g C (mPad×nPad) |
  // bias (nPad, if any). Panels are padded up to whole tiles.
  const aSlot = roundUp(aRows[1], 16),
    bSlot = roundUp(bRows[1], 16);
  const packASlot = mPad * k,
    packBSlot = nPad * k,
    cSlot = mPad * nPad;
  const itemBytes = (aSlot + bSlot + packASlot + packBSlot + cSlot) * B + 8;

  // Packing is split into tasks of ≥ 64 KiB of output, so small operands stay on one thread,
  // and of ≥ 512 bytes of each source row: a task that packed one 32-byte panel of a long
  // row-major B would touch a new page (TLB miss) for every 32 bytes it copies, and its
  // neighbour would fetch the same cache lines again. 128×3072 · 3072×3072 (B = 37 MB):
  // 98 → 88 ms on one thread.
  const packTasks = (panels: number, w: number) => {
    const perTask = Math.max(Math.ceil(512 / (w * B)), Math.ceil(65536 / (w * k * B)));
    return { perTask, perItem: Math.ceil(panels / perTask) };
  };
  const packA = packTasks(mTiles, MR),
    packB = packTasks(nPanels, NR);
  // Row blocks of A panels that fit BLOCK_BYTES; column chunks sized so that every thread
  // gets a few tasks over the whole batch (the split never changes a C tile's arithmetic,
  // only who runs it). Many small tasks balance the load when another process takes a core.
  const kc = k > LONG_K ? KC : k;
  const blockTiles = Math.max(1, Math.min(mTiles, Math.floor(BLOCK_BYTES / (MR * kc * B))));
  const rowBlocks = Math.ceil(mTiles / blockTiles);
  const count = aOffs.length;
  const wantChunks = Math.max(1, Math.ceil((16 * pool.threadCount) / (rowBlocks * count)));
  const chunkPanels = Math.max(1, Math.ceil(nPanels / wantChunks));
  const gemmPerItem = rowBlocks * Math.ceil(nPanels / chunkPanels);
  const maxPerItem = Math.max(packA.perItem, packB.perItem, gemmPerItem);

  // The most a group of g products can take (shared spans copy no more than slots do).
  const bound = (g: number) => HEAP_START + g * itemBytes + 1024 + (bias ? nPad * B : 0); // + the parts' alignment
  let group = Math.max(1, Math.min(count, Math.floor(GROUP_BYTES / itemBytes), Math.floor(MAX_TASKS / maxPerItem)));
  if (!ensureBytes(memory, bound(group))) {
    group = 1;
    if (!ensureBytes(memory, bound(1))) return false; // past the memory's ceiling: the caller takes the JS path
  }
  const mem = t === F32 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  const times = phaseTimes;
  let last = times ? performance.now() : 0;
  const lap = (phase: GemmPhase) => {
    if (!times) return;
    const now = performance.now();
    times[phase] += now - last;
    last = now;
  };
  for (let first = 0; first < count; first += group) {
    const g = Math.min(group, count - first);
    const aTable = HEAP_START / 4,
      bTable = aTable + g;
    const rawA = roundUp((bTable + g) * (4 / B), 16);
    const rawB = roundUp(placeOperand(mem, a, aOffs.slice(first, first + g), aRows, rawA, aSlot, i32.subarray(aTable, aTable + g)), 16);
    const packedA = roundUp(placeOperand(mem, b, bOffs.slice(first, first + g), bRows, rawB, bSlot, i32.subarray(bTable, bTable + g)), 16);
    const packedB = roundUp(packedA + g * packASlot, 16);
    const cAt = roundUp(packedB + g * packBSlot, 16);
    const biasAt = roundUp(cAt + g * cSlot, 16);
    if (bias) mem.set(bias.subarray(biasOff, biasOff + n), biasAt); // its padding columns feed only C's padding
    lap('copy in');
    const pack = (fn: number, src: number, table: number, is: number, ps: number, panels: number, dst: number, dstSlot: number, tasks: typeof packA) =>
      pool.run(fn, g * tasks.perItem, [src * B, is * B, ps * B, panels, k, dst * B, tasks.perTask, tasks.perItem, table * 4, dstSlot * B]);
    pack(aIs === 1 ? K.packAc : K.packA, rawA, aTable, aIs, aPs, mTiles, packedA, packASlot, packA);
    lap('pack A');
    pack(bIs === 1 ? K.packBc : K.packB, rawB, bTable, bIs, bPs, nPanels, packedB, packBSlot, packB);
    lap('pack B');

    const minTasks = Math.ceil(PARALLEL_MIN_MACS / (blockTiles * MR * chunkPanels * NR * k));
    const args = [packedA * B, packedB * B, cAt * B, mTiles, nPanels, k, kc, nPad * B, blockTiles, chunkPanels, rowBlocks];
    const items = [gemmPerItem, packASlot * B, packBSlot * B, cSlot * B];
    if (bias) pool.run(K.gemmBias, g * gemmPerItem, [...args, ...items, biasAt * B], minTasks);
    else pool.run(K.gemm, g * gemmPerItem, [...args, ...items], minTasks);
    lap('multiply');

    for (let i = 0; i < g; i++) {
      const from = cAt + i * cSlot,
        cOff = cOffs[first + i]!;
      if (ldc === n && nPad === n)
        c.set(mem.subarray(from, from + m * n), cOff); // rows line up: one copy
      else for (let r = 0; r < m; r++) c.set(mem.subarray(from + r * nPad, from + r * nPad + n), cOff + r * ldc);
    }
    lap('copy out');
  }
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

/**
 * The arguments of a batch of products of one shape: those of Gemm with an array of
 * offsets for each operand (the i-th product reads A at aOffs[i], B at bOffs[i] and writes C
 * at cOffs[i]; offsets may repeat for an operand broadcast over the batch).
 */
type BatchArgs = [
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  aOffs: readonly number[],
  lda: number,
  b: FloatArray,
  bOffs: readonly number[],
  ldb: number,
  c: FloatArray,
  cOffs: readonly number[],
  ldc: number,
];
export type GemmBatch = (...args: BatchArgs) => void;

/**
 * Below ~256 multiply-adds per product the copies into wasm memory cost more than they save,
 * and in float64 the JS loop's multiply and add give the plain kernel's bits. The fused kernel
 * rounds once per step where they round twice: with it every product takes the kernel, so
 * that an entry of C does not depend on the size of the product it is part of.
 */
const worthWasm = (m: number, n: number, k: number) => {
  const wasm = wasmRuntime();
  // (k = 0 sums nothing: C is zeros either way, and the kernels' loops need k ≥ 1.)
  return wasm !== undefined && (wasm.fma ? k > 0 : m * n * k >= 256);
};

/** Every product of the batch (see BatchArgs), each bitwise what `gemm` gives it alone. */
export const gemmBatch: GemmBatch = (transA, transB, m, n, k, a, aOffs, lda, b, bOffs, ldb, c, cOffs, ldc) => {
  if (m === 0 || n === 0 || aOffs.length === 0) return;
  if (worthWasm(m, n, k) && wasmGemm(transA, transB, m, n, k, a, aOffs, lda, b, bOffs, ldb, c, cOffs, ldc)) return;
  for (let i = 0; i < aOffs.length; i++) jsGemm(transA, transB, m, n, k, a, aOffs[i]!, lda, b, bOffs[i]!, ldb, c, cOffs[i]!, ldc);
};

/** C = op(A) · op(B); see kernels/reference/gemm.ts for the exact contract. */
export const gemm: Gemm = (transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc) =>
  gemmBatch(transA, transB, m, n, k, a, [aOff], lda, b, [bOff], ldb, c, [cOff], ldc);

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
  if (worthWasm(m, n, k) && c instanceof Float32Array && wasmGemm(transA, transB, m, n, k, a, [aOff], lda, b, [bOff], ldb, c, [cOff], ldc, bias, biasOff))
    return;
  gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOff + i * ldc + j]! += bias[biasOff + j]!;
}
