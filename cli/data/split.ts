/**
 * Seeded, reproducible train/test splits. Every random choice goes through
 * core/random.ts's Generator (not Math.random), so a seed names the same split on
 * every machine and the run report can state it in one line.
 */
import { ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';

/** Fisher–Yates on a copy. */
export function shuffle<T>(items: readonly T[], rng: Generator): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.integer(0, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface Split<T> {
  train: T[];
  test: T[];
}

export interface SplitOptions {
  seed: number;
  /** Share of each label that goes to test, rounded per label. */
  testFraction: number;
  /** Caps, filled proportionally from every label. */
  maxTrain?: number;
  maxTest?: number;
}

/**
 * Stratified split: each label's items are shuffled and cut at testFraction, so
 * both sides keep the corpus's label proportions. Caps take a proportional prefix
 * of each label's shuffled side, and each side is ordered by its own generator, so
 * the test set (members and order) does not depend on maxTrain, and vice versa.
 */
export function stratifiedSplit<T>(items: readonly T[], labelOf: (item: T) => number | string, options: SplitOptions): Split<T> {
  const { seed, testFraction, maxTrain, maxTest } = options;
  if (!(testFraction >= 0 && testFraction <= 1)) throw new ValueError(`stratifiedSplit(): testFraction must be in [0, 1], got ${testFraction}`);
  for (const [name, cap] of [
    ['maxTrain', maxTrain],
    ['maxTest', maxTest],
  ] as const) {
    if (cap !== undefined && !(Number.isInteger(cap) && cap >= 0))
      throw new ValueError(`stratifiedSplit(): ${name} must be a non-negative integer, got ${cap}`);
  }
  const rng = new Generator(seed);
  const trainOrder = new Generator(rng.nextUint32());
  const testOrder = new Generator(rng.nextUint32());
  const train: T[][] = [];
  const test: T[][] = [];
  for (const group of groupBy(items, labelOf)) {
    const shuffled = shuffle(group, rng);
    const nTest = Math.round(group.length * testFraction);
    test.push(shuffled.slice(0, nTest));
    train.push(shuffled.slice(nTest));
  }
  return { train: shuffle(takeProportional(train, maxTrain), trainOrder), test: shuffle(takeProportional(test, maxTest), testOrder) };
}

/** Groups in order of first appearance (deterministic for a given input order). */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => number | string): T[][] {
  const groups = new Map<number | string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}

/** Up to `cap` items in all, each pool giving its share by largest remainder (ties to the earlier pool). */
function takeProportional<T>(pools: T[][], cap: number | undefined): T[] {
  const total = pools.reduce((n, p) => n + p.length, 0);
  if (cap === undefined || cap >= total) return pools.flat();
  const quotas = pools.map((p) => (cap * p.length) / total);
  const counts = quotas.map(Math.floor);
  const byRemainder = quotas.map((_, i) => i).sort((a, b) => quotas[b]! - counts[b]! - (quotas[a]! - counts[a]!) || a - b);
  const missing = cap - counts.reduce((n, c) => n + c, 0);
  for (let k = 0; k < missing; k++) counts[byRemainder[k]!]!++;
  return pools.flatMap((p, i) => p.slice(0, counts[i]));
}

/** 12345 → "12,345", the same on every locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * One line for the run report, e.g. "IMDB: 2,000 train / 500 test (negative
 * 1,000/250, positive 1,000/250); <how>".
 */
export function describeSplit(name: string, split: Split<{ label: number }>, labels: readonly string[], how: string): string {
  const count = (side: { label: number }[], label: number) => formatCount(side.filter((e) => e.label === label).length);
  const perLabel = labels.map((l, i) => `${l} ${count(split.train, i)}/${count(split.test, i)}`).join(', ');
  return `${name}: ${formatCount(split.train.length)} train / ${formatCount(split.test.length)} test (${perLabel}); ${how}`;
}
