/**
 * The main job end to end: `sparsegrad compare --quick` on a tiny BERT (built here) and a
 * small slice of the real spam task, through the real executable and worker processes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BertConfig } from '../../models/config.ts';
import { pairedBootstrap } from '../../cli/metrics.ts';
import type { ReportData } from '../../cli/report/data.ts';
import { cli, makeTinyBert } from './helpers.ts';
import { parseXml } from './xml.ts';

let model: { dir: string; config: BertConfig };
let out: string;
let run: { status: number | null; stdout: string; stderr: string; seconds: number };

const RANK = 7;
/** The run's command line (the resume test repeats it). */
// biome-ignore format: flag / value pairs
const args = () => ['compare', '--quick', '--model', model.dir, '--out', out, '--seeds', '1', '--steps', '80', '--batch-size', '16',
  '--max-train', '400', '--max-test', '200', '--max-length', '32', '--lr', '3e-3', '--concentration-batches', '2', '--jobs', '2'];

beforeAll(async () => {
  model = await makeTinyBert();
  out = mkdtempSync(join(tmpdir(), 'sparsegrad-compare-'));
  run = await cli(args());
}, 180_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(model.dir, { recursive: true, force: true });
});

const results = () => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReportData;

// No wall-time assertion: CI shares two cores with other work (the run's time is measured in bench/ and the README).
test('compare --quick exits 0 and says where the report is', () => {
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain(`report: ${join(out, 'report.html')}`);
});

test('every method ran and beats the majority-class baseline', () => {
  const r = results();
  expect(r.rows.map((row) => row.method)).toEqual(['full', 'lora', 'meprop', 'sparsegrad']);
  expect(r.runs.map((x) => `${x.method}:${x.seed}`)).toEqual(['full:1', 'lora:1', 'meprop:1', 'sparsegrad:1']);
  for (const x of r.runs) {
    expect(x.losses).toHaveLength(80);
    expect(x.eval.examples).toBe(200);
    expect(x.eval.accuracy, `${x.method}`).toBeGreaterThan(r.baseline!.accuracy);
  }
  // The table is printed.
  for (const label of ['Full FT', 'LoRA', 'MeProp', 'SparseGrad']) expect(run.stdout).toMatch(new RegExp(`^${label} .*%?`, 'm'));
});

test('the memory column is exact: gradient + optimizer-state bytes computed by hand', () => {
  const c = model.config;
  const [H, I, L, V] = [c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.vocab_size];
  const embeddings = V * H + c.max_position_embeddings * H + c.type_vocab_size * H + 2 * H;
  const layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H;
  const head = H * H + H + H * 2 + 2; // pooler + classifier (2 labels)
  const N = embeddings + L * layer + head;
  const mlpW = 2 * L * H * I; // the MLP weights: intermediate.dense and output.dense of each block
  const k = Math.min(RANK * (H + I), H * I); // the budget per MLP layer
  const f32 = 4;
  const expected = {
    // float32 gradient + AdamW's two moments for every parameter.
    full: 3 * f32 * N,
    // W frozen; A [in, r] and B [out, r] added to both MLP linears of each block.
    lora: 3 * f32 * (N - mlpW + 2 * L * RANK * (H + I)),
    // dense (masked) gradients: as full fine-tuning.
    meprop: 3 * f32 * N,
    // dense grads off the W̃s; each W̃ has a COO gradient of k int32 indices + k float32 values;
    // SparseAdam's moments are dense, so the optimizer state is that of full fine-tuning.
    sparsegrad: f32 * (N - mlpW) + 2 * L * k * (4 + f32) + 2 * f32 * N,
  };
  const r = results();
  for (const row of r.rows) expect(row.gradOptBytes, row.method).toBe(expected[row.method]);
  expect(r.rows.find((x) => x.method === 'full')!.trainable).toBe(N);
  expect(r.rows.find((x) => x.method === 'sparsegrad')!.budget).toBe(k);
});

test('the HTML report parses, is self-contained and holds every plot', () => {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const elements = parseXml(html);
  const plots = elements.filter((e) => e.name === 'svg').map((e) => e.attributes['data-plot']);
  expect(plots.sort()).toEqual(['accuracy', 'concentration', 'concentration', 'energy-kept', 'ever-selected', 'f1', 'heatmap', 'loss', 'modified']);
  // Loss curves: one line per method; accuracy bars with error bars and the baseline.
  expect(elements.filter((e) => e.name === 'polyline' && e.attributes['data-series']).map((e) => e.attributes['data-series'])).toEqual(
    expect.arrayContaining(['Full FT', 'LoRA', 'MeProp', 'SparseGrad']),
  );
  expect(elements.filter((e) => e.attributes['data-bar']).length).toBe(8);
  // Two charts, each with the majority class and the bag of word pieces.
  expect(elements.filter((e) => e.attributes['data-baseline']).length).toBe(4);
  // Concentration: both basis conventions against the untransformed gradient, for both MLP layer types.
  expect(html).toContain('VᵀMU (consistent)');
  expect(html).toContain('VᵀMUᵀ (reference)');
  expect(html).toContain('M (untransformed)');
  // Self-contained: no scripts, no external resources.
  expect(elements.some((e) => e.name === 'script' || e.name === 'link' || e.name === 'img')).toBe(false);
  expect(elements.some((e) => Object.keys(e.attributes).some((a) => a === 'src' || a === 'href'))).toBe(false);
  const r = results();
  expect(r.concentration).toHaveLength(2);
  expect(r.update!.indices.length).toBeGreaterThan(0);
});

test('one seed: every pair gets a paired bootstrap interval, and no sentence ranks one method above another', () => {
  const r = results();
  expect(r.differences!.map((d) => `${d.a}-${d.b}`)).toEqual([
    'lora-full',
    'meprop-full',
    'meprop-lora',
    'sparsegrad-full',
    'sparsegrad-lora',
    'sparsegrad-meprop',
  ]);
  for (const d of r.differences!) expect(d).toMatchObject({ seeds: 1, examples: 200 });
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const sentences = [...html.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]!);
  expect(sentences[0]).toMatch(/^One seed: the intervals below cover the sampling of the 200 test examples only/);
  for (const s of sentences) expect(s).not.toMatch(/beats|better than|outperforms/);
  expect(sentences.some((s) => /^SparseGrad − LoRA: [+−±]\d+\.\d points \(95 % CI /.test(s))).toBe(true);
  expect(run.stdout).toMatch(/one seed: the intervals cover the test sample only/);
  // results.json keeps every run's predictions and the gold labels: each interval can be recomputed from it exactly.
  const labels = (r as ReportData & { testLabels: number[] }).testLabels;
  const correct = (m: string) => r.runs.filter((x) => x.method === m).map((x) => x.eval.predictions!.map((p, i) => (p === labels[i] ? 1 : 0)));
  for (const d of r.differences!) {
    const { a: _a, b: _b, metric: _m, ...interval } = d;
    expect(pairedBootstrap(correct(d.a), correct(d.b), { replicates: d.replicates, seed: 12 })).toEqual(interval);
    expect(d.diff).toBeCloseTo(r.runs.find((x) => x.method === d.a)!.eval.accuracy! - r.runs.find((x) => x.method === d.b)!.eval.accuracy!, 12);
  }
});

test('accuracy and F1 axes start at 0', () => {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const plot of ['accuracy', 'f1']) {
    const start = html.indexOf(`data-plot="${plot}"`);
    const svg = html.slice(start, html.indexOf('</svg>', start));
    expect(svg, plot).toMatch(/text-anchor="end">0\.0<\/text>/); // the lowest y tick
  }
});

test('the results name the model relative to the working folder when inside it, else by its full path', async () => {
  expect(results().settings.model).toBe(model.dir); // a temp folder, outside the repository the CLI ran in
  const { portablePath } = await import('../../cli/paths.ts');
  expect(portablePath(join(process.cwd(), 'cli/pretrained/bert-mini'))).toBe(join('cli', 'pretrained', 'bert-mini'));
  expect(portablePath(join(process.cwd(), '..', 'elsewhere'))).toBe(join(process.cwd(), '..', 'elsewhere'));
});

test('compare --resume after every run finished keeps the whole wall time and load, adding its own', async () => {
  const first = results();
  const again = await cli([...args(), '--resume']);
  expect(again.status, again.stderr).toBe(0);
  const second = results();
  // The rewritten results.json counts the first invocation too (it used to report only the
  // resumed one's seconds, with "0 jobs at once"), and adds this one's load sample.
  expect(second.wallSeconds).toBeGreaterThanOrEqual(first.wallSeconds);
  expect(second.load!.samples).toBeGreaterThan(first.load!.samples);
  expect(second.load!.jobs).toBe(first.load!.jobs);
  expect(second.load!.max).toBeGreaterThanOrEqual(first.load!.max);
  expect(second.rows.map((r) => r.accuracy)).toEqual(first.rows.map((r) => r.accuracy));
}, 120_000);

test('the bag-of-word-pieces baseline is that of the very tokens the runs read, in results.json, table.md and the report', async () => {
  const { loadClassificationTask } = await import('../../cli/data/tasks.ts');
  const { encodeClassification } = await import('../../cli/train/encode.ts');
  const { readFolderTokenizer } = await import('../../node/pretrained.ts');
  const { bagOfWordsBaseline } = await import('../../cli/bag-of-words.ts');
  const tokenizer = (await readFolderTokenizer(model.dir)) as import('../../models/tokenizers/index.ts').BertTokenizer;
  // --quick's split (its maxChars 1500) with the flags above.
  const task = encodeClassification(loadClassificationTask('spam', { seed: 0, maxTrain: 400, maxTest: 200, maxChars: 1500 }), tokenizer, 32);
  const expected = bagOfWordsBaseline(task.train, task.test, 2, { ignore: [tokenizer.clsId, tokenizer.sepId, tokenizer.padId] });
  const r = results();
  expect(r.testLabels).toEqual(task.test.map((e) => e.label));
  expect(r.bagOfWords).toEqual(expected);
  expect(readFileSync(join(out, 'table.md'), 'utf8')).toContain(
    `| bag of word pieces | | | | | | | ${(expected.accuracy * 100).toFixed(1)} | ${(expected.f1 * 100).toFixed(1)} |`,
  );
  expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(`data-baseline="bag of word pieces ${(expected.accuracy * 100).toFixed(1)}"`);
});

test('--rerender adds the baseline to results written before it, from the same split only', async () => {
  const { writeFileSync } = await import('node:fs');
  const [resultsPath, tablePath] = [join(out, 'results.json'), join(out, 'table.md')];
  const [full, table] = [readFileSync(resultsPath, 'utf8'), readFileSync(tablePath, 'utf8')];
  const old = JSON.parse(full) as ReportData;
  delete old.bagOfWords;
  writeFileSync(resultsPath, `${JSON.stringify(old, null, 1)}\n`);
  writeFileSync(tablePath, table.replace(/\n\| bag of word pieces [^\n]*/, ''));
  const other = await cli([...args().map((a) => (a === '200' ? '100' : a)), '--rerender']); // --max-test 100: another split
  expect(other.status).not.toBe(0);
  expect(other.stderr).toMatch(
    /--rerender: the task these flags describe is not the one in .*results\.json \(its split or test labels differ\); pass the flags of the comparison that wrote it/,
  );
  const longer = await cli([...args().map((a) => (a === '32' ? '48' : a)), '--rerender']); // --max-length 48: other tokens
  expect(longer.stderr).toMatch(/--rerender: .*results\.json was made with .* at max length 32, not .* at 48; pass the flags/);
  expect(JSON.parse(readFileSync(resultsPath, 'utf8')).bagOfWords).toBeUndefined(); // nothing written
  const same = await cli([...args(), '--rerender']);
  expect(same.status, same.stderr).toBe(0);
  expect(JSON.parse(readFileSync(resultsPath, 'utf8'))).toEqual(JSON.parse(full));
  expect(readFileSync(tablePath, 'utf8')).toBe(table);
}, 120_000);
