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
 *
 * The page is put together here (the table, the settings, the per-run details); its parts
 * live beside it: data.ts (what a report holds), charts.ts (the figures), findings.ts (the
 * sentences) and sweep-table.ts (the learning-rate grid).
 */
import type { MethodName } from '../methods.ts';
import { formatBytes, formatCount, formatPercent, formatSeconds, type MeanStd } from '../metrics.ts';
import { esc } from './svg.ts';

import { baselineRows, type ReportData } from './data.ts';
import { accuracyCharts, changeCharts, concentrationCharts, lossChart, updateHeatmap } from './charts.ts';
import { findings, loadText } from './findings.ts';
import { sweepTable } from './sweep-table.ts';

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

/** "12.34 ± 0.56" for a mean and std that are not fractions. */
function formatPercentless({ mean, std, n }: MeanStd): string {
  return n > 1 ? `${mean.toFixed(2)} ± ${std.toFixed(2)}` : mean.toFixed(2);
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
