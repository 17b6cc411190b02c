/**
 * The comparison report: one self-contained HTML file (inline CSS and SVG, no script, no
 * network), written as well-formed XHTML-compatible markup so that any XML parser reads it.
 *
 * Sections: the table with the paired bootstrap intervals of every accuracy difference;
 * loss curves per method; accuracy and F1 bars with error bars (± one sample std over
 * seeds) against the majority-class and bag-of-word-pieces baselines, on axes that start at 0; what each method
 * changes per step (entries modified, entries ever selected, gradient energy its top-k
 * keeps); the gradient concentration plot (sorted-energy curves of untransformed vs
 * rotated MLP gradients, both basis conventions, pooled over seeds) with the energy left
 * outside the top 1 % and the budget; a heatmap of one SparseGrad update; per-run details.
 *
 * The sentences say only what the numbers support: with one seed no method "beats"
 * another (the interval covers the test sample, not the training run); a difference is
 * called one only when its 95 % interval excludes 0; explanatory clauses (why SparseGrad
 * is slower, why its optimizer state is not smaller) appear only when the numbers agree;
 * ms/step is flagged when the machine was busy.
 */
import type { BagOfWordsResult } from '../bag-of-words.ts';
import { VARIANT_LABELS, VARIANTS, type LayerConcentration } from '../concentration.ts';
import type { MethodName } from '../methods.ts';
import { formatBytes, formatCount, formatDifference, formatPercent, formatSeconds, type MeanStd, type PairedDifference } from '../metrics.ts';
import type { SweepCell, SweepSummary } from '../commands/sweep.ts';
import type { RunResult } from '../train/result.ts';
import type { UpdateSnapshot } from '../train/update-snapshot.ts';
import { barChart, esc, heatmap, lineChart, PALETTE, type Series } from './svg.ts';

export interface MethodRow {
  method: MethodName;
  label: string;
  seeds: number[];
  trainable: number;
  totalParameters: number;
  budget: number | null;
  gradOptBytes: number;
  /** Everything memoryReport counts as held at the last step (parameters, originals, gradients, optimizer state, bases, materialized weights). */
  heldBytes: number;
  gradientBytes: number;
  optimizerStateBytes: number;
  peakRssBytes: number;
  msPerStep: number;
  prepSeconds: number;
  accuracy: MeanStd;
  f1: MeanStd;
  /** Language modelling: held-out loss (nats per token) and perplexity over seeds. */
  heldOutLoss?: MeanStd;
  perplexity?: MeanStd;
  finalLoss: MeanStd;
  /** Means over seeds and steps of RunResult.changes; null when not recorded. */
  changes: {
    entriesPerLayer: number;
    modifiedPerLayer: number;
    /** Entries with a non-zero gradient at some step, as a share of the trained entries, at the last step. */
    everSelectedShare: number;
    /** Share of the gradient energy the top-k selection kept (MeProp, SparseGrad). */
    energyKept: number | null;
  } | null;
}

/** a − b in accuracy (classification) or held-out loss (language modelling), with its paired bootstrap interval (cli/metrics.ts). */
export interface Difference extends PairedDifference {
  a: MethodName;
  b: MethodName;
  /** Absent in results written before language modelling: accuracy. */
  metric?: 'accuracy' | 'loss';
}

/** The 1-minute load average sampled during the runs (os.loadavg), and the verdict on ms/step. */
export interface LoadReport {
  cores: number;
  /** Runs that trained at once (0 when every run was already finished: a resumed report). */
  jobs: number;
  samples: number;
  mean: number;
  max: number;
  noisy: boolean;
}

export interface ReportData {
  title: string;
  command: string;
  generated: string;
  wallSeconds: number;
  /** `fma`: whether the GEMM used fused multiply-adds (absent in results written before it was recorded). */
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string; fma?: boolean };
  /** A digest of the model's weight files (cli/weights-identity.ts); absent in results written before it was recorded. */
  weights?: string;
  setting: string;
  settings: Record<string, string | number>;
  /** Absent in results written before language modelling: classification. */
  kind?: 'classification' | 'lm';
  split: string;
  labels: string[];
  /** The majority-class baseline; null for language modelling. */
  baseline: { label: number; accuracy: number; f1: number } | null;
  /** The bag-of-word-pieces baseline (cli/bag-of-words.ts); absent for language modelling and in results written before it. */
  bagOfWords?: BagOfWordsResult | null;
  rows: MethodRow[];
  /** Absent in results.json files written before the intervals existed. */
  differences?: Difference[];
  /** Gold labels of the test split, in order: with the runs' predictions (results.json only), the intervals can be recomputed. */
  testLabels?: number[];
  load?: LoadReport;
  /** The learning-rate sweep the rates came from (compare --sweep). */
  sweep?: SweepSummary;
  runs: RunResult[];
  concentration: LayerConcentration[] | null;
  update: UpdateSnapshot | null;
  /** The console table, verbatim. */
  table: string;
}

/** What the bag-of-words baseline is called in tables and legends. */
export const BAG_OF_WORDS = 'bag of word pieces';

/** The baselines under a classification table: the majority class, then the bag of word pieces when measured. */
export function baselineRows(d: Pick<ReportData, 'baseline' | 'bagOfWords'>): [string, { accuracy: number; f1: number }][] {
  const rows: [string, { accuracy: number; f1: number }][] = [];
  if (d.baseline) rows.push(['majority class', d.baseline]);
  if (d.bagOfWords) rows.push([BAG_OF_WORDS, d.bagOfWords]);
  return rows;
}

export const METHOD_COLORS: Record<MethodName, string> = { full: PALETTE[0]!, lora: PALETTE[1]!, meprop: PALETTE[2]!, sparsegrad: PALETTE[3]! };

/** Trailing moving average (window w), so curves read through mini-batch noise. */
export function smooth(xs: readonly number[], w: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i]!;
    if (i >= w) sum -= xs[i - w]!;
    out.push(sum / Math.min(i + 1, w));
  }
  return out;
}

function lossChart(d: ReportData): string {
  const steps = Math.max(...d.runs.map((r) => r.losses.length));
  const window = Math.max(1, Math.round(steps / 25));
  const series: Series[] = d.rows.map((row) => {
    const runs = d.runs.filter((r) => r.method === row.method).map((r) => smooth(r.losses, window));
    const n = Math.min(...runs.map((r) => r.length));
    const mean: [number, number][] = [];
    const band: [number, number, number][] = [];
    for (let i = 0; i < n; i++) {
      const ys = runs.map((r) => r[i]!);
      const m = ys.reduce((s, y) => s + y, 0) / ys.length;
      mean.push([i + 1, m]);
      band.push([i + 1, Math.min(...ys), Math.max(...ys)]);
    }
    return { name: row.label, color: METHOD_COLORS[row.method], points: mean, ...(runs.length > 1 ? { band } : {}) };
  });
  const prelim = d.runs.find((r) => r.method === 'sparsegrad' && r.prepSeconds.collect > 0);
  const prelimSteps = Number(d.settings['SparseGrad preliminary steps'] ?? 0);
  return lineChart({
    plot: 'loss',
    title: `Training loss (moving average over ${window} step${window > 1 ? 's' : ''}; band: min–max over seeds)`,
    xLabel: 'optimizer step',
    yLabel: 'cross-entropy',
    series,
    yMin: 0,
    markers: prelim && prelimSteps > 0 ? [[prelimSteps, 'SparseGrad conversion']] : [],
  });
}

function accuracyCharts(d: ReportData): string {
  const baseline = d.baseline;
  if (!baseline || d.kind === 'lm') return perplexityChart(d);
  const pct = (v: number) => `${(v * 100).toFixed(1)}`;
  // The axis starts at 0: a truncated axis makes a 2-point gap look like a 2× one.
  const yMin = 0;
  const chart = (plot: string, title: string, key: 'accuracy' | 'f1') =>
    barChart({
      plot,
      title,
      yLabel: `${key === 'accuracy' ? 'accuracy' : 'macro-F1'} (%)`,
      yMin,
      yMax: 1,
      format: pct,
      width: 460,
      bars: d.rows.map((r) => ({
        label: r.label,
        value: r[key].mean,
        error: r[key].std,
        color: METHOD_COLORS[r.method],
        points: d.runs.filter((x) => x.method === r.method).map((x) => (key === 'accuracy' ? x.eval.accuracy! : x.eval.f1!)),
      })),
      baselines: [
        { value: baseline[key], label: `majority class ${pct(baseline[key])}`, color: '#d62728', dash: '6 4' },
        ...(d.bagOfWords ? [{ value: d.bagOfWords[key], label: `${BAG_OF_WORDS} ${pct(d.bagOfWords[key])}`, color: '#555', dash: '2 3' }] : []),
      ],
    });
  return `<div class="row">${chart('accuracy', 'Test accuracy (mean ± std over seeds)', 'accuracy')}${chart('f1', 'Test macro-F1 (mean ± std over seeds)', 'f1')}</div>`;
}

/** Language modelling: held-out perplexity per method, from 0 (lower is better). */
function perplexityChart(d: ReportData): string {
  return barChart({
    plot: 'perplexity',
    title: 'Held-out perplexity (mean ± std over seeds; lower is better)',
    yLabel: 'perplexity',
    yMin: 0,
    width: 460,
    format: (v) => v.toFixed(1),
    bars: d.rows.map((r) => ({
      label: r.label,
      value: r.perplexity?.mean ?? NaN,
      error: r.perplexity?.std ?? 0,
      color: METHOD_COLORS[r.method],
      points: d.runs.filter((x) => x.method === r.method).map((x) => x.eval.perplexity ?? NaN),
    })),
  });
}

/** What each method's steps change: entries modified per layer, entries ever selected, energy kept by top-k. */
function changeCharts(d: ReportData): string {
  const rows = d.rows.filter((r) => d.runs.some((x) => x.method === r.method && x.changes?.steps.length));
  if (rows.length === 0) return '<p class="muted">Not recorded (results written before the per-step counts existed).</p>';
  /** Mean over the method's seeds, step by step, of f(changes, i). */
  const series = (method: MethodName, f: (c: NonNullable<RunResult['changes']>, i: number) => number): [number, number][] => {
    const cs = d.runs.filter((x) => x.method === method && x.changes?.steps.length).map((x) => x.changes!);
    const n = Math.min(...cs.map((c) => c.steps.length));
    return Array.from({ length: n }, (_, i) => [cs[0]!.steps[i]!, cs.reduce((a, c) => a + f(c, i), 0) / cs.length] as [number, number]);
  };
  const line = (
    plot: string,
    title: string,
    yLabel: string,
    f: (c: NonNullable<RunResult['changes']>, i: number) => number,
    only?: (r: MethodRow) => boolean,
  ) =>
    lineChart({
      plot,
      title,
      xLabel: 'optimizer step',
      yLabel,
      yMin: 0,
      width: 560,
      series: rows.filter((r) => !only || only(r)).map((r) => ({ name: r.label, color: METHOD_COLORS[r.method], points: series(r.method, f) })),
    });
  const modified = line('modified', 'Entries changed per MLP layer by each step (mean over seeds)', 'entries per layer', (c, i) => c.modified[i]! / c.layers);
  const ever = line(
    'ever-selected',
    'Share of the trained entries ever given a non-zero gradient',
    'share of entries',
    (c, i) => c.everSelected[i]! / (c.layers * c.entriesPerLayer),
  );
  const energy = rows.some((r) => r.changes?.energyKept !== null && r.changes?.energyKept !== undefined)
    ? line(
        'energy-kept',
        'Gradient energy kept by the top-k selection',
        'share of ‖g‖²',
        (c, i) => c.energyKept?.[i] ?? NaN,
        (r) => r.changes?.energyKept !== null && r.changes?.energyKept !== undefined,
      )
    : '';
  const table = rows
    .map((r) => {
      const c = r.changes!;
      return `<tr><td>${esc(r.label)}</td><td class="num">${formatCount(c.entriesPerLayer)}</td><td class="num">${formatCount(Math.round(c.modifiedPerLayer))}</td><td class="num">${(c.everSelectedShare * 100).toFixed(1)} %</td><td class="num">${c.energyKept === null ? '–' : `${(c.energyKept * 100).toFixed(1)} %`}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>method</th><th>trained entries per MLP layer</th><th>changed per step (mean)</th><th>ever selected (last step)</th><th>gradient energy kept by top-k (mean)</th></tr></thead><tbody>${table}</tbody></table>
<div class="row">${modified}${ever}${energy}</div>`;
}

const DASHES: Record<string, string | undefined> = { untransformed: undefined, consistent: undefined, reference: '6 4' };
const VARIANT_COLORS: Record<string, string> = { untransformed: '#7f7f7f', consistent: '#d62728', reference: '#9467bd' };

function concentrationCharts(layers: LayerConcentration[]): string {
  const charts = layers.map((l) =>
    lineChart({
      plot: 'concentration',
      title: `${shortType(l.layerType)} ${l.shape[0]}×${l.shape[1]}: energy in the top entries`,
      xLabel: 'fraction of entries kept (largest |g| first, log scale)',
      yLabel: 'share of ‖g‖²',
      logX: true,
      yMin: 0,
      yMax: 1,
      width: 560,
      series: VARIANTS.map((v) => ({
        name: `${VARIANT_LABELS[v]}`,
        color: VARIANT_COLORS[v],
        dash: DASHES[v],
        points: l.curve.x.map((x, i) => [x, l.curve.y[v][i]!] as const),
      })),
      markers: [[0.01, 'top 1%']],
    }),
  );
  // Stated as what a selection throws away: the energy left outside the kept entries.
  const outside = (share: number | undefined) => (share === undefined || !Number.isFinite(share) ? '–' : `${((1 - share) * 100).toFixed(1)} %`);
  const budget = layers.find((l) => l.atBudget)?.atBudget;
  const rows = layers
    .map(
      (l) =>
        `<tr><td>${esc(shortType(l.layerType))}</td><td>${l.shape[0]}×${l.shape[1]}</td><td class="num">${l.slices}${l.runs && l.runs > 1 ? ` (${l.runs} seeds)` : ''}</td>${VARIANTS.map((v) => `<td class="num">${outside(l.top1[v])}</td>`).join('')}${budget ? VARIANTS.map((v) => `<td class="num">${outside(l.atBudget?.share[v])}</td>`).join('') : ''}</tr>`,
    )
    .join('');
  const head = `<tr><th rowspan="2">layer type</th><th rowspan="2">shape</th><th rowspan="2">gradients</th><th colspan="3">energy outside the top 1 %</th>${budget ? `<th colspan="3">energy outside the top k = ${formatCount(budget.k)} (${(budget.fraction * 100).toFixed(2)} %)</th>` : ''}</tr><tr>${[...VARIANTS, ...(budget ? VARIANTS : [])].map((v) => `<th>${esc(VARIANT_LABELS[v])}</th>`).join('')}</tr>`;
  return `<div class="row">${charts.join('')}</div>
<table><thead>${head}</thead><tbody>${rows}</tbody></table>`;
}

function shortType(t: string): string {
  return t.replace(/^bert\.encoder\.layer\.\*\./, '').replace(/^model\.layers\.\*\./, '');
}

function updateHeatmap(u: UpdateSnapshot): string {
  const [rows, cols] = u.shape;
  const density = u.indices.length / (rows * cols);
  const map = heatmap({
    plot: 'heatmap',
    title: `ΔW̃ of ${u.layer} at step ${u.step}`,
    rows,
    cols,
    indices: u.indices,
    values: u.delta,
    rowLabel: 'output index (V basis)',
    colLabel: 'input index (U basis)',
  });
  return `<p>${esc(`${formatCount(u.indices.length)} of ${formatCount(rows * cols)} entries moved (${(density * 100).toFixed(2)} %); rows and columns are ordered by eigenvalue, largest first, so the top-left corner holds the directions that carried the most gradient energy in the preliminary phase.`)}</p>${map}`;
}

function htmlTable(d: ReportData): string {
  const noisy = d.load?.noisy ? ' (noisy, see below)' : '';
  const lm = !d.baseline || d.kind === 'lm';
  const head = [
    'method',
    'trainable params',
    'MLP gradient entries selected per layer per step (k)',
    'gradients',
    'optimizer state',
    'grad + opt state (exact)',
    'held (exact)',
    'peak RSS',
    `ms / step${noisy}`,
    'prelim + eigen s',
    ...(lm ? ['held-out loss', 'perplexity'] : ['accuracy %', 'macro-F1 %']),
  ];
  const body = d.rows.map((r) => [
    r.label,
    formatCount(r.trainable),
    r.budget === null ? 'all' : formatCount(r.budget),
    formatBytes(r.gradientBytes),
    formatBytes(r.optimizerStateBytes),
    `${formatBytes(r.gradOptBytes)} <span class="muted">(${formatCount(r.gradOptBytes)} B)</span>`,
    Number.isFinite(r.heldBytes) ? `${formatBytes(r.heldBytes)} <span class="muted">(${formatCount(r.heldBytes)} B)</span>` : '–',
    formatBytes(r.peakRssBytes),
    r.msPerStep.toFixed(0),
    r.prepSeconds > 0 ? r.prepSeconds.toFixed(1) : '–',
    ...(lm
      ? [r.heldOutLoss ? r.heldOutLoss.mean.toFixed(4) : '–', r.perplexity ? formatPercentless(r.perplexity) : '–']
      : [formatPercent(r.accuracy), formatPercent(r.f1)]),
  ]);
  const row = (cells: string[], tag: string) =>
    `<tr>${cells.map((c, i) => `<${tag}${i > 0 ? ' class="num"' : ''}>${i === 0 || c.includes('<span') ? c : esc(c)}</${tag}>`).join('')}</tr>`;
  const main = `<table class="main"><thead>${row(head.map(esc), 'th')}</thead><tbody>${body
    .map((c) =>
      row(
        c.map((x, i) => (i === 0 ? esc(x) : x)),
        'td',
      ),
    )
    .join('')}${baselineRows(d)
    .map(
      ([name, b]) =>
        `<tr class="muted"><td>${esc(name)}</td>${'<td></td>'.repeat(head.length - 3)}<td class="num">${(b.accuracy * 100).toFixed(1)}</td><td class="num">${(b.f1 * 100).toFixed(1)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
  const diffs = d.differences ?? [];
  if (diffs.length === 0) return main;
  const d0 = diffs[0]!;
  const label = (m: MethodName) => d.rows.find((r) => r.method === m)?.label ?? m;
  const metricLoss = d0.metric === 'loss';
  const pts = (x: number) => (metricLoss ? x.toFixed(4) : (x * 100).toFixed(1));
  const diffRows = diffs
    .map(
      (x) =>
        `<tr><td>${esc(`${label(x.a)} − ${label(x.b)}`)}</td><td class="num">${pts(x.diff)}</td><td class="num">${pts(x.lo)} to ${pts(x.hi)}</td><td>${x.lo > 0 || x.hi < 0 ? 'excludes 0' : 'includes 0'}</td></tr>`,
    )
    .join('');
  return `${main}
<table data-table="differences"><thead><tr><th>${metricLoss ? 'held-out loss difference' : 'accuracy difference'}</th><th class="num">${metricLoss ? 'nats/token' : 'points'}</th><th class="num">${Math.round(d0.level * 100)} % CI</th><th></th></tr></thead><tbody>${diffRows}</tbody></table>
<p class="muted">${esc(`Paired bootstrap over ${d0.examples} ${metricLoss ? 'held-out blocks' : 'test examples'} × ${d0.seeds} seed${d0.seeds === 1 ? '' : 's'} (${formatCount(d0.replicates)} seeded replicates): each replicate redraws the seeds and the ${metricLoss ? 'held-out blocks' : 'test examples'} with replacement, the same draw for both methods, and the interval is the 2.5–97.5 % percentile range.${d0.seeds === 1 ? ` With one seed it covers the sampling of the ${metricLoss ? 'held-out text' : 'test set'} only, not the variation between training runs, so no method is ranked above another.` : ''}`)}</p>`;
}

/**
 * Plain sentences drawn from the numbers (see the header for the rules): the accuracy
 * differences of SparseGrad against each baseline with their intervals, methods not above
 * the majority class, methods below the bag of word pieces, memory held, speed (flagged when noisy), what the steps changed and
 * the concentration.
 */
export function findings(d: ReportData): string[] {
  const by = (m: MethodName) => d.rows.find((r) => r.method === m);
  const out: string[] = [];
  const sg = by('sparsegrad');
  const lora = by('lora');
  const full = by('full');
  const diffs = d.differences ?? [];
  const seeds = diffs[0]?.seeds ?? d.rows[0]?.seeds.length ?? 0;
  const label = (m: MethodName) => by(m)?.label ?? m;
  const verdict = (x: Difference) => {
    const loss = x.metric === 'loss'; // lower is better
    const name = `${label(x.a)} − ${label(x.b)}: ${formatDifference(x, x.metric)} of ${loss ? 'held-out loss' : 'accuracy'}`;
    const excludes = x.lo > 0 || x.hi < 0;
    if (seeds < 2) return `${name}.`;
    if (!excludes) return `${name}; the interval includes 0, so no clear difference between ${label(x.a)} and ${label(x.b)}.`;
    const better = loss ? x.diff < 0 : x.diff > 0;
    return better
      ? `${name}: ${label(x.a)} beats ${label(x.b)} (the interval excludes 0).`
      : `${name}: ${label(x.a)} does not beat ${label(x.b)}; it is ${loss ? 'worse on held-out text' : 'less accurate'} (the interval excludes 0).`;
  };
  const mine = diffs.filter((x) => x.a === 'sparsegrad' || x.b === 'sparsegrad');
  if (seeds < 2 && diffs.length > 0)
    out.push(
      `One seed: the intervals below cover the sampling of the ${diffs[0]!.examples} ${diffs[0]!.metric === 'loss' ? 'held-out blocks' : 'test examples'} only, not the variation between training runs, so these sentences rank no method above another.`,
    );
  for (const x of mine.length ? mine : diffs) out.push(verdict(x));
  const baseline = d.baseline;
  if (baseline)
    for (const r of d.rows)
      if (r.accuracy.mean <= baseline.accuracy) out.push(`${r.label} is not above the majority-class baseline (${(baseline.accuracy * 100).toFixed(1)} %).`);
  const bow = d.bagOfWords;
  if (bow) {
    const below = d.rows.filter((r) => r.accuracy.mean < bow.accuracy).map((r) => r.label);
    const who = below.length === d.rows.length ? (below.length > 1 ? 'Every method' : below[0]) : below.join(', ');
    if (below.length > 0)
      out.push(
        `${who} stays below the bag-of-word-pieces baseline (${(bow.accuracy * 100).toFixed(1)} %: softmax regression on which word pieces each text contains, the same truncated tokens, untuned), in mean test accuracy.`,
      );
  }
  const held = d.rows.filter((r) => Number.isFinite(r.heldBytes));
  if (held.length > 1) {
    const sorted = [...held].sort((a, b) => a.heldBytes - b.heldBytes);
    const [least, next] = [sorted[0]!, sorted[1]!];
    let sentence = `Memory held at the last step (exact: parameters, kept originals, gradients, optimizer state, bases, materialized weights): ${least.label} holds the least, ${formatBytes(least.heldBytes)}, ${formatBytes(next.heldBytes - least.heldBytes)} less than ${next.label}`;
    if (sg && full && sg !== least) sentence += `; SparseGrad holds ${formatBytes(sg.heldBytes)} against ${formatBytes(full.heldBytes)} for full fine-tuning`;
    // The clause only where it is true of these numbers: SparseAdam's dense moments are as large as AdamW's.
    if (sg && full && sg.optimizerStateBytes >= full.optimizerStateBytes)
      sentence += ` (its sparse gradients are small, but SparseAdam keeps dense moments for every W̃)`;
    out.push(`${sentence}.`);
  }
  if (sg && full) {
    const noisy = d.load?.noisy ? ` These timings are noisy (${loadText(d.load)}).` : '';
    const slower = sg.msPerStep > full.msPerStep;
    const why = slower && !d.load?.noisy ? ' (the rotations and the top-k selection cost extra)' : '';
    const runs = d.runs.filter((r) => r.method === 'sparsegrad');
    const mean = (f: (r: RunResult) => number) => runs.reduce((x, r) => x + f(r), 0) / runs.length;
    out.push(
      `Speed: SparseGrad takes ${sg.msPerStep.toFixed(0)} ms per step against ${full.msPerStep.toFixed(0)} ms for full fine-tuning${lora ? ` and ${lora.msPerStep.toFixed(0)} ms for LoRA` : ''}${why}. Its preliminary AdamW steps (counted among the steps) took ${mean((r) => r.prepSeconds.collect).toFixed(1)} s with the Gram accumulation, and the eigen-decomposition ${mean((r) => r.prepSeconds.eigen).toFixed(1)} s.${noisy}`,
    );
  }
  const meprop = by('meprop');
  if (sg?.changes && meprop?.changes) {
    const [s, m] = [sg.changes, meprop.changes];
    out.push(
      `What the steps change: SparseGrad's SparseAdam moves ${formatCount(Math.round(s.modifiedPerLayer))} entries of each W̃ per step on average (only the selected ones; ${(s.everSelectedShare * 100).toFixed(1)} % of the entries had been selected at least once by the end); MeProp's AdamW moves ${formatCount(Math.round(m.modifiedPerLayer))} of each W per step, because its momentum keeps moving every entry it ever selected (${(m.everSelectedShare * 100).toFixed(1)} % of the entries by the end).${s.energyKept !== null && m.energyKept !== null ? ` Their top-k keeps ${(s.energyKept * 100).toFixed(1)} % (SparseGrad, rotated) and ${(m.energyKept * 100).toFixed(1)} % (MeProp) of the gradient energy.` : ''}`,
    );
  }
  if (d.concentration?.length) {
    const c = d.concentration.map(
      (l) =>
        `${shortType(l.layerType)}: ${((1 - l.top1.untransformed) * 100).toFixed(1)} % untransformed, ${((1 - l.top1.consistent) * 100).toFixed(1)} % in the consistent basis, ${((1 - l.top1.reference) * 100).toFixed(1)} % in the reference one${l.atBudget ? `; outside the budget (${(l.atBudget.fraction * 100).toFixed(2)} %): ${((1 - l.atBudget.share.untransformed) * 100).toFixed(1)} %, ${((1 - l.atBudget.share.consistent) * 100).toFixed(1)} %, ${((1 - l.atBudget.share.reference) * 100).toFixed(1)} %` : ''}`,
    );
    out.push(
      `Gradient energy left outside the top 1 % of entries (held-out gradients${d.concentration[0]!.runs && d.concentration[0]!.runs > 1 ? `, ${d.concentration[0]!.runs} seeds pooled` : ''}): ${c.join('; ')}.`,
    );
  }
  return out;
}

/** A sweep cell as text: accuracy in % with one decimal, or loss in nats per token with three; "± std" over more than one seed. */
export function sweepCellText(metric: SweepSummary['metric'], c: SweepCell): string {
  const [scale, digits] = metric === 'validation loss' ? [1, 3] : [100, 1];
  return `${(c.mean * scale).toFixed(digits)}${c.n > 1 ? ` ± ${(c.std * scale).toFixed(digits)}` : ''}`;
}

/** How a sweep chose each rate, e.g. "lowest mean validation loss". */
export function sweepChoice(metric: SweepSummary['metric']): string {
  return metric === 'validation loss' ? 'lowest mean validation loss' : 'best mean validation accuracy';
}

/** The sweep's column heading: its metric, and the unit. */
export function sweepHeading(metric: SweepSummary['metric']): string {
  return metric === 'validation loss' ? 'validation loss (nats/token)' : 'validation accuracy %';
}

/** The whole sweep grid, the validation metric per method and rate, the chosen rate in bold. */
function sweepTable(w: SweepSummary, label: (m: MethodName) => string): string {
  const methods = Object.keys(w.grid) as MethodName[];
  const metric = w.metric;
  const rows = methods
    .map(
      (m) =>
        `<tr><td>${esc(label(m))}</td>${w.grid[m]!.map((c) => {
          const text = sweepCellText(metric, c);
          return `<td class="num">${c.lr === w.chosen[m] ? `<b>${text}</b>` : text}</td>`;
        }).join('')}</tr>`,
    )
    .join('');
  return `<table data-table="sweep"><thead><tr><th>${esc(sweepHeading(metric))}</th>${w.lrs.map((lr) => `<th class="num">lr ${esc(lr)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>
<p class="muted">${esc(`The rates were chosen by ${w.command} (${w.generated}): each method's ${sweepChoice(metric)} over seeds (in bold; ties go to the smaller rate), on a validation split held out of the training set; the test (or held-out) split was not read. The comparison above trains at those rates on the whole training split.`)}</p>`;
}

/** "12.34 ± 0.56" for a mean and std that are not fractions. */
function formatPercentless({ mean, std, n }: MeanStd): string {
  return n > 1 ? `${mean.toFixed(2)} ± ${std.toFixed(2)}` : mean.toFixed(2);
}

function loadText(l: LoadReport): string {
  const parts = [];
  if (l.mean > l.cores) parts.push(`the 1-minute load average was ${l.mean.toFixed(1)} (max ${l.max.toFixed(1)}) on ${l.cores} cores`);
  if (l.jobs > 1) parts.push(`${l.jobs} runs shared the machine at once, so each method's time depends on what ran beside it`);
  return parts.join('; ');
}

const CSS = `
body { font-family: system-ui, -apple-system, sans-serif; margin: 2rem auto; max-width: 1180px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #777; } .row { display: flex; flex-wrap: wrap; gap: 1rem; }
pre { background: #f7f7f7; padding: .7rem; overflow-x: auto; font-size: .8rem; }
code { background: #f2f2f2; padding: 0 .2rem; }
svg { background: #fff; border: 1px solid #eee; }
`;

export function renderReport(d: ReportData): string {
  const settings = Object.entries(d.settings)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('');
  const lmRuns = d.kind === 'lm';
  const runRows = d.runs
    .map(
      (r) =>
        `<tr><td>${esc(r.method)}</td><td class="num">${r.seed}</td>${lmRuns ? `<td class="num">${(r.eval.loss ?? NaN).toFixed(4)}</td><td class="num">${(r.eval.perplexity ?? NaN).toFixed(2)}</td>` : `<td class="num">${((r.eval.accuracy ?? NaN) * 100).toFixed(2)}</td><td class="num">${((r.eval.f1 ?? NaN) * 100).toFixed(2)}</td>`}<td class="num">${(r.losses.at(-1) ?? NaN).toFixed(4)}</td><td class="num">${r.msPerStep.toFixed(1)}</td><td class="num">${r.trainSeconds.toFixed(1)}</td><td class="num">${(r.prepSeconds.collect + r.prepSeconds.eigen).toFixed(1)}</td><td class="num">${formatBytes(r.peakRssBytes)}</td><td>${esc(r.summary)}</td></tr>`,
    )
    .join('');
  const concentration = d.concentration?.length
    ? concentrationCharts(d.concentration)
    : '<p class="muted">Not measured (SparseGrad was not among the methods, or --concentration-batches was 0).</p>';
  const update = d.update ? updateHeatmap(d.update) : '<p class="muted">No SparseGrad update was captured (SparseGrad was not among the methods).</p>';
  return `<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>${esc(d.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(d.title)}</h1>
<p>Generated ${esc(d.generated)} by <code>${esc(d.command)}</code> (${esc(d.setting)} setting) in ${esc(formatSeconds(d.wallSeconds))} on ${d.machine.cpus} × ${esc(d.machine.cpuModel)}, ${d.machine.memoryGiB} GiB, Node ${esc(d.machine.node)}, ${esc(d.machine.platform)}${d.machine.fma === undefined ? '' : d.machine.fma ? ', GEMM with fused multiply-adds' : ', GEMM without fused multiply-adds'}.</p>
<p>${esc(d.split)}</p>
<h2>Results</h2>
${htmlTable(d)}
<ul>${findings(d)
    .map((f) => `<li>${esc(f)}</li>`)
    .join('')}</ul>
<p class="muted">How to read it: every method takes the same number of optimizer steps on the same batches, at its own constant learning rate (see Settings; no clipping, AdamW ε 1e-8, wd 0). LoRA (r, α = 1) freezes the MLP weights; MeProp and SparseGrad select k = r·(in + out) entries of each MLP weight gradient per step (the LoRA budget) — SparseAdam then moves only those, while MeProp's AdamW keeps moving every entry it ever selected (see “What each method changes”). SparseGrad's first steps are its preliminary full AdamW steps (the reference's 11), which count towards the total${String(d.settings['preliminary full steps for LoRA and MeProp'] ?? 'no').startsWith('yes') ? '; here LoRA and MeProp take the same preliminary steps first (--prelim-all)' : ''}. ${String(d.settings['trained besides the MLP linears'] ?? '').includes('mlp-only') ? 'Everything outside the MLP linears is frozen in every method except the task head (pooler and classifier): the MLP method is the only variable (--train mlp-only).' : "Everything outside the MLP linears trains densely with AdamW in every method, as in the paper's GLUE code (--train paper), so each method's learning rate also drives those dense updates."} “Trainable params” counts every parameter that requires grad; for SparseGrad that includes the full W̃ matrices, of which only the selected entries move per step. “grad + opt state” is exact: the bytes of every gradient (dense arrays; sparse COO as int32 indices + float32 values) and every optimizer buffer (AdamW/SparseAdam moments), read from the live arrays by memoryReport at the last training step; “held” adds the parameters, the originals kept for unload, the SparseGrad bases (one copy per layer type) and materialized weights. Peak RSS is each run's own process maximum (model, data, activations and all). ms/step is the median wall time of a training step.${d.load ? ` During the runs the 1-minute load average was ${d.load.mean.toFixed(1)} on average (max ${d.load.max.toFixed(1)}) on ${d.load.cores} cores${d.load.noisy ? `: ms/step is noisy (${loadText(d.load)})` : ''}.` : ''}</p>
${
  d.sweep
    ? `<h2>Learning-rate sweep</h2>
${sweepTable(d.sweep, (m) => d.rows.find((r) => r.method === m)?.label ?? m)}`
    : ''
}
<h2>Training loss</h2>
${lossChart(d)}
<h2>${d.kind === 'lm' ? 'Perplexity' : 'Accuracy'}</h2>
${accuracyCharts(d)}
<h2>What each method changes</h2>
<p>Per training step, over the MLP linears: how many entries of the matrices each method trains (W for full fine-tuning and MeProp, LoRA's A and B, SparseGrad's W̃) the optimizer step changed; the share of them that has ever had a non-zero gradient (for SparseGrad, SparseAdam's touched set: what sparse moments would store); and the share of the gradient energy ‖g‖² the top-k selection keeps (MeProp in W's basis, SparseGrad in the rotated one). MeProp's AdamW keeps moving every entry it ever selected (its momentum decays but is not zero); SparseAdam moves only the selected entries of W̃ — but W = V W̃ Aᵀ then changes in every entry.</p>
${changeCharts(d)}
<h2>Gradient concentration</h2>
<p>Real fine-tuning gradients of the MLP weights (the batches right after SparseGrad's preliminary phase, not used for the bases). Each curve sorts the entries by magnitude and shows the share of the squared Frobenius norm held by the largest fraction of them. SparseGrad keeps the top k entries of the rotated gradient, so the higher the rotated curve at the budget, the less of the gradient it drops. Consistent basis: Vᵀ M U (the HOSVD projection, this engine's default); reference basis: Vᵀ M Uᵀ (the reference code's convention).</p>
${concentration}
<h2>One sparse update</h2>
<p>The change SparseAdam applied to one W̃ at the last training step: only the selected entries move (white: unchanged).</p>
${update}
<h2>Runs</h2>
<table><thead><tr><th>method</th><th>seed</th>${lmRuns ? '<th>held-out loss</th><th>perplexity</th>' : '<th>accuracy %</th><th>macro-F1 %</th>'}<th>last loss</th><th>ms / step</th><th>train s</th><th>prelim + eigen s</th><th>peak RSS</th><th>set-up</th></tr></thead><tbody>${runRows}</tbody></table>
<h2>Settings</h2>
<table><tbody>${settings}</tbody></table>
<h2>Console table</h2>
<pre>${esc(d.table)}</pre>
</body>
</html>
`;
}
