/**
 * compare's settings choose the model, the training scope and the rates: the default
 * setting is the shipped bert-small with --train mlp-only at the committed sweep's rates,
 * --quick is bert-mini in the paper setting; a flag overrides either. A tiny run (one
 * method, one seed, a few steps, few examples) checks what a run records.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { LM_LR, LM_LR_SMALL, LM_PROFILES, LR, LR_SMALL, PROFILES } from '../../cli/compare/profiles.ts';
import { weightsDigest } from '../../cli/weights-identity.ts';
import type { ReportData } from '../../cli/report/data.ts';
import { cli } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'sparsegrad-compare-defaults-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tiny = ['--methods', 'lora', '--seeds', '1', '--steps', '3', '--max-train', '40', '--max-test', '20', '--concentration-batches', '0', '--jobs', '1'];
const settings = (out: string) => (JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReportData).settings;
/** A file of this repository, by its path from the root. */
const inRepo = (path: string) => join(import.meta.dirname, '../..', path);
const committedSweep = (path: string) => JSON.parse(readFileSync(inRepo(path), 'utf8')) as { chosen: unknown; weights?: string; command: string };

test('the settings: bert-small and mlp-only by default at the swept rates, bert-mini and paper for --quick', () => {
  expect(PROFILES.default).toMatchObject({ model: 'bert-small', train: 'mlp-only', lr: LR_SMALL });
  expect(PROFILES.full).toMatchObject({ model: 'bert-small', train: 'mlp-only', lr: LR_SMALL });
  expect(PROFILES.quick).toMatchObject({ model: 'bert-mini', train: 'paper', lr: LR });
  // The rates the committed sweep on the shipped weights chose: retraining bert-small changes
  // its digest, and this test then asks for a sweep on the new weights.
  const sweep = committedSweep('results/spam-small-nsp-mlp-only/sweep/sweep.json');
  expect(sweep.weights).toBe(weightsDigest(inRepo('cli/pretrained/bert-small')));
  expect(LR_SMALL).toEqual(sweep.chosen);
});

test('language modelling: llama-small and mlp-only by default at the Moby Dick sweep’s rates, llama-mini and paper for --quick', () => {
  expect(LM_PROFILES.default).toMatchObject({ model: 'llama-small', train: 'mlp-only', lr: LM_LR_SMALL });
  expect(LM_PROFILES.full).toMatchObject({ model: 'llama-small', train: 'mlp-only', lr: LM_LR_SMALL });
  expect(LM_PROFILES.quick).toMatchObject({ model: 'llama-mini', train: 'paper', lr: LM_LR });
  const sweep = committedSweep('results/moby-dick-small-mlp-only/sweep/sweep.json');
  expect(sweep.command).toMatch(/--model cli\/pretrained\/llama-small .*--train mlp-only/);
  expect(LM_LR_SMALL).toEqual(sweep.chosen);
  // That sweep.json predates the recorded weights digest: this is llama-small's digest, unchanged
  // since its pretraining commit (1e180b6), before the sweep ran. Retraining it fails here, and
  // asks for a new sweep.
  expect(weightsDigest(inRepo('cli/pretrained/llama-small'))).toBe('sha256:44d64299386d4989');
});

test('a run without --model or --train uses the setting’s; flags override them', async () => {
  const byDefault = join(work, 'default');
  const run = await cli(['compare', ...tiny, '--out', byDefault], { timeoutMs: 170_000 });
  expect(run.status, run.stderr).toBe(0);
  expect(settings(byDefault)).toMatchObject({
    model: join('cli', 'pretrained', 'bert-small'),
    'trained besides the MLP linears': 'the task head only (mlp-only)',
    'learning rate': `lr ${LR_SMALL.lora}`,
  });
  const quick = join(work, 'quick');
  const overridden = await cli(['compare', '--quick', ...tiny, '--train', 'mlp-only', '--out', quick], { timeoutMs: 170_000 });
  expect(overridden.status, overridden.stderr).toBe(0);
  expect(settings(quick)).toMatchObject({
    model: join('cli', 'pretrained', 'bert-mini'),
    'trained besides the MLP linears': 'the task head only (mlp-only)',
    'learning rate': `lr ${LR.lora}`,
  });
}, 360_000);

test('a language-modelling run without --model or --train uses llama-small and mlp-only', async () => {
  const out = join(work, 'lm');
  const run = await cli(
    [
      'compare',
      '--task',
      'moby-dick',
      '--methods',
      'lora',
      '--seeds',
      '1',
      '--steps',
      '2',
      '--max-chars',
      '20000',
      '--concentration-batches',
      '0',
      '--jobs',
      '1',
      '--out',
      out,
    ],
    { timeoutMs: 170_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  expect(settings(out)).toMatchObject({
    model: join('cli', 'pretrained', 'llama-small'),
    'trained besides the MLP linears': 'nothing (mlp-only: a causal LM has no task head)',
    'learning rate': `lr ${LM_LR_SMALL.lora}`,
  });
}, 200_000);
