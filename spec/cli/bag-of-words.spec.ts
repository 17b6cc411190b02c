/**
 * The bag-of-word-pieces baseline (cli/bag-of-words.ts): a hand-computed step, what it can
 * and cannot learn, and what it must not read.
 */
import { describe, expect, test } from 'vitest';
import { bagOfWordsBaseline, type LabelledIds } from '../../cli/bag-of-words.ts';

/** Texts of `n` random filler pieces (ids 100…199) plus the pieces of their label's cue. */
function cued(n: number, cues: number[][], seed: number): LabelledIds[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, (_, i) => {
    const label = i % cues.length;
    const filler = Array.from({ length: 6 }, () => 100 + Math.floor(next() * 100));
    return { ids: [...filler, ...cues[label]!], label };
  });
}

describe('bagOfWordsBaseline', () => {
  test('one SGD step by hand: from zero weights p = (½, ½), so piece 5 and the bias move by ∓lr/2', () => {
    // After one step on ([5], label 1) at lr 0.5: w₀₅ = b₀ = −0.25, w₁₅ = b₁ = +0.25. So a text
    // with piece 5 scores (−0.5, 0.5), one without it (−0.25, 0.25): label 1 either way; and a
    // second epoch (p₁ = e^0.5/(e^−0.5 + e^0.5) ≈ 0.731) keeps it so.
    const r = bagOfWordsBaseline(
      [{ ids: [5], label: 1 }],
      [
        { ids: [5], label: 1 },
        { ids: [7], label: 0 },
        { ids: [], label: 1 },
      ],
      2,
      {
        epochs: 1,
        lr: 0.5,
        l2: 0,
      },
    );
    expect(r.predictions).toEqual([1, 1, 1]);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.options).toEqual({ epochs: 1, lr: 0.5, l2: 0, seed: 0 });
  });

  test('a piece that decides the label is learned (two and three classes)', () => {
    for (const cues of [
      [[1], [2]],
      [[1], [2], [3]],
    ]) {
      const r = bagOfWordsBaseline(cued(300, cues, 1), cued(90, cues, 2), cues.length);
      expect(r.accuracy).toBe(1);
      expect(r.f1).toBe(1);
    }
  });

  test('labels independent of the text: no better than chance on fresh texts', () => {
    const noise = cued(400, [[1], [1]], 3); // both labels carry the same cue
    const r = bagOfWordsBaseline(noise, cued(400, [[1], [1]], 4), 2);
    expect(r.accuracy).toBeGreaterThan(0.35); // 400 coin flips: 0.5 ± 0.025 (sd); 6 sd either way
    expect(r.accuracy).toBeLessThan(0.65);
  });

  test('ignored pieces do not count, repeated pieces count once, and the test labels are never read', () => {
    const train = cued(200, [[1], [2]], 5);
    const test = cued(60, [[1], [2]], 6);
    const base = bagOfWordsBaseline(train, test, 2);
    const framed = (xs: LabelledIds[]) => xs.map((e) => ({ ids: [101, ...e.ids, ...e.ids, 102, 0, 0], label: e.label }));
    const withSpecials = bagOfWordsBaseline(framed(train), framed(test), 2, { ignore: [101, 102, 0] });
    expect(withSpecials.predictions).toEqual(base.predictions);
    const flipped = bagOfWordsBaseline(
      train,
      test.map((e) => ({ ...e, label: 1 - e.label })),
      2,
    );
    expect(flipped.predictions).toEqual(base.predictions);
    expect(flipped.accuracy).toBeCloseTo(1 - base.accuracy, 12);
    // The same inputs give the same predictions.
    expect(bagOfWordsBaseline(train, test, 2).predictions).toEqual(base.predictions);
  });

  test('a label outside the classes is refused, naming the function and the label', () => {
    expect(() => bagOfWordsBaseline([{ ids: [1], label: 2 }], [], 2)).toThrow(/bagOfWordsBaseline: label 2 is outside 0…1/);
    expect(() => bagOfWordsBaseline([{ ids: [1], label: 0 }], [{ ids: [1], label: -1 }], 2)).toThrow(/label -1/);
  });
});
