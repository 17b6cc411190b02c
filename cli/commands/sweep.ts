/**
 * `sparsegrad sweep`: where the comparison's learning rates come from.
 *
 *   sparsegrad sweep --lrs 1e-4,3e-4,1e-3,3e-3,1e-2 --validation 400 [compare flags]
 *
 * runs `compare` once per rate — every method at that rate, evaluated on a validation
 * split held out of the training set (`--validation`: examples, stratified; for a
 * language-modelling task, documents; the test or held-out split is never read) — then
 * picks, per method, the rate with the best mean validation accuracy (language modelling:
 * the lowest mean validation loss) over the seeds (ties go to the smaller rate), and
 * writes `sweep.json` and `sweep.md`: the
 * whole grid (mean ± sample std per method and rate) and the choice. `compare --sweep
 * DIR/sweep.json` then trains each method at its chosen rate on the full training split,
 * evaluates on the test split, and shows the grid in its report.
 *
 * Every flag other than --lrs and --out goes to compare as it is (so --quick, --task,
 * --seeds, --steps, --train mlp-only… set the sweep's runs); a per-method or global --lr
 * would defeat the sweep and is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../node.ts';
import { CliError } from '../args.ts';
import { portablePath } from '../paths.ts';
import { METHOD_LABELS, type MethodName } from '../methods.ts';
import { sweepCellText, sweepChoice, sweepHeading } from '../report/sweep-table.ts';
import type { ReportData } from '../report/data.ts';
import { loadLmTask } from '../data/tasks.ts';
import { compareCommand } from './compare.ts';
import { taskKind } from './finetune.ts';

/** Five log-spaced rates around the ones the README's table found (3e-4 … 1e-3). */
export const DEFAULT_LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2] as const;

/** What a sweep ranks rates by: classification accuracy (higher is better), or the LM's loss per token (lower is better). */
export type SweepMetric = 'validation accuracy' | 'validation loss';

export interface SweepCell {
  lr: number;
  /** Mean and sample standard deviation over seeds of the metric (accuracy, or loss in nats per token); n seeds. */
  mean: number;
  std: number;
  n: number;
}

export interface SweepSummary {
  command: string;
  generated: string;
  task: string;
  metric: SweepMetric;
  /** The digest of the weights every rate ran on (a comparison using the rates must run on the same). */
  weights?: string;
  lrs: number[];
  grid: Partial<Record<MethodName, SweepCell[]>>;
  chosen: Partial<Record<MethodName, number>>;
  /** Where each rate's comparison lies, relative to sweep.json. */
  runs: Record<string, string>;
}

const HELP = `usage: sparsegrad sweep [--lrs X,X,…] [--out DIR] [compare flags]

Run 'compare' once per learning rate on a validation split held out of the training set (the test
split is never read), pick each method's best rate (mean validation accuracy over seeds; ties: the
smaller rate), and write sweep.json and sweep.md. Then 'sparsegrad compare --sweep DIR/sweep.json'
trains each method at its rate, evaluates on the test split and shows the whole grid in its report.

flags:
  --lrs X,X,…       the rates (default ${DEFAULT_LRS.join(',')}: five, log-spaced)
  --out DIR         where the per-rate comparisons and sweep.json go (default: runs/sweep-<task>)
  --validation N    training examples held out for validation (default 400; language modelling: documents, default a tenth)
  every other flag  goes to each compare run (--quick, --task, --methods, --seeds, --steps, --train, …)`;

/** Take `--name value` / `--name=value` out of argv; returns the value (last one wins) and the rest. */
function take(argv: readonly string[], name: string): { value: string | undefined; rest: string[] } {
  let value: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
    else if (a === `--${name}`) {
      if (i + 1 >= argv.length) throw new CliError(`--${name} needs a value`);
      value = argv[++i];
    } else rest.push(a);
  }
  return { value, rest };
}

/** The validation split when none is given: 400 training examples, or a tenth of a language-modelling task's training documents. */
function defaultValidation(task: string): number {
  if (taskKind(task) === 'classification') return 400;
  return Math.max(1, Math.round(0.1 * loadLmTask(task).train.length));
}

export function parseLrs(text: string): number[] {
  const lrs = text.split(',').map((x) => Number(x.trim()));
  const bad = lrs.findIndex((x) => !(Number.isFinite(x) && x > 0));
  if (bad >= 0) throw new CliError(`--lrs: '${text.split(',')[bad]}' is not a positive number`);
  if (new Set(lrs).size !== lrs.length) throw new CliError(`--lrs lists a rate twice: ${text}`);
  if (lrs.length < 2) throw new CliError(`--lrs: a sweep needs at least two rates, got ${text}`);
  return [...lrs].sort((a, b) => a - b);
}

/** The grid and the choice from each rate's results.json (`results[i]` ran at `lrs[i]`): the best mean, and of equal means the smaller rate. */
export function summarizeSweep(lrs: readonly number[], results: readonly ReportData[]): Pick<SweepSummary, 'grid' | 'chosen' | 'metric'> {
  const metric: SweepMetric = results[0]?.kind === 'lm' ? 'validation loss' : 'validation accuracy';
  const grid: SweepSummary['grid'] = {};
  const chosen: SweepSummary['chosen'] = {};
  for (const row of results[0]?.rows ?? []) {
    const cells = lrs.map((lr, i) => {
      const r = results[i]!.rows.find((x) => x.method === row.method);
      const value = metric === 'validation loss' ? r?.heldOutLoss : r?.accuracy;
      if (!value) throw new CliError(`sweep: the run at lr ${lr} has no ${METHOD_LABELS[row.method]} ${metric}`);
      return { lr, mean: value.mean, std: value.std, n: value.n };
    });
    grid[row.method] = cells;
    const better = (c: SweepCell, best: SweepCell) => (metric === 'validation loss' ? c.mean < best.mean : c.mean > best.mean);
    // The cells are in increasing lr, so a tie keeps the smaller rate.
    chosen[row.method] = cells.reduce((best, c) => (better(c, best) ? c : best)).lr;
  }
  return { grid, chosen, metric };
}

export function sweepMarkdown(s: Pick<SweepSummary, 'lrs' | 'grid' | 'chosen' | 'metric'>): string {
  const methods = Object.keys(s.grid) as MethodName[];
  const cell = (c: SweepCell, chosen: boolean) => (chosen ? `**${sweepCellText(s.metric, c)}**` : sweepCellText(s.metric, c));
  return [
    `| ${sweepHeading(s.metric)} | ${s.lrs.map((lr) => `lr ${lr}`).join(' | ')} | chosen |`,
    `|---|${s.lrs.map(() => '---:').join('|')}|---:|`,
    ...methods.map((m) => `| ${METHOD_LABELS[m]} | ${s.grid[m]!.map((c) => cell(c, c.lr === s.chosen[m])).join(' | ')} | ${s.chosen[m]} |`),
  ].join('\n');
}

export async function sweepCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(HELP);
    return 0;
  }
  const lrsFlag = take(argv, 'lrs');
  const outFlag = take(lrsFlag.rest, 'out');
  let rest = outFlag.rest;
  const refused = rest.find((a) => /^--lr(-[a-z]+)?(=|$)/.test(a) || /^--(rerender|sweep)(=|$)/.test(a));
  if (refused) throw new CliError(`sweep: ${refused.split('=')[0]} would override the swept rate; the sweep sets --lr itself`);
  const lrs = parseLrs(lrsFlag.value ?? DEFAULT_LRS.join(','));
  const task = take(rest, 'task').value ?? 'spam';
  if (!rest.some((a) => a === '--validation' || a.startsWith('--validation='))) rest = [...rest, '--validation', String(defaultValidation(task))];
  const out = resolve(outFlag.value ?? join('runs', `sweep-${task}`));
  const runs: Record<string, string> = {};
  const results: ReportData[] = [];
  for (const lr of lrs) {
    const dir = portablePath(join(out, `lr-${lr}`)); // relative where it can be: compare records its command line
    console.log(`\nsweep: lr ${lr} (${results.length + 1} of ${lrs.length}) → ${dir}`);
    const code = await compareCommand([...rest, '--lr', String(lr), '--out', dir]);
    if (code !== 0) return code;
    const path = join(dir, 'results.json');
    if (!existsSync(path)) throw new CliError(`sweep: compare at lr ${lr} wrote no ${path}`);
    const r = JSON.parse(readFileSync(path, 'utf8')) as ReportData;
    if (!r.split.includes('VALIDATION RUN')) throw new CliError(`sweep: the run at lr ${lr} did not evaluate on a validation split`);
    runs[String(lr)] = `lr-${lr}/results.json`;
    results.push(r);
  }
  const digests = new Set(results.map((r) => r.weights));
  if (digests.size !== 1)
    throw new CliError(`sweep: the rates ran on different weights (${[...digests].join(', ')}); the model changed during the sweep — rerun it`);
  const summary: SweepSummary = {
    command: `sparsegrad sweep ${argv.join(' ')}`.trim(),
    generated: new Date().toISOString(),
    task,
    weights: results[0]!.weights,
    lrs,
    runs,
    ...summarizeSweep(lrs, results),
  };
  const table = sweepMarkdown(summary);
  await writeFileAtomic(join(out, 'sweep.json'), `${JSON.stringify(summary, null, 1)}\n`);
  await writeFileAtomic(join(out, 'sweep.md'), `${table}\n`);
  const chosenFlags = Object.entries(summary.chosen)
    .map(([m, lr]) => `--lr-${m} ${lr}`)
    .join(' ');
  console.log(`\n${table}\n\nchosen (${sweepChoice(summary.metric)}; ties: the smaller rate): ${chosenFlags}`);
  console.log(
    `sweep: ${join(out, 'sweep.json')}; next: sparsegrad compare --sweep ${join(out, 'sweep.json')} (with the same task and setting flags, without --validation)`,
  );
  return 0;
}
