/**
 * `sparsegrad memory`: exact held bytes per method on a small LLaMa MLP stack computed by
 * hand (bases counted once per layer type), the analytic accounting equal to the measured
 * one byte for byte on small BERT and LLaMa configs (so it can stand in where a model does
 * not fit), and the command end to end on a small config.
 */
import { describe, expect, test } from 'vitest';
import { analyticMemory, measuredMemory, MEMORY_ROWS, type MemorySettings } from '../../cli/memory/accounting.ts';
import { bertSpec, llamaMlpSpec } from '../../cli/memory/models.ts';
import { leastSentence, memoryTable } from '../../cli/memory/table.ts';
import { main } from '../../cli/main.ts';
import { bertConfig } from '../../models/config.ts';

const row = (key: string) => MEMORY_ROWS.find((r) => r.key === key)!;

describe('memory: exact bytes by hand', () => {
  // 3 blocks of 4 → 6 (gate, up, down: 24 entries each, no biases); blocks 0 and 2 adapted
  // (up and down: 4 target layers, two layer types); rank 1 → k = 1·(4 + 6) = 10; 5 tokens.
  const spec = llamaMlpSpec(3, 4, 6, 2, 5);
  const s: MemorySettings = { scope: 'paper', rank: 1, touched: 0.5, materialized: 'off' };
  const params = 3 * 3 * 24 * 4; // 864 B, held by every method
  const gate = 2 * 24; // gate_proj of the adapted blocks trains densely in every method ('paper')

  test.each([
    // [row, parameters, gradients (dense + COO), optimizer state, bases, held]
    ['full', params, (gate + 96) * 4, 2 * (gate + 96) * 4, 0],
    ['lora', params + 4 * 10 * 4, (gate + 40) * 4, 2 * (gate + 40) * 4, 0], // A [in, 1] + B [out, 1] = 10 entries per layer
    ['meprop', params, (gate + 96) * 4, 2 * (gate + 96) * 4, 0],
    // W̃: 4 COO gradients of k = 10 (int32 index + float32 value); SparseAdam's dense moments 2·96 entries; bases:
    // one pair per type, not per block: up U 4², V 6²; down U 6², V 4² = 104 entries.
    ['sparsegrad', params, gate * 4 + 4 * 10 * 8, 2 * gate * 4 + 2 * 96 * 4, 104 * 4],
    // Sparse moments, half of each W̃ touched: round(0.5 · 24) = 12 entries × (index + m + v) = 12 × 12 B per W̃.
    ['sparsegrad-sparse', params, gate * 4 + 4 * 10 * 8, 2 * gate * 4 + 4 * 12 * 12, 104 * 4],
  ])('%s: parameters %i B, gradients %i B, optimizer state %i B, bases %i B', (key, parameters, gradients, optimizer, bases) => {
    for (const a of [analyticMemory(spec, row(key), s), measuredMemory(spec, row(key), s)]) {
      expect(a.parameters).toBe(parameters);
      expect(a.gradientsDense + a.gradientsSparse).toBe(gradients);
      expect(a.optimizerState).toBe(optimizer);
      expect(a.bases).toBe(bases);
      expect(a.originals).toBe(0);
      expect(a.materializedWeights).toBe(0);
      expect(a.held).toBe(parameters + gradients + optimizer + bases);
    }
  });

  test('activations (analytic, per nn/memory.ts): T·in saved per trained layer, T·(in + r) for LoRA, plus the backward transients', () => {
    const T = 5;
    const saved = (extra: number) => 2 * (T * (4 + extra) + T * (6 + extra)) * 4; // up (in 4) and down (in 6), two blocks
    expect(analyticMemory(spec, row('full'), s)).toMatchObject({ activationsSaved: saved(0), activationsTransient: 0 });
    expect(analyticMemory(spec, row('lora'), s)).toMatchObject({ activationsSaved: saved(1), activationsTransient: 0 });
    expect(analyticMemory(spec, row('meprop'), s)).toMatchObject({ activationsSaved: saved(0), activationsTransient: 4 * 24 * 4 }); // dense dW before masking
    // Factored SparseGrad: G̃ = G V (T·out) and the dense dW̃ (out·in) per layer.
    expect(analyticMemory(spec, row('sparsegrad'), s)).toMatchObject({ activationsSaved: saved(0), activationsTransient: 2 * (T * 6 + 24 + T * 4 + 24) * 4 });
  });

  test('the table names the method that holds the least and by how much', () => {
    const t = memoryTable(spec, s, 2 ** 30);
    expect(t.route).toBe('measured');
    expect(t.note).toMatch(/agrees byte for byte/);
    // LoRA: 1,024 + 352 + 704 = 2,080 B; next SparseGrad with sparse moments: 864 + 512 + 960 + 416 = 2,752 B; full: 2,592 B.
    expect(leastSentence(t)).toBe(
      'LoRA holds the least: 2.03 KiB, 512 B less than Full FT (2.53 KiB), 19.8 % less than full fine-tuning; SparseGrad, dense moments holds 352 B more than full fine-tuning; SparseGrad, sparse moments holds 160 B more than full fine-tuning.',
    );
  });

  test('when the runner-up is not full fine-tuning, both gaps are given', () => {
    const t = memoryTable(spec, s, 2 ** 30);
    const held = (key: string, bytes: number) => ({ row: row(key), bytes: { ...t.rows[0]!.bytes, held: bytes } });
    const sentence = leastSentence({ ...t, rows: [held('full', 4000), held('lora', 1000), held('sparsegrad', 3000)] });
    expect(sentence).toBe(
      'LoRA holds the least: 1000 B, 1.95 KiB less than SparseGrad, dense moments (2.93 KiB), 2.93 KiB (75.0 %) less than full fine-tuning; SparseGrad, dense moments holds 1000 B less than full fine-tuning.',
    );
  });

  test('over the limit, nothing is built: the analytic figures, labelled', () => {
    const t = memoryTable(spec, s, 1000);
    expect(t.route).toBe('analytic');
    expect(t.note).toMatch(/^analytic: the largest method holds 2\.88 KiB, more than the 1000 B/);
    expect(t.rows.map((r) => r.bytes)).toEqual(MEMORY_ROWS.map((r) => analyticMemory(spec, r, s)));
  });
});

describe('memory: analytic = measured on small configs', () => {
  const config = bertConfig({
    vocab_size: 40,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    max_position_embeddings: 16,
    num_labels: 2,
  });

  test("the BERT spec lists the built model's parameters, names and sizes", () => {
    const spec = bertSpec(config, 16);
    expect(spec.params).toEqual(
      spec
        .build()
        .namedParameters()
        .map(([name, p]) => ({ name, numel: p.numel })),
    );
  });

  test.each([
    ['BERT, paper, materialized auto (16 tokens: on)', () => bertSpec(config, 16), { scope: 'paper', rank: 2, touched: 0.3, materialized: 'auto' }],
    ['BERT, mlp-only, factored', () => bertSpec(config, 4), { scope: 'mlp-only', rank: 3, touched: 0.6, materialized: 'auto' }],
    ['LLaMa stack, paper', () => llamaMlpSpec(4, 6, 10, 3, 7), { scope: 'paper', rank: 2, touched: 0.25, materialized: 'on' }],
    ['LLaMa stack, mlp-only', () => llamaMlpSpec(4, 6, 10, 3, 7), { scope: 'mlp-only', rank: 2, touched: 0.9, materialized: 'off' }],
  ] as const)('%s', (_, make, s) => {
    const spec = make();
    for (const r of MEMORY_ROWS) expect(measuredMemory(spec, r, s), r.key).toEqual(analyticMemory(spec, r, s));
  });
});

test('sparsegrad memory --help documents the command; a bad flag is a usage error', async () => {
  const logs: string[] = [];
  const log = console.log;
  console.log = (x: string) => logs.push(x);
  try {
    expect(await main(['memory', '--help'])).toBe(0);
  } finally {
    console.log = log;
  }
  expect(logs.join('\n')).toMatch(/--touched/);
  expect(logs.join('\n')).toMatch(/LLaMa-2-7B/);
  const errors: string[] = [];
  const error = console.error;
  console.error = (x: string) => errors.push(x);
  try {
    expect(await main(['memory', '--touched', '2'])).toBe(2);
  } finally {
    console.error = error;
  }
  expect(errors.join('\n')).toMatch(/--touched/);
});
