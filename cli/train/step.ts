/**
 * One training step: the batch of step s, forward, the loss checked, backward, the
 * optimizer step, the weights checked; and what the step records (its loss and time; on
 * the last step the exact memory figures and SparseGrad's update snapshot).
 *
 * Why the loss is checked before the backward pass: a non-finite loss then never reaches
 * the weights.
 */
import type { Tensor } from '../../core/tensor.ts';
import type { BertForSequenceClassification } from '../../models/bert.ts';
import type { LlamaForCausalLM } from '../../models/llama.ts';
import { memoryReport } from '../../nn/memory.ts';
import type { DivergenceGuard } from '../divergence.ts';
import { type Batch, trainingBatch } from './batches.ts';
import { ChangeTracker } from './changes.ts';
import type { RunContext } from './context.ts';
import { memorySummary } from './result.ts';
import type { Start } from './start.ts';
import { watchUpdate } from './update-snapshot.ts';

function lossOf(ctx: RunContext, b: Batch): Tensor {
  const out =
    ctx.task.kind === 'classification'
      ? (ctx.model as BertForSequenceClassification).forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, labels: b.labels })
      : (ctx.model as LlamaForCausalLM).forward({ inputIds: b.inputIds, labels: b.labels });
  return out.loss!;
}

/** Forward and backward on step `step`'s batch (0-based); `guard` checks the loss first (null: a batch that is no training loss). */
export function forwardBackward(ctx: RunContext, guard: DivergenceGuard | null, step: number): { value: number; batch: Batch } {
  const batch = trainingBatch(ctx.task, ctx.stream.batch(step, ctx.config.batchSize));
  const loss = lossOf(ctx, batch);
  const value = loss.item();
  guard?.loss(step + 1, value);
  loss.backward();
  return { value, batch };
}

/** The function that takes one main-phase step and returns its loss, recording into `start.saved`. */
export function stepper(ctx: RunContext, start: Start): (step: number) => number {
  const { config: c, model } = ctx;
  const { prepared, saved, guard } = start;
  const { optimizer } = prepared;
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
  const tracker = c.trackChanges ? new ChangeTracker(prepared, saved.changes ?? null) : null;
  return (step) => {
    const t0 = performance.now();
    const { value, batch } = forwardBackward(ctx, guard, step);
    const last = step === c.steps - 1;
    const snapshot = last && c.captureUpdate ? watchUpdate(prepared) : null;
    tracker?.before();
    optimizer.step();
    guard.weights(step + 1, trainable);
    if (tracker) saved.changes = tracker.after(step + 1);
    if (last) saved.memory = memorySummary(memoryReport(model, optimizer, { tokens: batch.tokens }));
    if (snapshot) saved.update = snapshot(step + 1);
    optimizer.zeroGrad();
    saved.losses.push(value);
    saved.stepMs.push(performance.now() - t0);
    return value;
  };
}
