/**
 * The comparison's runs: one per (seed, method), each in its own folder under <out>/runs,
 * and which of them --resume finds finished.
 *
 * Why a finished run is checked: --resume keeps its result.json instead of training it
 * again, which is only right when it was trained on the weights the model folder holds now.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../args.ts';
import type { MethodName } from '../methods.ts';
import type { RunResult } from '../train/result.ts';
import type { Settings } from './settings.ts';

export interface PlannedRun {
  method: MethodName;
  seed: number;
  dir: string;
}

/** Seed-major, so that partial results compare all methods. */
export function planRuns(s: Settings): PlannedRun[] {
  return s.seeds.flatMap((seed) => s.methods.map((method) => ({ method, seed, dir: join(s.out, 'runs', `${method}-seed${seed}`) })));
}

/**
 * With `resume`, the runs that left a result.json (trained on `weights`) are finished, the
 * rest pending; without, every run is pending and its folder cleared. `results` is keyed by
 * run folder.
 */
export function finishedAndPending(
  runs: readonly PlannedRun[],
  s: Settings,
  resume: boolean,
  weights: string,
): { results: Map<string, RunResult>; pending: PlannedRun[] } {
  const results = new Map<string, RunResult>();
  const pending: PlannedRun[] = [];
  for (const j of runs) {
    const resultPath = join(j.dir, 'result.json');
    if (resume && existsSync(resultPath)) {
      const finished = JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult;
      if (finished.weights !== weights)
        throw new CliError(
          `--resume: ${resultPath} was trained on other weights (${finished.weights ?? 'not recorded'}) than ${s.model} holds now (${weights}); use another --out, or drop --resume to start over`,
        );
      results.set(j.dir, finished);
    } else {
      if (!resume) rmSync(j.dir, { recursive: true, force: true });
      pending.push(j);
    }
  }
  if (results.size > 0) console.log(`resuming: ${results.size} of ${runs.length} runs already finished`);
  return { results, pending };
}
