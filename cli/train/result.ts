/**
 * What one run reports (result.json, compare's table and HTML report): its losses, timings,
 * memory, evaluation and the method's own measurements; and how it is assembled once the
 * steps and the final evaluation are done.
 *
 * Why the memory figures are measured at the last step: before `zeroGrad`, the gradients
 * and optimizer state are all there, so the count is exact rather than estimated.
 */
import type { MemoryReport } from '../../nn/memory.ts';
import type { LayerConcentration } from '../concentration.ts';
import type { MethodName } from '../methods.ts';
import type { StepChanges } from './changes.ts';
import type { RunConfig } from './config.ts';
import type { EvalResult } from './evaluate.ts';
import type { Start } from './start.ts';
import type { UpdateSnapshot } from './update-snapshot.ts';

export interface RunResult {
  method: MethodName;
  seed: number;
  task: string;
  steps: number;
  summary: string;
  /** Per-layer budget k (entries per MLP layer per step), or null (full FT). */
  budget: number | null;
  losses: number[];
  /** Median wall time of a training step (forward + backward + optimizer), main phase. */
  msPerStep: number;
  prepSeconds: { collect: number; eigen: number; concentration: number };
  trainSeconds: number;
  evalSeconds: number;
  memory: {
    totalEntries: number;
    trainableEntries: number;
    gradientDenseBytes: number;
    gradientSparseBytes: number;
    optimizerStateBytes: number;
    /** gradients (dense + sparse) + optimizer state, exact, at the last step before zeroGrad. */
    gradOptBytes: number;
    basesBytes: number;
    heldBytes: number;
    activationSavedBytes: number;
  } | null;
  peakRssBytes: number;
  eval: EvalResult;
  evalCurve: { step: number; accuracy?: number; loss?: number }[];
  concentration: LayerConcentration[] | null;
  update: UpdateSnapshot | null;
  /** With `trackChanges`: per main-phase step, over the target layers' trained matrices (Prepared.tracked). */
  changes?: StepChanges | null;
  resumedFrom: number | null;
  /** The digest of the base model's weight files (cli/weights-identity.ts); absent in results from before it was recorded. */
  weights?: string;
}

/** The memory report reduced to what the result keeps. */
export function memorySummary(m: MemoryReport): NonNullable<RunResult['memory']> {
  return {
    totalEntries: m.parameters.entries,
    trainableEntries: m.parameters.trainableEntries,
    gradientDenseBytes: m.gradients.dense,
    gradientSparseBytes: m.gradients.sparse,
    optimizerStateBytes: m.optimizerState,
    gradOptBytes: m.gradients.dense + m.gradients.sparse + m.optimizerState,
    basesBytes: m.bases,
    heldBytes: m.held,
    activationSavedBytes: m.activations?.saved ?? 0,
  };
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The run's result, from its start, its seconds of training and evaluation, and its final evaluation. */
export function runResult(
  c: RunConfig,
  taskName: string,
  start: Start,
  seconds: { train: number; eval: number },
  evalResult: EvalResult,
  weights: string,
): RunResult {
  const { saved, prepared } = start;
  // Step times of this run's main phase (SparseGrad's preliminary steps are timed in prepSeconds); the first is warm-up.
  const mainPhase = saved.stepMs.length > 1 ? saved.stepMs.slice(1) : saved.stepMs;
  return {
    method: c.method,
    seed: c.seed,
    task: taskName,
    steps: c.steps,
    summary: prepared.summary,
    budget: prepared.budget,
    losses: saved.losses,
    msPerStep: median(mainPhase),
    prepSeconds: saved.prep,
    trainSeconds: seconds.train,
    evalSeconds: seconds.eval,
    memory: saved.memory ?? null,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    eval: evalResult, // predictions included: the comparison's paired bootstrap needs them
    evalCurve: saved.evalCurve,
    concentration: saved.concentration,
    update: saved.update ?? null,
    changes: saved.changes ?? null,
    resumedFrom: start.resumedFrom,
    weights,
  };
}
