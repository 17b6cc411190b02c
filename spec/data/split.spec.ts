/** Seeded shuffles and stratified splits: determinism, proportions, disjointness, caps. */
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../base/errors.ts';
import { Generator } from '../../core/random.ts';
import { describeSplit, formatCount, shuffle, stratifiedSplit } from '../../cli/data/split.ts';

/** 300 items labelled 0 (200) and 1 (100), with unique ids. */
const items = Array.from({ length: 300 }, (_, id) => ({ id, label: id % 3 === 0 ? 1 : 0 }));
const split = (seed: number, o: { maxTrain?: number; maxTest?: number } = {}) => stratifiedSplit(items, (x) => x.label, { seed, testFraction: 0.2, ...o });
const ids = (side: { id: number }[]) => side.map((x) => x.id);
const count = (side: { label: number }[], label: number) => side.filter((x) => x.label === label).length;

describe('shuffle', () => {
  test('a permutation, the same for the same seed, not a copy of the input', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const a = shuffle(xs, new Generator(7));
    expect([...a].sort((p, q) => p - q)).toEqual(xs);
    expect(a).toEqual(shuffle(xs, new Generator(7)));
    expect(a).not.toEqual(shuffle(xs, new Generator(8)));
    expect(a).not.toEqual(xs);
  });

  test('known answer: the order is part of the report, so it must not drift', () => {
    expect(shuffle([0, 1, 2, 3, 4, 5, 6, 7], new Generator(42))).toEqual([1, 7, 3, 0, 5, 2, 6, 4]);
  });
});

describe('stratifiedSplit', () => {
  test('same seed ⇒ identical split; different seeds differ', () => {
    expect(split(3)).toEqual(split(3));
    expect(ids(split(3).test)).not.toEqual(ids(split(4).test));
  });

  test('disjoint, covers every item, test fraction rounded per label', () => {
    const { train, test } = split(1);
    expect(new Set([...ids(train), ...ids(test)]).size).toBe(300);
    expect(train.length + test.length).toBe(300);
    expect([count(test, 0), count(test, 1)]).toEqual([40, 20]);
    expect([count(train, 0), count(train, 1)]).toEqual([160, 80]);
  });

  test('caps keep the label proportions and take subsets of the uncapped sides', () => {
    const full = split(5);
    const capped = split(5, { maxTrain: 31, maxTest: 10 });
    expect([count(capped.train, 0), count(capped.train, 1)]).toEqual([21, 10]); // 31·2/3 = 20.67 → 21
    expect([count(capped.test, 0), count(capped.test, 1)]).toEqual([7, 3]);
    expect(ids(full.train)).toEqual(expect.arrayContaining(ids(capped.train)));
    expect(ids(full.test)).toEqual(expect.arrayContaining(ids(capped.test)));
    expect(split(5, { maxTrain: 10_000 })).toEqual(full);
  });

  test('the test set does not depend on maxTrain', () => {
    expect(split(9, { maxTrain: 17 }).test).toEqual(split(9).test);
    expect(split(9, { maxTrain: 17, maxTest: 12 }).test).toEqual(split(9, { maxTest: 12 }).test);
  });

  test('bad fractions and caps are ValueErrors', () => {
    expect(() => stratifiedSplit(items, (x) => x.label, { seed: 0, testFraction: 1.5 })).toThrow(ValueError);
    expect(() => split(0, { maxTrain: -1 })).toThrow(ValueError);
    expect(() => split(0, { maxTest: 2.5 })).toThrow(/maxTest must be a non-negative integer/);
  });
});

describe('report line', () => {
  test('formatCount and describeSplit', () => {
    expect([0, 999, 1000, 50_000, 1_234_567].map(formatCount)).toEqual(['0', '999', '1,000', '50,000', '1,234,567']);
    const line = describeSplit('Toy', split(0), ['even', 'odd'], 'stratified 80/20, seed 0');
    expect(line).toBe('Toy: 240 train / 60 test (even 160/40, odd 80/20); stratified 80/20, seed 0');
  });
});
