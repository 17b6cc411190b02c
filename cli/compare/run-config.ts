/**
 * One run's training configuration (cli/train/config.ts's RunConfig), from the comparison's
 * settings.
 *
 * Why every method gets the same one: the method, its learning rate and its seed are the
 * only things that differ between the runs of a comparison; everything else (steps, batch,
 * length, scope, budget) is shared, so that the table compares methods and nothing else.
 */
import { join } from 'node:path';
import type { RunConfig } from '../train/config.ts';
import type { PlannedRun } from './runs.ts';
import type { Settings } from './settings.ts';

/** `stopAfter`: the tests' hook that interrupts each run after that many steps. */
export function runConfig(s: Settings, j: PlannedRun, stopAfter: number | undefined): RunConfig {
  return {
    model: s.model,
    method: j.method,
    seed: j.seed,
    lr: s.lr[j.method],
    batchSize: s.batchSize,
    steps: s.steps,
    maxLength: s.maxLength,
    evalBatchSize: s.evalBatchSize,
    evalEvery: 0,
    checkpointDir: join(j.dir, 'checkpoint'),
    checkpointEvery: 0,
    resume: true,
    rank: s.rank,
    ...(s.k !== undefined ? { k: s.k } : {}),
    loraAlpha: 1,
    prelimSteps: s.prelimSteps,
    prelimUpdate: true,
    inputBasis: s.inputBasis,
    materialized: s.materialized,
    train: s.train,
    prelimAll: s.prelimAll,
    sparseMoments: s.sparseMoments,
    rowCompaction: s.rowCompaction,
    trackChanges: true,
    // Concentration over every seed (each run's held-out batches), pooled in the report.
    concentrationBatches: j.method === 'sparsegrad' ? s.concentrationBatches : 0,
    // The report's heatmap of one update: SparseGrad's run at the first seed only.
    captureUpdate: j.method === 'sparsegrad' && j.seed === s.seeds[0],
    label: `${j.method} seed ${j.seed}`,
    ...(stopAfter !== undefined ? { stopAfter } : {}),
  };
}
