/**
 * The pending runs, `--jobs` at once, each in its worker process, with a progress line per
 * finished run; Ctrl-C stops them (the workers checkpoint) so that --resume continues.
 *
 * Why the load average is sampled here: ms/step is only comparable when the cores were not
 * oversubscribed. It and the wall time add up over the invocations of a resumed comparison
 * (cli/spent.ts), saved now, at every sample and when the runs stop.
 */
import { rmSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../args.ts';
import { DIVERGED_EXIT } from '../divergence.ts';
import { METHOD_LABELS } from '../methods.ts';
import { startProgress } from '../progress.ts';
import { NOTHING_SPENT, spentBefore, spentSince } from '../spent.ts';
import type { RunResult } from '../train/result.ts';
import { runConfig } from './run-config.ts';
import type { PlannedRun } from './runs.ts';
import type { Settings } from './settings.ts';
import { runInWorker } from './worker-process.ts';

export interface RunAllOptions {
  /** Every run of the comparison, finished or not (the progress line counts them). */
  total: number;
  /** The finished runs by folder; each run that finishes now is added. */
  results: Map<string, RunResult>;
  pending: readonly PlannedRun[];
  /** The encoded task the workers read. */
  taskPath: string;
  /** When the command started (Date.now()). */
  started: number;
  resume: boolean;
  keepCheckpoints: boolean;
  stopAfter: number | undefined;
}

/**
 * Resolves with whether Ctrl-C interrupted the runs and with what the comparison has spent
 * (wall time and load, over all its invocations); throws once all stopped if a run failed.
 */
export async function runAll(s: Settings, o: RunAllOptions): Promise<{ interrupted: boolean; spent: ReturnType<typeof spentSince> }> {
  const { results, pending } = o;
  const bar = startProgress('compare', o.total, { mode: process.env.SPARSEGRAD_PROGRESS === 'off' ? 'off' : 'plain', plainIntervalMs: 0, unit: 'runs' });
  if (results.size > 0) bar.tick(results.size, 'already finished');

  let interrupted = false;
  const onSigint = () => {
    interrupted = true; // the workers got the same Ctrl-C: they checkpoint and exit 130
  };
  process.on('SIGINT', onSigint);
  const failures: string[] = [];
  const loadSamples: number[] = [loadavg()[0]!];
  const spent = spentSince(s.out, o.resume ? spentBefore(s.out) : NOTHING_SPENT, o.started, loadSamples, pending.length > 0 ? s.jobs : 0);
  spent.save();
  const loadTimer = setInterval(() => {
    loadSamples.push(loadavg()[0]!);
    spent.save();
  }, 5000);
  loadTimer.unref();
  const runOne = async (j: PlannedRun): Promise<void> => {
    const code = await runInWorker(j.dir, runConfig(s, j, o.stopAfter), o.taskPath, s.jobs);
    if (code === 0) {
      const r = JSON.parse(readFileSync(join(j.dir, 'result.json'), 'utf8')) as RunResult;
      results.set(j.dir, r);
      if (!o.keepCheckpoints) rmSync(join(j.dir, 'checkpoint'), { recursive: true, force: true });
      bar.tick(1, `${METHOD_LABELS[j.method]} seed ${j.seed}: ${scoreText(r)}, ${r.msPerStep.toFixed(0)} ms/step`);
    } else if (code === 130 || interrupted) {
      interrupted = true;
    } else {
      failures.push(`${j.method} seed ${j.seed} (${code === DIVERGED_EXIT ? 'diverged' : `exit ${code}`})`);
    }
  };
  const queue = [...pending];
  await Promise.all(
    Array.from({ length: Math.min(s.jobs, queue.length) }, async () => {
      while (queue.length > 0 && !interrupted) await runOne(queue.shift()!);
    }),
  );
  process.off('SIGINT', onSigint);
  clearInterval(loadTimer);
  spent.save();
  if (interrupted) return { interrupted, spent };
  if (failures.length > 0) throw new CliError(`${failures.length} run(s) failed: ${failures.join(', ')} (see the messages above)`, 1);
  bar.done();
  return { interrupted, spent };
}

/** A finished run's score on the progress line. */
function scoreText(r: RunResult): string {
  return r.eval.kind === 'lm'
    ? `held-out loss ${r.eval.loss!.toFixed(4)}, perplexity ${r.eval.perplexity!.toFixed(2)}`
    : `accuracy ${(r.eval.accuracy! * 100).toFixed(1)}%, F1 ${(r.eval.f1! * 100).toFixed(1)}%`;
}
