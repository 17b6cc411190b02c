/**
 * The bag-of-word-pieces baseline of a classification comparison: softmax regression on
 * which word pieces a text contains — the very ids, cut at the same length, that the
 * fine-tuned BERT reads ([CLS], [SEP] and padding left out).
 *
 * Why: the majority class tells whether a fine-tuned model learned anything at all; this
 * tells whether it learned more than the simplest model that sees the same tokens. A
 * method comparison among models that all stay below it says little about the methods.
 *
 * The model: x ∈ {0, 1}^V (piece present or not), p = softmax(W·x + b), cross-entropy with
 * an L2 penalty λ/2·‖W‖². Training: plain SGD, one example at a time, in a seeded shuffled
 * order each epoch; the penalty's gradient is applied to the rows of the pieces the example
 * contains (the usual lazy form for sparse inputs, which leaves a weight of an absent piece
 * untouched). Float64 throughout, so the result depends only on the data and the options.
 * The options are fixed in advance, not tuned on any split: where they are poor, the
 * baseline comes out lower than a tuned one would — never higher.
 */
import { Generator } from '../core/random.ts';
import { accuracy, macroF1 } from './metrics.ts';

export interface LabelledIds {
  ids: readonly number[];
  label: number;
}

export interface BagOfWordsOptions {
  /** Ids that carry no content ([CLS], [SEP], padding): left out of the features. */
  ignore?: readonly number[];
  /** Default 10. */
  epochs?: number;
  /** Default 0.1. */
  lr?: number;
  /** λ, default 1e-4. */
  l2?: number;
  /** Seed of the example order; default 0. */
  seed?: number;
}

export interface BagOfWordsResult {
  accuracy: number;
  f1: number;
  predictions: number[];
  /** The options used, defaults filled in: the report says what the baseline was. */
  options: Required<Omit<BagOfWordsOptions, 'ignore'>>;
}

/** The distinct ids of a text, less the ignored ones. */
function features(ids: readonly number[], ignore: ReadonlySet<number>): number[] {
  return [...new Set(ids)].filter((id) => !ignore.has(id));
}

/** Fits on `train`, predicts `test` (the test labels are read only to score the predictions). */
export function bagOfWordsBaseline(
  train: readonly LabelledIds[],
  test: readonly LabelledIds[],
  numClasses: number,
  options: BagOfWordsOptions = {},
): BagOfWordsResult {
  const o = { epochs: options.epochs ?? 10, lr: options.lr ?? 0.1, l2: options.l2 ?? 1e-4, seed: options.seed ?? 0 };
  const ignore = new Set(options.ignore ?? []);
  const xs = train.map((e) => features(e.ids, ignore));
  for (const e of [...train, ...test])
    if (!(Number.isInteger(e.label) && e.label >= 0 && e.label < numClasses))
      throw new RangeError(`bagOfWordsBaseline: label ${e.label} is outside 0…${numClasses - 1}`);
  const vocab = xs.reduce((m, x) => x.reduce((n, id) => Math.max(n, id), m), -1) + 1;
  const w = new Float64Array(numClasses * vocab); // row c: class c's weight of every piece
  const b = new Float64Array(numClasses);
  const p = new Float64Array(numClasses);

  /** p ← softmax(W·x + b); pieces never seen in training weigh nothing. */
  const predict = (x: readonly number[]) => {
    for (let c = 0; c < numClasses; c++) {
      let z = b[c]!;
      for (const j of x) if (j < vocab) z += w[c * vocab + j]!;
      p[c] = z;
    }
    const max = Math.max(...p);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += p[c] = Math.exp(p[c]! - max);
    for (let c = 0; c < numClasses; c++) p[c]! /= sum;
  };

  const gen = new Generator(o.seed);
  const order = train.map((_, i) => i);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = gen.integer(0, i + 1); // Fisher–Yates
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) {
      const x = xs[i]!;
      predict(x);
      for (let c = 0; c < numClasses; c++) {
        const g = p[c]! - (train[i]!.label === c ? 1 : 0); // ∂loss/∂z_c
        for (const j of x) w[c * vocab + j]! -= o.lr * (g + o.l2 * w[c * vocab + j]!);
        b[c]! -= o.lr * g;
      }
    }
  }

  const predictions = test.map((e) => {
    predict(features(e.ids, ignore));
    return p.indexOf(Math.max(...p)); // ties: the lowest label
  });
  const gold = test.map((e) => e.label);
  return { accuracy: accuracy(predictions, gold), f1: macroF1(predictions, gold, numClasses), predictions, options: o };
}
