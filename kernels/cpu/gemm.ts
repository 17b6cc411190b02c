// Fast matrix multiply, same contract as kernels/reference/gemm.ts.
//
// The plan is the classic GotoBLAS/BLIS one:
// 1. Pack op(A) into panels of MR rows and op(B) into panels of NR columns,
//    laid out in the order the micro-kernel reads them. Transposes are
//    absorbed here, so A·Bᵀ and Aᵀ·B run exactly as fast as A·B.
// 2. A WebAssembly SIMD micro-kernel keeps an MR×NR tile of C in registers
//    and streams one A panel and one B panel through it.
// 3. Loops over k-blocks and row-blocks keep the working set in cache.
// Without WebAssembly SIMD (and for tiny products) a blocked JS loop is used.

import type { FloatArray } from '../reference/gemm.ts';
import { Func, Module, type MemOp, type Op } from './wasm-assembler.ts';

// A 4×2-vector tile (8 accumulators) measured fastest under V8 on x86-64:
// larger tiles (register pressure) and unrolling the k loop both ran slower.
const MR = 4; // rows in a register tile
const NV = 2; // SIMD vectors per tile row: NR = NV * lanes columns
const KC = 256; // k-block: an A panel plus a B panel stay in L1
const MC = 32 * MR; // row-block: MC×KC of packed A stays in L2

interface Dtype { bytes: number; load: MemOp; store: MemOp; splat: MemOp; add: Op; mul: Op }
const F32: Dtype = {
  bytes: 4, load: 'f32.load', store: 'f32.store', splat: 'v128.load32_splat', add: 'f32x4.add', mul: 'f32x4.mul',
};
const F64: Dtype = {
  bytes: 8, load: 'f64.load', store: 'f64.store', splat: 'v128.load64_splat', add: 'f64x2.add', mul: 'f64x2.mul',
};
const lanes = (t: Dtype) => 16 / t.bytes;

// All wasm functions below take addresses and strides in bytes, and loop
// do-while style, so every count they get must be at least 1.

/**
 * pack(src, is, ps, panels, k, dst): writes `panels` panels of w rows of
 * X(i, p) = src[i*is + p*ps] to dst: panel by panel, then p by p, the w
 * values of column p together. That is the order `tile` reads them in.
 * When `is` is one element, those w values are adjacent and move as vectors.
 */
function packFunc(t: Dtype, w: number, contiguous: boolean): Func {
  const f = new Func(Array(6).fill('i32'));
  const [src, is, ps, panels, k, dst] = [0, 1, 2, 3, 4, 5];
  const sp = f.local('i32'), q = f.local('i32'), kLeft = f.local('i32');
  f.loop(() => {
    f.get(src).set(sp).get(k).set(kLeft);
    f.loop(() => {
      if (contiguous) {
        for (let o = 0; o < w * t.bytes; o += 16) f.get(dst).get(sp).mem('v128.load', o).mem('v128.store', o);
      } else {
        f.get(sp).set(q);
        for (let r = 0; r < w; r++) {
          f.get(dst).get(q).mem(t.load).mem(t.store, r * t.bytes);
          f.get(q).get(is).op('i32.add').set(q);
        }
      }
      f.get(dst).i32(w * t.bytes).op('i32.add').set(dst);
      f.get(sp).get(ps).op('i32.add').set(sp);
      f.get(kLeft).i32(1).op('i32.sub').tee(kLeft).brIf(0);
    });
    f.get(src).get(is).i32(w).op('i32.mul').op('i32.add').set(src);
    f.get(panels).i32(1).op('i32.sub').tee(panels).brIf(0);
  });
  return f;
}

/**
 * tile(a, b, c, kc, ldc): C[MR×NR] += Apanel · Bpanel over kc steps, where
 * the A panel holds MR values per k step, the B panel NR values per k step,
 * and C rows are ldc bytes apart.
 */
function tileFunc(t: Dtype): Func {
  const f = new Func(['i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, b, c, kc, ldc] = [0, 1, 2, 3, 4];
  const row = f.local('i32');
  const acc = Array.from({ length: MR }, () => Array.from({ length: NV }, () => f.local('v128')));
  const bv = Array.from({ length: NV }, () => f.local('v128'));
  const x = f.local('v128');
  const forRows = (each: (r: number) => void) => {
    f.get(c).set(row);
    for (let r = 0; r < MR; r++) {
      each(r);
      f.get(row).get(ldc).op('i32.add').set(row);
    }
  };

  forRows((r) => acc[r].forEach((v, i) => f.get(row).mem('v128.load', 16 * i).set(v)));
  f.loop(() => {
    bv.forEach((v, i) => f.get(b).mem('v128.load', 16 * i).set(v));
    for (let r = 0; r < MR; r++) {
      f.get(a).mem(t.splat, r * t.bytes).set(x); // A(r, p) in every lane
      acc[r].forEach((v, i) => f.get(v).get(x).get(bv[i]).op(t.mul).op(t.add).set(v));
    }
    f.get(a).i32(MR * t.bytes).op('i32.add').set(a);
    f.get(b).i32(NV * 16).op('i32.add').set(b);
    f.get(kc).i32(1).op('i32.sub').tee(kc).brIf(0);
  });
  forRows((r) => acc[r].forEach((v, i) => f.get(row).get(v).mem('v128.store', 16 * i)));
  return f;
}

/**
 * block(a, b, c, aEnd, bEnd, aStride, bStride, kc, ldc): runs `tile` over
 * every (B panel, A panel) pair; panels are aStride / bStride bytes apart.
 * B panels are the outer loop so each one is reused from L1 by all A panels.
 */
function blockFunc(tile: number): Func {
  const f = new Func(Array(9).fill('i32'));
  const [a, b, c, aEnd, bEnd, aStride, bStride, kc, ldc] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ap = f.local('i32'), cp = f.local('i32');
  f.loop(() => {
    f.get(a).set(ap).get(c).set(cp);
    f.loop(() => {
      f.get(ap).get(b).get(cp).get(kc).get(ldc).call(tile);
      f.get(ap).get(aStride).op('i32.add').set(ap);
      f.get(cp).get(ldc).i32(MR).op('i32.mul').op('i32.add').set(cp);
      f.get(ap).get(aEnd).op('i32.ne').brIf(0);
    });
    f.get(b).get(bStride).op('i32.add').set(b);
    f.get(c).i32(NV * 16).op('i32.add').set(c);
    f.get(b).get(bEnd).op('i32.ne').brIf(0);
  });
  return f;
}

type WasmFn = (...args: number[]) => void;
/** One dtype's kernels; packers come strided and contiguous (`…c`). */
interface Kernels { packA: WasmFn; packAc: WasmFn; packB: WasmFn; packBc: WasmFn; block: WasmFn }

function compile(): { memory: WebAssembly.Memory; f32: Kernels; f64: Kernels } | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  const mod = new Module();
  for (const [name, t] of [['f32', F32], ['f64', F64]] as const) {
    const NR = NV * lanes(t);
    mod.add(packFunc(t, MR, false), `${name}.packA`);
    mod.add(packFunc(t, MR, true), `${name}.packAc`);
    mod.add(packFunc(t, NR, false), `${name}.packB`);
    mod.add(packFunc(t, NR, true), `${name}.packBc`);
    mod.add(blockFunc(mod.add(tileFunc(t))), `${name}.block`);
  }
  // About 2 KB: small enough for browsers to allow synchronous compilation
  // on the main thread (they refuse above 4 KB).
  const bytes = mod.encode();
  if (!WebAssembly.validate(bytes)) return undefined; // no SIMD support
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as Record<string, WasmFn>;
  const kernels = (name: string) => ({
    packA: ex[`${name}.packA`], packAc: ex[`${name}.packAc`],
    packB: ex[`${name}.packB`], packBc: ex[`${name}.packBc`], block: ex[`${name}.block`],
  });
  return { memory: ex.memory as unknown as WebAssembly.Memory, f32: kernels('f32'), f64: kernels('f64') };
}

const wasm = compile();

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;
/** One past the last index of X(i, p) = off + i*is + p*ps over count×k. */
const reach = (count: number, is: number, k: number, ps: number) => (count - 1) * is + (k - 1) * ps + 1;

function wasmGemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: FloatArray, aOff: number, lda: number,
  b: FloatArray, bOff: number, ldb: number,
  c: FloatArray, cOff: number, ldc: number,
): void {
  const { memory } = wasm!;
  const t = c instanceof Float32Array ? F32 : F64;
  const K = t === F32 ? wasm!.f32 : wasm!.f64;
  const NR = NV * lanes(t), mPad = roundUp(m, MR), nPad = roundUp(n, NR);
  // op(A)(i, p) = a[aOff + i*aIs + p*aPs], and op(B)ᵀ(j, p) likewise.
  const aIs = transA ? 1 : lda, aPs = transA ? lda : 1;
  const bIs = transB ? ldb : 1, bPs = transB ? 1 : ldb;

  // Memory layout, in elements, each part 64-byte aligned:
  // raw A | raw B | packed A | packed B | C (mPad×nPad).
  // Panels are padded up to whole tiles. The padding rows are read from
  // past the copied operands; they only feed C entries that are never copied
  // out, so their contents do not matter, but the reads must stay in memory.
  const rawA = 0;
  const rawB = roundUp(rawA + reach(mPad, aIs, k, aPs), 16);
  const packA = roundUp(rawB + reach(nPad, bIs, k, bPs), 16);
  const packB = packA + mPad * k, cAt = packB + nPad * k, end = cAt + mPad * nPad;
  const missing = end * t.bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  const mem = t === F32 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);

  const B = t.bytes;
  mem.set(a.subarray(aOff, aOff + reach(m, aIs, k, aPs)), rawA);
  mem.set(b.subarray(bOff, bOff + reach(n, bIs, k, bPs)), rawB);
  (aIs === 1 ? K.packAc : K.packA)(rawA * B, aIs * B, aPs * B, mPad / MR, k, packA * B);
  (bIs === 1 ? K.packBc : K.packB)(rawB * B, bIs * B, bPs * B, nPad / NR, k, packB * B);
  mem.fill(0, cAt, end);

  const aStride = MR * k * B, bStride = NR * k * B, ldcB = nPad * B;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    for (let ic = 0; ic < mPad; ic += MC) {
      const aBlock = (packA + ic * k + pc * MR) * B, bBlock = (packB + pc * NR) * B;
      const mTiles = Math.min(MC, mPad - ic) / MR;
      K.block(aBlock, bBlock, (cAt + ic * nPad) * B,
        aBlock + mTiles * aStride, bBlock + (nPad / NR) * bStride,
        aStride, bStride, kc, ldcB);
    }
  }

  if (ldc === n && nPad === n) c.set(mem.subarray(cAt, cAt + m * n), cOff); // rows line up: one copy
  else for (let i = 0; i < m; i++) c.set(mem.subarray(cAt + i * nPad, cAt + i * nPad + n), cOff + i * ldc);
}

// The JS path keeps a transposed B here, grown on demand and reused.
let scratch32 = new Float32Array(0), scratch64 = new Float64Array(0);
function scratch(like: FloatArray, size: number): FloatArray {
  if (like instanceof Float32Array) {
    if (scratch32.length < size) scratch32 = new Float32Array(size);
    return scratch32;
  }
  if (scratch64.length < size) scratch64 = new Float64Array(size);
  return scratch64;
}

const JB = 512, KB = 128; // JS path blocks: KB×JB of B stays in L2

/** Blocked i-p-j loop: the inner loop runs along contiguous rows of B and C. */
function jsGemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: FloatArray, aOff: number, lda: number,
  b: FloatArray, bOff: number, ldb: number,
  c: FloatArray, cOff: number, ldc: number,
): void {
  if (transB) { // make B's rows contiguous first
    const s = scratch(b, k * n);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) s[p * n + j] = b[bOff + j * ldb + p];
    b = s; bOff = 0; ldb = n;
  }
  const ai = transA ? 1 : lda, ap = transA ? lda : 1;
  for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(j0 + JB, n);
    for (let p0 = 0; p0 < k; p0 += KB) {
      const p1 = Math.min(p0 + KB, k);
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * ldc;
        for (let p = p0; p < p1; p++) {
          const aip = a[aOff + i * ai + p * ap], bp = bOff + p * ldb;
          for (let j = j0; j < j1; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    }
  }
}

/** C = op(A) · op(B); see kernels/reference/gemm.ts for the exact contract. */
export function gemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: FloatArray, aOff: number, lda: number,
  b: FloatArray, bOff: number, ldb: number,
  c: FloatArray, cOff: number, ldc: number,
): void {
  if (m === 0 || n === 0) return;
  // Below ~256 multiply-adds the copies into wasm memory cost more than they save.
  const kernel = wasm && m * n * k >= 256 ? wasmGemm : jsGemm;
  kernel(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
}
