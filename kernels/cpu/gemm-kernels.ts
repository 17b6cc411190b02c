// The WebAssembly code of the fast GEMM (kernels/cpu/gemm.ts runs it): the packers that
// lay op(A) and op(B) out in panels, the SIMD micro-kernel that multiplies one A panel by
// one B panel into an MR×NR tile of C held in registers, and the task wrappers that let
// the thread pool split the work. Everything here generates code; nothing runs it.

import { Func, type MemOp, Module, type Op } from '../../base/wasm-assembler.ts';

// A 4×2-vector tile (8 accumulators). Larger tiles (6×2, 5×2, 4×3: 10–12 accumulators)
// and unrolling the k loop by 2 or 4 all measured 10–35 % slower under V8 11.3 (Node 20)
// on x86-64 (GFLOP/s per CPU-second, one thread, BERT-base shapes): V8's register
// allocator spills them.
export const MR = 4; // rows in a register tile
export const NV = 2; // SIMD vectors per tile row: NR = NV * lanes columns

export interface Dtype {
  bytes: number;
  load: MemOp;
  store: MemOp;
  splat: MemOp;
  add: Op;
  mul: Op;
  madd: Op;
}
export const F32: Dtype = {
  bytes: 4,
  load: 'f32.load',
  store: 'f32.store',
  splat: 'v128.load32_splat',
  add: 'f32x4.add',
  mul: 'f32x4.mul',
  madd: 'f32x4.relaxed_madd',
};
export const F64: Dtype = {
  bytes: 8,
  load: 'f64.load',
  store: 'f64.store',
  splat: 'v128.load64_splat',
  add: 'f64x2.add',
  mul: 'f64x2.mul',
  madd: 'f64x2.relaxed_madd',
};
export const lanes = (t: Dtype) => 16 / t.bytes;

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
 * The prologue of a task wrapper run over a batch of products: task t belongs to product
 * i = t div perItem, as its task t mod perItem; each address parameter moves by i of its
 * item strides (bytes), and each tabled one by the i-th i32 of its table (bytes; products
 * whose operands share one copy start at uneven places in it). A single product passes
 * perItem ≥ tasks, strides 0 and a table holding 0. Rewrites the parameters in place.
 */
function itemize(
  f: Func,
  task: number,
  perItem: number,
  moves: [address: number, itemStride: number][],
  tabled: [address: number, table: number][] = [],
): void {
  const item = f.local('i32');
  f.get(task).get(perItem).op('i32.div_u').set(item);
  f.get(task).get(item).get(perItem).op('i32.mul').op('i32.sub').set(task);
  for (const [address, stride] of moves) f.get(address).get(item).get(stride).op('i32.mul').op('i32.add').set(address);
  for (const [address, table] of tabled) f.get(address).get(table).get(item).i32(4).op('i32.mul').op('i32.add').mem('i32.load').op('i32.add').set(address);
}

/**
 * packTask(t, src, is, ps, panels, k, dst, perTask, perItem, srcTable, dstItem): task t of
 * a pack, panels [t·perTask, min((t+1)·perTask, panels)) of one product of a batch
 * (itemize), so threads can share the packing.
 */
function packTaskFunc(t: Dtype, w: number, pack: number): Func {
  const f = new Func(Array(11).fill('i32'));
  const [task, src, is, ps, panels, k, dst, perTask, perItem, srcTable, dstItem] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  itemize(f, task, perItem, [[dst, dstItem]], [[src, srcTable]]);
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
 * tile(a, b, c, k, ldc, load[, bias]): C[MR×NR] = Apanel · Bpanel over k steps, starting from
 * 0, or with `load` from the tile C holds (a k-block after the first, gemmTaskFunc: the sums go
 * on in the same order from the same float values, so the result is bitwise that of one pass).
 * The bias variant then adds the NR values at `bias` (0: none) to every row before the store:
 * the bias add of a linear layer, fused into the epilogue. The A panel holds MR values per
 * k step, the B panel NR values per k step, and C rows are ldc bytes apart.
 */
export function tileFunc(t: Dtype, fma: boolean, withBias: boolean): Func {
  const f = new Func(Array(withBias ? 7 : 6).fill('i32'));
  const [a, b, c, kc, ldc, load, bias] = [0, 1, 2, 3, 4, 5, 6];
  const acc = Array.from({ length: MR }, () => Array.from({ length: NV }, () => f.local('v128')));
  const bv = Array.from({ length: NV }, () => f.local('v128'));
  const x = f.local('v128');
  const row = f.local('i32');
  /** Runs `each(r, i)` over the tile with `row` at C's row r. */
  const overC = (each: (r: number, i: number) => void) => {
    f.get(c).set(row);
    for (let r = 0; r < MR; r++) {
      for (let i = 0; i < NV; i++) each(r, i);
      f.get(row).get(ldc).op('i32.add').set(row);
    }
  };
  f.block(() => {
    f.get(load).op('i32.eqz').brIf(0);
    overC((r, i) =>
      f
        .get(row)
        .mem('v128.load', 16 * i)
        .set(acc[r]![i]!),
    );
  });
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
  if (withBias)
    f.block(() => {
      f.get(bias).op('i32.eqz').brIf(0);
      bv.forEach((v, i) =>
        f
          .get(bias)
          .mem('v128.load', 16 * i)
          .set(v),
      );
      for (let r = 0; r < MR; r++) acc[r]!.forEach((v, i) => f.get(v).get(bv[i]!).op(t.add).set(v));
    });
  overC((r, i) =>
    f
      .get(row)
      .get(acc[r]![i]!)
      .mem('v128.store', 16 * i),
  );
  return f;
}

/**
 * gemmTask(t, a, b, c, mTiles, nPanels, k, kc, ldc, blockTiles, chunkPanels, rowBlocks, perItem,
 * aItem, bItem, cItem[, bias]): task t of one product of a batch (itemize) computes the C
 * tiles of A panels [i0, i1) (row block t mod rowBlocks) times B panels [j0, j1) (column
 * chunk t div rowBlocks), kc steps of k at a time. Within a k-block, B panels are the outer
 * loop, so each one's kc rows are reused from L1 by every A panel of the block, whose kc rows
 * stay in L2; a later k-block carries on from the tiles C holds (tileFunc's `load`), and only
 * the last adds the bias. The bias is the same for every product.
 */
function gemmTaskFunc(t: Dtype, tile: number, withBias: boolean): Func {
  const f = new Func(Array(withBias ? 17 : 16).fill('i32'));
  const [task, a, b, c, mTiles, nPanels, k, kc, ldc, blockTiles, chunkPanels, rowBlocks, perItem, aItem, bItem, cItem, bias] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
  ];
  itemize(f, task, perItem, [
    [a, aItem],
    [b, bItem],
    [c, cItem],
  ]);
  const NR = NV * lanes(t);
  const i0 = f.local('i32'),
    i1 = f.local('i32'),
    j0 = f.local('i32'),
    j = f.local('i32'),
    j1 = f.local('i32'),
    i = f.local('i32');
  const aStride = f.local('i32'),
    bStride = f.local('i32'),
    tmp = f.local('i32'),
    p0 = f.local('i32'),
    steps = f.local('i32');
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
  f.get(task).get(rowBlocks).op('i32.div_u').get(chunkPanels).op('i32.mul').set(j0);
  f.get(j0).get(chunkPanels).op('i32.add').set(tmp);
  minU(f, tmp, nPanels).set(j1);
  f.loop(() => {
    f.get(k).get(p0).op('i32.sub').set(steps);
    minU(f, steps, kc).set(steps); // this k-block: min(kc, k − p0) steps
    f.get(j0).set(j);
    f.loop(() => {
      f.get(i0).set(i);
      f.loop(() => {
        f.get(a)
          .get(i)
          .get(aStride)
          .op('i32.mul')
          .op('i32.add')
          .get(p0)
          .i32(MR * t.bytes)
          .op('i32.mul')
          .op('i32.add');
        f.get(b)
          .get(j)
          .get(bStride)
          .op('i32.mul')
          .op('i32.add')
          .get(p0)
          .i32(NR * t.bytes)
          .op('i32.mul')
          .op('i32.add');
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
        f.get(steps).get(ldc).get(p0); // load C after the first k-block
        if (withBias) {
          // this panel's NR bias values, in the last k-block only (else 0: none)
          f.get(bias)
            .get(j)
            .i32(NR * t.bytes)
            .op('i32.mul')
            .op('i32.add')
            .i32(0)
            .get(p0)
            .get(steps)
            .op('i32.add')
            .get(k)
            .op('i32.eq')
            .op('select');
        }
        f.call(tile);
        f.get(i).i32(1).op('i32.add').tee(i).get(i1).op('i32.ne').brIf(0);
      });
      f.get(j).i32(1).op('i32.add').tee(j).get(j1).op('i32.ne').brIf(0);
    });
    f.get(p0).get(steps).op('i32.add').tee(p0).get(k).op('i32.lt_u').brIf(0);
  });
  return f;
}

/** Whether this engine validates relaxed SIMD (Node ≥ 22, Chromium ≥ 114; Node 20 only behind a flag). */
export function hasRelaxedSimd(): boolean {
  const f = new Func([]);
  const v = f.local('v128');
  f.get(v).get(v).get(v).op('f32x4.relaxed_madd').set(v);
  const m = new Module();
  m.add(f);
  return WebAssembly.validate(m.encode());
}

/** Whether this engine has WebAssembly SIMD at all (the micro-kernel validates). */
export function hasSimd(): boolean {
  const probe = new Module();
  probe.add(tileFunc(F32, false, false));
  return WebAssembly.validate(probe.encode());
}

/** One dtype's pool functions (indices into the pool's names; −1: not built). */
export interface GemmKernels {
  packA: number;
  packAc: number;
  packB: number;
  packBc: number;
  gemm: number;
  gemmBias: number;
}

/**
 * Adds one dtype's GEMM functions to `mod` (one module per dtype keeps each under 4 KiB);
 * `task(func, name)` adds one that the pool may run and returns its index among the pool's names.
 */
export function addGemmKernels(mod: Module, task: (func: Func, name: string) => number, fma: boolean, name: 'f32' | 'f64'): GemmKernels {
  const t = name === 'f32' ? F32 : F64;
  const NR = NV * lanes(t);
  // w·bytes is a multiple of 16 for both tiles and dtypes, as packContiguousFunc's vector copies need.
  const packs = {
    packA: mod.add(packFunc(t, MR)),
    packAc: mod.add(packContiguousFunc(t, MR)),
    packB: mod.add(packFunc(t, NR)),
    packBc: mod.add(packContiguousFunc(t, NR)),
  };
  return {
    packA: task(packTaskFunc(t, MR, packs.packA), `${name}.packA`),
    packAc: task(packTaskFunc(t, MR, packs.packAc), `${name}.packAc`),
    packB: task(packTaskFunc(t, NR, packs.packB), `${name}.packB`),
    packBc: task(packTaskFunc(t, NR, packs.packBc), `${name}.packBc`),
    gemm: task(gemmTaskFunc(t, mod.add(tileFunc(t, fma, false)), false), `${name}.gemm`),
    // The fused bias only for float32 (the training dtype).
    gemmBias: t === F32 ? task(gemmTaskFunc(t, mod.add(tileFunc(t, fma, true)), true), `${name}.gemmBias`) : -1,
  };
}
