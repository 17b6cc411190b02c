/**
 * Classification metrics and summary statistics for the comparison table.
 *
 * - accuracy: share of predictions equal to the gold label;
 * - macro-F1: the unweighted mean over classes of F1 = 2·P·R/(P + R), where a class
 *   with no predicted and no gold examples is left out, and P or R of 0/0 counts as 0
 *   (scikit-learn's `f1_score(average='macro', zero_division=0)` over the labels present);
 * - mean ± std over seeds: the sample standard deviation (n − 1), 0 for a single value;
 * - paired bootstrap intervals for differences in accuracy between methods (below).
 */
import { ValueError } from '../base/errors.ts';
import { Generator } from '../core/random.ts';

export function accuracy(predicted: ArrayLike<number>, gold: ArrayLike<number>): number {
  if (predicted.length !== gold.length) throw new Error(`accuracy: ${predicted.length} predictions for ${gold.length} labels`);
  if (gold.length === 0) return NaN;
  let right = 0;
  for (let i = 0; i < gold.length; i++) if (predicted[i] === gold[i]) right++;
  return right / gold.length;
}

/** Confusion counts: matrix[gold][predicted]. */
export function confusion(predicted: ArrayLike<number>, gold: ArrayLike<number>, numClasses: number): number[][] {
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < gold.length; i++) m[gold[i]!]![predicted[i]!]!++;
  return m;
}

export function macroF1(predicted: ArrayLike<number>, gold: ArrayLike<number>, numClasses: number): number {
  if (predicted.length !== gold.length) throw new Error(`macroF1: ${predicted.length} predictions for ${gold.length} labels`);
  const m = confusion(predicted, gold, numClasses);
  const scores: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const tp = m[c]![c]!;
    const goldCount = m[c]!.reduce((s, x) => s + x, 0);
    const predCount = m.reduce((s, row) => s + row[c]!, 0);
    if (goldCount === 0 && predCount === 0) continue;
    const p = predCount === 0 ? 0 : tp / predCount;
    const r = goldCount === 0 ? 0 : tp / goldCount;
    scores.push(p + r === 0 ? 0 : (2 * p * r) / (p + r));
  }
  return scores.length === 0 ? NaN : scores.reduce((s, x) => s + x, 0) / scores.length;
}

/** The majority-class baseline: always predict the most frequent training label (ties: the lowest id). */
export function majorityBaseline(
  trainLabels: readonly number[],
  testLabels: readonly number[],
  numClasses: number,
): { label: number; accuracy: number; f1: number } {
  const counts = new Array<number>(numClasses).fill(0);
  for (const y of trainLabels) counts[y]!++;
  const label = counts.indexOf(Math.max(...counts));
  const predicted = testLabels.map(() => label);
  return { label, accuracy: accuracy(predicted, testLabels), f1: macroF1(predicted, testLabels, numClasses) };
}

export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = values.reduce((s, x) => s + x, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

/** "93.1 ± 0.4" for fractions shown as percentages (digits after the point). */
export function formatPercent({ mean, std, n }: MeanStd, digits = 1): string {
  const m = (mean * 100).toFixed(digits);
  return n > 1 ? `${m} ± ${(std * 100).toFixed(digits)}` : m;
}

/** Bytes as a short human string: 1536 → "1.50 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let x = bytes;
  let u = 0;
  while (Math.abs(x) >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${x} B` : `${x.toFixed(2)} ${units[u]}`;
}

/** 1234567 → "1,234,567". */
export const formatCount = (n: number) => n.toLocaleString('en-US');

/** A wall time: "3 min 12 s", or "42.0 s" under a minute. */
export function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s - 60 * m)} s` : `${s.toFixed(1)} s`;
}

/** A method-vs-method difference in a per-example score with its paired bootstrap interval. */
export interface PairedDifference {
  /** Mean score of a minus mean score of b (accuracy: fractions; loss: nats per token), averaged over seeds. */
  diff: number;
  lo: number;
  hi: number;
  level: number;
  seeds: number;
  examples: number;
  replicates: number;
}

/**
 * Paired bootstrap confidence interval for mean(a) − mean(b), where a[s][i] is the score of
 * test example i in the run with seed s: 1 when classified correctly and 0 otherwise (so
 * the means are accuracies), or a held-out block's loss (both methods
 * evaluated on the same examples, with the same seeds: same init of the new layers, same
 * batches). Each replicate draws the seeds with replacement, then the examples with
 * replacement, one draw of examples shared by every drawn seed (an example is as hard for
 * every run), and takes the mean of the differences d[s][i] = a[s][i] − b[s][i] over the
 * drawn cells. The interval is the percentile one: the ⌈p·B⌉-th smallest of the B
 * replicates for p = (1 − level)/2 and (1 + level)/2. With one seed it covers the test
 * sample's noise only, not the training run's. Deterministic given `seed`.
 */
export function pairedBootstrap(
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
  options: { replicates?: number; level?: number; seed?: number } = {},
): PairedDifference {
  const S = a.length;
  const N = a[0]?.length ?? 0;
  if (S === 0 || N === 0) throw new ValueError(`pairedBootstrap: need at least one seed and one example, got ${S} seeds × ${N} examples`);
  if (b.length !== S || [...a, ...b].some((row) => row.length !== N)) {
    throw new ValueError(
      `pairedBootstrap: a and b must both be ${S} seeds × ${N} examples, got a ${a.map((r) => r.length).join('/')} and b ${b.map((r) => r.length).join('/')}`,
    );
  }
  const B = options.replicates ?? 10_000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(B) || B < 1) throw new ValueError(`pairedBootstrap: replicates must be a positive integer, got ${B}`);
  if (!(level > 0 && level < 1)) throw new ValueError(`pairedBootstrap: level must be in (0, 1), got ${level}`);
  const d = Array.from({ length: S }, (_, s) => Float64Array.from({ length: N }, (_, i) => a[s]![i]! - b[s]![i]!));
  let observed = 0;
  for (const row of d) for (let i = 0; i < N; i++) observed += row[i]!;
  const g = new Generator(options.seed ?? 0);
  const replicates = new Float64Array(B);
  const column = new Float64Array(N); // Σ over the drawn seeds, per example
  for (let r = 0; r < B; r++) {
    column.fill(0);
    for (let s = 0; s < S; s++) {
      const row = d[g.integer(0, S)]!;
      for (let i = 0; i < N; i++) column[i]! += row[i]!;
    }
    let sum = 0;
    for (let i = 0; i < N; i++) sum += column[g.integer(0, N)]!;
    replicates[r] = sum / (S * N);
  }
  replicates.sort();
  const quantile = (p: number) => replicates[Math.min(B - 1, Math.max(0, Math.ceil(p * B) - 1))]!;
  return { diff: observed / (S * N), lo: quantile((1 - level) / 2), hi: quantile((1 + level) / 2), level, seeds: S, examples: N, replicates: B };
}

/**
 * "+1.2 points (95 % CI −0.4 to +2.8)" for a difference of accuracies (fractions);
 * "−0.012 nats/token (95 % CI −0.020 to −0.004; perplexity ×0.988)" for one of losses.
 */
export function formatDifference(d: PairedDifference, metric: 'accuracy' | 'loss' = 'accuracy'): string {
  const signed = (x: number, scale: number, digits: number) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x * scale).toFixed(digits)}`;
  const ci = `${Math.round(d.level * 100)} % CI`;
  if (metric === 'loss')
    return `${signed(d.diff, 1, 3)} nats/token (${ci} ${signed(d.lo, 1, 3)} to ${signed(d.hi, 1, 3)}; perplexity ×${Math.exp(d.diff).toFixed(3)})`;
  return `${signed(d.diff, 100, 1)} points (${ci} ${signed(d.lo, 100, 1)} to ${signed(d.hi, 100, 1)})`;
}
