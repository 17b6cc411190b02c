/**
 * Examples made into the tensors a forward pass takes: classification rows padded to the
 * batch's longest member, with an attention mask that hides the padding; LM blocks, all
 * of one length, stacked (their labels are their own ids: the model shifts them).
 *
 * Why padded per batch and not to maxLength: most texts are shorter, and every padding
 * token still costs its share of every matrix product.
 */
import { tensor } from '../../core/creation.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { EncodedTask } from './encode.ts';

export interface Batch {
  inputIds: Tensor;
  attentionMask?: Tensor;
  labels: Tensor;
  tokens: number;
}

export function classificationBatch(rows: { ids: number[]; label: number }[], padId: number): Batch {
  const width = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(rows.length * width).fill(padId);
  const mask = new Int32Array(rows.length * width);
  rows.forEach((r, i) => {
    ids.set(r.ids, i * width);
    mask.fill(1, i * width, i * width + r.ids.length);
  });
  const shape = [rows.length, width];
  return {
    inputIds: tensor(ids, { shape }),
    attentionMask: tensor(mask, { shape }),
    labels: tensor(Int32Array.from(rows.map((r) => r.label))),
    tokens: rows.length * width,
  };
}

export function lmBatch(blocks: number[][]): Batch {
  const width = blocks[0]!.length;
  const ids = new Int32Array(blocks.length * width);
  blocks.forEach((b, i) => ids.set(b, i * width));
  const t = tensor(ids, { shape: [blocks.length, width] });
  return { inputIds: t, labels: t, tokens: blocks.length * width };
}

/** The batch of the training examples at `indices`. */
export function trainingBatch(task: EncodedTask, indices: number[]): Batch {
  return task.kind === 'classification'
    ? classificationBatch(
        indices.map((i) => task.train[i]!),
        task.padId,
      )
    : lmBatch(indices.map((i) => task.train[i]!));
}
