/**
 * What a comparison report holds (ReportData: the table's rows, the paired differences, the
 * runs, the sweep, the machine's load), shared by the HTML page, the console tables and
 * results.json.
 */
import type { BagOfWordsResult } from '../bag-of-words.ts';
import type { LayerConcentration } from '../concentration.ts';
import type { MethodName } from '../methods.ts';
import type { MeanStd, PairedDifference } from '../metrics.ts';
import type { SweepSummary } from '../commands/sweep.ts';
import type { RunResult } from '../train/result.ts';
import type { UpdateSnapshot } from '../train/update-snapshot.ts';

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
