/**
 * `--resume`: a run continued from its checkpoint. The method's structure is rebuilt (for
 * SparseGrad from the bases U, V stored with the weights), then the model state, the
 * optimizer state and the model generator's state are loaded, and the step loop goes on
 * from the checkpoint's step.
 *
 * Why the fingerprint check first: a checkpoint written under other flags, another task or
 * other weights would otherwise be continued as if it were this run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../node.ts';
import type { OptimizerStateDict } from '../../optim/index.ts';
import { CliError } from '../args.ts';
import { basesFromState, convertSparseGrad } from '../methods.ts';
import type { RunConfig } from './config.ts';
import type { RunContext } from './context.ts';
import type { SavedState } from './saved-state.ts';
import { divergenceGuard, prepareSimpleMethod, type Start } from './start.ts';

/** Whether the run continues from a checkpoint: asked to, and one is there. */
export function resumesFromCheckpoint(c: RunConfig): boolean {
  if (c.resume && !c.checkpointDir) throw new CliError('--resume needs a checkpoint directory (--checkpoint-dir, or the output folder)');
  return c.resume && c.checkpointDir !== undefined && existsSync(join(c.checkpointDir, 'trainer_state.json'));
}

/** Load the checkpoint of `ctx`'s run; `run`: this run's fingerprint, which the checkpoint's must equal. */
export async function resume(ctx: RunContext, run: Record<string, unknown>): Promise<Start> {
  const { config: c, model, generator, methodOptions } = ctx;
  const ckpt = await loadCheckpoint(c.checkpointDir!);
  const saved = ckpt.config as SavedState;
  checkSameRun(c, run, saved);
  const prepared = c.method === 'sparsegrad' ? convertSparseGrad(model, basesFromState(model, ckpt.model, c), methodOptions) : prepareSimpleMethod(ctx);
  model.loadStateDict(ckpt.model);
  prepared.optimizer.loadStateDict(ckpt.optimizer as OptimizerStateDict);
  generator.setState(ckpt.rng!.model!);
  const startStep = ckpt.step;
  console.log(`resuming ${c.label ?? c.method} from step ${startStep}/${c.steps} (${c.checkpointDir})`);
  return { prepared, saved, startStep, guard: divergenceGuard(c, saved.losses), resumedFrom: startStep };
}

function checkSameRun(c: RunConfig, run: Record<string, unknown>, state: SavedState): void {
  const diff = Object.keys(run).filter((k) => JSON.stringify(run[k]) !== JSON.stringify(state.run?.[k]));
  if (diff.length > 0) {
    throw new CliError(
      `the checkpoint in ${c.checkpointDir} was written by a different configuration (${diff.map((k) => `${k}: ${JSON.stringify(state.run?.[k])} there, ${JSON.stringify(run[k])} now`).join('; ')}); use the same flags, or another --checkpoint-dir`,
    );
  }
}
