/**
 * Classification metrics and summary statistics for the comparison table.
 *
 * - accuracy: share of predictions equal to the gold label;
 * - macro-F1: the unweighted mean over classes of F1 = 2·P·R/(P + R), where a class
 *   with no predicted and no gold examples is left out, and P or R of 0/0 counts as 0
 *   (scikit-learn's `f1_score(average='macro', zero_division=0)` over the labels present);
 * - mean ± std over seeds: the sample standard deviation (n − 1), 0 for a single value.
 */

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
export function majorityBaseline(trainLabels: readonly number[], testLabels: readonly number[], numClasses: number): { label: number; accuracy: number; f1: number } {
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
