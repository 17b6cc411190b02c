/**
 * `compare` on a language-modelling task (the paper's LLaMa setting, at this engine's
 * scale): a tiny random LLaMa with the shipped llama-mini tokenizer, Moby-Dick with
 * chapters held out; each method's held-out loss and perplexity, and the paired bootstrap
 * interval of every difference in held-out loss (over held-out blocks and seeds).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEFAULT_LLAMA } from '../../cli/paths.ts';
import type { SweepSummary } from '../../cli/commands/sweep.ts';
import type { ReportData } from '../../cli/report/data.ts';
import type { RunResult } from '../../cli/train/result.ts';
import { Generator } from '../../core/random.ts';
import { llamaConfig } from '../../models/config.ts';
import { LlamaForCausalLM } from '../../models/llama.ts';
import { savePretrained } from '../../node.ts';
import { cli } from './helpers.ts';
import { parseXml } from './xml.ts';

let modelDir: string;
let out: string;
let run: { status: number | null; stdout: string; stderr: string };

beforeAll(async () => {
  modelDir = mkdtempSync(join(tmpdir(), 'sparsegrad-tiny-llama-'));
  // The shipped tokenizer (32,000 pieces) on a tiny random model: fast, and a real BPE path.
  const config = llamaConfig({
    architectures: ['LlamaForCausalLM'],
    vocab_size: 32000,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
  });
  const files = Object.fromEntries(
    ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].map((f) => [f, readFileSync(join(DEFAULT_LLAMA, f), 'utf8')]),
  );
  await savePretrained(modelDir, new LlamaForCausalLM(config, { generator: new Generator(3) }), { tokenizerFiles: files });
  out = mkdtempSync(join(tmpdir(), 'sparsegrad-compare-llama-'));
  run = await cli(
    [
      'compare',
      '--quick',
      '--task',
      'moby-dick',
      '--model',
      modelDir,
      '--out',
      out,
      '--methods',
      'full,lora,sparsegrad',
      '--seeds',
      '1,2',
      '--steps',
      '16',
      '--prelim-steps',
      '4',
      '--max-length',
      '32',
      '--max-chars',
      '8000',
      '--lr',
      '3e-3',
      '--concentration-batches',
      '1',
      '--bootstrap',
      '1000',
      '--jobs',
      '2',
      '--k',
      '60',
    ],
    { timeoutMs: 170_000 },
  );
}, 180_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
});

const results = () => JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReportData & { runs: RunResult[] };

test('every method ran on held-out text: loss, perplexity = e^loss, one loss per held-out block', () => {
  expect(run.status, run.stderr).toBe(0);
  const r = results();
  expect(r.kind).toBe('lm');
  expect(r.baseline).toBeNull();
  for (const x of r.runs) {
    expect(x.losses).toHaveLength(16);
    expect(x.eval.kind).toBe('lm');
    expect(x.eval.blockLosses).toHaveLength(x.eval.examples);
    const mean = x.eval.blockLosses!.reduce((a, l) => a + l, 0) / x.eval.blockLosses!.length;
    expect(x.eval.loss).toBeCloseTo(mean, 12);
    expect(x.eval.perplexity).toBeCloseTo(Math.exp(x.eval.loss!), 9);
  }
  for (const row of r.rows) expect(row.perplexity!.mean).toBeGreaterThan(1);
  // --k sets SparseGrad's budget (a budget sweep); LoRA keeps r·(in + out) = 7·(16 + 32).
  expect(r.rows.find((x) => x.method === 'sparsegrad')!.budget).toBe(60);
  expect(r.rows.find((x) => x.method === 'lora')!.budget).toBe(7 * (16 + 32));
  expect(run.stdout).toMatch(/held-out loss +perplexity/);
});

test('paired bootstrap over held-out blocks and seeds for every difference in held-out loss', () => {
  const r = results();
  expect(r.differences!.map((d) => `${d.a}-${d.b}:${d.metric}`)).toEqual(['lora-full:loss', 'sparsegrad-full:loss', 'sparsegrad-lora:loss']);
  const loss = (m: string) => r.runs.filter((x) => x.method === m).reduce((s, x) => s + x.eval.loss!, 0) / 2;
  for (const d of r.differences!) {
    expect(d).toMatchObject({ seeds: 2, examples: r.runs[0]!.eval.examples, replicates: 1000 });
    expect(d.diff).toBeCloseTo(loss(d.a) - loss(d.b), 12);
    expect(d.lo).toBeLessThanOrEqual(d.diff);
    expect(d.hi).toBeGreaterThanOrEqual(d.diff);
  }
  expect(run.stdout).toMatch(/held-out loss differences, paired bootstrap over \d+ held-out blocks × 2 seeds/);
  expect(readFileSync(join(out, 'table.md'), 'utf8')).toMatch(/\| difference in held-out loss \| nats\/token \|/);
});

test('the report shows perplexity from 0 and no majority class', () => {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const plots = parseXml(html)
    .filter((e) => e.name === 'svg')
    .map((e) => e.attributes['data-plot']);
  expect(plots).toContain('perplexity');
  expect(plots).not.toContain('accuracy');
  expect(html).not.toContain('majority class');
  const start = html.indexOf('data-plot="perplexity"');
  expect(html.slice(start, html.indexOf('</svg>', start))).toMatch(/text-anchor="end">0\.0<\/text>/);
});

test('sweep on language modelling: training sections validate, the lowest loss is chosen, and compare --sweep trains at it', async () => {
  const setting = ['--quick', '--task', 'moby-dick', '--model', modelDir, '--methods', 'full,lora', '--seeds', '1', '--steps', '6'];
  const small = [...setting, '--max-length', '32', '--max-chars', '8000', '--concentration-batches', '0', '--jobs', '2'];
  const dir = join(out, 'sweep');
  const sweep = await cli(['sweep', ...small, '--lrs', '1e-3,1e-2', '--validation', '10', '--out', dir], { timeoutMs: 170_000 });
  expect(sweep.status, sweep.stderr).toBe(0);
  const summary = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as SweepSummary;
  expect(summary.metric).toBe('validation loss');
  for (const lr of summary.lrs) {
    const r = JSON.parse(readFileSync(join(dir, summary.runs[String(lr)]!), 'utf8')) as ReportData;
    expect(r.split).toMatch(/VALIDATION RUN: \d+ of the training sections held out/);
    expect(r.settings.evaluation).toBe('validation: 10 held-out training documents (not the held-out documents)');
  }
  for (const m of ['full', 'lora'] as const) {
    const cells = summary.grid[m]!;
    expect(summary.chosen[m]).toBe(cells[0]!.mean <= cells[1]!.mean ? 1e-3 : 1e-2);
  }
  expect(sweep.stdout).toMatch(/chosen \(lowest mean validation loss; ties: the smaller rate\)/);
  const final = await cli(['compare', ...small, '--sweep', join(dir, 'sweep.json'), '--out', join(out, 'final')], { timeoutMs: 120_000 });
  expect(final.status, final.stderr).toBe(0);
  const r = JSON.parse(readFileSync(join(out, 'final', 'results.json'), 'utf8')) as ReportData;
  expect(r.split).not.toMatch(/VALIDATION/);
  expect(r.settings['learning rates chosen by']).toMatch(/\(lowest mean validation loss\)$/);
  expect(readFileSync(join(out, 'final', 'report.html'), 'utf8')).toContain('validation loss (nats/token)');
}, 300_000);
