/**
 * What a checkpoint holds besides tensors (its `config`): the run's fingerprint and
 * everything the result reports that accumulates over the steps (losses, step times,
 * evaluation curve, SparseGrad's measurements).
 *
 * Why the fingerprint: a checkpoint resumed under other flags, another task or other
 * weights would silently train a different run; resume.ts compares every field of it
 * and refuses any difference.
 */
import type { LayerConcentration } from '../concentration.ts';
import { weightsDigest } from '../weights-identity.ts';
import type { StepChanges } from './changes.ts';
import type { RunConfig } from './config.ts';
import type { EncodedTask } from './encode.ts';
import type { RunResult } from './result.ts';
import type { UpdateSnapshot } from './update-snapshot.ts';

/** The fields of a configuration that must match to resume. */
export function fingerprint(c: RunConfig, task: EncodedTask): Record<string, unknown> {
  return {
    model: c.model,
    // The path alone does not say which weights: a retrained folder must not resume an old run.
    weights: weightsDigest(c.model),
    task: task.name,
    kind: task.kind,
    trainSize: task.train.length,
    method: c.method,
    seed: c.seed,
    lr: c.lr,
    batchSize: c.batchSize,
    steps: c.steps,
    maxLength: c.maxLength,
    rank: c.rank,
    k: c.k ?? null,
    loraAlpha: c.loraAlpha,
    prelimSteps: c.prelimSteps,
    prelimUpdate: c.prelimUpdate,
    inputBasis: c.inputBasis,
    materialized: c.materialized,
    everyNthBlock: c.everyNthBlock ?? null,
    train: c.train ?? 'paper',
    prelimAll: c.prelimAll ?? false,
    sparseMoments: c.sparseMoments ?? false,
    rowCompaction: c.rowCompaction ?? false,
  };
}

export interface SavedState {
  run: Record<string, unknown>;
  losses: number[];
  stepMs: number[];
  prep: RunResult['prepSeconds'];
  evalCurve: RunResult['evalCurve'];
  concentration: LayerConcentration[] | null;
  /** Measured at the last step (kept in the checkpoint, so a run resumed after it still reports it). */
  memory?: RunResult['memory'];
  update?: UpdateSnapshot | null;
  changes?: StepChanges | null;
}
