/**
 * A comparison's wall time and machine load over all of its invocations.
 *
 * Why: `compare --resume` continues a comparison that was stopped (Ctrl-C, a killed
 * session) and rewrites its results.json, even when every run had already finished (a
 * sweep that resumes passes over its finished rates so). Counting only the last invocation
 * reported a 54-minute rate of a sweep as "2.86 s, 0 jobs at once". So the time and the
 * load samples spent so far are kept in <out>/spent.json — written when the command
 * starts, at every load sample (every few seconds, so a killed comparison loses at most
 * that much) and when it stops — and each invocation adds its own. A comparison that
 * finished before this record existed starts from the wall time and load of its results.json.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { LoadReport } from './report/data.ts';

export interface Spent {
  wallSeconds: number;
  /** The load average over the invocations so far; null before the first sample. */
  load: LoadReport | null;
}

/** What a comparison has spent before its first invocation. */
export const NOTHING_SPENT: Spent = { wallSeconds: 0, load: null };

/** What the comparison in `out` spent before this invocation (nothing for a fresh start). */
export function spentBefore(out: string): Spent {
  for (const name of ['spent.json', 'results.json']) {
    const path = join(out, name);
    if (!existsSync(path)) continue;
    const { wallSeconds, load } = JSON.parse(readFileSync(path, 'utf8')) as Partial<Spent>;
    if (typeof wallSeconds === 'number') return { wallSeconds, load: load ?? null };
  }
  return NOTHING_SPENT;
}

/**
 * The load report over `before`'s samples and `samples` (1-minute load averages), with
 * `jobs` runs training at once in this invocation (0 when it trained nothing). The
 * timings are noisy when the machine was busier than its cores, or runs shared them.
 */
export function mergeLoad(before: LoadReport | null, samples: readonly number[], jobs: number): LoadReport {
  const cores = availableParallelism();
  const count = (before?.samples ?? 0) + samples.length;
  const sum = (before ? before.mean * before.samples : 0) + samples.reduce((a, x) => a + x, 0);
  const mean = sum / Math.max(1, count);
  const max = Math.max(before?.max ?? -Infinity, ...samples);
  const atOnce = Math.max(before?.jobs ?? 0, jobs);
  return { cores, jobs: atOnce, samples: count, mean, max, noisy: mean > cores || atOnce > 1 };
}

/**
 * The running total of one invocation that started at `started` (ms) after `before`, with
 * the load `samples` it has taken so far and `jobs` runs training at once: `now()` is what
 * the comparison has spent, `save()` writes that to <out>/spent.json (a temporary file
 * renamed over it, so a kill leaves the old record or the new one, never half of one).
 */
export function spentSince(out: string, before: Spent, started: number, samples: readonly number[], jobs: number) {
  const now = (): { wallSeconds: number; load: LoadReport } => ({
    wallSeconds: before.wallSeconds + (Date.now() - started) / 1000,
    load: mergeLoad(before.load, samples, jobs),
  });
  const save = () => {
    const path = join(out, 'spent.json');
    writeFileSync(`${path}.tmp`, `${JSON.stringify(now())}\n`);
    renameSync(`${path}.tmp`, path);
  };
  return { now, save };
}
