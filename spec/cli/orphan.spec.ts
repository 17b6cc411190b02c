/**
 * A comparison killed outright (SIGKILL: no handler runs) must not leave its run training
 * on as an orphan: the worker notices the closed IPC channel, saves its checkpoint like
 * after Ctrl-C and exits; `compare --resume` then continues that run from its checkpoint,
 * and its results count the killed invocation's time too (cli/spent.ts: saved at the start
 * and every 5 s).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cli, tinyBertWorkspace } from './helpers.ts';

const workspace = tinyBertWorkspace('orphan');
const root = join(import.meta.dirname, '../..');

const compareArgs = (out: string) =>
  // biome-ignore format: flag / value pairs
  ['compare', '--quick', '--model', workspace.model, '--out', out, '--methods', 'full', '--seeds', '1', '--steps', '400', '--batch-size', '8',
   '--max-train', '120', '--max-test', '40', '--max-length', '24', '--lr', '3e-3', '--jobs', '1'];

test('a killed compare leaves no orphan run: the run checkpoints, exits, and resumes', async () => {
  const out = join(workspace.work, 'killed');
  const child = spawn(process.execPath, [join(root, 'cli/bin.mjs'), ...compareArgs(out)], {
    cwd: root,
    env: { ...process.env, SPARSEGRAD_PROGRESS: 'plain', SPARSEGRAD_PROGRESS_INTERVAL_MS: '0' },
  });
  let output = '';
  const collect = (d: Buffer) => {
    output += d;
    // Training has started in the worker (a progress line past step 1): kill the parent only.
    if (/train full seed 1 +[2-9]\d*\//.test(output) && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // 'close' waits for every holder of the pipes, the worker included: it fires once the worker is gone.
  const status = await new Promise<number | null>((done) => child.on('close', done));
  expect(child.killed, output).toBe(true);
  expect(status).toBe(null);
  expect(output).toMatch(/interrupted at step \d+; checkpoint saved in/);
  const runDir = join(out, 'runs', 'full-seed1');
  expect(existsSync(join(runDir, 'checkpoint', 'trainer_state.json'))).toBe(true);
  expect(existsSync(join(runDir, 'result.json'))).toBe(false);

  // What the killed invocation had spent, as it last saved it. A thousand seconds are added to
  // it by hand, more than any one invocation here takes: the resumed results must count them.
  const spentPath = join(out, 'spent.json');
  const killed = JSON.parse(readFileSync(spentPath, 'utf8')) as { wallSeconds: number; load: { samples: number } };
  expect(killed.load.samples).toBeGreaterThanOrEqual(1); // saved at the start, then at every sample
  writeFileSync(spentPath, JSON.stringify({ ...killed, wallSeconds: killed.wallSeconds + 1000 }));

  const resumed = await cli([...compareArgs(out), '--resume'], { timeoutMs: 170_000 });
  expect(resumed.status, resumed.stderr).toBe(0);
  expect(resumed.stdout).toMatch(/resuming .* from step \d+\/400/);
  expect(existsSync(join(runDir, 'result.json'))).toBe(true);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as typeof killed;
  expect(results.wallSeconds).toBeGreaterThan(killed.wallSeconds + 1000);
  expect(results.load.samples).toBeGreaterThan(killed.load.samples);
}, 240_000);
