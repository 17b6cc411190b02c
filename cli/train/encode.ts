/**
 * A task turned into token ids, once, before any training: what the training loop
 * consumes, and what `compare` hands to its workers as JSON.
 *
 * - classification (BERT): each text [CLS] text [SEP], truncated to maxLength; the
 *   batches pad them later (batches.ts).
 * - language modelling (LLaMa): each document BOS … EOS, concatenated per split and cut
 *   into blocks of exactly blockLength tokens (the tail shorter than a block is dropped).
 *
 * Why once: every method and seed of a comparison then reads the very same tokens, and
 * none pays for tokenizing again.
 */
import type { BertTokenizer, LlamaTokenizer } from '../../models/tokenizers/index.ts';
import { CliError } from '../args.ts';
import type { ClassificationTask, LmTask } from '../data/tasks.ts';
import { startProgress } from '../progress.ts';

/** Token ids per example: what the training loop consumes (and compare hands to its workers). */
export interface EncodedClassification {
  kind: 'classification';
  name: string;
  labels: string[];
  train: { ids: number[]; label: number }[];
  test: { ids: number[]; label: number }[];
  padId: number;
}

export interface EncodedLm {
  kind: 'lm';
  name: string;
  /** Blocks of exactly blockLength tokens. */
  train: number[][];
  heldOut: number[][];
  blockLength: number;
}

export type EncodedTask = EncodedClassification | EncodedLm;

/** Tokenize a classification task once ([CLS] text [SEP], truncated to maxLength). */
export function encodeClassification(task: ClassificationTask, tokenizer: BertTokenizer, maxLength: number): EncodedClassification {
  const all = [...task.train, ...task.test];
  const bar = startProgress('tokenize', all.length, { unit: 'texts' });
  const encode = (rows: { text: string; label: number }[]) =>
    rows.map(({ text, label }) => {
      const ids = tokenizer.encode(text, undefined, { maxLength, truncation: 'longest_first' }).inputIds;
      bar.tick();
      return { ids, label };
    });
  const train = encode(task.train);
  const test = encode(task.test);
  const mean = all.length ? [...train, ...test].reduce((s, e) => s + e.ids.length, 0) / all.length : 0;
  bar.done(`mean length ${mean.toFixed(1)} tokens`);
  return { kind: 'classification', name: task.name, labels: task.labels, train, test, padId: tokenizer.padId };
}

/** Tokenize an LM task: each document BOS … EOS, concatenated per split and cut into blocks. */
export function encodeLm(task: LmTask, tokenizer: LlamaTokenizer, blockLength: number): EncodedLm {
  const bar = startProgress('tokenize', task.train.length + task.heldOut.length, { unit: 'docs' });
  const blocks = (docs: string[]) => {
    const stream: number[] = [];
    for (const d of docs) {
      for (const id of tokenizer.encode(d, { addBos: true, addEos: true })) stream.push(id);
      bar.tick();
    }
    const out: number[][] = [];
    for (let i = 0; i + blockLength <= stream.length; i += blockLength) out.push(stream.slice(i, i + blockLength));
    return out;
  };
  const train = blocks(task.train);
  const heldOut = blocks(task.heldOut);
  bar.done(`${train.length} train / ${heldOut.length} held-out blocks of ${blockLength}`);
  if (train.length === 0) throw new CliError(`task ${task.name}: the training text is shorter than one block of ${blockLength} tokens`);
  if (heldOut.length === 0) throw new CliError(`task ${task.name}: the held-out text is shorter than one block of ${blockLength} tokens; lower --max-length`);
  return { kind: 'lm', name: task.name, train, heldOut, blockLength };
}
