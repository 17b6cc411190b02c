/**
 * A finished comparison written out: the console table, and in --out results.json (every
 * run, with its per-example scores, so that the intervals can be recomputed), table.md and
 * the self-contained report.html.
 *
 * Why results.json keeps more than the report: --rerender rebuilds report.html and
 * table.md from it alone, without training again.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { threadInfo } from '../../index.ts';
import { writeFileAtomic } from '../../node.ts';
import { renderReport } from '../report/html.ts';
import type { LoadReport, ReportData } from '../report/data.ts';
import type { RunResult } from '../train/result.ts';
import { reportSettings } from './report-settings.ts';
import type { Settings } from './settings.ts';
import { concentrationOverSeeds, methodDifferences, summarize } from './summary.ts';
import { formatTable, markdownTable } from './tables.ts';
import type { LoadedTask } from './tasks.ts';

export interface Finished {
  /** The command line, as the report shows it. */
  command: string;
  /** The digest of the model's weights. */
  weights: string;
  task: LoadedTask;
  /** Every run, in the planned order. */
  runs: RunResult[];
  wallSeconds: number;
  load: LoadReport;
}

/** Prints the table and writes results.json, table.md and report.html; resolves with the report's data. */
export async function writeResults(s: Settings, f: Finished): Promise<ReportData> {
  const { encoded, split, baseline, bagOfWords } = f.task;
  const { runs } = f;
  const rows = summarize(s.methods, runs);
  const gold = encoded.kind === 'classification' ? encoded.test.map((e) => e.label) : null;
  const differences = methodDifferences(s.methods, runs, gold, s.bootstrap);
  const table = formatTable(rows, { baseline, bagOfWords }, differences, f.load);
  console.log(`\n${split}\n\n${table}\n`);
  const data: ReportData = {
    title: `SparseGrad vs LoRA vs MeProp vs full fine-tuning on ${s.task}${s.kind === 'lm' ? ' (language modelling)' : ''}`,
    command: f.command,
    generated: new Date().toISOString(),
    wallSeconds: f.wallSeconds,
    machine: machineInfo(),
    weights: f.weights,
    setting: s.profile,
    settings: reportSettings(s, encoded, f.weights),
    kind: s.kind,
    split,
    labels: encoded.kind === 'classification' ? encoded.labels : [],
    baseline,
    bagOfWords,
    rows,
    differences,
    load: f.load,
    ...(s.sweep ? { sweep: s.sweep.summary } : {}),
    runs: runs.map((r) => ({ ...r, eval: { ...r.eval, predictions: undefined } })),
    concentration: concentrationOverSeeds(runs),
    update: runs.find((r) => r.update)?.update ?? null,
    table,
  };
  await writeFileAtomic(join(s.out, 'results.json'), `${JSON.stringify({ ...data, runs, ...(gold ? { testLabels: gold } : {}) }, null, 1)}\n`);
  await writeFileAtomic(join(s.out, 'table.md'), `${markdownTable(rows, { baseline, bagOfWords }, differences)}\n`);
  await writeFileAtomic(join(s.out, 'report.html'), renderReport(data));
  return data;
}

/** The machine the comparison ran on, as the report names it. */
export function machineInfo(): ReportData['machine'] {
  const list = cpus();
  return {
    cpus: availableParallelism(),
    cpuModel: list[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    fma: threadInfo().fma,
  };
}
