/**
 * How a batched matmul reaches a GEMM: for each batch position, find where each
 * matrix starts and whether its last two strides read it row-major (trans = false)
 * or column-major (trans = true). A transposed view — A·Bᵀ in a backward pass — is
 * thus multiplied in place, never copied. The fast backend's own: the reference backend
 * multiplies through the strides directly, so the two share no planning code.
 */
import type { FloatStorage } from '../../base/dtype.ts';
import { contiguousStrides } from '../../base/shape.ts';
import type { GemmBatch } from './gemm.ts';
import type { View } from '../view.ts';
import { forEachOffset } from '../view.ts';

interface Layout {
  trans: boolean;
  ld: number;
}

/** Row-major if the last axis has unit stride (or size 1), column-major if the one before has; else null. */
function layoutOf(v: View): Layout | null {
  const r = v.shape.length;
  const [rows, cols] = [v.shape[r - 2]!, v.shape[r - 1]!];
  const [rowStride, colStride] = [v.strides[r - 2]!, v.strides[r - 1]!];
  if (cols <= 1 || colStride === 1) return { trans: false, ld: rowStride };
  if (rows <= 1 || rowStride === 1) return { trans: true, ld: colStride };
  return null;
}

/** A view whose matrices are neither row- nor column-major gets packed contiguously first. */
function withLayout(v: View<FloatStorage>, copy: (x: View, out: FloatStorage) => void): [View<FloatStorage>, Layout] {
  const layout = layoutOf(v);
  if (layout) return [v, layout];
  const data = new (v.data.constructor as Float32ArrayConstructor)(v.shape.reduce((p, d) => p * d, 1));
  copy(v, data);
  const packed = { data, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
  return [packed, layoutOf(packed)!];
}

/**
 * out = a · b over the batch axes, as one GEMM batch: every product has the same shape, so
 * they share the GEMM's pool jobs (kernels/cpu/gemm.ts).
 */
export function batchedMatmul(
  gemm: GemmBatch,
  copy: (x: View, out: FloatStorage) => void,
  aView: View<FloatStorage>,
  bView: View<FloatStorage>,
  out: FloatStorage,
): void {
  const [a, la] = withLayout(aView, copy);
  const [b, lb] = withLayout(bView, copy);
  const r = a.shape.length;
  const [m, k, n] = [a.shape[r - 2]!, a.shape[r - 1]!, b.shape[r - 1]!];
  const batchShape = a.shape.slice(0, r - 2);
  const outStrides = contiguousStrides([...batchShape, m, n]);
  const views = [
    { ...a, strides: a.strides.slice(0, r - 2) },
    { ...b, strides: b.strides.slice(0, r - 2) },
    { data: out, shape: batchShape, strides: outStrides.slice(0, r - 2), offset: 0 },
  ];
  const offsets: [number[], number[], number[]] = [[], [], []];
  forEachOffset(batchShape, views, (at) => at.forEach((o, i) => offsets[i]!.push(o!)));
  gemm(la.trans, lb.trans, m, n, k, a.data, offsets[0], la.ld, b.data, offsets[1], lb.ld, out, offsets[2], n);
}
