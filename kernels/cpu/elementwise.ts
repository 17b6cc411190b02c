/**
 * Fast elementwise kernels: axes are collapsed first (a contiguous tensor of any rank
 * is one run), then each run is a tight indexed loop. Same scalar table as the
 * reference, so only the iteration differs — results are bitwise the reference's.
 *
 * Calling the table's `f` once per element is a megamorphic call (every op goes
 * through the same call site), so V8 cannot inline it and boxes each result. For
 * the cheap arithmetic ops that dominate a training step (bias add, residuals,
 * scaling, masks) that call costs more than the arithmetic — written out, they run
 * about 5× faster (bench/elementwise.bench.ts). A separate loop for all-contiguous
 * runs measured no faster than the strided one, so there is none.
 */
import type { Storage } from '../../base/dtype.ts';
import type { Backend } from '../backend.ts';
import { BINARY, gelu, geluGrad, geluTanh, geluTanhGrad, silu, siluGrad, UNARY, type BinaryOp, type UnaryOp } from '../scalar.ts';
import { collapseAxes, forEachOffset, forEachRow } from '../view.ts';
import { wasmArith } from './arith.ts';
import { wasmExp, wasmSilu, wasmSiluGrad } from './exp.ts';
import { wasmGather } from './gather.ts';
import { wasmGelu, wasmGeluGrad } from './gelu.ts';
import { contiguousRun } from './wasm-map.ts';

/** One run of a binary map: out[o + i] = a[ja + i·ta] ∘ b[jb + i·tb] for i < n. */
type BinaryRun = (a: Storage, ja: number, ta: number, b: Storage, jb: number, tb: number, out: Storage, o: number, n: number) => void;

/**
 * add, sub, mul and div written out, so the operator compiles into the loop. Each
 * must compute exactly what BINARY[op] computes (kernels.spec.ts checks it bitwise).
 */
const ARITHMETIC: Partial<Record<BinaryOp, BinaryRun>> = {
  add: (a, ja, ta, b, jb, tb, out, o, n) => {
    for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! + b[jb]!;
  },
  sub: (a, ja, ta, b, jb, tb, out, o, n) => {
    for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! - b[jb]!;
  },
  mul: (a, ja, ta, b, jb, tb, out, o, n) => {
    for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! * b[jb]!;
  },
  div: (a, ja, ta, b, jb, tb, out, o, n) => {
    for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = a[ja]! / b[jb]!;
  },
};

/** Any other op: one call of the scalar table's function per element. */
function tableRun(f: (a: number, b: number) => number): BinaryRun {
  return (a, ja, ta, b, jb, tb, out, o, n) => {
    for (const end = o + n; o < end; o++, ja += ta, jb += tb) out[o] = f(a[ja]!, b[jb]!);
  };
}

export const binary: Backend['binary'] = (op, a, b, out) => {
  // Large float32 runs of +, −, ×, ÷: the WebAssembly kernels, on this thread (kernels/cpu/arith.ts).
  if (out instanceof Float32Array && wasmArith(op, a, b, out)) return;
  const run = ARITHMETIC[op] ?? tableRun(BINARY[op]);
  let o = 0;
  forEachRow(a.shape, [a, b], ([ja, jb], n, [ta, tb]) => {
    run(a.data, ja!, ta!, b.data, jb!, tb!, out, o, n);
    o += n;
  });
};

/** One run of a unary map: out[o + i] = f(x[j + i·step]) for i < n. */
type UnaryRun = (x: Storage, j: number, step: number, out: Storage, o: number, n: number) => void;
/** One run of a unary VJP: out[o + i] = g[jg + i·tg] · f'(x[jx + i·tx]) for i < n. */
type GradRun = (x: Storage, jx: number, tx: number, g: Storage, jg: number, tg: number, out: Storage, o: number, n: number) => void;

/**
 * The activations of transformer MLPs, each with a loop of its own: its one call site has
 * one target (the scalar table's named function), which V8 inlines — 1.7× faster than the
 * table's shared call site on a [128, 3072] GELU (5.4 vs 9.3 ms). What remains is erf's
 * polynomial (kernels/erf.ts); taking its sign branch out (random activations
 * mispredicted it half the time) and φ for the backward pass from the same table halved
 * it again (CPU time, loaded machine: forward 12.4 → 6.7 ms, forward + backward 29.5 →
 * 19.5 ms). Same functions, same operand order: bitwise the reference's results.
 */
const MAPS: Partial<Record<UnaryOp, UnaryRun>> = {
  gelu: (x, j, step, out, o, n) => {
    for (const end = o + n; o < end; o++, j += step) out[o] = gelu(x[j]!);
  },
  geluTanh: (x, j, step, out, o, n) => {
    for (const end = o + n; o < end; o++, j += step) out[o] = geluTanh(x[j]!);
  },
  silu: (x, j, step, out, o, n) => {
    for (const end = o + n; o < end; o++, j += step) out[o] = silu(x[j]!);
  },
};
const GRADS: Partial<Record<UnaryOp, GradRun>> = {
  gelu: (x, jx, tx, g, jg, tg, out, o, n) => {
    for (const end = o + n; o < end; o++, jx += tx, jg += tg) out[o] = g[jg]! * geluGrad(x[jx]!);
  },
  geluTanh: (x, jx, tx, g, jg, tg, out, o, n) => {
    for (const end = o + n; o < end; o++, jx += tx, jg += tg) out[o] = g[jg]! * geluTanhGrad(x[jx]!);
  },
  silu: (x, jx, tx, g, jg, tg, out, o, n) => {
    for (const end = o + n; o < end; o++, jx += tx, jg += tg) out[o] = g[jg]! * siluGrad(x[jx]!);
  },
};

export const unary: Backend['unary'] = (op, x, out, p, q) => {
  // Large contiguous runs: the WebAssembly kernels over the thread pool (kernels/cpu/wasm-map.ts).
  if ((op === 'gelu' || op === 'silu') && out instanceof Float32Array) {
    const run = contiguousRun(x, Float32Array);
    if (run && (op === 'gelu' ? wasmGelu : wasmSilu)(run, out)) return;
  }
  if (op === 'exp' && (out instanceof Float32Array || out instanceof Float64Array)) {
    const run = out instanceof Float32Array ? contiguousRun(x, Float32Array) : contiguousRun(x, Float64Array);
    if (run && wasmExp(run, out)) return;
  }
  const src = x.data;
  let o = 0;
  const run = MAPS[op];
  if (run) {
    forEachRow(x.shape, [x], ([start], length, [step]) => {
      run(src, start!, step!, out, o, length);
      o += length;
    });
    return;
  }
  const f = UNARY[op].f;
  forEachRow(x.shape, [x], ([start], length, [step]) => {
    for (let i = 0, j = start!; i < length; i++, j += step!) out[o++] = f(src[j]!, p, q);
  });
};

export const unaryBackward: Backend['unaryBackward'] = (op, x, g, out, p, q) => {
  if ((op === 'gelu' || op === 'silu') && out instanceof Float32Array) {
    const xRun = contiguousRun(x, Float32Array),
      gRun = xRun && contiguousRun(g, Float32Array);
    if (xRun && gRun && (op === 'gelu' ? wasmGeluGrad : wasmSiluGrad)(xRun, gRun, out)) return;
  }
  const xs = x.data;
  const gs = g.data;
  let o = 0;
  const run = GRADS[op];
  if (run) {
    forEachRow(x.shape, [x, g], ([sx, sg], length, [tx, tg]) => {
      run(xs, sx!, tx!, gs, sg!, tg!, out, o, length);
      o += length;
    });
    return;
  }
  const df = UNARY[op].df;
  forEachRow(x.shape, [x, g], ([sx, sg], length, [tx, tg]) => {
    for (let i = 0, j = sx!, k = sg!; i < length; i++, j += tx!, k += tg!) out[o++] = gs[k]! * df(xs[j]!, p, q);
  });
};

export const where: Backend['where'] = (cond, a, b, out) => {
  const cs = cond.data;
  const as = a.data;
  const bs = b.data;
  let o = 0;
  // float32 (an attention mask over the scores, in every BERT layer and its backward): a loop
  // of its own sees one array type at each access, and V8 compiles it tighter than the generic
  // one below — bert-small's pretraining step spent 192–212 ms in `where`, now 138–181.
  if (out instanceof Float32Array && as instanceof Float32Array && bs instanceof Float32Array && cs instanceof Uint8Array) {
    forEachRow(a.shape, [cond, a, b], ([sc, sa, sb], length, [tc, ta, tb]) => {
      whereFloat32(out, o, length, cs, sc!, tc!, as, sa!, ta!, bs, sb!, tb!);
      o += length;
    });
    return;
  }
  forEachRow(a.shape, [cond, a, b], ([sc, sa, sb], length, [tc, ta, tb]) => {
    for (let i = 0, c = sc!, j = sa!, k = sb!; i < length; i++, c += tc!, j += ta!, k += tb!) out[o++] = cs[c] ? as[j]! : bs[k]!;
  });
};

/** out[o + i] = cond ? a : b for i < length, each operand read from its start by its stride. */
function whereFloat32(
  out: Float32Array,
  o: number,
  length: number,
  cs: Uint8Array,
  c: number,
  tc: number,
  as: Float32Array,
  j: number,
  ta: number,
  bs: Float32Array,
  k: number,
  tb: number,
): void {
  for (let i = 0; i < length; i++, c += tc, j += ta, k += tb) out[o + i] = cs[c] ? as[j]! : bs[k]!;
}

const TILE = 32; // transposed copies move 32×32 blocks: 32 source cache lines, each used 16 times

export function copy(x: Parameters<Backend['copy']>[0], out: Storage): void {
  // Large float32 views read in short rows (attention's heads): the WebAssembly gather (kernels/cpu/gather.ts).
  if (out instanceof Float32Array && wasmGather(x, out)) return;
  const src = x.data;
  // A transposed matrix (the gradient of a weight used as Wᵀ) read row by row walks memory
  // with a large stride, one cache line per element: 3.7× slower than copying it in tiles
  // (44 vs 12 ms for a transposed [3072, 768] float32). A last-axis stride of 0 is no
  // transpose but a broadcast (an expanded index): runs of one value, filled below.
  const c = collapseAxes(x.shape, [x.strides]);
  const r = c.shape.length,
    strides = c.strides[0]!;
  if (r >= 2 && strides[r - 2] === 1 && strides[r - 1]! > 1 && c.shape[r - 2]! * c.shape[r - 1]! >= TILE * TILE) {
    const rows = c.shape[r - 2]!,
      cols = c.shape[r - 1]!,
      colStride = strides[r - 1]!;
    let o = 0;
    const outer = { data: src, shape: c.shape.slice(0, r - 2), strides: strides.slice(0, r - 2), offset: x.offset };
    forEachOffset(outer.shape, [outer], ([base]) => {
      for (let i0 = 0; i0 < rows; i0 += TILE) {
        const i1 = Math.min(i0 + TILE, rows);
        for (let j0 = 0; j0 < cols; j0 += TILE) {
          const j1 = Math.min(j0 + TILE, cols);
          for (let i = i0; i < i1; i++) {
            for (let j = j0, at = o + i * cols + j0, from = base! + i + j0 * colStride; j < j1; j++, at++, from += colStride) out[at] = src[from]!;
          }
        }
      }
      o += rows * cols;
    });
    return;
  }
  let o = 0;
  forEachRow(x.shape, [x], ([start], length, [step]) => {
    if (step === 1 && src.constructor === out.constructor) {
      out.set(src.subarray(start!, start! + length) as never, o); // a memcpy for contiguous runs
      o += length;
    } else if (step === 0) {
      out.fill(src[start!]! as never, o, o + length); // a broadcast run (expand): one value repeated
      o += length;
    } else {
      for (let i = 0, j = start!; i < length; i++, j += step!) out[o++] = src[j]!;
    }
  });
}
