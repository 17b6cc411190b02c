/**
 * The CLI as a new user meets it (issue 13, finding 8), through the real executable:
 * a damaged model folder or an impossible output path is one `error: <path>: …` line,
 * found before the dataset is tokenized; the resume hint is a runnable command; a child
 * killed by the test's time limit says "timed out".
 */
import { cpSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cli, tinyBertWorkspace, type CliRun } from './helpers.ts';

const workspace = tinyBertWorkspace('preflight');

/** A copy of the tiny model with one file damaged by `damage`. */
function damaged(name: string, damage: (dir: string) => void): string {
  const dir = join(workspace.work, name);
  cpSync(workspace.model, dir, { recursive: true });
  damage(dir);
  return dir;
}

const small = ['--task', 'spam', '--method', 'lora', '--steps', '4', '--batch-size', '4', '--max-train', '40', '--max-test', '20', '--max-length', '16'];

/** Exactly one line on stderr, `error: …`, no stack trace, nothing tokenized or trained. */
function expectOneErrorLine(run: CliRun, status: number, re: RegExp): void {
  expect(run.status, run.stderr).toBe(status);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(run.stdout).not.toMatch(/^(tokenize|train)/m);
}

describe('a damaged model folder: one line naming the file, before the dataset is tokenized', () => {
  test('config.json that is not JSON (finetune, eval, compare: once, not once per worker)', async () => {
    const dir = damaged('bad-config', (d) => writeFileSync(join(d, 'config.json'), '{"hidden_size": 32,'));
    const re = new RegExp(`^error: ${join(dir, 'config.json')}: not valid JSON \\(`);
    const [finetune, evaluate, compare, generate] = await Promise.all([
      cli(['finetune', '--model', dir, ...small, '--output', join(workspace.work, 'out-config')]),
      cli(['eval', '--model', dir, '--task', 'spam', '--max-test', '20']),
      cli(['compare', '--quick', '--model', dir, '--out', join(workspace.work, 'cmp-config'), '--jobs', '2']),
      cli(['generate', 'Hello', '--model', dir]),
    ]);
    expectOneErrorLine(finetune, 2, re);
    expectOneErrorLine(evaluate, 2, re);
    expectOneErrorLine(compare, 2, re);
    expectOneErrorLine(generate, 2, re);
    expect(existsSync(join(workspace.work, 'cmp-config', 'task.json'))).toBe(false);
  }, 120_000);

  test('a truncated model.safetensors: the error names the file', async () => {
    const dir = damaged('truncated', (d) => truncateSync(join(d, 'model.safetensors'), 4000));
    const run = await cli(['finetune', '--model', dir, ...small, '--output', join(workspace.work, 'out-truncated')]);
    expectOneErrorLine(run, 2, new RegExp(`^error: ${join(dir, 'model.safetensors')}: `));
  }, 60_000);

  test('a vocab.txt missing: the classification task is refused with the folder named', async () => {
    const dir = damaged('no-vocab', (d) => rmSync(join(d, 'vocab.txt')));
    const run = await cli(['finetune', '--model', dir, ...small, '--output', join(workspace.work, 'out-vocab')]);
    expectOneErrorLine(run, 2, new RegExp(`^error: ${dir}.*no BERT tokenizer`));
  }, 60_000);
});

describe('the output path is checked before anything expensive', () => {
  test('--output naming a file, or below a file', async () => {
    const file = join(workspace.work, 'a-file');
    writeFileSync(file, 'not a folder');
    const [at, below] = await Promise.all([
      cli(['finetune', '--model', workspace.model, ...small, '--output', file]),
      cli(['finetune', '--model', workspace.model, ...small, '--output', join(file, 'run')]),
    ]);
    expectOneErrorLine(at, 2, new RegExp(`^error: --output ${file}: this is a file, not a folder; choose another --output$`));
    expectOneErrorLine(below, 2, new RegExp(`^error: --output ${join(file, 'run')}: ${file} is a file, not a folder`));
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  }, 60_000);

  test('--output where nothing can be written (root included: /sys refuses mkdir)', async () => {
    const run = await cli(['finetune', '--model', workspace.model, ...small, '--output', '/sys/sparsegrad-test/run']);
    expectOneErrorLine(run, 2, /^error: --output \/sys\/sparsegrad-test\/run: cannot write there \(E[A-Z]+: .*\); choose another --output$/);
  }, 60_000);

  test('compare --out naming a file', async () => {
    const file = join(workspace.work, 'another-file');
    writeFileSync(file, '');
    expectOneErrorLine(await cli(['compare', '--quick', '--model', workspace.model, '--out', file]), 2, /^error: --out .*: this is a file, not a folder/);
  }, 60_000);
});

describe('hints and failures say what to do', () => {
  test('the resume hint after Ctrl-C is a runnable command: npx sparsegrad …, or npm start -- … under npm start', async () => {
    const output = join(workspace.work, 'interrupted');
    const args = ['finetune', '--model', workspace.model, ...small, '--output', output];
    const [plain, npm] = await Promise.all([
      cli([...args, '--stop-after', '2']),
      cli([...args.slice(0, -1), `${output}-npm`, '--stop-after', '2'], { env: { npm_lifecycle_event: 'start' } }),
    ]);
    expect(plain.status, plain.stderr).toBe(130);
    expect(plain.stderr).toContain(`continue with npx sparsegrad ${args.join(' ')} --resume)`);
    expect(npm.stderr).toContain(`continue with npm start -- ${[...args.slice(0, -1), `${output}-npm`].join(' ')} --resume)`);
    // npx finds the workspace's bin in a checkout; the hint without the test hook, run as printed, finishes the run.
    expect(existsSync(join(import.meta.dirname, '../../node_modules/.bin/sparsegrad'))).toBe(true);
    const resumed = await cli(plain.stderr.match(/continue with npx sparsegrad (.*)\)/)![1]!.split(' '));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming lora from step 2/4');
  }, 120_000);

  test('a child killed by the time limit reports "timed out", not a null status', async () => {
    const run = await cli(['finetune', '--model', workspace.model, ...small, '--output', join(workspace.work, 'slow')], { timeoutMs: 200 });
    expect(run.timedOut).toBe(true);
    expect(run.status).toBeNull();
    expect(run.stderr).toMatch(/^timed out after 0\.2 s \(killed\): sparsegrad finetune /);
  });
});
