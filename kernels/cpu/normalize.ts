/**
 * The norms' two kernels as tight loops. normalize: the row is read through its stride
 * with plain index arithmetic, sums accumulate in doubles, and the division by the row
 * length happens once per row rather than once per element. combine (a·x + b·y + c):
 * the last step of their VJP, one pass over collapsed runs.
 */
import type { FloatStorage } from '../../base/dtype.ts';
import { contiguousStrides } from '../../base/shape.ts';
import type { Backend } from '../backend.ts';
import { roundTo } from '../scalar.ts';
import { forEachLastAxisRow, forEachRow, type View } from '../view.ts';
import { wasmNormRows, wasmNormRowsBackward } from './norm.ts';
import { contiguousRun, WASM_MAP_MIN } from './wasm-map.ts';

/**
 * Σ (src[p + j·step] − shift)^power over a row (power 1 or 2), in four partial sums: one running
 * sum is a chain of dependent additions, each waiting for the last (≈ 4 cycles), while four
 * chains run side by side. The order differs from the reference's, within its tolerance.
 */
function rowSum(src: FloatStorage, p: number, step: number, len: number, shift: number, power: 1 | 2): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let j = 0;
  for (const step2 = 2 * step, step3 = 3 * step, step4 = 4 * step; j + 4 <= len; j += 4, p += step4) {
    const a = src[p]! - shift,
      b = src[p + step]! - shift,
      c = src[p + step2]! - shift,
      d = src[p + step3]! - shift;
    s0 += power === 1 ? a : a * a;
    s1 += power === 1 ? b : b * b;
    s2 += power === 1 ? c : c * c;
    s3 += power === 1 ? d : d * d;
  }
  for (; j < len; j++, p += step) s0 += power === 1 ? src[p]! - shift : (src[p]! - shift) * (src[p]! - shift);
  return s0 + s1 + (s2 + s3);
}

export const normalize: Backend['normalize'] = (x, eps, centered, out, rstd) => {
  const len = x.shape[x.shape.length - 1]!;
  if (wasmRows(x, { eps, centered, weight: null, bias: null, xhat: out, rstd, out: null })) return;
  const src = x.data;
  const step = x.strides[x.strides.length - 1]!;
  forEachLastAxisRow([x], ([start], row) => {
    const mean = centered ? rowSum(src, start!, step, len, 0, 1) / len : 0;
    const r = 1 / Math.sqrt(rowSum(src, start!, step, len, mean, 2) / len + eps);
    for (let j = 0, p = start!, o = row * len; j < len; j++, p += step, o++) out[o] = (src[p]! - mean) * r;
    rstd[row] = r;
  });
};

/** A per-column view's `n` float32 values (a norm's weight or bias: contiguous, one per column). */
const columnsOf = (v: View<FloatStorage>, n: number) => (v.data as Float32Array).subarray(v.offset, v.offset + n);

/**
 * Large contiguous float32 rows: the WebAssembly kernel over the thread pool (kernels/cpu/norm.ts),
 * bitwise these loops' results. False where it does not apply (the caller takes the loops).
 */
function wasmRows(
  x: View<FloatStorage>,
  to: {
    eps: number;
    centered: boolean;
    weight: View<FloatStorage> | null;
    bias: View<FloatStorage> | null;
    xhat: FloatStorage;
    rstd: FloatStorage;
    out: FloatStorage | null;
  },
): boolean {
  const len = x.shape[x.shape.length - 1]!;
  const run = to.xhat instanceof Float32Array && len > 0 ? contiguousRun(x, Float32Array) : undefined;
  const columns = (v: View<FloatStorage> | null) => v && columnsOf(v, len);
  const f32 = (t: FloatStorage | null) => t as Float32Array;
  return (
    run !== undefined &&
    wasmNormRows({ ...to, x: run, len, weight: columns(to.weight), bias: columns(to.bias), xhat: f32(to.xhat), rstd: f32(to.rstd), out: to.out && f32(to.out) })
  );
}

/**
 * Same order of operations as the reference (a·x, + b·y, + c, in doubles), so results are
 * bitwise equal. When the coefficients are constant along a run (one per row, as the norms
 * pass them) they are read once per run: the loop then streams x, y and out only (about
 * twice as fast as reading five strided operands per element: 0.6 → 0.3 ms on [128, 768]).
 */
export const combine: Backend['combine'] = (x, y, a, b, c, out) => {
  const o = { data: out, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 };
  const [xs, ys, as, bs, cs] = [x.data, y.data, a.data, b.data, c.data];
  forEachRow(x.shape, [x, y, a, b, c, o], (offsets, n, steps) => {
    let [jx, jy, ja, jb, jc, jo] = offsets as [number, number, number, number, number, number];
    const [tx, ty, ta, tb, tc, to] = steps as [number, number, number, number, number, number];
    if (ta === 0 && tb === 0 && tc === 0) {
      const av = as[ja]!,
        bv = bs[jb]!,
        cv = cs[jc]!;
      for (let i = 0; i < n; i++, jo += to, jx += tx, jy += ty) out[jo] = av * xs[jx]! + bv * ys[jy]! + cv;
      return;
    }
    for (let i = 0; i < n; i++, jo += to, jx += tx, jy += ty, ja += ta, jb += tb, jc += tc) {
      out[jo] = as[ja]! * xs[jx]! + bs[jb]! * ys[jy]! + cs[jc]!;
    }
  });
};

/**
 * LayerNorm's (RMSNorm's) affine step fused with the normalisation: x̂ and r as `normalize`
 * writes them, then out = x̂·weight + bias in one more pass over x̂, rounded after the
 * product and after the sum exactly as the separate mul and add would round them (each
 * stored to out before the next step reads it back), so results are bitwise the unfused
 * ops'. `weight`, `bias`: one value per column (contiguous), either may be absent.
 */
export const normAffine: NonNullable<Backend['normAffine']> = (x, eps, centered, weight, bias, xhat, rstd, out) => {
  if (wasmRows(x, { eps, centered, weight, bias, xhat, rstd, out })) return;
  normalize(x, eps, centered, xhat, rstd);
  const n = x.shape[x.shape.length - 1]!;
  const single = out instanceof Float32Array;
  const [w, wo] = weight ? [weight.data, weight.offset] : [null, 0];
  const [b, bo] = bias ? [bias.data, bias.offset] : [null, 0];
  for (let row = 0, o = 0; row < rstd.length; row++, o += n) {
    if (w && b) for (let j = 0; j < n; j++) out[o + j] = roundTo(xhat[o + j]! * w[wo + j]!, single) + b[bo + j]!;
    else if (w) for (let j = 0; j < n; j++) out[o + j] = xhat[o + j]! * w[wo + j]!;
    else if (b) for (let j = 0; j < n; j++) out[o + j] = xhat[o + j]! + b[bo + j]!;
    else out.set(xhat.subarray(o, o + n), o);
  }
};

/**
 * The VJP of normAffine in two passes per row, where the unfused ops take eight: the first
 * forms g′ = g·weight (the gradient reaching x̂), the row sums of g′·x̂ and of g′, and adds
 * g·x̂ and g into the weight's and bias's column sums; the second writes
 * dx = r·g′ + (−r·mean(g′·x̂))·x̂ + (−r·mean(g′)) (core/ops/nn.ts normalizeRows). Every value
 * the unfused ops store (g′, g′·x̂, g·x̂, the means, r times them) is rounded to the dtype
 * here too, and every sum runs in float64 in the same order, so results are bitwise theirs
 * (spec/norm-affine.spec.ts). g and x̂ are contiguous rows; dx, dWeight, dBias are written
 * where given.
 */
export const normAffineBackward: NonNullable<Backend['normAffineBackward']> = (g, xhat, rstd, weight, centered, dx, dWeight, dBias) => {
  const n = xhat.length / rstd.length;
  // Large float32 rows: the WebAssembly kernels over the thread pool (kernels/cpu/norm.ts), bitwise these loops.
  if (xhat instanceof Float32Array && g.data instanceof Float32Array && xhat.length >= WASM_MAP_MIN && n > 0) {
    const rows = g.data.subarray(g.offset, g.offset + xhat.length);
    const f32 = (t: FloatStorage | null) => t as Float32Array | null;
    const columns = weight && columnsOf(weight, n);
    if (wasmNormRowsBackward({ g: rows, xhat, rstd: rstd as Float32Array, weight: columns, centered, dx: f32(dx), dWeight: f32(dWeight), dBias: f32(dBias) }))
      return;
  }
  normAffineBackwardLoops(g, xhat, rstd, weight, centered, dx, dWeight, dBias);
};

/** normAffineBackward's JavaScript loops (exported for spec/norm-wasm.spec.ts, which holds the kernels to them). */
export const normAffineBackwardLoops: NonNullable<Backend['normAffineBackward']> = (g, xhat, rstd, weight, centered, dx, dWeight, dBias) => {
  const n = xhat.length / rstd.length;
  const single = xhat instanceof Float32Array;
  const gw = new Float64Array(n); // g′ of the current row, rounded to the dtype
  const [gs, go] = [g.data, g.offset];
  const [w, wo] = weight ? [weight.data, weight.offset] : [null, 0];
  const accW = dWeight ? new Float64Array(n) : null;
  const accB = dBias ? new Float64Array(n) : null;
  for (let row = 0; row < rstd.length; row++) {
    const at = row * n;
    let sumGx = 0,
      sumG = 0;
    for (let j = 0; j < n; j++) {
      const gv = gs[go + at + j]!,
        xv = xhat[at + j]!;
      const gwv = (gw[j] = w ? roundTo(gv * w[wo + j]!, single) : gv);
      sumG += gwv;
      sumGx += roundTo(gwv * xv, single);
      if (accW) accW[j]! += roundTo(gv * xv, single);
      if (accB) accB[j]! += gv;
    }
    if (!dx) continue;
    const r = rstd[row]!;
    // mean(·) = round(round(Σ) / n), as sum().div(n) stores them; then −round(r · mean).
    const along = -roundTo(r * roundTo(roundTo(sumGx, single) / n, single), single);
    const shift = centered ? -roundTo(r * roundTo(roundTo(sumG, single) / n, single), single) : 0;
    for (let j = 0; j < n; j++) dx[at + j] = r * gw[j]! + along * xhat[at + j]! + shift;
  }
  if (dWeight && accW) dWeight.set(accW);
  if (dBias && accB) dBias.set(accB);
};
