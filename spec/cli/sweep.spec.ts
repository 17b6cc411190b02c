/**
 * `sparsegrad sweep` end to end on a tiny BERT: one comparison per rate on a validation
 * split (the test split unread), each method's best rate chosen from the grid, and
 * `compare --sweep` training at those rates with the grid in its report.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseLrs, summarizeSweep, sweepMarkdown, type SweepSummary } from '../../cli/commands/sweep.ts';
import type { MethodRow, ReportData } from '../../cli/report/data.ts';
import { weightsDigest } from '../../cli/weights-identity.ts';
import { cli, makeTinyBert } from './helpers.ts';

let modelDir: string;
let out: string;
let sweep: { status: number | null; stdout: string; stderr: string };
let compare: { status: number | null; stdout: string; stderr: string };
const common = (dir: string) => [
  '--quick',
  '--model',
  dir,
  '--methods',
  'full,sparsegrad',
  '--seeds',
  '1',
  '--steps',
  '20',
  '--max-train',
  '300',
  '--max-test',
  '60',
  '--max-length',
  '32',
  '--concentration-batches',
  '0',
  '--jobs',
  '2',
];

beforeAll(async () => {
  modelDir = (await makeTinyBert()).dir;
  out = mkdtempSync(join(tmpdir(), 'sparsegrad-sweep-'));
  // Run from the output folder with a relative --out: the per-rate comparisons must record it relative too.
  sweep = await cli(['sweep', ...common(modelDir), '--lrs', '3e-3,1e-3', '--validation', '100', '--out', 'sweep'], { timeoutMs: 170_000, cwd: out });
  compare = await cli(['compare', ...common(modelDir), '--sweep', join(out, 'sweep', 'sweep.json'), '--lr-full', '2e-3', '--out', join(out, 'final')], {
    timeoutMs: 120_000,
  });
}, 300_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
});

test('one validation comparison per rate; each method gets its best rate; the grid is written', () => {
  expect(sweep.status, sweep.stderr).toBe(0);
  const s = JSON.parse(readFileSync(join(out, 'sweep', 'sweep.json'), 'utf8')) as SweepSummary;
  expect(s.lrs).toEqual([1e-3, 3e-3]); // sorted
  const runs = s.lrs.map((lr) => JSON.parse(readFileSync(join(out, 'sweep', s.runs[String(lr)]!), 'utf8')) as ReportData);
  for (const [i, r] of runs.entries()) {
    expect(r.command).toContain(`--out sweep/lr-${s.lrs[i]}`);
    expect(r.command).not.toContain(out);
    expect(r.split).toMatch(/VALIDATION RUN: 100 of the 300 training examples/);
    expect(r.settings['learning rate']).toBe(`lr ${s.lrs[i]}`);
  }
  for (const m of ['full', 'sparsegrad'] as const) {
    const acc = runs.map((r) => r.rows.find((x) => x.method === m)!.accuracy.mean);
    expect(s.grid[m]!.map((c) => c.mean)).toEqual(acc);
    expect(s.chosen[m]).toBe(acc[1]! > acc[0]! ? 3e-3 : 1e-3);
  }
  expect(readFileSync(join(out, 'sweep', 'sweep.md'), 'utf8')).toMatch(/^\| validation accuracy % \| lr 0\.001 \| lr 0\.003 \| chosen \|/);
  expect(sweep.stdout).toMatch(/chosen \(best mean validation accuracy; ties: the smaller rate\): --lr-full [\d.e-]+ --lr-sparsegrad [\d.e-]+/);
});

test('compare --sweep trains at the chosen rates (--lr-<method> still overrides) and shows the grid', () => {
  expect(compare.status, compare.stderr).toBe(0);
  const s = JSON.parse(readFileSync(join(out, 'sweep', 'sweep.json'), 'utf8')) as SweepSummary;
  const r = JSON.parse(readFileSync(join(out, 'final', 'results.json'), 'utf8')) as ReportData;
  expect(r.settings['learning rate']).toBe(`Full FT lr 0.002, SparseGrad lr ${s.chosen.sparsegrad}`);
  expect(r.split).not.toMatch(/VALIDATION/);
  expect(r.sweep!.chosen).toEqual(s.chosen);
  const html = readFileSync(join(out, 'final', 'report.html'), 'utf8');
  expect(html).toContain('<h2>Learning-rate sweep</h2>');
  expect(html).toMatch(/data-table="sweep"/);
});

test('every result records the weights it ran on; rates or finished runs from other weights are refused', async () => {
  const digest = weightsDigest(modelDir);
  expect(digest).toMatch(/^sha256:[0-9a-f]{16}$/);
  const s = JSON.parse(readFileSync(join(out, 'sweep', 'sweep.json'), 'utf8')) as SweepSummary;
  const r = JSON.parse(readFileSync(join(out, 'final', 'results.json'), 'utf8')) as ReportData;
  expect([s.weights, r.weights, r.settings['model weights']]).toEqual([digest, digest, digest]);
  expect(r.runs.every((run) => run.weights === digest)).toBe(true);
  // The same folder retrained: same path, other bytes.
  const retrained = mkdtempSync(join(tmpdir(), 'sparsegrad-retrained-'));
  try {
    cpSync(modelDir, retrained, { recursive: true });
    const file = join(retrained, 'model.safetensors');
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(file, bytes);
    const other = weightsDigest(retrained);
    expect(other).not.toBe(digest);
    const withSweep = await cli(['compare', ...common(retrained), '--sweep', join(out, 'sweep', 'sweep.json'), '--out', join(out, 'refused')], {
      timeoutMs: 60_000,
    });
    expect(withSweep.status).toBe(2);
    expect(withSweep.stderr).toContain(`its rates were chosen on other weights (${digest})`);
    const resumed = await cli(['compare', ...common(retrained), '--resume', '--lr', '1e-3', '--out', join(out, 'final')], { timeoutMs: 60_000 });
    expect(resumed.status).toBe(2);
    expect(resumed.stderr).toMatch(/--resume: .*result\.json was trained on other weights/);
  } finally {
    rmSync(retrained, { recursive: true, force: true });
  }
});

test('the grid and the choice by hand; bad rate lists are refused', () => {
  const row = (method: 'full' | 'lora', mean: number) => ({ method, accuracy: { mean, std: 0, n: 1 } }) as MethodRow;
  const results = [
    [0.8, 0.7],
    [0.9, 0.7],
    [0.9, 0.6],
  ].map(([f, l]) => ({ rows: [row('full', f!), row('lora', l!)] }) as ReportData);
  const { grid, chosen, metric } = summarizeSweep([1e-4, 3e-4, 1e-3], results);
  expect(metric).toBe('validation accuracy');
  expect(chosen).toEqual({ full: 3e-4, lora: 1e-4 }); // full: tie 0.9 at 3e-4 and 1e-3 → the smaller; lora: 0.7 tie → 1e-4
  expect(grid.full!.map((c) => c.mean)).toEqual([0.8, 0.9, 0.9]);
  expect(sweepMarkdown({ lrs: [1e-4, 3e-4, 1e-3], grid, chosen, metric: 'validation accuracy' }).split('\n')[2]).toBe(
    '| Full FT | 80.0 | **90.0** | 90.0 | 0.0003 |',
  );
  // Language modelling: the lowest mean validation loss wins (a tie keeps the smaller rate), shown in nats to 3 decimals.
  const lmRow = (method: 'full' | 'lora', mean: number) => ({ method, heldOutLoss: { mean, std: 0.01, n: 3 } }) as MethodRow;
  const lm = [
    [4.2, 4.0],
    [4.1, 4.0],
    [4.3, 4.5],
  ].map(([f, l]) => ({ kind: 'lm', rows: [lmRow('full', f!), lmRow('lora', l!)] }) as ReportData);
  const lmSweep = summarizeSweep([1e-4, 3e-4, 1e-3], lm);
  expect(lmSweep.metric).toBe('validation loss');
  expect(lmSweep.chosen).toEqual({ full: 3e-4, lora: 1e-4 });
  expect(
    sweepMarkdown({ lrs: [1e-4, 3e-4, 1e-3], ...lmSweep })
      .split('\n')
      .slice(0, 3),
  ).toEqual([
    '| validation loss (nats/token) | lr 0.0001 | lr 0.0003 | lr 0.001 | chosen |',
    '|---|---:|---:|---:|---:|',
    '| Full FT | 4.200 ± 0.010 | **4.100 ± 0.010** | 4.300 ± 0.010 | 0.0003 |',
  ]);
  expect(parseLrs('1e-3, 1e-4')).toEqual([1e-4, 1e-3]);
  expect(() => parseLrs('1e-3')).toThrow(/at least two rates/);
  expect(() => parseLrs('1e-3,x')).toThrow(/'x' is not a positive number/);
  expect(() => parseLrs('1e-3,0.001')).toThrow(/a rate twice/);
});

test('a global or per-method --lr would defeat the sweep: refused before anything runs', async () => {
  const { main } = await import('../../cli/main.ts');
  const errors: string[] = [];
  const error = console.error;
  console.error = (x: string) => errors.push(x);
  try {
    expect(await main(['sweep', '--lr-lora', '1e-3'])).toBe(2);
    expect(await main(['sweep', '--lrs', '1e-3'])).toBe(2);
  } finally {
    console.error = error;
  }
  expect(errors[0]).toBe('error: sweep: --lr-lora would override the swept rate; the sweep sets --lr itself');
  expect(errors[1]).toMatch(/at least two rates/);
});
