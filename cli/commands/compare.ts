/**
 * `sparsegrad compare` (the default command): fine-tune a BERT classifier on a real task
 * with full fine-tuning, LoRA, MeProp and SparseGrad at the same per-layer budget
 * (k = r·(in + out), r = 7), over several seeds; print the table; write a self-contained
 * HTML report. The default setting fine-tunes the shipped bert-small with only the MLP
 * method as the variable (--train mlp-only) at rates from a committed sweep; --quick runs
 * bert-mini in the paper setting in about a minute.
 *
 * Each (method, seed) runs in its own process (cli/worker.ts) so that its peak RSS is its
 * own; `--jobs` of them run at once (default: one per core, at most 2; each run's kernels
 * then use its share of the cores). The task is loaded and tokenized once (cli/compare/tasks.ts) and handed to
 * the workers as token ids. Finished runs leave `result.json`; `--resume` skips them and
 * continues an interrupted one from its checkpoint.
 *
 * Making the MLP method the only variable: `--train mlp-only` freezes everything outside
 * the MLP linears but the task head, for every method; `--prelim-all` gives LoRA and
 * MeProp SparseGrad's preliminary full steps. Every method-vs-method difference in
 * accuracy gets a paired bootstrap 95 % interval (over test examples and seeds,
 * cli/metrics.ts); the load average is sampled during the runs so that ms/step can be
 * flagged as noisy.
 *
 * This file is the command's outline, step by step; each step lives in cli/compare/ (the
 * settings and their checks, the task, the runs, the results, --rerender), so that a reader
 * finds the order here and the detail in a file named for it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../node.ts';
import { commandLine, parseFlags, withoutFlag } from '../args.ts';
import { METHOD_LABELS } from '../methods.ts';
import { formatSeconds } from '../metrics.ts';
import { checkSettings, preflight } from '../compare/checks.ts';
import { compareFlags, compareHelp } from '../compare/flags.ts';
import { formatLrs } from '../compare/profiles.ts';
import { rerender } from '../compare/rerender.ts';
import { writeResults } from '../compare/results.ts';
import { runAll } from '../compare/run-all.ts';
import { finishedAndPending, planRuns } from '../compare/runs.ts';
import { resolveSettings, type Settings } from '../compare/settings.ts';
import { loadTask } from '../compare/tasks.ts';

export async function compareCommand(argv: readonly string[]): Promise<number> {
  const { flags, help } = parseFlags(argv, compareFlags, 'compare');
  if (help) {
    console.log(compareHelp());
    return 0;
  }
  const s = resolveSettings(flags);
  if (flags.rerender) return rerender(s);
  checkSettings(s, flags);
  const started = Date.now();
  const command = `sparsegrad compare${argv.length ? ` ${argv.join(' ')}` : ''}`;
  announce(s);
  // Before tokenizing and before any worker starts: one clear line, not one stack trace per worker.
  const weights = await preflight(s);

  // The task, loaded and tokenized once.
  const task = await loadTask(s);
  const taskPath = join(s.out, 'task.json');
  await writeFileAtomic(taskPath, JSON.stringify(task.encoded));

  const planned = planRuns(s);
  const { results, pending } = finishedAndPending(planned, s, flags.resume, weights);
  const { interrupted, spent } = await runAll(s, {
    total: planned.length,
    results,
    pending,
    taskPath,
    started,
    resume: flags.resume,
    keepCheckpoints: flags.keepCheckpoints,
    stopAfter: flags.stopAfter,
  });
  if (interrupted) {
    const again = [...withoutFlag(withoutFlag(argv, 'stop-after'), 'resume', false), '--resume'];
    console.error(`\ninterrupted: finished runs and checkpoints are in ${s.out}; continue with: ${commandLine(['compare', ...again])}`);
    return 130;
  }

  const runs = planned.map((j) => results.get(j.dir)!);
  const data = await writeResults(s, { command, weights, task, runs, ...spent.now() });
  rmSync(taskPath, { force: true });
  console.log(`wall time ${formatSeconds(data.wallSeconds)} on ${data.machine.cpus}× ${data.machine.cpuModel}`);
  console.log(`report: ${join(s.out, 'report.html')}`);
  return 0;
}

/** What is about to run, on the console. */
function announce(s: Settings): void {
  console.log(
    `compare (${s.profile} setting): ${s.methods.map((m) => METHOD_LABELS[m]).join(', ')} on ${s.task}, seeds ${s.seeds.join(', ')}; ${s.steps} steps of ${s.batchSize} × ≤${s.maxLength} tokens at ${formatLrs(s)}; ${s.jobs} job${s.jobs > 1 ? 's' : ''} at once`,
  );
  console.log(`model ${s.model}\noutput ${s.out}`);
  if (s.train !== 'paper' || s.prelimAll)
    console.log(
      `${s.train === 'mlp-only' ? 'mlp-only: every parameter outside the MLP linears is frozen except the task head, in every method' : ''}${s.train !== 'paper' && s.prelimAll ? '; ' : ''}${s.prelimAll ? `prelim-all: LoRA and MeProp also take the ${s.prelimSteps} preliminary full AdamW steps` : ''}`,
    );
}
