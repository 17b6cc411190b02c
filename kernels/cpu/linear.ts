/**
 * The cpu backend's fused linear forward: out = x·Wᵀ + b as one GEMM whose micro-kernel
 * adds the bias before storing each tile (kernels/cpu/gemm.ts, gemmBias), so a linear
 * layer makes one pass over its output instead of two. Both operands are read through
 * their strides — W [out, in] as stored is op(B) = Wᵀ with transB — and only a view that
 * is neither row- nor column-major (or a strided bias) is first copied contiguously.
 */
import type { FloatStorage } from '../../base/dtype.ts';
import { ShapeError } from '../../base/errors.ts';
import type { Backend } from '../backend.ts';
import type { View } from '../view.ts';
import { copy } from './elementwise.ts';
import { gemmBias, gemm } from './gemm.ts';

/** A 2-D view as GEMM operand: its storage, offset, leading dimension and whether it is read transposed. */
interface Operand {
  data: FloatStorage;
  offset: number;
  ld: number;
  trans: boolean;
}

/** Row-major when the last axis has unit stride (or one element), column-major when the first has; else a contiguous copy. */
function operand(v: View<FloatStorage>): Operand {
  const [rows, cols] = v.shape as [number, number];
  const [rs, cs] = v.strides as [number, number];
  if (cols <= 1 || cs === 1) return { data: v.data, offset: v.offset, ld: rs, trans: false };
  if (rows <= 1 || rs === 1) return { data: v.data, offset: v.offset, ld: cs, trans: true };
  const data = new (v.data.constructor as Float32ArrayConstructor)(rows * cols);
  copy(v, data);
  return { data, offset: 0, ld: cols, trans: false };
}

export const linear: NonNullable<Backend['linear']> = (x, weight, bias, out) => {
  if (x.shape.length !== 2 || weight.shape.length !== 2 || x.shape[1] !== weight.shape[1]) {
    throw new ShapeError(`cpu linear(): expected x [m, k] and weight [n, k], got [${x.shape}] and [${weight.shape}]`);
  }
  const [m, k] = x.shape as [number, number];
  const n = weight.shape[0]!;
  const a = operand(x);
  const w = operand(weight);
  // op(B) = Wᵀ: element (p, j) is W(j, p). Row-major W is read as a transposed B, and vice versa.
  const transB = !w.trans;
  if (bias === null) {
    gemm(a.trans, transB, m, n, k, a.data, a.offset, a.ld, w.data, w.offset, w.ld, out, 0, n);
    return;
  }
  if (bias.shape.length !== 1 || bias.shape[0] !== n) throw new ShapeError(`cpu linear(): expected a bias of [${n}], got [${bias.shape}]`);
  let b = bias.data,
    bOff = bias.offset;
  if (n > 1 && bias.strides[0] !== 1) {
    b = new (bias.data.constructor as Float32ArrayConstructor)(n);
    copy(bias, b);
    bOff = 0;
  }
  gemmBias(a.trans, transB, m, n, k, a.data, a.offset, a.ld, w.data, w.offset, w.ld, out, 0, n, b, bOff);
};
