/**
 * BERT masked-language-model pretraining data and loss.
 *
 * Sequences: the sentences of one document packed greedily into `[CLS] s₁ s₂ … [SEP]`
 * of at most `maxLength` tokens (RoBERTa's DOC-SENTENCES, no next-sentence task); a
 * sentence longer than a whole sequence is cut into pieces.
 *
 * Masking (Devlin et al. 2019, the original `create_pretraining_data.py`): in each
 * sequence exactly max(1, round(15% of its real tokens)) positions are chosen, never
 * [CLS]/[SEP]/[PAD]; a chosen token becomes [MASK] with probability 0.8, a random word
 * piece with 0.1, and stays itself with 0.1. Labels hold the original id at chosen
 * positions and −100 elsewhere (Hugging Face's convention).
 *
 * The loss computes vocabulary logits at the chosen positions only: the final hidden
 * states of those positions are gathered before the prediction head and its tied
 * decoder, so a step costs ~15% of the full [batch·seq, vocab] projection. It equals
 * `BertForMaskedLM.forward({ labels }).loss` (the spec checks it).
 */
import { tensor } from '../../core/creation.ts';
import type { Generator } from '../../core/random.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { BertForMaskedLM, BertForPreTraining, BertInputs } from '../../models/bert.ts';
import { linearCrossEntropy, type LossResult } from './run.ts';

export interface MaskingOptions {
  /** Fraction of real tokens chosen per sequence (default 0.15). */
  probability?: number;
  /** Of the chosen: the share replaced by [MASK] (0.8) and by a random token (0.1); the rest stay. */
  maskShare?: number;
  randomShare?: number;
  maskId: number;
  /** Ids never chosen ([CLS], [SEP], [PAD]). */
  specialIds: ReadonlySet<number>;
  /** Random replacements are drawn uniformly from [low, high): for bert-base-uncased the real word pieces are 999…30521. */
  randomLow: number;
  randomHigh: number;
}

/** The masking options for a BERT vocabulary: ids from the first real word piece after the `[unused…]` block up. */
export function bertMasking(tokenizer: {
  maskId: number;
  clsId: number;
  sepId: number;
  padId: number;
  unkId: number;
  vocab: { size: number; token(id: number): string };
}): MaskingOptions {
  let low = 0;
  for (let id = 0; id < tokenizer.vocab.size; id++) if (/^\[[A-Za-z0-9_]+\]$/.test(tokenizer.vocab.token(id))) low = id + 1;
  if (low >= tokenizer.vocab.size) low = 0;
  return {
    maskId: tokenizer.maskId,
    specialIds: new Set([tokenizer.clsId, tokenizer.sepId, tokenizer.padId]),
    randomLow: low,
    randomHigh: tokenizer.vocab.size,
  };
}

/** One packed sequence before its specials: the sentences (or pieces of one) it holds, and its document. */
export interface PackedUnit {
  document: number;
  sentences: Int32Array[];
}

/**
 * Packs each document's sentences (token ids without specials) greedily into units of at
 * most `room` tokens, never crossing a document boundary; a sentence longer than `room`
 * is cut into pieces. The sentence boundaries are kept for next-sentence pairs.
 */
export function packUnits(documents: readonly (readonly (readonly number[])[])[], room: number): PackedUnit[] {
  if (room < 1) throw new RangeError(`packUnits: room must be at least 1 token, got ${room}`);
  const out: PackedUnit[] = [];
  documents.forEach((sentences, document) => {
    let current: Int32Array[] = [];
    let length = 0;
    const flush = () => {
      if (length > 0) out.push({ document, sentences: current });
      current = [];
      length = 0;
    };
    for (const sentence of sentences) {
      if (sentence.length === 0) continue;
      if (length + sentence.length > room) flush();
      for (let i = 0; i < sentence.length; i += room) {
        const piece = Int32Array.from(sentence.slice(i, i + room));
        if (length + piece.length > room) flush();
        current.push(piece);
        length += piece.length;
      }
    }
    flush();
  });
  return out;
}

/**
 * Packs each document's sentences (token ids without specials) into `[CLS] … [SEP]`
 * sequences of at most `maxLength` tokens, never crossing a document boundary.
 */
export function packSequences(documents: readonly (readonly (readonly number[])[])[], maxLength: number, clsId: number, sepId: number): Int32Array[] {
  if (maxLength < 3) throw new RangeError(`packSequences: maxLength must be at least 3, got ${maxLength}`);
  return packUnits(documents, maxLength - 2).map((u) => unitSequence(u, clsId, sepId));
}

/** A packed unit as a `[CLS] … [SEP]` sequence. */
export function unitSequence(unit: PackedUnit, clsId: number, sepId: number): Int32Array {
  return Int32Array.from([clsId, ...unit.sentences.flatMap((s) => [...s]), sepId]);
}

export interface MlmBatch {
  /** [batch, seq] int32, after masking. */
  inputIds: Tensor;
  /** [batch, seq] int32: 1 for real tokens, 0 for padding. */
  attentionMask: Tensor;
  /** [batch, seq] int32 segment ids, when the sequences are sentence pairs (0 elsewhere). */
  tokenTypeIds?: Tensor;
  /** [batch·seq]: the original id at chosen positions, −100 elsewhere. */
  labels: Int32Array;
  /** Flat indices (row·seq + column) of the chosen positions, increasing. */
  positions: Int32Array;
  /** The original ids there (labels[positions]). */
  targets: Int32Array;
  /** How each chosen position was corrupted: 0 [MASK], 1 random, 2 kept (for statistics). */
  kinds: Uint8Array;
}

/**
 * Chooses and corrupts tokens of `sequences` (each padded to `seqLength` with `padId`);
 * consumes `generator`. `tokenTypes`, one per sequence, become the batch's segment ids.
 */
export function maskBatch(
  sequences: readonly Int32Array[],
  seqLength: number,
  padId: number,
  generator: Generator,
  o: MaskingOptions,
  tokenTypes?: readonly Int32Array[],
): MlmBatch {
  const p = o.probability ?? 0.15;
  const maskShare = o.maskShare ?? 0.8;
  const randomShare = o.randomShare ?? 0.1;
  const batch = sequences.length;
  const ids = new Int32Array(batch * seqLength).fill(padId);
  const mask = new Int32Array(batch * seqLength);
  const labels = new Int32Array(batch * seqLength).fill(-100);
  const types = new Int32Array(tokenTypes ? batch * seqLength : 0);
  const positions: number[] = [];
  const kinds: number[] = [];
  sequences.forEach((seq, row) => {
    if (seq.length > seqLength) throw new RangeError(`maskBatch: sequence of ${seq.length} tokens exceeds seqLength ${seqLength}`);
    const base = row * seqLength;
    ids.set(seq, base);
    mask.fill(1, base, base + seq.length);
    if (tokenTypes) {
      if (tokenTypes[row]?.length !== seq.length)
        throw new RangeError(`maskBatch: sequence ${row} has ${seq.length} tokens but ${tokenTypes[row]?.length} token types`);
      types.set(tokenTypes[row]!, base);
    }
    const candidates: number[] = [];
    for (let i = 0; i < seq.length; i++) if (!o.specialIds.has(seq[i]!)) candidates.push(i);
    if (candidates.length === 0) return;
    const k = Math.min(candidates.length, Math.max(1, Math.round(p * candidates.length)));
    // Partial Fisher–Yates: the first k entries become a uniform sample without replacement.
    for (let i = 0; i < k; i++) {
      const j = generator.integer(i, candidates.length);
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    const chosen = candidates.slice(0, k).sort((a, b) => a - b);
    for (const col of chosen) {
      const at = base + col;
      labels[at] = seq[col]!;
      positions.push(at);
      const r = generator.uniform();
      if (r < maskShare) {
        ids[at] = o.maskId;
        kinds.push(0);
      } else if (r < maskShare + randomShare) {
        ids[at] = generator.integer(o.randomLow, o.randomHigh);
        kinds.push(1);
      } else kinds.push(2);
    }
  });
  const pos = Int32Array.from(positions);
  return {
    inputIds: tensor(ids, { shape: [batch, seqLength] }),
    attentionMask: tensor(mask, { shape: [batch, seqLength] }),
    ...(tokenTypes ? { tokenTypeIds: tensor(types, { shape: [batch, seqLength] }) } : {}),
    labels,
    positions: pos,
    targets: pos.map((at) => labels[at]!),
    kinds: Uint8Array.from(kinds),
  };
}

/** Masked-LM loss with logits at the chosen positions only (gathered before the head; decoder + loss fused). */
export function mlmLoss(model: BertForMaskedLM | BertForPreTraining, batch: MlmBatch): LossResult {
  return mlmLossFrom(model, model.bert.forward(encoderInputs(batch)).lastHiddenState, batch);
}

/** What the encoder reads from a batch. */
export function encoderInputs(batch: MlmBatch): BertInputs {
  return { inputIds: batch.inputIds, attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds };
}

/** The masked-LM loss from the encoder's final hidden states (shared with next-sentence pretraining). */
export function mlmLossFrom(model: BertForMaskedLM | BertForPreTraining, hidden: Tensor, batch: MlmBatch): LossResult {
  const h = hidden.reshape([-1, model.config.hidden_size]).indexSelect(0, tensor(batch.positions));
  const head = model.cls.predictions;
  const transformed = head.transform.forward(h, model.config.hidden_act === 'gelu' ? 'none' : 'tanh');
  const { loss, correct } = linearCrossEntropy(transformed, head.decoder.weight, head.bias, batch.targets);
  return { loss, count: batch.targets.length, correct };
}
