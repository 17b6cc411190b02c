/**
 * Gradient concentration: why SparseGrad works (docs/METHOD.md §4). For real fine-tuning
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
 *
 * The report states it as the energy left *outside* the kept entries (1 − share), at the
 * top 1 % and at the method's budget k: what a top-k selection throws away. A ratio of
 * shares hides that the untransformed gradient of some layers is concentrated already
 * (bert-mini's intermediate.dense: ≈ 40 % in its top 1 %, so no basis can do better than
 * 2.5× there), while the energy left outside reads the same way for every layer.
 */
import { Tensor } from '../core/tensor.ts';
import type { LayerTypeBases } from '../nn/sparsegrad/apply.ts';

export const VARIANTS = ['untransformed', 'consistent', 'reference'] as const;
export type Variant = (typeof VARIANTS)[number];
export const VARIANT_LABELS: Record<Variant, string> = { untransformed: 'M (untransformed)', consistent: 'VᵀMU (consistent)', reference: 'VᵀMUᵀ (reference)' };

/**
 * The energy profile of a matrix: `share(k)` is the share of Σ m² held by its k largest
 * squared entries (cumulative sums over the squares sorted descending, float64). One sort
 * serves every share taken of the same matrix.
 */
export function energyProfile(values: ArrayLike<number>): { n: number; share(k: number): number } {
  const e = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) e[i] = values[i]! * values[i]!;
  e.sort().reverse();
  const cumulative = new Float64Array(e.length + 1);
  for (let i = 0; i < e.length; i++) cumulative[i + 1] = cumulative[i]! + e[i]!;
  const total = cumulative[e.length]!;
  return { n: e.length, share: (k) => (total === 0 ? NaN : cumulative[k]! / total) };
}

/** Entries in the top `fraction`: ⌈fraction·n⌉, at least one. */
const topCount = (fraction: number, n: number) => Math.max(1, Math.ceil(fraction * n));

/** Share of the total energy held by the largest ⌈fraction·n⌉ entries (at least one). */
export function topShare(values: ArrayLike<number>, fraction = 0.01): number {
  const p = energyProfile(values);
  return p.share(topCount(fraction, p.n));
}

/** The fractions of entries at which curves are sampled: log-spaced from 1/n to 1. */
export function curveFractions(n: number, points = 120): number[] {
  const lo = Math.log10(1 / n);
  const xs = Array.from({ length: points }, (_, i) => 10 ** (lo + (-lo * i) / (points - 1)));
  xs[points - 1] = 1;
  return xs;
}

/** Cumulative energy share of the top f·n entries (rounded, at least one) at each fraction f of `fractions`. */
export function energyCurve(values: ArrayLike<number>, fractions: readonly number[]): number[] {
  return curveOf(energyProfile(values), fractions);
}

function curveOf(p: ReturnType<typeof energyProfile>, fractions: readonly number[]): number[] {
  return fractions.map((f) => p.share(Math.min(p.n, Math.max(1, Math.round(f * p.n)))));
}

type Convention = 'consistent' | 'reference';

/** Vᵀ M for M (out×in, row-major), in float64: the product both conventions start with. */
function leftRotated(m: Float64Array, shape: readonly [number, number], bases: Pick<LayerTypeBases, 'V'>): Tensor {
  return bases.V.to('float64')
    .transpose()
    .matmul(Tensor.fromStorage(m, [...shape]));
}

/** (Vᵀ M) A, with A = U (consistent) or Uᵀ (reference). */
function rightRotated(vtm: Tensor, bases: Pick<LayerTypeBases, 'U'>, convention: Convention): Float64Array {
  const U = bases.U.to('float64');
  return vtm.matmul(convention === 'consistent' ? U : U.transpose()).contiguous().data as Float64Array;
}

/** Vᵀ M A for M (out×in, row-major), A = U or Uᵀ, in float64. */
export function rotate(m: Float64Array, shape: readonly [number, number], bases: Pick<LayerTypeBases, 'U' | 'V'>, convention: Convention): Float64Array {
  return rightRotated(leftRotated(m, shape, bases), bases, convention);
}

/**
 * rotate() in both conventions, Vᵀ M computed once for the two (the larger product of the
 * pair when out > in, as in an MLP's first linear): bitwise the same as two rotate() calls.
 */
export function rotations(m: Float64Array, shape: readonly [number, number], bases: Pick<LayerTypeBases, 'U' | 'V'>): Record<Convention, Float64Array> {
  const vtm = leftRotated(m, shape, bases);
  return { consistent: rightRotated(vtm, bases, 'consistent'), reference: rightRotated(vtm, bases, 'reference') };
}

export interface LayerConcentration {
  layerType: string;
  shape: [number, number];
  /** Gradient slices measured (blocks × batches). */
  slices: number;
  /** Mean over slices of the top-1 % energy share. */
  top1: Record<Variant, number>;
  /** With a budget: mean over slices of the share held by the k largest entries (k = ⌈fraction·n⌉). */
  atBudget?: { k: number; fraction: number; share: Record<Variant, number> };
  /** Runs (seeds) whose slices were pooled; 1 when measured once. */
  runs?: number;
  /** Fractions of entries (x) and the mean energy share of the top x (y), per variant. */
  curve: { x: number[]; y: Record<Variant, number[]> };
}

/** Measure every layer type's slices against its bases. */
export function measureConcentration(
  gradients: Map<string, { shape: [number, number]; slices: Float64Array[] }>,
  bases: Map<string, Pick<LayerTypeBases, 'U' | 'V'>>,
  options: { fraction?: number; points?: number; budget?: number } = {},
): LayerConcentration[] {
  const fraction = options.fraction ?? 0.01;
  const budget = options.budget;
  const out: LayerConcentration[] = [];
  for (const [type, { shape, slices }] of gradients) {
    const bases32 = bases.get(type);
    if (!bases32 || slices.length === 0) continue;
    const pair = { U: bases32.U.to('float64'), V: bases32.V.to('float64') }; // converted once, not per slice
    const x = curveFractions(shape[0] * shape[1], options.points);
    const top1 = { untransformed: 0, consistent: 0, reference: 0 } as Record<Variant, number>;
    const n = shape[0] * shape[1];
    const atBudget =
      budget === undefined
        ? undefined
        : { k: Math.min(budget, n), fraction: Math.min(budget, n) / n, share: { untransformed: 0, consistent: 0, reference: 0 } as Record<Variant, number> };
    const sums = Object.fromEntries(VARIANTS.map((v) => [v, new Array<number>(x.length).fill(0)])) as Record<Variant, number[]>;
    for (const m of slices) {
      const forms: Record<Variant, Float64Array> = { untransformed: m, ...rotations(m, shape, pair) };
      for (const v of VARIANTS) {
        const profile = energyProfile(forms[v]);
        top1[v] += profile.share(topCount(fraction, n)) / slices.length;
        if (atBudget) atBudget.share[v] += profile.share(topCount(atBudget.fraction, n)) / slices.length;
        curveOf(profile, x).forEach((y, i) => (sums[v][i]! += y / slices.length));
      }
    }
    out.push({ layerType: type, shape, slices: slices.length, top1, ...(atBudget ? { atBudget } : {}), curve: { x, y: sums }, runs: 1 });
  }
  return out;
}

/**
 * Pool the measurements of several runs (seeds) per layer type: every mean weighted by
 * the run's slice count, so the result is the mean over all their slices. Runs must
 * measure the same layer types with the same curve abscissae and budget.
 */
export function mergeConcentration(runs: readonly (readonly LayerConcentration[])[]): LayerConcentration[] {
  const first = runs[0];
  if (!first) return [];
  return first.map((l) => {
    const same = runs.map((r) => r.find((m) => m.layerType === l.layerType)).filter((m): m is LayerConcentration => m !== undefined);
    const slices = same.reduce((n, m) => n + m.slices, 0);
    const mean = (get: (m: LayerConcentration) => number) => same.reduce((acc, m) => acc + get(m) * m.slices, 0) / slices;
    const byVariant = (get: (m: LayerConcentration, v: Variant) => number) =>
      Object.fromEntries(VARIANTS.map((v) => [v, mean((m) => get(m, v))])) as Record<Variant, number>;
    const b = l.atBudget;
    return {
      layerType: l.layerType,
      shape: l.shape,
      slices,
      runs: same.reduce((n, m) => n + (m.runs ?? 1), 0),
      top1: byVariant((m, v) => m.top1[v]),
      ...(b ? { atBudget: { k: b.k, fraction: b.fraction, share: byVariant((m, v) => m.atBudget?.share[v] ?? NaN) } } : {}),
      curve: {
        x: l.curve.x,
        y: Object.fromEntries(VARIANTS.map((v) => [v, l.curve.x.map((_, i) => mean((m) => m.curve.y[v][i]!))])) as Record<Variant, number[]>,
      },
    };
  });
}
