/**
 * Test fixture: a tiny randomly initialised BERT folder (BertForMaskedLM, as the
 * pretraining command writes them) with a word-level vocabulary built from the spam
 * task's training texts, so that the end-to-end tests run in seconds; and `cli()`, which
 * runs the real executable as a user would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadClassificationTask } from '../../cli/data/tasks.ts';
import { Generator } from '../../core/random.ts';
import { BertForMaskedLM } from '../../models/bert.ts';
import { bertConfig, type BertConfig } from '../../models/config.ts';
import { savePretrained } from '../../node.ts';

export const TINY = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } as const;

/** Specials, ASCII punctuation, then the most frequent words (any other word becomes one [UNK]). */
export function buildVocab(texts: readonly string[], words: number): string[] {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  const top = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([w]) => w)
    .slice(0, words);
  const punctuation = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...punctuation, ...top];
}

export async function makeTinyBert(options: { words?: number; seed?: number } = {}): Promise<{ dir: string; config: BertConfig }> {
  const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-tiny-bert-'));
  const task = loadClassificationTask('spam', { seed: 0, maxTrain: 1000, maxTest: 10, maxChars: 1500 });
  const vocab = buildVocab(
    task.train.map((e) => e.text),
    options.words ?? 3000,
  );
  const config = bertConfig({ architectures: ['BertForMaskedLM'], vocab_size: vocab.length, ...TINY });
  await savePretrained(dir, new BertForMaskedLM(config, { generator: new Generator(options.seed ?? 1) }), {
    tokenizerFiles: { 'vocab.txt': `${vocab.join('\n')}\n` },
  });
  return { dir, config };
}

/**
 * A tiny BERT folder and an empty scratch folder for the tests of one file (or describe
 * block): made before its first test, removed after its last. Read the paths inside tests.
 */
export function tinyBertWorkspace(name: string): { readonly model: string; readonly work: string } {
  const workspace = { model: '', work: '' };
  beforeAll(async () => {
    workspace.model = (await makeTinyBert()).dir;
    workspace.work = mkdtempSync(join(tmpdir(), `sparsegrad-${name}-`));
  }, 60_000);
  afterAll(() => {
    for (const dir of [workspace.work, workspace.model]) if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return workspace;
}

const root = join(import.meta.dirname, '../..');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** Killed by the time limit: then stderr starts with a line saying so. */
  timedOut: boolean;
}

/**
 * Run the CLI as a user would, collecting its output. A child still running after
 * `timeoutMs` is killed; its stderr then starts with "timed out after …", so an assertion
 * like `expect(run.status, run.stderr).toBe(0)` fails saying why (not "expected null to be +0").
 */
export function cli(args: string[], options: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'cli/bin.mjs'), ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, SPARSEGRAD_PROGRESS: 'plain', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const limit = options.timeoutMs ?? 120_000;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limit);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      const note = timedOut ? `timed out after ${limit / 1000} s (killed): sparsegrad ${args.join(' ')}\n` : '';
      resolve({ status, stdout, stderr: note + stderr, seconds: (performance.now() - t0) / 1000, timedOut });
    }),
  );
}
