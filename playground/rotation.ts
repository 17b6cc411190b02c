/**
 * Why SparseGrad works, on one small layer (docs/METHOD.md §3–§4): the weight gradients of
 * a layer share their row and column spaces from batch to batch, so in the bases U and V
 * of those spaces the gradient Vᵀ M U packs its energy into a few entries, and a top-k
 * update keeps most of it.
 *
 * The demo layer is a float64 Linear(32 → 24) regressing onto a fixed teacher from inputs
 * that mostly live in a 4-dimensional subspace (plus a little noise) — the low-rank
 * structure real fine-tuning gradients have. The preliminary phase streams a few batches'
 * gradients into the library's GramAccumulator and takes U and V from its eigensolver
 * (`basesFromGram`); a fresh batch, not used for the bases, is then measured with the
 * report's own concentration code (cli/concentration.ts) and drawn with its charts
 * (cli/report/svg.ts).
 */
import { curveFractions, energyCurve, rotate, topShare } from '../cli/concentration.ts';
import { heatmap, lineChart, PALETTE } from '../cli/report/svg.ts';
import { Generator, mseLoss, randn, Tensor } from '../index.ts';
import { basesFromGram, GramAccumulator, Linear } from '../nn/index.ts';

export interface RotationOptions {
  seed?: number;
  inFeatures?: number;
  outFeatures?: number;
  /** Dimension of the subspace the inputs live in. */
  rank?: number;
  /** Batches whose gradients build the bases. */
  batches?: number;
  rows?: number;
  noise?: number;
}

export interface RotationResult {
  shape: [number, number];
  /** Gradient slices that went into the Gram matrices. */
  slices: number;
  /** The measured gradient M (out×in, row-major) and its rotation Vᵀ M U. */
  m: Float64Array;
  rotated: Float64Array;
  /** Share of ‖M‖² held by the largest 1 % of entries, before and after the rotation. */
  top1: { m: number; rotated: number };
  /** Energy share of the top fraction x of entries (log-spaced x). */
  curve: { x: number[]; m: number[]; rotated: number[] };
}

/** Build the layer, collect gradients, compute the bases and measure one fresh gradient. */
export function rotationDemo(options: RotationOptions = {}): RotationResult {
  const { seed = 3, inFeatures = 32, outFeatures = 24, rank = 4, batches = 8, rows = 32, noise = 0.05 } = options;
  const generator = new Generator(seed);
  const layer = new Linear(inFeatures, outFeatures, { dtype: 'float64', generator });
  const mixing = randn([rank, inFeatures], { dtype: 'float64', generator });
  const teacher = randn([outFeatures, inFeatures], { dtype: 'float64', generator });
  /** One batch's weight gradient dL/dW (out×in): inputs z·mixing + noise, targets x·teacherᵀ. */
  const gradient = (): Float64Array => {
    const z = randn([rows, rank], { dtype: 'float64', generator });
    const x = z.matmul(mixing).add(randn([rows, inFeatures], { dtype: 'float64', generator }).mul(noise));
    layer.zeroGrad();
    mseLoss(layer.forward(x), x.matmul(teacher.T)).backward();
    return (layer.weight.grad as Tensor).toTypedArray() as Float64Array;
  };
  const gram = new GramAccumulator(outFeatures, inFeatures);
  for (let b = 0; b < batches; b++) gram.add(gradient());
  const result = gram.finish();
  const bases = basesFromGram(result);
  const U = Tensor.fromStorage(bases.U, [inFeatures, inFeatures]);
  const V = Tensor.fromStorage(bases.V, [outFeatures, outFeatures]);
  const m = gradient();
  const rotated = rotate(m, [outFeatures, inFeatures], { U, V }, 'consistent');
  const x = curveFractions(m.length, 60);
  return {
    shape: [outFeatures, inFeatures],
    slices: result.slices,
    m,
    rotated,
    top1: { m: topShare(m, 0.01), rotated: topShare(rotated, 0.01) },
    curve: { x, m: energyCurve(m, x), rotated: energyCurve(rotated, x) },
  };
}

/** The concentration curve of both forms, as the report draws it. */
export function concentrationSvg(r: RotationResult): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  return lineChart({
    plot: 'playground-concentration',
    title: `Energy in the top entries: top 1 % holds ${pct(r.top1.m)} of ‖M‖² vs ${pct(r.top1.rotated)} of ‖VᵀMU‖²`,
    xLabel: 'fraction of entries kept (largest first)',
    yLabel: 'share of ‖·‖²',
    logX: true,
    yMin: 0,
    yMax: 1,
    width: 620,
    height: 320,
    markers: [[0.01, 'top 1 %']],
    series: [
      { name: 'M (untransformed)', color: PALETTE[0], points: r.curve.x.map((x, i) => [x, r.curve.m[i]!] as const) },
      { name: 'VᵀMU (rotated)', color: PALETTE[3], points: r.curve.x.map((x, i) => [x, r.curve.rotated[i]!] as const) },
    ],
  });
}

/** |values| as a heatmap (every entry drawn: the layer is small). */
export function magnitudeSvg(plot: string, title: string, values: Float64Array, [rows, cols]: readonly [number, number]): string {
  return heatmap({
    plot,
    title,
    rows,
    cols,
    width: 470,
    rowLabel: 'output',
    colLabel: 'input',
    indices: Array.from(values, (_, i) => i),
    values: Array.from(values, Math.abs),
  });
}
