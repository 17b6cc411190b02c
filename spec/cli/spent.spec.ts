/**
 * cli/spent.ts: a resumed comparison's wall time and load add up over its invocations.
 * The end-to-end check (a resumed compare keeps the first invocation's time) is in
 * spec/cli/compare.spec.ts; here the arithmetic by hand and where the record comes from.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mergeLoad, spentBefore, spentSince } from '../../cli/spent.ts';
import type { LoadReport } from '../../cli/report/data.ts';

const cores = availableParallelism();
const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-spent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mergeLoad', () => {
  test('pools the samples of both invocations, by hand', () => {
    const before: LoadReport = { cores, jobs: 2, samples: 2, mean: 1.5, max: 2, noisy: true };
    // (1.5·2 + 3 + 0) / 4 = 1.5; the max of 2 and 3; the earlier invocation's 2 jobs at once stand.
    expect(mergeLoad(before, [3, 0], 0)).toEqual({ cores, jobs: 2, samples: 4, mean: 1.5, max: 3, noisy: true });
  });

  test('a first invocation alone; noisy when the mean load exceeds the cores or runs shared them', () => {
    expect(mergeLoad(null, [0.25, 0.75], 1)).toEqual({ cores, jobs: 1, samples: 2, mean: 0.5, max: 0.75, noisy: 0.5 > cores });
    expect(mergeLoad(null, [cores + 1], 1).noisy).toBe(true);
    expect(mergeLoad(null, [0], 2).noisy).toBe(true);
  });
});

describe('spentBefore and spentSince', () => {
  test('nothing before a first invocation; then spent.json, which wins over results.json', () => {
    const out = mkdtempSync(join(dir, 'out-'));
    expect(spentBefore(out)).toEqual({ wallSeconds: 0, load: null });
    const load: LoadReport = { cores, jobs: 2, samples: 10, mean: 1, max: 1.5, noisy: true };
    // A comparison finished before spent.json was kept: its results.json is the record.
    writeFileSync(join(out, 'results.json'), JSON.stringify({ title: 'x', wallSeconds: 3222.9, load }));
    expect(spentBefore(out)).toEqual({ wallSeconds: 3222.9, load });

    const started = Date.now() - 2000; // this invocation has run for 2 s
    const samples = [0.5];
    const spent = spentSince(out, spentBefore(out), started, samples, 0);
    spent.save();
    const saved = JSON.parse(readFileSync(join(out, 'spent.json'), 'utf8')) as ReturnType<typeof spent.now>;
    expect(saved.wallSeconds).toBeGreaterThanOrEqual(3222.9 + 2);
    expect(saved.load).toEqual(mergeLoad(load, [0.5], 0));
    expect(spentBefore(out)).toEqual(saved);
  });
});
