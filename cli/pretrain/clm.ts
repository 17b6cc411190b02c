/**
 * LLaMa causal-LM pretraining data and loss.
 *
 * The training text is one token stream: every document's ids followed by `</s>`.
 * It is cut into non-overlapping windows of `length − 1` tokens, and each window gets
 * `<s>` in front, so every training sequence is exactly `length` tokens and starts as
 * LLaMa's inputs do. Position t predicts token t + 1 (the labels are the inputs,
 * shifted inside the loss, as `LlamaForCausalLM.forward({ labels })` does).
 */
import { tensor } from '../../core/creation.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { LlamaForCausalLM } from '../../models/llama.ts';
import { linearCrossEntropy, type LossResult } from './run.ts';

/** Documents' ids concatenated, each followed by `eosId`. */
export function documentStream(documents: readonly (readonly number[])[], eosId: number): Int32Array {
  const out = new Int32Array(documents.reduce((n, d) => n + d.length + 1, 0));
  let at = 0;
  for (const d of documents) {
    out.set(d, at);
    out[at + d.length] = eosId;
    at += d.length + 1;
  }
  return out;
}

/** Non-overlapping windows `[bos, stream[i·(L−1)], …, stream[(i+1)·(L−1) − 1]]` of `length` tokens; a short tail is dropped. */
export function tokenWindows(stream: Int32Array, length: number, bosId: number): Int32Array[] {
  if (!(Number.isInteger(length) && length >= 2)) throw new RangeError(`tokenWindows: length must be an integer ≥ 2, got ${length}`);
  const step = length - 1;
  const out: Int32Array[] = [];
  for (let start = 0; start + step <= stream.length; start += step) {
    const w = new Int32Array(length);
    w[0] = bosId;
    w.set(stream.subarray(start, start + step), 1);
    out.push(w);
  }
  return out;
}

/** Stacks equal-length windows into int32 input ids [batch, length]. */
export function clmBatch(windows: readonly Int32Array[]): Tensor {
  const length = windows[0]?.length ?? 0;
  const ids = new Int32Array(windows.length * length);
  windows.forEach((w, i) => {
    if (w.length !== length) throw new RangeError(`clmBatch: windows must share one length, got ${w.length} and ${length}`);
    ids.set(w, i * length);
  });
  return tensor(ids, { shape: [windows.length, length] });
}

/**
 * Next-token cross-entropy over every position but the last (equal to
 * `model.forward({ inputIds, labels: inputIds }).loss`), with the count of targets and of
 * correct argmax predictions.
 */
export function clmLoss(model: LlamaForCausalLM, inputIds: Tensor): LossResult {
  const [batch, seq] = inputIds.shape as [number, number];
  const hidden = model.model.forward({ inputIds }).at(-1)!;
  const h = hidden.slice(1, 0, seq - 1).reshape([-1, model.config.hidden_size]);
  const targets = inputIds.slice(1, 1, seq).contiguous().toTypedArray() as Int32Array;
  const { loss, correct } = linearCrossEntropy(h, model.lm_head.weight, model.lm_head.bias, targets);
  return { loss, count: batch * (seq - 1), correct };
}
