/**
 * Gradient concentration: why SparseGrad works (SPARSEGRAD.md §4). For real fine-tuning
 * gradients M (out×in) of the MLP linears, how much of the Frobenius energy ‖M‖²_F sits
 * in the largest 1 % of entries, for
 *
 *   untransformed      M
 *   consistent basis   Vᵀ M U    (the HOSVD projection; SparseGrad's default, A = U)
 *   reference basis    Vᵀ M Uᵀ   (the reference code's convention, A = Uᵀ)
 *
 * and the sorted-energy curves (share of energy in the top fraction f of entries, for f
 * from one entry to all of them) that the report plots. The rotations are orthogonal, so
 * all three have the same total energy; only its spread differs.
 *
 * The gradients measured should not be the ones the bases were computed from (the
 * comparison takes the batches right after the preliminary phase).
 */
import { Tensor } from '../core/tensor.ts';
import type { LayerTypeBases } from '../nn/sparsegrad/apply.ts';

export const VARIANTS = ['untransformed', 'consistent', 'reference'] as const;
export type Variant = (typeof VARIANTS)[number];
export const VARIANT_LABELS: Record<Variant, string> = { untransformed: 'M (untransformed)', consistent: 'VᵀMU (consistent)', reference: 'VᵀMUᵀ (reference)' };

/** Squared entries sorted descending, as float64. */
export function sortedEnergy(values: ArrayLike<number>): Float64Array {
  const e = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) e[i] = values[i]! * values[i]!;
  return e.sort().reverse();
}

/** Share of the total energy held by the largest ⌈fraction·n⌉ entries (at least one). */
export function topShare(values: ArrayLike<number>, fraction = 0.01): number {
  const e = sortedEnergy(values);
  const keep = Math.max(1, Math.ceil(fraction * e.length));
  let top = 0;
  let total = 0;
  for (let i = 0; i < e.length; i++) {
    total += e[i]!;
    if (i < keep) top += e[i]!;
  }
  return total === 0 ? NaN : top / total;
}

/** The fractions of entries at which curves are sampled: log-spaced from 1/n to 1. */
export function curveFractions(n: number, points = 120): number[] {
  const lo = Math.log10(1 / n);
  const xs = Array.from({ length: points }, (_, i) => 10 ** (lo + (-lo * i) / (points - 1)));
  xs[points - 1] = 1;
  return xs;
}

/** Cumulative energy share of the top f·n entries at each fraction f of `fractions`. */
export function energyCurve(values: ArrayLike<number>, fractions: readonly number[]): number[] {
  const e = sortedEnergy(values);
  const cumulative = new Float64Array(e.length + 1);
  for (let i = 0; i < e.length; i++) cumulative[i + 1] = cumulative[i]! + e[i]!;
  const total = cumulative[e.length]!;
  return fractions.map((f) => {
    const k = Math.min(e.length, Math.max(1, Math.round(f * e.length)));
    return total === 0 ? NaN : cumulative[k]! / total;
  });
}

/** Vᵀ M A for M (out×in, row-major), A = U or Uᵀ, in float64. */
export function rotate(m: Float64Array, shape: readonly [number, number], bases: Pick<LayerTypeBases, 'U' | 'V'>, convention: 'consistent' | 'reference'): Float64Array {
  const M = Tensor.fromStorage(m, [...shape]);
  const V = bases.V.to('float64');
  const U = bases.U.to('float64');
  const A = convention === 'consistent' ? U : U.transpose();
  return V.transpose().matmul(M).matmul(A).contiguous().data as Float64Array;
}

export interface LayerConcentration {
  layerType: string;
  shape: [number, number];
  /** Gradient slices measured (blocks × batches). */
  slices: number;
  /** Mean over slices of the top-1 % energy share. */
  top1: Record<Variant, number>;
  /** Fractions of entries (x) and the mean energy share of the top x (y), per variant. */
  curve: { x: number[]; y: Record<Variant, number[]> };
}

/** Measure every layer type's slices against its bases. */
export function measureConcentration(
  gradients: Map<string, { shape: [number, number]; slices: Float64Array[] }>,
  bases: Map<string, Pick<LayerTypeBases, 'U' | 'V'>>,
  options: { fraction?: number; points?: number } = {},
): LayerConcentration[] {
  const fraction = options.fraction ?? 0.01;
  const out: LayerConcentration[] = [];
  for (const [type, { shape, slices }] of gradients) {
    const pair = bases.get(type);
    if (!pair || slices.length === 0) continue;
    const x = curveFractions(shape[0] * shape[1], options.points);
    const top1 = { untransformed: 0, consistent: 0, reference: 0 } as Record<Variant, number>;
    const sums = Object.fromEntries(VARIANTS.map((v) => [v, new Array<number>(x.length).fill(0)])) as Record<Variant, number[]>;
    for (const m of slices) {
      const forms: Record<Variant, Float64Array> = {
        untransformed: m,
        consistent: rotate(m, shape, pair, 'consistent'),
        reference: rotate(m, shape, pair, 'reference'),
      };
      for (const v of VARIANTS) {
        top1[v] += topShare(forms[v], fraction) / slices.length;
        energyCurve(forms[v], x).forEach((y, i) => (sums[v][i]! += y / slices.length));
      }
    }
    out.push({ layerType: type, shape, slices: slices.length, top1, curve: { x, y: sums } });
  }
  return out;
}
