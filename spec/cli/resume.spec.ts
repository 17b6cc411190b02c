/**
 * Interrupt and resume: a run stopped by SIGINT (the real signal, sent by the run to
 * itself after N steps through the hidden --stop-after hook) saves a checkpoint and exits
 * 130; `--resume` continues it to bitwise the weights of an uninterrupted run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunResult } from '../../cli/train/result.ts';
import { cli, tinyBertWorkspace } from './helpers.ts';

const workspace = tinyBertWorkspace('resume');

const common = (method: string, output: string, lr = '3e-3') => [
  'finetune',
  '--model',
  workspace.model,
  '--task',
  'spam',
  '--method',
  method,
  '--steps',
  '18',
  '--prelim-steps',
  '5',
  '--batch-size',
  '8',
  '--max-train',
  '120',
  '--max-test',
  '40',
  '--max-length',
  '24',
  '--lr',
  lr,
  '--seed',
  '7',
  '--output',
  output,
];

describe.each(['sparsegrad', 'lora'])('%s', (method) => {
  test('an interrupted run resumes to the same final weights, bitwise', async () => {
    const straight = join(workspace.work, `${method}-straight`);
    const resumed = join(workspace.work, `${method}-resumed`);
    const [a, b] = await Promise.all([cli(common(method, straight)), cli([...common(method, resumed), '--stop-after', '4'])]);
    expect(a.status, a.stderr).toBe(0);
    // Before training, both reference points (cli/baselines.ts).
    expect(a.stdout).toMatch(/^majority-class baseline \('ham'\): accuracy \d+\.\d%, macro-F1 \d+\.\d%$/m);
    expect(a.stdout).toMatch(/^bag-of-word-pieces baseline \(softmax regression on the same tokens, untuned\): accuracy \d+\.\d%/m);
    expect(b.status, b.stderr).toBe(130);
    expect(b.stderr).toMatch(/interrupted at step \d+; checkpoint saved in .*--resume/);
    expect(existsSync(join(resumed, 'checkpoint', 'trainer_state.json'))).toBe(true);
    const stoppedAt = JSON.parse(readFileSync(join(resumed, 'checkpoint', 'trainer_state.json'), 'utf8')).step as number;
    expect(stoppedAt).toBe(method === 'sparsegrad' ? 5 + 4 : 4);
    expect(existsSync(join(resumed, 'model'))).toBe(false);

    // Resuming with other settings is refused with the difference named.
    const wrong = await cli([...common(method, resumed, '1e-3'), '--resume']);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/different configuration \(lr: 0\.003 there, 0\.001 now\)/);

    const c = await cli([...common(method, resumed), '--resume']);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toContain(`resuming ${method} from step ${stoppedAt}/18`);
    const weights = (dir: string) => readFileSync(join(dir, 'model', 'model.safetensors'));
    expect(Buffer.compare(weights(straight), weights(resumed))).toBe(0);
    const result = (dir: string) => JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    expect(result(resumed).losses).toEqual(result(straight).losses);
    expect(result(resumed).eval).toEqual(result(straight).eval);
    expect(result(resumed).resumedFrom).toBe(stoppedAt);

    // The exported folder (adapters / W̃ merged back into plain HF linears) scores what the run scored.
    const evaluated = await cli(['eval', '--model', join(resumed, 'model'), '--task', 'spam', '--max-test', '40', '--max-length', '24']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const accuracy = (result(resumed).eval.accuracy! * 100).toFixed(2);
    expect(evaluated.stdout).toContain(`spam: accuracy ${accuracy}%`);
    expect(evaluated.stderr).not.toContain('warning');
    // Evaluation tokenizes no training text: the majority class is its only baseline.
    expect(evaluated.stdout).toMatch(/^majority-class baseline \('ham'\): /m);
    expect(evaluated.stdout).not.toContain('bag-of-word-pieces');
  }, 120_000);
});
