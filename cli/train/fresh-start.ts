/**
 * A run's start without a checkpoint: the preliminary full AdamW steps when the method has
 * them, then the method prepared on the model as those steps left it.
 *
 * The SparseGrad budget counts steps alike: the preliminary AdamW steps are the first
 * `prelimSteps` of the run's `steps`, on the same batches the other methods see then, so
 * every method takes the same number of optimizer steps on the same data. `--prelim-all`
 * (an ablation) gives LoRA and MeProp the same preliminary steps.
 */
import { convertSparseGrad, fullSteps, hasPreliminary, type Prepared, runPreliminary } from '../methods.ts';
import type { RunContext } from './context.ts';
import { measureHeldOutConcentration } from './held-out-concentration.ts';
import type { SavedState } from './saved-state.ts';
import { divergenceGuard, prepareSimpleMethod, type Start } from './start.ts';
import { forwardBackward } from './step.ts';

type Backward = (step: number) => number;

/** Start `ctx`'s run from its loaded weights; `run`: the fingerprint its checkpoints will carry. */
export function freshStart(ctx: RunContext, run: Record<string, unknown>): Start {
  const { config: c, model } = ctx;
  const guard = divergenceGuard(c);
  const saved: SavedState = { run, losses: [], stepMs: [], prep: { collect: 0, eigen: 0, concentration: 0 }, evalCurve: [], concentration: null };
  const backward: Backward = (step) => forwardBackward(ctx, guard, step).value;
  const prepared =
    c.method === 'sparsegrad'
      ? sparseGradAfterPreliminary(ctx, backward, saved)
      : hasPreliminary(c)
        ? simpleAfterFullSteps(ctx, backward, saved)
        : prepareSimpleMethod(ctx);
  const startStep = hasPreliminary(c) ? c.prelimSteps : 0;
  // The preliminary steps (if any) updated the weights: they must still be finite.
  if (startStep > 0) guard.weights(startStep, model.namedParameters());
  console.log(`${c.label ? `${c.label}: ` : ''}${prepared.summary}`);
  return { prepared, saved, startStep, guard, resumedFrom: null };
}

/** SparseGrad: the preliminary phase (gradients collected, bases found), the concentration if asked for, then W̃. */
function sparseGradAfterPreliminary(ctx: RunContext, backward: Backward, saved: SavedState): Prepared {
  const { config: c, model, methodOptions } = ctx;
  const pre = runPreliminary(model, methodOptions, backward);
  saved.losses.push(...pre.losses);
  saved.prep.collect = pre.collectSeconds;
  saved.prep.eigen = pre.eigenSeconds;
  if (c.concentrationBatches > 0) {
    const { layers, seconds } = measureHeldOutConcentration(ctx, pre.bases);
    saved.concentration = layers;
    saved.prep.concentration = seconds;
  }
  return convertSparseGrad(model, pre.bases, methodOptions);
}

/** The ablation --prelim-all: the same full AdamW steps SparseGrad takes first, then the method. */
function simpleAfterFullSteps(ctx: RunContext, backward: Backward, saved: SavedState): Prepared {
  const t0 = performance.now();
  saved.losses.push(...fullSteps(ctx.model, ctx.methodOptions, backward, `${ctx.config.method}: preliminary full steps`));
  saved.prep.collect = (performance.now() - t0) / 1000;
  return prepareSimpleMethod(ctx);
}
