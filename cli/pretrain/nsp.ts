/**
 * Next-sentence prediction (Devlin et al. 2019), BERT's second pretraining task.
 *
 * A pair is `[CLS] A [SEP] B [SEP]` with segment ids 0 up to the first [SEP] and 1 after
 * it. A is the first sentences of a packed unit (split at a sentence boundary chosen
 * uniformly; a unit of one sentence is split inside it). With probability ½, B is the rest
 * of that unit (label 0, "B continues A"); otherwise B is taken from the start of a
 * sentence of a unit of another document (label 1, "B is random"). The pair is cut to the
 * sequence length by dropping A's first tokens (leaving room for one of B) and B's last ones.
 *
 * Why it is here: masked LM puts no loss on the [CLS] position or the pooler, so a model
 * pretrained by it alone ends with a [CLS] vector that hardly depends on the text (on IMDB
 * its spread across reviews is ≈ 3 % of its size for bert-mini), and a classifier
 * fine-tuned on that vector starts from almost nothing. Predicting whether B follows A is
 * a task only the [CLS] vector and the pooler can solve, so they learn to summarize.
 */
import { crossEntropy } from '../../core/ops/nn.ts';
import { tensor } from '../../core/creation.ts';
import type { Generator } from '../../core/random.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { BertForPreTraining } from '../../models/bert.ts';
import { encoderInputs, type MlmBatch, mlmLossFrom, type PackedUnit } from './mlm.ts';
import type { LossResult } from './run.ts';

export interface SentencePair {
  /** `[CLS] A [SEP] B [SEP]`. */
  ids: Int32Array;
  /** 0 over `[CLS] A [SEP]`, 1 over `B [SEP]`. */
  types: Int32Array;
  /** 0: B continues A; 1: B is from another document. */
  label: 0 | 1;
}

const concat = (parts: readonly Int32Array[]) => Int32Array.from(parts.flatMap((p) => [...p]));

/** Splits `unit` into A and the rest at a uniformly chosen point (a sentence boundary when it has several). */
function splitUnit(unit: PackedUnit, generator: Generator): [Int32Array, Int32Array] {
  const n = unit.sentences.length;
  if (n >= 2) {
    const cut = generator.integer(1, n);
    return [concat(unit.sentences.slice(0, cut)), concat(unit.sentences.slice(cut))];
  }
  const only = unit.sentences[0]!;
  if (only.length < 2) return [only, new Int32Array(0)];
  const cut = generator.integer(1, only.length);
  return [only.subarray(0, cut), only.subarray(cut)];
}

/** Tokens of a unit of another document than `document`, from the start of one of its sentences; null when every unit is of that document. */
function randomSegment(units: readonly PackedUnit[], document: number, generator: Generator): Int32Array | null {
  // Rejection sampling: the corpora here have hundreds of documents, so this ends in a few draws.
  for (let attempt = 0; attempt < 64; attempt++) {
    const other = units[generator.integer(0, units.length)]!;
    if (other.document === document) continue;
    return concat(other.sentences.slice(generator.integer(0, other.sentences.length)));
  }
  return null;
}

/** The pair built from `units[index]` (see the file comment), at most `maxLength` tokens; consumes `generator`. */
export function sentencePair(units: readonly PackedUnit[], index: number, maxLength: number, clsId: number, sepId: number, generator: Generator): SentencePair {
  if (maxLength < 5) throw new RangeError(`sentencePair: maxLength must be at least 5 ([CLS] a [SEP] b [SEP]), got ${maxLength}`);
  const unit = units[index]!;
  const [fullA, rest] = splitUnit(unit, generator);
  const wantRandom = rest.length === 0 || generator.uniform() < 0.5;
  const other = wantRandom ? randomSegment(units, unit.document, generator) : null;
  const label: 0 | 1 = other ? 1 : 0;
  // A long A loses its first tokens, so that whatever B is, it still starts where A ends.
  const a = fullA.subarray(Math.max(0, fullA.length - (maxLength - 4)));
  const b = (other ?? rest).subarray(0, maxLength - 3 - a.length);
  const ids = Int32Array.from([clsId, ...a, sepId, ...b, sepId]);
  const types = new Int32Array(ids.length).fill(1, a.length + 2);
  return { ids, types, label };
}

/** A masked-LM batch of sentence pairs, with their next-sentence labels. */
export interface PretrainingBatch extends MlmBatch {
  nextSentenceLabels: Int32Array;
}

/** The next-sentence cross-entropy from the pooled [CLS] vectors, and how many pairs the head classifies right. */
export function nextSentenceLoss(model: BertForPreTraining, pooled: Tensor, labels: Int32Array): { loss: Tensor; correct: number } {
  const logits = model.cls.seq_relationship.forward(pooled);
  const loss = crossEntropy(logits, tensor(labels, { shape: [labels.length] }));
  const scores = logits.contiguous().data as Float32Array | Float64Array;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if ((scores[2 * i + 1]! > scores[2 * i]! ? 1 : 0) === labels[i]) correct++;
  return { loss, correct };
}

/** Masked LM plus next-sentence prediction, summed as BertForPreTraining does; the result reports each part. */
export function pretrainingLoss(model: BertForPreTraining, batch: PretrainingBatch): LossResult {
  const { lastHiddenState, pooled } = model.bert.forward(encoderInputs(batch));
  const mlm = mlmLossFrom(model, lastHiddenState, batch);
  const nsp = nextSentenceLoss(model, pooled!, batch.nextSentenceLabels);
  return {
    loss: mlm.loss.add(nsp.loss),
    count: mlm.count,
    correct: mlm.correct,
    maskedLoss: mlm.loss.item(),
    nextSentence: { loss: nsp.loss.item(), correct: nsp.correct, count: batch.nextSentenceLabels.length },
  };
}
