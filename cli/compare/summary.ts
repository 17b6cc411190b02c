/**
 * The comparison's runs summarized: one row per method (means over seeds), the paired
 * bootstrap interval of every method-vs-method difference, and SparseGrad's gradient
 * concentration pooled over seeds.
 *
 * Why apart from the tables: these are the numbers (results.json keeps them); the console
 * table, table.md and the HTML report only write them out, and --rerender reuses them.
 */
import { mergeConcentration } from '../concentration.ts';
import { METHOD_LABELS, type MethodName } from '../methods.ts';
import { meanStd, pairedBootstrap } from '../metrics.ts';
import type { Difference, MethodRow, ReportData } from '../report/data.ts';
import type { RunResult } from '../train/result.ts';

/** Every runs' concentration measurements (SparseGrad, one per seed), pooled; null when none was measured. */
export function concentrationOverSeeds(runs: readonly RunResult[]): ReportData['concentration'] {
  const measured = runs.flatMap((r) => (r.concentration ? [r.concentration] : []));
  return measured.length ? mergeConcentration(measured) : null;
}

/**
 * The paired bootstrap interval of every method-vs-method difference in a per-example
 * score — correctness (accuracy) or a held-out block's loss — later method minus earlier
 * in `methods` order (so SparseGrad, listed last, comes first in its pairs). Runs are
 * paired by seed; runs without per-example scores (results.json written before they were
 * kept) leave the pair out.
 */
function scoreDifferences(
  methods: readonly MethodName[],
  runs: readonly RunResult[],
  score: (r: RunResult) => readonly number[] | null,
  replicates: number,
  metric: Difference['metric'],
): Difference[] {
  const scores = (method: MethodName) => {
    const mine = [...runs.filter((r) => r.method === method)].sort((x, y) => x.seed - y.seed);
    const rows = mine.map(score);
    return rows.some((r) => r === null) ? null : { seeds: mine.map((r) => r.seed), rows: rows as (readonly number[])[] };
  };
  const out: Difference[] = [];
  for (let j = 1; j < methods.length; j++) {
    for (let i = 0; i < j; i++) {
      const [a, b] = [scores(methods[j]!), scores(methods[i]!)];
      if (!a || !b || a.seeds.join() !== b.seeds.join()) continue;
      out.push({ a: methods[j]!, b: methods[i]!, metric, ...pairedBootstrap(a.rows, b.rows, { replicates, seed: 12 }) });
    }
  }
  return out;
}

/** One row per method: means over seeds (memory and parameters are the same for every seed). */
export function summarize(methods: readonly MethodName[], runs: readonly RunResult[]): MethodRow[] {
  return methods.map((method) => {
    const mine = runs.filter((r) => r.method === method);
    const first = mine[0]!;
    const ms = meanStd(mine.map((r) => r.msPerStep));
    return {
      method,
      label: METHOD_LABELS[method],
      seeds: mine.map((r) => r.seed),
      trainable: first.memory?.trainableEntries ?? NaN,
      totalParameters: first.memory?.totalEntries ?? NaN,
      budget: first.budget,
      gradOptBytes: first.memory?.gradOptBytes ?? NaN,
      heldBytes: first.memory?.heldBytes ?? NaN,
      gradientBytes: (first.memory?.gradientDenseBytes ?? NaN) + (first.memory?.gradientSparseBytes ?? 0),
      optimizerStateBytes: first.memory?.optimizerStateBytes ?? NaN,
      peakRssBytes: Math.max(...mine.map((r) => r.peakRssBytes)),
      msPerStep: ms.mean,
      prepSeconds: meanStd(mine.map((r) => r.prepSeconds.collect + r.prepSeconds.eigen)).mean,
      accuracy: meanStd(mine.map((r) => r.eval.accuracy ?? NaN)),
      f1: meanStd(mine.map((r) => r.eval.f1 ?? NaN)),
      ...(first.eval.kind === 'lm' ? { heldOutLoss: meanStd(mine.map((r) => r.eval.loss!)), perplexity: meanStd(mine.map((r) => r.eval.perplexity!)) } : {}),
      finalLoss: meanStd(mine.map((r) => meanOfTail(r.losses, 10))),
      changes: changeSummary(mine),
    };
  });
}

/** Means over seeds and steps of what the runs' steps changed (null when not recorded). */
function changeSummary(runs: readonly RunResult[]): MethodRow['changes'] {
  const recorded = runs.flatMap((r) => (r.changes && r.changes.steps.length > 0 ? [r.changes] : []));
  if (recorded.length === 0) return null;
  const avg = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const c0 = recorded[0]!;
  const energy = recorded.flatMap((c) => c.energyKept ?? []).filter(Number.isFinite);
  return {
    entriesPerLayer: c0.entriesPerLayer,
    modifiedPerLayer: avg(recorded.map((c) => avg(c.modified))) / c0.layers,
    everSelectedShare: avg(recorded.map((c) => c.everSelected.at(-1)! / (c.layers * c.entriesPerLayer))),
    energyKept: energy.length ? avg(energy) : null,
  };
}

const meanOfTail = (xs: readonly number[], n: number) => meanStd(xs.slice(-n)).mean;

/**
 * Classification (`gold`: the test labels): accuracy differences over the test examples;
 * language modelling (no `gold`): held-out loss differences over the held-out blocks.
 */
export function methodDifferences(
  methods: readonly MethodName[],
  runs: readonly RunResult[],
  gold: readonly number[] | null,
  replicates: number,
): Difference[] {
  return gold
    ? scoreDifferences(
        methods,
        runs,
        (r) => (r.eval.predictions?.length === gold.length ? gold.map((g, i) => (r.eval.predictions![i] === g ? 1 : 0)) : null),
        replicates,
        'accuracy',
      )
    : scoreDifferences(methods, runs, (r) => r.eval.blockLosses ?? null, replicates, 'loss');
}
