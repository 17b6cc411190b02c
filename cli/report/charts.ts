/**
 * The report's figures, each an inline SVG built with svg.ts: loss curves, accuracy bars on
 * axes from 0 against the baselines, what each method changed per step, the gradient
 * concentration curves, and a heatmap of one SparseGrad update.
 */
import { VARIANT_LABELS, VARIANTS, type LayerConcentration } from '../concentration.ts';
import type { MethodName } from '../methods.ts';
import { formatCount } from '../metrics.ts';
import type { RunResult } from '../train/result.ts';
import type { UpdateSnapshot } from '../train/update-snapshot.ts';
import { barChart, esc, heatmap, lineChart, PALETTE, type Series } from './svg.ts';

import { BAG_OF_WORDS, type MethodRow, type ReportData } from './data.ts';

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

export function lossChart(d: ReportData): string {
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

export function accuracyCharts(d: ReportData): string {
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
export function perplexityChart(d: ReportData): string {
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
export function changeCharts(d: ReportData): string {
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

export function concentrationCharts(layers: LayerConcentration[]): string {
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

export function shortType(t: string): string {
  return t.replace(/^bert\.encoder\.layer\.\*\./, '').replace(/^model\.layers\.\*\./, '');
}

export function updateHeatmap(u: UpdateSnapshot): string {
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
