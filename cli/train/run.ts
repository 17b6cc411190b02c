/**
 * The fine-tuning loop, one method and one seed per call, for both workloads:
 *
 * - classification (BERT): texts encoded once ([CLS] text [SEP], truncated to maxLength),
 *   each batch padded to its longest member with an attention mask on the padding;
 *   cross-entropy on the pooled [CLS]; evaluation = accuracy and macro-F1 on the test split.
 * - language modelling (LLaMa): documents tokenized (BOS … EOS), concatenated and cut
 *   into blocks of maxLength tokens; next-token cross-entropy; evaluation = mean loss
 *   and perplexity on the held-out blocks.
 *
 * Determinism: given the seed, the run is a pure function of the configuration. The
 * model's generator (classifier init, dropout masks) is `Generator(seed)`; LoRA's A is
 * drawn from its own seeded generator; the data order depends on (seed, step) only
 * (stream.ts). Checkpoints (checkpoint.ts) hold everything the next step reads, so an
 * interrupted and resumed run (resume.ts) ends with bitwise the weights of an
 * uninterrupted one. Ctrl-C is honoured between steps (interrupt.ts).
 *
 * This file is the run's outline, step by step; each step lives in a file of cli/train/
 * named for it, so that a reader finds the order here and the detail there.
 */
import type { Prepared } from '../methods.ts';
import type { EncodedTask } from './encode.ts';
import { type RunConfig, validate } from './config.ts';
import { type AnyModel, loadContext, type RunContext } from './context.ts';
import { evaluate } from './evaluate.ts';
import { freshStart } from './fresh-start.ts';
import { Interrupted, interruptPending, withSigint } from './interrupt.ts';
import { trainSteps } from './loop.ts';
import { type RunResult, runResult } from './result.ts';
import { resume, resumesFromCheckpoint } from './resume.ts';
import { fingerprint } from './saved-state.ts';
import type { Start } from './start.ts';

export interface RunOutput {
  result: RunResult;
  model: AnyModel;
  prepared: Prepared;
}

/** Fine-tune one method with one seed on an encoded task. */
export function runTraining(config: RunConfig, task: EncodedTask): Promise<RunOutput> {
  return withSigint(() => run(config, task));
}

async function run(c: RunConfig, task: EncodedTask): Promise<RunOutput> {
  validate(c, task);
  const ctx = await loadContext(c, task);
  const resuming = resumesFromCheckpoint(c);
  const runFingerprint = fingerprint(c, task);
  const start = resuming ? await resume(ctx, runFingerprint) : freshStart(ctx, runFingerprint);
  const trainSeconds = await trainSteps(ctx, start);
  return finish(ctx, start, trainSeconds, runFingerprint.weights as string);
}

/** The final evaluation, then the result (`weights`: the base model's digest). */
function finish(ctx: RunContext, start: Start, trainSeconds: number, weights: string): RunOutput {
  const { config: c, model, task } = ctx;
  const evalStart = performance.now();
  const evalResult = evaluate(model, task, c.evalBatchSize, true);
  const evalSeconds = (performance.now() - evalStart) / 1000;
  if (interruptPending()) throw new Interrupted(c.checkpointDir, c.steps);
  const result = runResult(c, task.name, start, { train: trainSeconds, eval: evalSeconds }, evalResult, weights);
  return { result, model, prepared: start.prepared };
}
