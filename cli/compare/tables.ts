/**
 * The comparison as text: the console table (fixed width, with the baselines, exact byte
 * counts and the difference intervals below it) and table.md (Markdown, for the README
 * and results folders).
 *
 * Why both here: they show the same columns from the same rows, so the headers and cells
 * are written once for both.
 */
import { METHOD_LABELS } from '../methods.ts';
import { formatBytes, formatCount, formatDifference, formatPercent, type MeanStd } from '../metrics.ts';
import { baselineRows, type Difference, type LoadReport, type MethodRow } from '../report/data.ts';
import type { Baselines } from './tasks.ts';

const COMMON = ['method', 'trainable params', 'MLP k/layer', 'grad + opt state', 'held (exact)', 'peak RSS', 'ms/step'];
/** The score columns: classification's accuracy and F1, or language modelling's held-out loss and perplexity. */
const headers = (rows: readonly MethodRow[]) => [...COMMON, ...(isLm(rows) ? ['held-out loss', 'perplexity'] : ['accuracy %', 'macro-F1 %'])];
const isLm = (rows: readonly MethodRow[]) => rows.some((r) => r.perplexity !== undefined);
const meanStdText = ({ mean, std, n }: MeanStd, digits: number) => (n > 1 ? `${mean.toFixed(digits)} ± ${std.toFixed(digits)}` : mean.toFixed(digits));

function cells(r: MethodRow): string[] {
  return [
    r.label,
    formatCount(r.trainable),
    r.budget === null ? 'all' : formatCount(r.budget),
    formatBytes(r.gradOptBytes),
    formatBytes(r.heldBytes),
    formatBytes(r.peakRssBytes),
    r.msPerStep.toFixed(0),
    ...(r.perplexity ? [meanStdText(r.heldOutLoss!, 4), meanStdText(r.perplexity, 2)] : [formatPercent(r.accuracy), formatPercent(r.f1)]),
  ];
}

/** "SparseGrad − LoRA: +0.4 points (95 % CI −1.2 to +2.0)", one line per pair. */
export function differenceLines(differences: readonly Difference[]): string[] {
  return differences.map((d) => `${METHOD_LABELS[d.a]} − ${METHOD_LABELS[d.b]}: ${formatDifference(d, d.metric)}`);
}

/** The console table (fixed width), with the baselines and the exact byte counts below. */
export function formatTable(rows: readonly MethodRow[], baselines: Baselines, differences: readonly Difference[] = [], load?: LoadReport): string {
  const body = rows.map(cells);
  const HEADERS = headers(rows);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const d0 = differences[0];
  const lm = d0?.metric === 'loss';
  const line = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const seeds = rows[0]?.seeds.length ?? 0;
  return [
    line(HEADERS),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
    ...baselineRows(baselines).map(
      ([name, b]) => `${name.replaceAll(' ', '-')} baseline: accuracy ${(b.accuracy * 100).toFixed(1)} %, macro-F1 ${(b.f1 * 100).toFixed(1)} %`,
    ),
    `${isLm(rows) ? 'held-out loss (nats per token) and perplexity' : 'accuracy and F1'}: mean ± sample std over ${seeds} seed${seeds === 1 ? '' : 's'}; ms/step: mean over seeds of each run's median step (forward + backward + update)${load?.noisy ? ` — NOISY: ${loadNote(load)}` : ''}`,
    `grad + opt state (exact bytes, memoryReport at the last step): ${rows.map((r) => `${r.label} ${formatCount(r.gradOptBytes)}`).join(', ')}`,
    `held (exact bytes: parameters, kept originals, gradients, optimizer state, bases, materialized weights): ${rows.map((r) => `${r.label} ${formatCount(r.heldBytes)}`).join(', ')}`,
    ...(d0
      ? [
          '',
          `${lm ? 'held-out loss' : 'accuracy'} differences, paired bootstrap over ${d0.examples} ${lm ? 'held-out blocks' : 'test examples'} × ${d0.seeds} seed${d0.seeds === 1 ? '' : 's'} (${formatCount(d0.replicates)} replicates)${d0.seeds === 1 ? '; one seed: the intervals cover the test sample only, not the training run' : ''}:`,
          ...differenceLines(differences).map((l) => `  ${l}`),
        ]
      : []),
  ].join('\n');
}

export function markdownTable(rows: readonly MethodRow[], baselines: Baselines, differences: readonly Difference[] = []): string {
  const body = rows.map(cells);
  const HEADERS = headers(rows);
  const d0 = differences[0];
  const lm = d0?.metric === 'loss';
  const value = (x: number) => (lm ? x.toFixed(4) : (x * 100).toFixed(1));
  return [
    `| ${HEADERS.join(' | ')} |`,
    `|${HEADERS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...body.map((c) => `| ${c.join(' | ')} |`),
    ...baselineRows(baselines).map(
      ([name, b]) => `| ${name} |${' |'.repeat(HEADERS.length - 3)} ${(b.accuracy * 100).toFixed(1)} | ${(b.f1 * 100).toFixed(1)} |`,
    ),
    ...(d0
      ? [
          '',
          `| difference in ${lm ? 'held-out loss' : 'accuracy'} | ${lm ? 'nats/token' : 'points'} | ${Math.round(d0.level * 100)} % CI (paired bootstrap, ${d0.examples} ${lm ? 'blocks' : 'examples'} × ${d0.seeds} seed${d0.seeds === 1 ? '' : 's'}) |`,
          '|---|---:|---:|',
          ...differences.map((d) => `| ${METHOD_LABELS[d.a]} − ${METHOD_LABELS[d.b]} | ${value(d.diff)} | ${value(d.lo)} to ${value(d.hi)} |`),
        ]
      : []),
  ].join('\n');
}

/** Why ms/step is not a clean comparison. */
export function loadNote(load: LoadReport): string {
  const parts = [];
  if (load.mean > load.cores) parts.push(`the 1-minute load average was ${load.mean.toFixed(1)} (max ${load.max.toFixed(1)}) on ${load.cores} cores`);
  if (load.jobs > 1) parts.push(`${load.jobs} runs shared the machine at once`);
  return parts.join('; ');
}
