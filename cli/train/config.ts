/**
 * One run's configuration: the method with its options (cli/methods.ts), the seed, the
 * step budget, evaluation and checkpoint cadence; and the checks it must pass before any
 * model is loaded.
 *
 * Why one plain object: `compare` writes it into each worker's job.json, and a checkpoint
 * records the fields that must match to resume (saved-state.ts), so it must survive JSON.
 */
import { CliError } from '../args.ts';
import type { DivergenceOptions } from '../divergence.ts';
import { hasPreliminary, type MethodOptions } from '../methods.ts';
import type { EncodedTask } from './encode.ts';

export interface RunConfig extends Omit<MethodOptions, 'tokensPerStep'> {
  /** The base model folder. */
  model: string;
  seed: number;
  batchSize: number;
  /** Total optimizer steps (SparseGrad's preliminary steps included). */
  steps: number;
  maxLength: number;
  evalBatchSize: number;
  /** Evaluate every n steps as well as at the end (0: only at the end). */
  evalEvery: number;
  /** Where checkpoints go; none: no checkpoints (Ctrl-C then just stops). */
  checkpointDir?: string;
  /** Save every n steps (0: only on Ctrl-C and at the end). */
  checkpointEvery: number;
  resume: boolean;
  /** SparseGrad: measure gradient concentration on this many batches after the preliminary phase (0: off). */
  concentrationBatches: number;
  /** SparseGrad: keep the last update of the first W̃ for the heatmap. */
  captureUpdate: boolean;
  /** Record per step what the method changed (RunResult.changes): entries modified, energy kept, entries ever selected. */
  trackChanges?: boolean;
  /** Test hook: send SIGINT to this process after this many steps of this invocation. */
  stopAfter?: number;
  /** When a run counts as diverged (cli/divergence.ts); default: 10× the first loss for 5 steps. */
  divergence?: DivergenceOptions;
  /** The run's name in its console lines, progress bar and divergence messages (compare: "<method> seed <seed>"); default: the method. */
  label?: string;
}

/** Refuse a run that cannot train: no training examples, or no steps left after the preliminary ones. */
export function validate(c: RunConfig, task: EncodedTask): void {
  if (task.train.length === 0) throw new CliError(`task ${task.name} has no training examples`);
  if (hasPreliminary(c) && c.steps <= c.prelimSteps) {
    throw new CliError(
      `--steps (${c.steps}) must exceed the preliminary steps (--prelim-steps ${c.prelimSteps}${c.method === 'sparsegrad' ? '' : ', taken first with --prelim-all'}), which count towards them`,
    );
  }
}
