/**
 * The reference points printed before a classification run and kept with its results: the
 * majority class (always the most frequent training label) and, where the training texts are
 * tokenized, the bag of word pieces (cli/bag-of-words.ts) — what fine-tuning has to beat to
 * have learned anything, and to have learned more than the simplest model that reads the same
 * tokens.
 */
import { bagOfWordsBaseline, type BagOfWordsResult } from './bag-of-words.ts';
import { majorityBaseline } from './metrics.ts';
import type { EncodedClassification } from './train/encode.ts';

export interface ClassificationBaselines {
  baseline: { label: number; accuracy: number; f1: number };
  /** Null where the training texts were not tokenized (evaluation only). */
  bagOfWords: BagOfWordsResult | null;
}

const scores = (b: { accuracy: number; f1: number }) => `accuracy ${(b.accuracy * 100).toFixed(1)}%, macro-F1 ${(b.f1 * 100).toFixed(1)}%`;

/** Both baselines of `encoded`, printed one line each; `special` are the tokenizer's [CLS], [SEP] and padding ids, or null to skip the bag of word pieces. */
export function classificationBaselines(encoded: EncodedClassification, special: readonly number[] | null): ClassificationBaselines {
  const baseline = majorityBaseline(
    encoded.train.map((e) => e.label),
    encoded.test.map((e) => e.label),
    encoded.labels.length,
  );
  console.log(`majority-class baseline ('${encoded.labels[baseline.label]}'): ${scores(baseline)}`);
  const bagOfWords = special ? bagOfWordsBaseline(encoded.train, encoded.test, encoded.labels.length, { ignore: special }) : null;
  if (bagOfWords) console.log(`bag-of-word-pieces baseline (softmax regression on the same tokens, untuned): ${scores(bagOfWords)}`);
  return { baseline, bagOfWords };
}
