/**
 * Whole-model properties of BERT and LLaMa (docs/TESTING.md §4 "Models"), on small random
 * configurations built with seeded generators:
 * - LLaMa: changing tokens after position i leaves logits ≤ i bitwise unchanged (causality);
 *   decoding token by token through the KV cache equals one full forward; generation is
 *   seeded (same seed ⇒ same tokens) and identical with and without the cache.
 * - BERT: changing padded tokens leaves the real tokens' outputs unchanged; the
 *   masked-LM decoder is tied to the word embeddings.
 * - Both: exported weights load back into a fresh model bitwise (a save → load round trip).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cat, Generator, noGrad, type Tensor, tensor } from '../../index.ts';
import { BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertModel } from '../../models/bert.ts';
import { bertConfig, llamaConfig, parameterCount } from '../../models/config.ts';
import { crossEntropy } from '../../core/ops/nn.ts';
import { generate } from '../../models/generate.ts';
import { LlamaForCausalLM } from '../../models/llama.ts';
import { exportWeights, loadWeights, modelFromConfig } from '../../models/weights.ts';
import { arbSeed, assertClose, T32, T64, type Bound } from '../kit/index.ts';

const LLAMA = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
};
const BERT = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 16,
  num_labels: 3,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
};

const llama = (seed: number, tied = false, dtype: 'float32' | 'float64' = 'float64') =>
  new LlamaForCausalLM(llamaConfig({ ...LLAMA, tie_word_embeddings: tied }), { dtype, generator: new Generator(seed) });
const ids = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0]!.length] });
const arbTokens = (len: number) => fc.array(fc.integer({ min: 0, max: 39 }), { minLength: len, maxLength: len });
const bitwise = (a: Tensor, b: Tensor) => assertClose(a, b, 'bitwise');

/**
 * A cached and a full forward are the same float64 formulas summed in other orders, so
 * they differ by rounding alone: ≈ 1e-12 relative to the size of the logits' terms
 * (docs/TESTING.md §1), not T64 (a finite-difference bound). Those terms are ĥ_h·W_vh with
 * ĥ the final RMSNorm's output, |ĥ_h| ≤ √H·max|γ|: so Σ|terms| ≤ √H·max|γ|·(largest row sum
 * of |lm_head|). Rounding from earlier layers reaches the logits through the same sum.
 */
function logitRounding(model: LlamaForCausalLM): Bound {
  const abs = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number>, Math.abs);
  const [vocab, hidden] = model.lm_head.weight.shape as [number, number];
  const w = abs(model.lm_head.weight);
  const rowSum = Math.max(...Array.from({ length: vocab }, (_, v) => w.slice(v * hidden, (v + 1) * hidden).reduce((s, x) => s + x, 0)));
  const terms = Math.sqrt(hidden) * Math.max(...abs(model.model.norm.weight)) * rowSum;
  return { name: `rounding (Σ|terms| ≤ ${terms.toPrecision(3)})`, atol: 1e-12 * Math.max(1, terms), rtol: 1e-12 };
}

describe('LLaMa', () => {
  test('causality: tokens after i do not change logits at positions ≤ i (bitwise)', () => {
    fc.assert(
      fc.property(arbSeed(), arbTokens(7), arbTokens(7), fc.integer({ min: 0, max: 6 }), (seed, a, b, i) => {
        const model = llama(seed);
        const changed = [...a.slice(0, i + 1), ...b.slice(i + 1)];
        const [x, y] = noGrad(() => [a, changed].map((t) => model.forward({ inputIds: ids([t]) }).logits.slice(1, 0, i + 1)));
        bitwise(x!, y!);
      }),
      { numRuns: 15 },
    );
  });

  test('KV-cache decoding token by token equals one full forward', () => {
    fc.assert(
      fc.property(arbSeed(), arbTokens(6), fc.integer({ min: 1, max: 5 }), fc.boolean(), (seed, tokens, prompt, tied) => {
        const model = llama(seed, tied);
        noGrad(() => {
          const full = model.forward({ inputIds: ids([tokens]) }).logits;
          const cache = model.newCache();
          const steps = [model.forward({ inputIds: ids([tokens.slice(0, prompt)]), kvCache: cache }).logits];
          for (let t = prompt; t < tokens.length; t++) steps.push(model.forward({ inputIds: ids([[tokens[t]!]]), kvCache: cache }).logits);
          const incremental = cat(steps, 1);
          assertClose(incremental, full, logitRounding(model), 'incremental vs full logits');
        });
      }),
      { numRuns: 15 },
    );
  });

  test('float32 cached decoding stays within T32 of the float64 full forward', () => {
    const tokens = [3, 17, 5, 30, 2, 9];
    const f64 = llama(11, false, 'float64');
    const f32 = llama(11, false, 'float32');
    noGrad(() => {
      const full = f64.forward({ inputIds: ids([tokens]) }).logits;
      const cache = f32.newCache();
      const steps = tokens.map((t) => f32.forward({ inputIds: ids([[t]]), kvCache: cache }).logits);
      assertClose(cat(steps, 1), full, T32, { ignoreDType: true, label: 'float32 decoding' });
    });
  });

  test('generation: seeded, and the same tokens with or without the cache', () => {
    const model = llama(5);
    for (const options of [{ temperature: 0 }, { temperature: 0.8, topK: 10, topP: 0.9 }]) {
      const run = (useCache: boolean) => generate(model, [1, 7, 8], { maxNewTokens: 8, eosTokenId: null, generator: new Generator(9), useCache, ...options });
      const withCache = run(true);
      expect(withCache).toHaveLength(8);
      expect(run(true)).toEqual(withCache);
      expect(run(false)).toEqual(withCache);
    }
  });

  test('generation stops at EOS', () => {
    const model = llama(5);
    const greedy = generate(model, [1, 7, 8], { maxNewTokens: 6, temperature: 0, eosTokenId: null });
    const stopped = generate(model, [1, 7, 8], { maxNewTokens: 6, temperature: 0, eosTokenId: greedy[1]! });
    expect(stopped).toEqual(greedy.slice(0, greedy.indexOf(greedy[1]!) + 1));
  });

  test('the causal-LM loss is next-token cross-entropy with −100 ignored', () => {
    const model = llama(3);
    const tokens = [[4, 9, 1, 33]];
    noGrad(() => {
      const { logits, loss } = model.forward({ inputIds: ids(tokens), labels: ids([[4, 9, -100, 33]]) });
      const lp = logits.logSoftmax(-1);
      const expected =
        -(lp.slice(1, 0, 1).squeeze(1).squeeze(0).toArray() as number[])[9]! - (lp.slice(1, 2, 3).squeeze(1).squeeze(0).toArray() as number[])[33]!;
      expect(loss!.item()).toBeCloseTo(expected / 2, 12);
    });
  });

  test('the causal-LM loss over a batch: no position predicts the next row, and labels are checked', () => {
    const model = llama(4);
    const tokens = [
      [4, 9, 1],
      [7, 2, 30],
    ];
    noGrad(() => {
      const { logits, loss } = model.forward({ inputIds: ids(tokens), labels: ids(tokens) });
      const lp = logits.logSoftmax(-1).toArray() as number[][][];
      // Row r, position t predicts tokens[r][t + 1]; the last position of a row predicts nothing.
      const terms = [lp[0]![0]![9]!, lp[0]![1]![1]!, lp[1]![0]![2]!, lp[1]![1]![30]!];
      expect(loss!.item()).toBeCloseTo(-terms.reduce((a, x) => a + x, 0) / 4, 12);
    });
    expect(() => model.forward({ inputIds: ids(tokens), labels: ids(tokens).to('float32') })).toThrow(
      /LlamaForCausalLM\.forward\(\): labels must be int32, got float32/,
    );
    expect(() => model.forward({ inputIds: ids(tokens), labels: ids(tokens).reshape([-1]) })).toThrow(/labels must be \[batch, seq\], got \[6\]/);
  });
});

describe('BERT', () => {
  test('padding invariance: padded tokens do not change the real tokens outputs', () => {
    fc.assert(
      fc.property(arbSeed(), arbTokens(6), arbTokens(6), fc.integer({ min: 1, max: 5 }), (seed, a, junk, real) => {
        const model = new BertForSequenceClassification(bertConfig(BERT), { dtype: 'float64', generator: new Generator(seed) }).eval();
        const mask = ids([a.map((_, j) => (j < real ? 1 : 0))]);
        const padded = [...a.slice(0, real), ...junk.slice(real)];
        const [x, y] = noGrad(() => [a, padded].map((t) => model.forward({ inputIds: ids([t]), attentionMask: mask })));
        assertClose(x!.lastHiddenState.slice(1, 0, real), y!.lastHiddenState.slice(1, 0, real), T64, 'real tokens');
        assertClose(x!.logits, y!.logits, T64, 'logits');
      }),
      { numRuns: 15 },
    );
  });

  test('masked LM: the decoder weight is the word-embedding matrix, saved once', () => {
    const model = new BertForMaskedLM(bertConfig(BERT), { generator: new Generator(1) });
    expect(model.cls.predictions.decoder.weight).toBe(model.bert.embeddings.word_embeddings.weight);
    expect(Object.keys(exportWeights(model))).not.toContain('cls.predictions.decoder.weight');
    const { loss } = model.forward({ inputIds: ids([[5, 6, 7]]), labels: ids([[-100, 6, -100]]) });
    loss!.backward();
    expect((model.bert.embeddings.word_embeddings.weight.grad as Tensor).abs().sum().item()).toBeGreaterThan(0);
  });

  test('pretraining model: its parts are the masked-LM model’s and the pooler’s; the loss sums MLM and next-sentence cross-entropy', () => {
    const model = new BertForPreTraining(bertConfig(BERT), { dtype: 'float64', generator: new Generator(5) }).eval();
    expect(model.cls.predictions.decoder.weight).toBe(model.bert.embeddings.word_embeddings.weight);
    // The same weights in a BertForMaskedLM (which has no pooler) and a BertModel (which has).
    const mlm = new BertForMaskedLM(bertConfig(BERT), { dtype: 'float64' }).eval();
    loadWeights(mlm, exportWeights(model), { strict: false });
    const base = new BertModel(bertConfig(BERT), { dtype: 'float64' }).eval();
    loadWeights(base, exportWeights(model), { strict: false });
    const inputIds = ids([
      [2, 5, 6, 3, 7, 8, 3],
      [2, 9, 3, 4, 4, 3, 0],
    ]);
    const tokenTypeIds = ids([
      [0, 0, 0, 0, 1, 1, 1],
      [0, 0, 0, 1, 1, 1, 0],
    ]);
    const attentionMask = ids([
      [1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 0],
    ]);
    const labels = ids([
      [-100, 5, -100, -100, -100, 8, -100],
      [-100, -100, -100, 4, -100, -100, -100],
    ]);
    const nextSentenceLabel = tensor(Int32Array.of(0, 1), { shape: [2] });
    const out = noGrad(() => model.forward({ inputIds, tokenTypeIds, attentionMask, labels, nextSentenceLabel }));
    const lm = noGrad(() => mlm.forward({ inputIds, tokenTypeIds, attentionMask, labels }));
    const pooled = noGrad(() => base.forward({ inputIds, tokenTypeIds, attentionMask }).pooled!);
    bitwise(out.logits, lm.logits);
    const w = model.cls.seq_relationship;
    const nsp = noGrad(() => pooled.matmul(w.weight.transpose()).add(w.bias!));
    bitwise(out.seqRelationshipLogits, nsp);
    const expected = lm.loss!.item() + noGrad(() => crossEntropy(nsp, nextSentenceLabel)).item();
    // Two float64 sums of terms ≤ 10 in size: agreement to a few ulps of 10.
    expect(Math.abs(out.loss!.item() - expected)).toBeLessThanOrEqual(1e-14 * 10);
    expect(Object.keys(exportWeights(model))).toEqual(
      expect.arrayContaining(['bert.pooler.dense.weight', 'cls.seq_relationship.weight', 'cls.seq_relationship.bias']),
    );
    expect(parameterCount('BertForPreTraining', bertConfig(BERT))).toBe(model.parameters().reduce((n, p) => n + p.numel, 0));
  });

  test('regression head (num_labels 1) uses MSE', () => {
    const model = new BertForSequenceClassification(bertConfig({ ...BERT, num_labels: 1 }), { dtype: 'float64', generator: new Generator(2) }).eval();
    const out = model.forward({
      inputIds: ids([
        [5, 6],
        [7, 8],
      ]),
      labels: tensor([0.5, -1], { dtype: 'float64' }),
    });
    const d = out.logits.squeeze(-1).sub(tensor([0.5, -1], { dtype: 'float64' }));
    expect(out.loss!.item()).toBeCloseTo(d.mul(d).mean().item(), 14);
  });
});

describe('weights', () => {
  test.each([
    ['BertForSequenceClassification', BERT],
    ['BertForMaskedLM', BERT],
    ['BertForPreTraining', BERT],
    ['LlamaForCausalLM', { ...LLAMA, tie_word_embeddings: true }],
  ])('%s: exported weights load into a fresh model bitwise', (arch, cfg) => {
    const a = modelFromConfig({ architectures: [arch], ...cfg }, { generator: new Generator(1) });
    const b = modelFromConfig({ architectures: [arch], ...cfg }, { generator: new Generator(2) });
    loadWeights(b, exportWeights(a));
    for (const [name, t] of Object.entries(a.stateDict())) bitwise(b.stateDict()[name]!, t);
  });

  test('missing and mis-shaped tensors are all reported, with names and shapes', () => {
    const model = modelFromConfig({ architectures: ['LlamaForCausalLM'], ...LLAMA });
    const weights = exportWeights(model);
    delete weights['model.norm.weight'];
    weights['model.layers.0.mlp.up_proj.weight'] = tensor(new Float32Array(6), { shape: [2, 3] });
    expect(() => loadWeights(model, weights)).toThrow(
      /Missing key\(s\) in state_dict: "model\.norm\.weight"[\s\S]*size mismatch for model\.layers\.0\.mlp\.up_proj\.weight: copying a param with shape \[2, 3\] from checkpoint, the shape in current model is \[24, 16\]/,
    );
  });

  test('a base-model checkpoint loads into a model with a head; legacy gamma/beta names load', () => {
    const full = modelFromConfig({ architectures: ['BertForSequenceClassification'], ...BERT }, { generator: new Generator(3) });
    const fresh = modelFromConfig({ architectures: ['BertForSequenceClassification'], ...BERT }, { generator: new Generator(4) });
    const base = Object.fromEntries(
      Object.entries(exportWeights(full))
        .filter(([n]) => n.startsWith('bert.'))
        .map(([n, t]) => [n.slice(5).replace(/LayerNorm\.weight$/, 'LayerNorm.gamma'), t]),
    );
    const result = loadWeights(fresh, base, { strict: false });
    expect(result.missing.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    bitwise(fresh.stateDict()['bert.embeddings.LayerNorm.weight']!, full.stateDict()['bert.embeddings.LayerNorm.weight']!);
  });
});
