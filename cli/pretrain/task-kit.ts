/**
 * What the two pretraining tasks (bert-task.ts, llama-task.ts) share: the documents they
 * read, a shuffled order that a checkpoint can resume, evenly spread held-out picks, the
 * unigram baseline and the held-out evaluation; and `Built`, what a task's builder hands
 * the `pretrain` command.
 */
import { noGrad } from '../../core/autograd.ts';
import { Generator } from '../../core/random.ts';
import type { BertForMaskedLM, BertForPreTraining } from '../../models/bert.ts';
import type { LlamaForCausalLM } from '../../models/llama.ts';
import type { Metrics, PretrainArgs, PretrainSummary } from '../commands/pretrain.ts';
import { loadSotu, splitAddresses } from './corpus.ts';
import type { Evaluation, PretrainTask } from './run.ts';
import { unlabeledTaskText } from './task-text.ts';

/** The options a builder reads, the defaults already filled in. */
export type BuildArgs = Required<Pick<PretrainArgs, 'seed' | 'batchSize' | 'seqLength' | 'dropout' | 'evalSequences'>> & PretrainArgs;

/** Add-one unigram model of `counts` (over `vocab` ids): loss, perplexity and accuracy (always its mode) on `targets`. */
export function unigramBaseline(counts: Float64Array, targets: ArrayLike<number>): Metrics {
  let total = 0;
  let mode = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i]!;
    if (counts[i]! > counts[mode]!) mode = i;
  }
  let loss = 0;
  let hits = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    loss -= Math.log((counts[t]! + 1) / (total + counts.length));
    if (t === mode) hits++;
  }
  loss /= targets.length;
  return { loss, perplexity: Math.exp(loss), accuracy: hits / targets.length };
}

/** `items` cut into consecutive batches of `size` (the last one shorter): held-out evaluation batches. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(size * i, size * i + size));
}

/** `n` items evenly spread over `items` (all of them when there are fewer). */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

/** A per-epoch shuffled order over `n` items, derived from the seed and the epoch alone (so a cursor resumes it). */
export class EpochOrder {
  epoch = 0;
  cursor = 0;
  private order: Int32Array;

  constructor(
    readonly n: number,
    readonly seed: number,
  ) {
    this.order = this.permutation(0);
  }

  private permutation(epoch: number): Int32Array {
    const g = new Generator(this.seed * 1_000_003 + epoch + 17);
    const p = Int32Array.from({ length: this.n }, (_, i) => i);
    for (let i = this.n - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  take(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      if (this.cursor >= this.n) this.restore({ epoch: this.epoch + 1, cursor: 0 });
      out.push(this.order[this.cursor++]!);
    }
    return out;
  }

  restore(state: { epoch: number; cursor: number }): void {
    if (state.epoch !== this.epoch) this.order = this.permutation(state.epoch);
    this.epoch = state.epoch;
    this.cursor = state.cursor;
  }
}

export interface Built<B> {
  task: PretrainTask<B>;
  /** The model to save, with the shipped config (dropout as HF's default). */
  exportModel(): BertForMaskedLM | BertForPreTraining | LlamaForCausalLM;
  tokenizerFiles: Record<string, string>;
  corpus: PretrainSummary['corpus'];
  baseline: () => Metrics;
  tokensPerStep: number;
  config: Record<string, unknown>;
}

export interface Documents {
  train: readonly string[];
  heldOut: readonly string[];
  sources?: PretrainSummary['corpus']['sources'];
}

async function sotuTexts(): Promise<Documents> {
  const { train, heldOut } = splitAddresses(await loadSotu());
  return { train: train.map((a) => a.text), heldOut: heldOut.map((a) => a.text) };
}

export async function documents(args: PretrainArgs): Promise<Documents> {
  const { train, heldOut } = args.texts ?? (await sotuTexts());
  if (args.corpus !== 'all') return { train, heldOut };
  const added = unlabeledTaskText();
  return {
    train: [...train, ...added.flatMap((s) => s.documents)],
    heldOut,
    sources: added.map((s) => ({ name: s.name, documents: s.documents.length, how: s.how })),
  };
}

/** Token-weighted mean loss and accuracy over evaluation batches. */
export function evaluateAll(batches: (() => { loss: { item(): number }; count: number; correct: number })[]): Evaluation {
  let loss = 0;
  let correct = 0;
  let count = 0;
  noGrad(() => {
    for (const run of batches) {
      const r = run();
      loss += r.loss.item() * r.count;
      correct += r.correct;
      count += r.count;
    }
  });
  return { loss: loss / count, accuracy: correct / count, count };
}
