/**
 * Writing a run's checkpoint (node.ts, atomic): the model state (for SparseGrad: W̃ and
 * the bases U, V), the optimizer state, the model generator's state, the step, the data
 * position and the saved state (saved-state.ts).
 *
 * Why all of it: a run resumed from it (resume.ts) must end with bitwise the weights of an
 * uninterrupted one, so everything the next step reads is in it.
 */
import { Tensor } from '../../core/tensor.ts';
import { saveCheckpoint } from '../../node.ts';
import { assertFiniteTensors } from '../divergence.ts';
import type { RunContext } from './context.ts';
import type { Start } from './start.ts';

/** Save the run as it stands after `step` steps into its checkpoint folder (none configured: nothing). */
export async function writeCheckpoint(ctx: RunContext, start: Start, step: number): Promise<void> {
  const { config: c, model, generator, stream } = ctx;
  if (!c.checkpointDir) return;
  const modelState = model.stateDict();
  const optimizerState = start.prepared.optimizer.stateDict();
  // Never a checkpoint with NaN/Inf in it: weights and every optimizer buffer are checked first.
  assertFiniteTensors(c.checkpointDir, [
    ...Object.entries(modelState),
    ...Object.entries(optimizerState.state).flatMap(([k, entry]) =>
      Object.entries(entry)
        .filter((e): e is [string, Tensor] => e[1] instanceof Tensor)
        .map(([b, t]) => [`optimizer state ${k}.${b}`, t] as const),
    ),
  ]);
  await saveCheckpoint(c.checkpointDir, {
    model: modelState,
    optimizer: optimizerState,
    rng: { model: generator.getState() },
    step,
    data: stream.position(step, c.batchSize),
    config: start.saved,
  });
}
