/**
 * The comparison's task, loaded and tokenized once (the workers get token ids), with the
 * baselines a classification's table shows under the methods.
 *
 * Why here and not in each worker: every run of the comparison must read the very same
 * split and tokens, and tokenizing once saves each worker its share of the time.
 */
import { stratifiedSplit } from '../data/split.ts';
import { loadClassificationTask, type ClassificationTask } from '../data/tasks.ts';
import { checkPretrainingOverlap } from '../pretrain/task-text.ts';
import { readFolderTokenizer } from '../../node/pretrained.ts';
import { CliError } from '../args.ts';
import type { ReportData } from '../report/data.ts';
import { classificationBaselines } from '../baselines.ts';
import { encodeClassification, type EncodedTask } from '../train/encode.ts';
import { loadEncodedTask } from '../commands/finetune.ts';
import type { Settings } from './settings.ts';

/** A classification comparison's baselines (null for language modelling). */
export type Baselines = Pick<ReportData, 'baseline' | 'bagOfWords'>;

/** What a loader returns: the encoded task, its description and its baselines (classification only). */
export interface LoadedTask extends Baselines {
  encoded: EncodedTask;
  split: string;
}

/** A classification task: loaded, optionally split for validation, tokenized; with its majority-class and bag-of-word-pieces baselines. */
export async function loadClassification(s: Settings): Promise<LoadedTask> {
  const tokenizer = await readFolderTokenizer(s.model);
  if (!tokenizer || !('clsId' in tokenizer)) throw new CliError(`${s.model} has no BERT tokenizer (vocab.txt)`);
  let raw: ClassificationTask;
  try {
    checkPretrainingOverlap(s.model, s.task, s.dataSeed);
    raw = loadClassificationTask(s.task, { seed: s.dataSeed, maxTrain: s.maxTrain, maxTest: s.maxTest, maxChars: s.maxChars });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (s.validation !== undefined) {
    // Tuning: the test split is set aside; a stratified part of the training split stands in for it.
    if (s.validation >= raw.train.length) throw new CliError(`--validation ${s.validation} must be smaller than the ${raw.train.length} training examples`);
    const held = stratifiedSplit(raw.train, (e) => e.label, { seed: s.dataSeed + 1, testFraction: s.validation / raw.train.length });
    raw = {
      ...raw,
      train: held.train,
      test: held.test,
      split: `${raw.split}; VALIDATION RUN: ${held.test.length} of the ${raw.train.length} training examples held out and evaluated instead of the test split`,
    };
  }
  console.log(raw.split);
  const encoded = encodeClassification(raw, tokenizer, s.maxLength);
  const { baseline, bagOfWords } = classificationBaselines(encoded, [tokenizer.clsId, tokenizer.sepId, tokenizer.padId]);
  return { encoded, split: raw.split ?? s.task, baseline, bagOfWords };
}

/**
 * A language-modelling task: documents held out (10 %, seeded by --data-seed), blocks of
 * --max-length tokens; no baseline. With --validation N, N training documents are held out
 * and evaluated instead (the held-out documents are never read).
 */
async function loadLm(s: Settings): Promise<LoadedTask> {
  const { encoded, split } = await loadEncodedTask(s.task, s.model, {
    dataSeed: s.dataSeed,
    maxChars: s.maxChars,
    heldOutFraction: 0.1,
    maxLength: s.maxLength,
    validation: s.validation,
  });
  console.log(split);
  return { encoded, split, baseline: null, bagOfWords: null };
}

export function loadTask(s: Settings): Promise<LoadedTask> {
  return s.kind === 'classification' ? loadClassification(s) : loadLm(s);
}
