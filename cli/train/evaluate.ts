/**
 * Evaluation: accuracy and macro-F1 on the test split (classification), or the mean
 * next-token loss and perplexity on the held-out blocks (language modelling); in eval mode
 * (no dropout), without gradients.
 *
 * Why the per-example numbers are kept (predictions, each block's loss): the comparison's
 * paired bootstrap resamples examples, and needs each method's answer on each one.
 */
import { noGrad } from '../../core/autograd.ts';
import { crossEntropy } from '../../core/ops/nn.ts';
import type { BertForSequenceClassification } from '../../models/bert.ts';
import { type LlamaForCausalLM, nextTokenTargets } from '../../models/llama.ts';
import type { Module } from '../../nn/module.ts';
import { accuracy, macroF1 } from '../metrics.ts';
import { startProgress } from '../progress.ts';
import { classificationBatch, lmBatch } from './batches.ts';
import type { EncodedTask } from './encode.ts';

export interface EvalResult {
  kind: 'classification' | 'lm';
  examples: number;
  accuracy?: number;
  f1?: number;
  loss?: number;
  perplexity?: number;
  predictions?: number[];
  /** Language modelling: each held-out block's mean next-token loss, in order. */
  blockLosses?: number[];
}

/** Evaluate on the test split (classification) or the held-out blocks (LM), in eval mode, without gradients. */
export function evaluate(model: Module, task: EncodedTask, batchSize: number, showProgress = true): EvalResult {
  const rows = task.kind === 'classification' ? task.test : task.heldOut;
  if (task.kind === 'lm') {
    // The [batch, block, vocab] logits dominate memory: keep them under ~16 M floats.
    const vocab = (model as LlamaForCausalLM).config.vocab_size;
    batchSize = Math.max(1, Math.min(batchSize, Math.floor(16e6 / (task.blockLength * vocab))));
  }
  const batches = Math.ceil(rows.length / batchSize);
  const bar = showProgress ? startProgress('evaluate', batches, { unit: 'batches' }) : null;
  model.eval();
  try {
    return noGrad(() => {
      if (task.kind === 'classification') {
        const predictions: number[] = [];
        for (let b = 0; b < batches; b++) {
          const batch = classificationBatch(task.test.slice(b * batchSize, (b + 1) * batchSize), task.padId);
          const logits = (model as BertForSequenceClassification).forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask }).logits;
          predictions.push(...(logits.argmax(1).toArray() as number[]));
          bar?.tick();
        }
        const gold = task.test.map((r) => r.label);
        const result = {
          kind: 'classification' as const,
          examples: gold.length,
          accuracy: accuracy(predictions, gold),
          f1: macroF1(predictions, gold, task.labels.length),
          predictions,
        };
        bar?.done(`accuracy ${(result.accuracy * 100).toFixed(2)}%  macro-F1 ${(result.f1 * 100).toFixed(2)}%`);
        return result;
      }
      // Each block's own mean next-token loss (the comparison's paired bootstrap resamples
      // blocks); every block predicts the same number of tokens, so their mean is the loss.
      const blockLosses: number[] = [];
      for (let b = 0; b < batches; b++) {
        const batch = lmBatch(rows.slice(b * batchSize, (b + 1) * batchSize) as number[][]);
        const [B, T] = batch.inputIds.shape as [number, number];
        const logits = (model as LlamaForCausalLM).forward({ inputIds: batch.inputIds }).logits;
        // All positions' logits as they are (slicing off the last would copy them all); the
        // last position's target is ignored and its (zero) loss sliced off before the mean.
        const perToken = crossEntropy(logits.reshape([B * T, -1]), nextTokenTargets(batch.inputIds), { reduction: 'none' })
          .reshape([B, T])
          .slice(1, 0, T - 1)
          .mean(1);
        blockLosses.push(...(perToken.toArray() as number[]));
        bar?.tick();
      }
      const loss = blockLosses.reduce((a, x) => a + x, 0) / blockLosses.length;
      bar?.done(`loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(2)}`);
      return { kind: 'lm' as const, examples: task.heldOut.length, loss, perplexity: Math.exp(loss), blockLosses };
    });
  } finally {
    model.train();
  }
}
