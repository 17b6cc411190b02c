/**
 * `compare` with the method as the only variable, end to end on a tiny BERT: --train
 * mlp-only (everything outside the MLP linears frozen but the task head), --prelim-all
 * (LoRA and MeProp take SparseGrad's preliminary full steps too), --sparse-moments and
 * --row-compaction reachable from compare; two seeds, so the paired bootstrap pairs runs
 * by seed; what each step changed, recorded and plotted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { pairedBootstrap } from '../../cli/metrics.ts';
import type { ReportData } from '../../cli/report/data.ts';
import type { RunResult } from '../../cli/train/result.ts';
import type { BertConfig } from '../../models/config.ts';
import { cli, makeTinyBert } from './helpers.ts';
import { parseXml } from './xml.ts';

let model: { dir: string; config: BertConfig };
let out: string;
let run: { status: number | null; stdout: string; stderr: string };
const [RANK, STEPS, PRELIM] = [7, 30, 11];

beforeAll(async () => {
  model = await makeTinyBert();
  out = mkdtempSync(join(tmpdir(), 'sparsegrad-compare-ablation-'));
  run = await cli(
    [
      'compare',
      '--quick',
      '--model',
      model.dir,
      '--out',
      out,
      '--methods',
      'lora,meprop,sparsegrad',
      '--seeds',
      '1,2',
      '--steps',
      String(STEPS),
      '--max-train',
      '300',
      '--max-test',
      '120',
      '--max-length',
      '32',
      '--lr',
      '3e-3',
      '--concentration-batches',
      '1',
      '--jobs',
      '2',
      '--train',
      'mlp-only',
      '--prelim-all',
      '--sparse-moments',
      '--row-compaction',
      '--bootstrap',
      '2000',
    ],
    { timeoutMs: 170_000 },
  );
}, 180_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(model.dir, { recursive: true, force: true });
});

const results = () => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReportData & { runs: RunResult[] };

test('mlp-only: only the MLP linears (as each method trains them) and the task head require grad', () => {
  expect(run.status, run.stderr).toBe(0);
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L } = model.config;
  const head = H * H + H + 2 * H + 2; // pooler + classifier (2 labels)
  const biases = L * (I + H);
  const k = RANK * (H + I);
  const expected: Record<string, number> = {
    lora: head + biases + 2 * L * k, // A [in, r] + B [out, r] = r·(in + out) = k per layer; W frozen
    meprop: head + biases + 2 * L * H * I,
    sparsegrad: head + biases + 2 * L * H * I, // the W̃'s
  };
  const r = results();
  for (const row of r.rows) expect(row.trainable, row.method).toBe(expected[row.method]);
  for (const x of r.runs) expect(x.summary).toMatch(/mlp-only/);
  expect(r.settings['trained besides the MLP linears']).toMatch(/mlp-only/);
});

test('prelim-all: LoRA and MeProp take the same preliminary full steps; changes are recorded from the step after', () => {
  for (const x of results().runs) {
    expect(x.losses).toHaveLength(STEPS);
    expect(x.prepSeconds.collect, x.method).toBeGreaterThan(0);
    expect(x.changes!.steps[0]).toBe(PRELIM + 1);
    expect(x.changes!.steps).toHaveLength(STEPS - PRELIM);
  }
});

test('sparse moments: SparseAdam stores 12 B per entry ever selected, which the per-step record counts', () => {
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L } = model.config;
  const denseAdamW = 2 * 4 * (H * H + H + 2 * H + 2 + L * (I + H)); // the head and the MLP biases: two float32 moments
  for (const x of results().runs.filter((r) => r.method === 'sparsegrad')) {
    expect(x.summary).toMatch(/row compaction, sparse moments/);
    const touched = x.changes!.everSelected.at(-1)!;
    expect(x.memory!.optimizerStateBytes).toBe(denseAdamW + touched * (4 + 4 + 4));
  }
});

test("what each step changes: SparseAdam moves at most the selected entries; MeProp's momentum moves more than it selects", () => {
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L } = model.config;
  const k = RANK * (H + I);
  const r = results();
  for (const x of r.runs) {
    const c = x.changes!;
    expect(c.layers).toBe(2 * L);
    for (const m of c.modified) expect(m).toBeLessThanOrEqual(c.layers * c.entriesPerLayer);
    if (x.method === 'sparsegrad') {
      // Threshold selection keeps ties at the k-th value: allow 1 % over k.
      for (const m of c.modified) expect(m).toBeLessThanOrEqual(1.01 * k * c.layers);
      for (const e of c.energyKept!) expect(e).toBeGreaterThan(0), expect(e).toBeLessThanOrEqual(1);
    }
    if (x.method === 'meprop') {
      expect(c.modified.at(-1)!).toBeGreaterThan(k * c.layers);
      expect(c.everSelected.at(-1)!).toBeGreaterThan(k * c.layers);
      for (const e of c.energyKept!) expect(e).toBeGreaterThan(0), expect(e).toBeLessThanOrEqual(1);
    }
    if (x.method === 'lora') expect(c.energyKept).toBeNull();
  }
  const sg = r.rows.find((row) => row.method === 'sparsegrad')!.changes!;
  expect(sg.energyKept).toBeGreaterThan(0);
});

test('paired bootstrap: every pair, paired by seed, reproducible from the saved predictions', () => {
  const r = results();
  expect(r.differences!.map((d) => `${d.a}-${d.b}`)).toEqual(['meprop-lora', 'sparsegrad-lora', 'sparsegrad-meprop']);
  for (const d of r.differences!) {
    expect(d).toMatchObject({ seeds: 2, examples: 120, replicates: 2000 });
    expect(d.lo).toBeLessThanOrEqual(d.diff);
    expect(d.hi).toBeGreaterThanOrEqual(d.diff);
  }
  // The difference is the mean over seeds of the accuracy differences.
  const acc = (m: string) => r.runs.filter((x) => x.method === m).reduce((s, x) => s + x.eval.accuracy!, 0) / 2;
  const sgLora = r.differences!.find((d) => d.a === 'sparsegrad' && d.b === 'lora')!;
  expect(sgLora.diff).toBeCloseTo(acc('sparsegrad') - acc('lora'), 12);
  // results.json keeps the predictions and the gold labels: the interval can be recomputed from it exactly.
  const correct = (m: string) =>
    r.runs
      .filter((x) => x.method === m)
      .sort((a, b) => a.seed - b.seed)
      .map((x) => x.eval.predictions!.map((p, i) => (p === r.testLabels![i] ? 1 : 0)));
  expect(pairedBootstrap(correct('sparsegrad'), correct('lora'), { replicates: 2000, seed: 12 })).toEqual(
    (({ a: _a, b: _b, metric: _m, ...rest }) => rest)(sgLora),
  );
});

test('the report: sentences claim a difference only where its interval excludes 0; the change plots are there', () => {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const elements = parseXml(html);
  const plots = elements.filter((e) => e.name === 'svg').map((e) => e.attributes['data-plot']);
  for (const p of ['modified', 'ever-selected', 'energy-kept', 'accuracy', 'concentration']) expect(plots).toContain(p);
  const r = results();
  for (const d of r.differences!) {
    const excludes = d.lo > 0 || d.hi < 0;
    const sentence = [...html.matchAll(/<li>(.*?)<\/li>/g)]
      .map((m) => m[1]!)
      .find((s) => s.includes(`${d.a === 'sparsegrad' ? 'SparseGrad' : d.a === 'meprop' ? 'MeProp' : 'LoRA'} − ${d.b === 'lora' ? 'LoRA' : 'MeProp'}:`));
    if (!sentence) continue; // only SparseGrad's pairs are sentences
    expect(/beats|less accurate/.test(sentence)).toBe(excludes);
    if (!excludes) expect(sentence).toMatch(/includes 0, so no clear difference/);
  }
  expect(readFileSync(join(out, 'table.md'), 'utf8')).toMatch(/\| SparseGrad − LoRA \| -?\d+\.\d \| -?\d+\.\d to -?\d+\.\d \|/);
  expect(run.stdout).toMatch(/accuracy differences, paired bootstrap over 120 test examples × 2 seeds/);
});

test('finetune --train mlp-only: the same scope for one method, recorded in result.json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-finetune-mlp-only-'));
  try {
    const r = await cli([
      'finetune',
      '--model',
      model.dir,
      '--method',
      'full',
      '--train',
      'mlp-only',
      '--steps',
      '3',
      '--batch-size',
      '4',
      '--max-train',
      '40',
      '--max-test',
      '20',
      '--max-length',
      '16',
      '--no-save',
      '--output',
      dir,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    const { hidden_size: H, intermediate_size: I, num_hidden_layers: L } = model.config;
    expect(result.memory!.trainableEntries).toBe(H * H + H + 2 * H + 2 + L * (2 * H * I + I + H)); // head + the MLP linears
    expect(result.summary).toMatch(/mlp-only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
