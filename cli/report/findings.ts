/**
 * The report's sentences: what the numbers support and nothing more (a difference is called
 * one only when its 95 % interval excludes 0; with one seed no method "beats" another;
 * timings are flagged when the machine was busy).
 */
import type { MethodName } from '../methods.ts';
import { formatBytes, formatCount, formatDifference } from '../metrics.ts';
import type { RunResult } from '../train/result.ts';

import { shortType } from './charts.ts';
import type { Difference, LoadReport, ReportData } from './data.ts';

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

/** Why ms/step is noisy: the load beyond the cores, and runs sharing the machine. */
export function loadText(l: LoadReport): string {
  const parts = [];
  if (l.mean > l.cores) parts.push(`the 1-minute load average was ${l.mean.toFixed(1)} (max ${l.max.toFixed(1)}) on ${l.cores} cores`);
  if (l.jobs > 1) parts.push(`${l.jobs} runs shared the machine at once, so each method's time depends on what ran beside it`);
  return parts.join('; ');
}
