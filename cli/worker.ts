/**
 * One fine-tuning run in its own process, started by `compare` (cli/compare/worker-process.ts):
 * its own process so that each method's peak RSS is its own, and so that two runs use
 * two cores. Reads `job.json` (the run configuration and the encoded task's path),
 * writes `result.json` next to it, and exits 0; 130 after Ctrl-C (checkpoint saved);
 * 1 on an error (printed). If `compare` itself dies (killed, not interrupted), the IPC
 * channel closes: the run takes that as a Ctrl-C, so that it saves its checkpoint and
 * exits instead of training on, an orphan, into a folder a resumed `compare` reuses.
 *
 *   node --import tsx cli/worker.ts <job.json>
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../node.ts';
import { CliError } from './args.ts';
import { configureEngine } from './engine.ts';
import type { RunConfig } from './train/config.ts';
import type { EncodedTask } from './train/encode.ts';
import { Interrupted } from './train/interrupt.ts';
import { runTraining } from './train/run.ts';

export interface Job {
  config: RunConfig;
  taskPath: string;
}

/** The parent is gone: interrupt through the SIGINT path (checkpoint at the next step, exit 130). */
function onParentGone(): void {
  process.kill(process.pid, 'SIGINT');
}

async function main(): Promise<number> {
  if (process.send) {
    process.once('disconnect', onParentGone);
    // The parent may have died while this process was still loading.
    if (!process.connected) onParentGone();
  }
  configureEngine();
  const jobPath = process.argv[2];
  if (!jobPath) throw new CliError('usage: worker.ts <job.json>');
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as Job;
  const task = JSON.parse(readFileSync(job.taskPath, 'utf8')) as EncodedTask;
  const { result } = await runTraining(job.config, task);
  await writeFileAtomic(join(dirname(jobPath), 'result.json'), `${JSON.stringify(result)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof Interrupted) {
      process.stderr.write(`${error.message}\n`);
      process.exit(130);
    }
    process.stderr.write(`error: ${error instanceof CliError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
    process.exit(error instanceof CliError ? error.exitCode : 1); // 2: bad input, 3: diverged (cli/divergence.ts)
  },
);
