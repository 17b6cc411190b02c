/**
 * The comparison report: one self-contained HTML file (inline CSS and SVG, no script, no
 * network), written as well-formed XHTML-compatible markup so that any XML parser reads it.
 *
 * Sections: the table; loss curves per method; accuracy and F1 bars with error bars
 * (± one sample std over seeds) against the majority-class baseline; the gradient
 * concentration plot (sorted-energy curves of untransformed vs rotated MLP gradients,
 * both basis conventions); a heatmap of one SparseGrad update; per-run details.
 */
import { VARIANT_LABELS, VARIANTS, type LayerConcentration } from '../concentration.ts';
import type { MethodName } from '../methods.ts';
import { formatBytes, formatCount, formatPercent, type MeanStd } from '../metrics.ts';
import type { RunResult, UpdateSnapshot } from '../train.ts';
import { barChart, esc, heatmap, lineChart, PALETTE, type Series } from './svg.ts';

export interface MethodRow {
  method: MethodName;
  label: string;
  seeds: number[];
  trainable: number;
  totalParameters: number;
  budget: number | null;
  gradOptBytes: number;
  gradientBytes: number;
  optimizerStateBytes: number;
  peakRssBytes: number;
  msPerStep: number;
  prepSeconds: number;
  accuracy: MeanStd;
  f1: MeanStd;
  finalLoss: MeanStd;
}

export interface ReportData {
  title: string;
  command: string;
  generated: string;
  wallSeconds: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  setting: string;
  settings: Record<string, string | number>;
  split: string;
  labels: string[];
  baseline: { label: number; accuracy: number; f1: number };
  rows: MethodRow[];
  runs: RunResult[];
  concentration: LayerConcentration[] | null;
  update: UpdateSnapshot | null;
  /** The console table, verbatim. */
  table: string;
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
    plot: 'loss', title: `Training loss (moving average over ${window} step${window > 1 ? 's' : ''}; band: min–max over seeds)`,
    xLabel: 'optimizer step', yLabel: 'cross-entropy', series, yMin: 0,
    markers: prelim && prelimSteps > 0 ? [[prelimSteps, 'SparseGrad conversion']] : [],
  });
}

function accuracyCharts(d: ReportData): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}`;
  const lows = d.rows.flatMap((r) => [r.accuracy.mean - r.accuracy.std, r.f1.mean - r.f1.std]).concat([d.baseline.accuracy, d.baseline.f1]);
  const yMin = Math.max(0, Math.floor((Math.min(...lows) - 0.05) * 10) / 10);
  const chart = (plot: string, title: string, key: 'accuracy' | 'f1', baseline: number) => barChart({
    plot, title, yLabel: `${key === 'accuracy' ? 'accuracy' : 'macro-F1'} (%)`, yMin, yMax: 1, format: pct, width: 460,
    bars: d.rows.map((r) => ({
      label: r.label, value: r[key].mean, error: r[key].std, color: METHOD_COLORS[r.method],
      points: d.runs.filter((x) => x.method === r.method).map((x) => (key === 'accuracy' ? x.eval.accuracy! : x.eval.f1!)),
    })),
    baseline: { value: baseline, label: `majority class ${pct(baseline)}` },
  });
  return `<div class="row">${chart('accuracy', 'Test accuracy (mean ± std over seeds)', 'accuracy', d.baseline.accuracy)}${chart('f1', 'Test macro-F1 (mean ± std over seeds)', 'f1', d.baseline.f1)}</div>`;
}

const DASHES: Record<string, string | undefined> = { untransformed: undefined, consistent: undefined, reference: '6 4' };
const VARIANT_COLORS: Record<string, string> = { untransformed: '#7f7f7f', consistent: '#d62728', reference: '#9467bd' };

function concentrationCharts(layers: LayerConcentration[]): string {
  const charts = layers.map((l) => lineChart({
    plot: 'concentration', title: `${shortType(l.layerType)} ${l.shape[0]}×${l.shape[1]}: energy in the top entries`,
    xLabel: 'fraction of entries kept (largest |g| first, log scale)', yLabel: 'share of ‖g‖²', logX: true, yMin: 0, yMax: 1, width: 560,
    series: VARIANTS.map((v) => ({ name: `${VARIANT_LABELS[v]}`, color: VARIANT_COLORS[v], dash: DASHES[v], points: l.curve.x.map((x, i) => [x, l.curve.y[v][i]!] as const) })),
    markers: [[0.01, 'top 1%']],
  }));
  const rows = layers.map((l) => `<tr><td>${esc(shortType(l.layerType))}</td><td>${l.shape[0]}×${l.shape[1]}</td><td>${l.slices}</td>${VARIANTS.map((v) => `<td>${(l.top1[v] * 100).toFixed(1)} %</td>`).join('')}</tr>`).join('');
  return `<div class="row">${charts.join('')}</div>
<table><thead><tr><th>layer type</th><th>shape</th><th>gradients</th>${VARIANTS.map((v) => `<th>top 1 %: ${esc(VARIANT_LABELS[v])}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

function shortType(t: string): string {
  return t.replace(/^bert\.encoder\.layer\.\*\./, '').replace(/^model\.layers\.\*\./, '');
}

function updateHeatmap(u: UpdateSnapshot): string {
  const [rows, cols] = u.shape;
  const density = u.indices.length / (rows * cols);
  const map = heatmap({
    plot: 'heatmap', title: `ΔW̃ of ${u.layer} at step ${u.step}`,
    rows, cols, indices: u.indices, values: u.delta, rowLabel: 'output index (V basis)', colLabel: 'input index (U basis)',
  });
  return `<p>${esc(`${formatCount(u.indices.length)} of ${formatCount(rows * cols)} entries moved (${(density * 100).toFixed(2)} %); rows and columns are ordered by eigenvalue, largest first, so the top-left corner holds the directions that carried the most gradient energy in the preliminary phase.`)}</p>${map}`;
}

function htmlTable(d: ReportData): string {
  const head = ['method', 'trainable params', 'MLP entries updated per layer per step', 'gradients', 'optimizer state', 'grad + opt state (exact)', 'peak RSS', 'ms / step', 'prelim + eigen s', 'accuracy %', 'macro-F1 %'];
  const body = d.rows.map((r) => [
    r.label, formatCount(r.trainable), r.budget === null ? 'all' : formatCount(r.budget), formatBytes(r.gradientBytes), formatBytes(r.optimizerStateBytes),
    `${formatBytes(r.gradOptBytes)} <span class="muted">(${formatCount(r.gradOptBytes)} B)</span>`, formatBytes(r.peakRssBytes), r.msPerStep.toFixed(0),
    r.prepSeconds > 0 ? r.prepSeconds.toFixed(1) : '–', formatPercent(r.accuracy), formatPercent(r.f1),
  ]);
  const row = (cells: string[], tag: string) => `<tr>${cells.map((c, i) => `<${tag}${i > 0 ? ' class="num"' : ''}>${i === 0 || c.includes('<span') ? c : esc(c)}</${tag}>`).join('')}</tr>`;
  return `<table class="main"><thead>${row(head.map(esc), 'th')}</thead><tbody>${body.map((c) => row(c.map((x, i) => (i === 0 ? esc(x) : x)), 'td')).join('')}<tr class="muted"><td>majority class</td>${'<td></td>'.repeat(8)}<td class="num">${(d.baseline.accuracy * 100).toFixed(1)}</td><td class="num">${(d.baseline.f1 * 100).toFixed(1)}</td></tr></tbody></table>`;
}

/** Plain sentences drawn from the numbers, including where SparseGrad does not beat LoRA. */
export function findings(d: ReportData): string[] {
  const by = (m: MethodName) => d.rows.find((r) => r.method === m);
  const out: string[] = [];
  const sg = by('sparsegrad');
  const lora = by('lora');
  const full = by('full');
  const meprop = by('meprop');
  const pts = (x: number) => `${(x * 100).toFixed(1)} points`;
  const verdict = (a: MethodRow, b: MethodRow) => {
    const diff = a.accuracy.mean - b.accuracy.mean;
    const noise = Math.max(a.accuracy.std, b.accuracy.std);
    const within = Math.abs(diff) <= noise ? ` — within one seed standard deviation (${pts(noise)}), so not a clear difference` : '';
    if (diff > 0) return `${a.label} beats ${b.label} by ${pts(diff)} of accuracy${within}.`;
    if (diff < 0) return `${a.label} does not beat ${b.label}: ${pts(-diff)} lower accuracy${within}.`;
    return `${a.label} and ${b.label} tie on accuracy.`;
  };
  if (sg && lora) out.push(verdict(sg, lora));
  if (sg && meprop) out.push(verdict(sg, meprop));
  if (sg && full) out.push(verdict(sg, full));
  for (const r of d.rows) if (r.accuracy.mean <= d.baseline.accuracy) out.push(`${r.label} does not beat the majority-class baseline (${(d.baseline.accuracy * 100).toFixed(1)} %).`);
  if (sg && full && Number.isFinite(sg.gradOptBytes)) {
    out.push(`Memory: SparseGrad holds ${formatBytes(sg.gradOptBytes)} of gradients + optimizer state against ${formatBytes(full.gradOptBytes)} for full fine-tuning${lora ? ` and ${formatBytes(lora.gradOptBytes)} for LoRA` : ''}: its sparse gradients are small, but SparseAdam keeps dense moments for every W̃ (SPARSEGRAD.md §6, P4).`);
  }
  if (sg && full) {
    const runs = d.runs.filter((r) => r.method === 'sparsegrad');
    const mean = (f: (r: RunResult) => number) => runs.reduce((x, r) => x + f(r), 0) / runs.length;
    out.push(`Speed: SparseGrad takes ${sg.msPerStep.toFixed(0)} ms per step against ${full.msPerStep.toFixed(0)} ms for full fine-tuning${lora ? ` and ${lora.msPerStep.toFixed(0)} ms for LoRA` : ''} (the rotations and the top-k selection cost extra, P5). Its preliminary AdamW steps (counted among the steps) took ${mean((r) => r.prepSeconds.collect).toFixed(1)} s with the Gram accumulation, and the eigen-decomposition ${mean((r) => r.prepSeconds.eigen).toFixed(1)} s.`);
  }
  if (d.concentration?.length) {
    const c = d.concentration.map((l) => `${shortType(l.layerType)}: ${(l.top1.untransformed * 100).toFixed(1)} % untransformed → ${(l.top1.consistent * 100).toFixed(1)} % in the consistent basis (${(l.top1.reference * 100).toFixed(1)} % in the reference one)`);
    out.push(`Gradient concentration (share of energy in the top 1 % of entries, held-out gradients): ${c.join('; ')}.`);
  }
  return out;
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
  const settings = Object.entries(d.settings).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const runRows = d.runs.map((r) => `<tr><td>${esc(r.method)}</td><td class="num">${r.seed}</td><td class="num">${((r.eval.accuracy ?? NaN) * 100).toFixed(2)}</td><td class="num">${((r.eval.f1 ?? NaN) * 100).toFixed(2)}</td><td class="num">${(r.losses.at(-1) ?? NaN).toFixed(4)}</td><td class="num">${r.msPerStep.toFixed(1)}</td><td class="num">${r.trainSeconds.toFixed(1)}</td><td class="num">${(r.prepSeconds.collect + r.prepSeconds.eigen).toFixed(1)}</td><td class="num">${formatBytes(r.peakRssBytes)}</td><td>${esc(r.summary)}</td></tr>`).join('');
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
<p>Generated ${esc(d.generated)} by <code>${esc(d.command)}</code> (${esc(d.setting)} setting) in ${esc(formatWall(d.wallSeconds))} on ${d.machine.cpus} × ${esc(d.machine.cpuModel)}, ${d.machine.memoryGiB} GiB, Node ${esc(d.machine.node)}, ${esc(d.machine.platform)}.</p>
<p>${esc(d.split)}</p>
<h2>Results</h2>
${htmlTable(d)}
<ul>${findings(d).map((f) => `<li>${esc(f)}</li>`).join('')}</ul>
<p class="muted">How to read it: every method takes the same number of optimizer steps on the same batches, at its own constant learning rate (see Settings; no clipping, AdamW ε 1e-8, wd 0). LoRA (r, α = 1) freezes the MLP weights; MeProp and SparseGrad update k = r·(in + out) entries of each MLP weight per step (the LoRA budget). SparseGrad's first steps are its preliminary full AdamW steps (the reference's 11), which count towards the total. Everything outside the MLP linears trains densely with AdamW in every method, as in the paper's GLUE code. “Trainable params” counts every parameter that requires grad; for SparseGrad that includes the full W̃ matrices, of which only k entries move per step. “grad + opt state” is exact: the bytes of every gradient (dense arrays; sparse COO as int32 indices + float32 values) and every optimizer buffer (AdamW/SparseAdam moments), read from the live arrays by memoryReport at the last training step. Peak RSS is each run's own process maximum (model, data, activations and all). ms/step is the median wall time of a training step.</p>
<h2>Training loss</h2>
${lossChart(d)}
<h2>Accuracy</h2>
${accuracyCharts(d)}
<h2>Gradient concentration</h2>
<p>Real fine-tuning gradients of the MLP weights (the batches right after SparseGrad's preliminary phase, not used for the bases). Each curve sorts the entries by magnitude and shows the share of the squared Frobenius norm held by the largest fraction of them. SparseGrad keeps the top k entries of the rotated gradient, so the higher the rotated curve at the budget, the less of the gradient it drops. Consistent basis: Vᵀ M U (the HOSVD projection, this engine's default); reference basis: Vᵀ M Uᵀ (the reference code's convention).</p>
${concentration}
<h2>One sparse update</h2>
<p>The change SparseAdam applied to one W̃ at the last training step: only the selected entries move (white: unchanged).</p>
${update}
<h2>Runs</h2>
<table><thead><tr><th>method</th><th>seed</th><th>accuracy %</th><th>macro-F1 %</th><th>last loss</th><th>ms / step</th><th>train s</th><th>prelim + eigen s</th><th>peak RSS</th><th>set-up</th></tr></thead><tbody>${runRows}</tbody></table>
<h2>Settings</h2>
<table><tbody>${settings}</tbody></table>
<h2>Console table</h2>
<pre>${esc(d.table)}</pre>
</body>
</html>
`;
}

function formatWall(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s - 60 * m)} s` : `${s.toFixed(1)} s`;
}
