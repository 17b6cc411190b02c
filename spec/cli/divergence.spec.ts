/**
 * Divergence (cli/divergence.ts): the guard's rules on their own, then the real
 * executable: `finetune --lr 10` stops with exit 3 and writes no model and no checkpoint.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { assertFiniteTensors, DEFAULT_DIVERGENCE, Diverged, DIVERGED_EXIT, DivergenceGuard, firstNonFinite } from '../../cli/divergence.ts';
import { CliError } from '../../cli/args.ts';
import { tensor } from '../../core/creation.ts';
import { readSafetensors } from '../../node.ts';
import { cli, tinyBertWorkspace } from './helpers.ts';

/** The error `fn` throws (failing the test when it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but nothing was thrown');
}

describe('DivergenceGuard', () => {
  test('a non-finite loss stops the run at once, naming the step and the value', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const guard = new DivergenceGuard('full seed 1');
      guard.loss(1, 0.7);
      const e = thrown(() => guard.loss(2, bad));
      expect(e).toBeInstanceOf(Diverged);
      expect(e).toBeInstanceOf(CliError);
      expect((e as Diverged).exitCode).toBe(DIVERGED_EXIT);
      expect(e.message).toBe(`full seed 1: the loss became ${bad} at step 2; the run diverged (lower --lr); nothing of this step was saved`);
    }
    expect(() => new DivergenceGuard('x').loss(1, NaN)).toThrow(/the loss became NaN at step 1/); // even the first loss
  });

  test('the loss must stay above factor × the first loss for `patience` steps in a row', () => {
    const guard = new DivergenceGuard('lora', { factor: 10, patience: 3 });
    guard.loss(1, 0.5);
    guard.loss(2, 5); // exactly 10×: not above
    guard.loss(3, 5.01);
    guard.loss(4, 6);
    guard.loss(5, 0.9); // the streak of 2 ends
    guard.loss(6, 50);
    guard.loss(7, 60);
    expect(() => guard.loss(8, 70)).toThrow(
      new Diverged(
        'lora: the loss diverged: 70.00 at step 8, above 10× its first value (0.5000) for 3 steps in a row; lower --lr (--divergence-factor 0 turns this check off)',
      ),
    );
  });

  test('factor 0 turns the ratio check off, not the finiteness check', () => {
    const guard = new DivergenceGuard('x', { factor: 0, patience: 1 });
    guard.loss(1, 1);
    for (let s = 2; s < 50; s++) guard.loss(s, 1e30);
    expect(() => guard.loss(50, Infinity)).toThrow(Diverged);
  });

  test('a resumed guard continues the first loss and the streak of the history, as the uninterrupted run would', () => {
    const history = [0.5, 6, 7, 8, 9];
    const straight = new DivergenceGuard('x', DEFAULT_DIVERGENCE);
    history.forEach((v, i) => straight.loss(i + 1, v));
    const resumed = new DivergenceGuard('x', DEFAULT_DIVERGENCE, history);
    expect(DEFAULT_DIVERGENCE).toEqual({ factor: 10, patience: 5 });
    expect(() => straight.loss(6, 10)).toThrow(/above 10× its first value \(0\.5000\) for 5 steps/);
    expect(() => resumed.loss(6, 10)).toThrow(/above 10× its first value \(0\.5000\) for 5 steps/);
  });

  test('weights: the first non-finite entry is named with its tensor, in float32 and float64, through views', () => {
    const ok = tensor([1, -2, 3]);
    const bad = tensor(
      [
        [1, 2],
        [3, -Infinity],
      ],
      { dtype: 'float64' },
    );
    expect(
      firstNonFinite([
        ['a', ok],
        ['ids', tensor([1, 2], { dtype: 'int32' })],
      ]),
    ).toBeNull();
    expect(
      firstNonFinite([
        ['a', ok],
        ['b', bad],
      ]),
    ).toEqual({ name: 'b', index: 3, value: -Infinity });
    expect(firstNonFinite([['t', bad.T]])).toEqual({ name: 't', index: 3, value: -Infinity }); // a transposed view: flat index of the contiguous copy
    expect(firstNonFinite([['n', tensor([0, NaN, 1])]])).toEqual({ name: 'n', index: 1, value: NaN });
    const guard = new DivergenceGuard('sparsegrad seed 3');
    expect(() =>
      guard.weights(4, [
        ['a', ok],
        ['encoder.w', bad],
      ]),
    ).toThrow(new Diverged("sparsegrad seed 3: weight 'encoder.w' became -Infinity (entry 3) at step 4; the run diverged (lower --lr)"));
  });

  test('assertFiniteTensors refuses to write a file holding NaN or ±Inf, naming the path and the tensor', () => {
    expect(() => assertFiniteTensors('/x/model', [['w', tensor([1, 2])]])).not.toThrow();
    expect(() =>
      assertFiniteTensors('/x/model', [
        ['w', tensor([1, 2])],
        ['bias', tensor([Infinity])],
      ]),
    ).toThrow(new Diverged("refusing to write /x/model: tensor 'bias' holds Infinity (entry 0); the run diverged, nothing was written"));
  });
});

describe('the executable', () => {
  const workspace = tinyBertWorkspace('divergence');

  const finetune = (output: string, steps: number, ...extra: string[]) =>
    cli([
      'finetune',
      '--model',
      workspace.model,
      '--task',
      'spam',
      '--method',
      'full',
      '--steps',
      String(steps),
      '--batch-size',
      '8',
      '--max-train',
      '120',
      '--max-test',
      '40',
      '--max-length',
      '24',
      '--output',
      output,
      '--checkpoint-every',
      '1',
      ...extra,
    ]);

  test('finetune --lr 10 stops with exit 3 and a clear message; no model or result, and every checkpoint is finite', async () => {
    const output = join(workspace.work, 'lr10');
    const run = await finetune(output, 30, '--lr', '10');
    expect(run.status, run.stderr).toBe(DIVERGED_EXIT);
    expect(run.stderr).toMatch(
      /^error: full: the (loss diverged: .* above 10× its first value .* for 5 steps in a row|loss became (NaN|-?Infinity) at step \d+)/m,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.stdout).not.toMatch(/Full FT seed \d+: accuracy/); // no final score printed as if all were well
    expect(existsSync(join(output, 'model'))).toBe(false);
    expect(existsSync(join(output, 'result.json'))).toBe(false);
    // --checkpoint-every 1 saved the steps before the guard fired: each tensor in them is finite.
    const files = readdirSync(join(output, 'checkpoint'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.safetensors'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(firstNonFinite(Object.entries((await readSafetensors(join(output, 'checkpoint', f))).tensors)), f).toBeNull();
  }, 120_000);

  test('finetune --lr 1e39 is refused before any training: it overflows float32 weights', async () => {
    const output = join(workspace.work, 'lr1e39');
    const run = await finetune(output, 1, '--lr', '1e39');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain("error: Invalid learning rate: 1e+39 (overflows float32, the dtype of the group's parameters)");
    expect(existsSync(output) ? readdirSync(output) : []).toEqual([]);
  }, 120_000);

  test('--divergence-factor 0 lets a rising loss continue (the finiteness checks stay)', async () => {
    const output = join(workspace.work, 'off');
    const run = await finetune(output, 8, '--lr', '10', '--divergence-factor', '0', '--no-save');
    // Either the run ends (exit 0) or the loss or a weight became non-finite (exit 3): never the ratio rule.
    expect([0, DIVERGED_EXIT], run.stderr).toContain(run.status);
    expect(run.stderr).not.toMatch(/its first value/);
  }, 120_000);
});
