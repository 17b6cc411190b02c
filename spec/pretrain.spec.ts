/**
 * `sparsegrad pretrain` and the shipped checkpoints: MLM masking statistics and label
 * placement, the packing of sentences and of CLM windows, the fused losses against the
 * models' own forward (values and every gradient, float64), a few real pretraining
 * steps on a tiny config lowering the loss, resume giving the same run, and the
 * committed folders (HF config fields, F16 weights, size, tokenizers round-tripping,
 * better than the unigram baseline).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { Generator, tensor, type Tensor } from '../index.ts';
import { BertForMaskedLM, BertForPreTraining } from '../models/bert.ts';
import { bertConfig, llamaConfig } from '../models/config.ts';
import { LlamaForCausalLM } from '../models/llama.ts';
import { BertTokenizer, LlamaTokenizer } from '../models/tokenizers/index.ts';
import { loadPretrained } from '../node.ts';
import { loadBertClassifier } from '../cli/methods.ts';
import { readFolderWeights } from '../node/pretrained.ts';
import { pretrainCommand, type PretrainArgs } from '../cli/commands/pretrain.ts';
import { BERT_SMALL, DEFAULTS, LLAMA_SMALL } from '../cli/pretrain/architectures.ts';
import { buildBert } from '../cli/pretrain/bert-task.ts';
import { clmBatch, clmLoss, documentStream, tokenWindows } from '../cli/pretrain/clm.ts';
import { bertVocabText, loadSotu, sentences, splitAddresses } from '../cli/pretrain/corpus.ts';
import { bertMasking, maskBatch, mlmLoss, type PackedUnit, packSequences, type MaskingOptions } from '../cli/pretrain/mlm.ts';
import { pretrainingLoss, sentencePair } from '../cli/pretrain/nsp.ts';
import { initWeights } from '../cli/pretrain/run.ts';

const ROOT = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'sparsegrad-pretrain-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MASKING: MaskingOptions = { maskId: 3, specialIds: new Set([0, 1, 2]), randomLow: 10, randomHigh: 1000 };

describe('masked-LM batches', () => {
  const g = new Generator(7);
  // 400 sequences: [CLS] 100 word ids [SEP], and a short one padded.
  const seqs = Array.from({ length: 400 }, (_, r) => Int32Array.from([1, ...Array.from({ length: r % 2 ? 100 : 40 }, () => g.integer(10, 1000)), 2]));
  const batch = maskBatch(seqs, 102, 0, new Generator(1), MASKING);
  const ids = batch.inputIds.toTypedArray() as Int32Array;
  const mask = batch.attentionMask.toTypedArray() as Int32Array;

  test('exactly round(15%) of the real tokens of each sequence are chosen, never [CLS]/[SEP]/padding', () => {
    seqs.forEach((s, r) => {
      const chosen = [...batch.positions].filter((p) => Math.floor(p / 102) === r).map((p) => p % 102);
      expect(chosen.length).toBe(Math.round(0.15 * (s.length - 2)));
      for (const c of chosen) expect(c > 0 && c < s.length - 1).toBe(true);
    });
    expect([...batch.positions]).toEqual([...batch.positions].sort((a, b) => a - b));
  });

  test('labels hold the original id at chosen positions and −100 everywhere else', () => {
    const chosen = new Set(batch.positions);
    const expected = { labels: new Int32Array(400 * 102), ids: new Int32Array(400 * 102), mask: new Int32Array(400 * 102) };
    seqs.forEach((s, r) => {
      for (let c = 0; c < 102; c++) {
        const at = r * 102 + c;
        expected.labels[at] = chosen.has(at) ? s[c]! : -100;
        expected.mask[at] = c < s.length ? 1 : 0;
        expected.ids[at] = c >= s.length ? 0 : chosen.has(at) ? ids[at]! : s[c]!;
      }
    });
    expect(batch.labels).toEqual(expected.labels);
    expect(mask).toEqual(expected.mask);
    expect(ids).toEqual(expected.ids);
    expect([...batch.targets]).toEqual([...batch.positions].map((p) => batch.labels[p]));
  });

  test('chosen tokens: 80% [MASK], 10% a random word piece, 10% unchanged', () => {
    const n = batch.positions.length;
    const share = (k: number) => batch.kinds.filter((x) => x === k).length / n;
    expect(n).toBeGreaterThan(3000);
    expect(share(0)).toBeCloseTo(0.8, 1);
    expect(Math.abs(share(1) - 0.1)).toBeLessThan(0.025);
    expect(Math.abs(share(2) - 0.1)).toBeLessThan(0.025);
    batch.positions.forEach((at, i) => {
      if (batch.kinds[i] === 0) expect(ids[at]).toBe(3);
      if (batch.kinds[i] === 1) expect(ids[at]! >= 10 && ids[at]! < 1000).toBe(true);
      if (batch.kinds[i] === 2) expect(ids[at]).toBe(batch.targets[i]);
    });
  });

  test('the same generator state gives the same batch', () => {
    const again = maskBatch(seqs, 102, 0, new Generator(1), MASKING);
    expect(again.labels).toEqual(batch.labels);
    expect(again.inputIds.toTypedArray()).toEqual(batch.inputIds.toTypedArray());
  });

  test('packing: [CLS] … [SEP] within maxLength, sentences kept whole unless longer than a sequence, documents never mixed', () => {
    const docs = [
      [
        [5, 6, 7],
        [8, 9],
        [10, 11, 12, 13],
      ],
      [Array.from({ length: 11 }, (_, i) => 20 + i)],
    ];
    expect(packSequences(docs, 8, 1, 2).map((s) => [...s])).toEqual([
      [1, 5, 6, 7, 8, 9, 2],
      [1, 10, 11, 12, 13, 2],
      [1, 20, 21, 22, 23, 24, 25, 2],
      [1, 26, 27, 28, 29, 30, 2],
    ]);
  });
});

describe('causal-LM windows', () => {
  test('documents end with </s>; windows are <s> + the next L − 1 stream tokens, non-overlapping; the tail is dropped', () => {
    const stream = documentStream(
      [
        [10, 11, 12],
        [13, 14],
      ],
      2,
    );
    expect([...stream]).toEqual([10, 11, 12, 2, 13, 14, 2]);
    const windows = tokenWindows(stream, 4, 1);
    expect(windows.map((w) => [...w])).toEqual([
      [1, 10, 11, 12],
      [1, 2, 13, 14],
    ]);
    const ids = clmBatch(windows);
    expect(ids.shape).toEqual([2, 4]);
    expect(ids.dtype).toBe('int32');
  });
});

describe('fused losses equal the models’ own (float64, every gradient)', () => {
  const grads = (m: { parameters(): Tensor[] }) => m.parameters().map((p) => [...((p.grad as Tensor).toTypedArray() as Float64Array)]);
  const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((x, i) => x.map((v, j) => Math.abs(v - b[i]![j]!))));
  // A tiny BERT without dropout, so both paths see the same function.
  const config = bertConfig({
    vocab_size: 50,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 16,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  });

  test('mlmLoss (logits at masked positions only) = BertForMaskedLM.forward({ labels }).loss', () => {
    const g = new Generator(3);
    const model = new BertForMaskedLM(config, { generator: g, dtype: 'float64' });
    initWeights(model, 0.5, g);
    const batch = maskBatch([Int32Array.from([1, 5, 6, 7, 8, 9, 10, 2]), Int32Array.from([1, 11, 12, 2])], 8, 0, g, {
      ...MASKING,
      probability: 0.5,
      randomLow: 4,
      randomHigh: 50,
    });
    const ours = mlmLoss(model, batch);
    ours.loss.backward();
    const ourGrads = grads(model);
    model.zeroGrad();
    const ref = model.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask, labels: tensor(batch.labels, { shape: [2, 8] }) }).loss!;
    ref.backward();
    expect(ours.loss.item()).toBeCloseTo(ref.item(), 12);
    expect(maxDiff(ourGrads, grads(model))).toBeLessThan(1e-12);
    expect(ours.count).toBe(batch.positions.length);
  });

  test('pretrainingLoss (masked LM + next sentence) = BertForPreTraining.forward({ labels, nextSentenceLabel }).loss', () => {
    const g = new Generator(4);
    const model = new BertForPreTraining(config, { generator: g, dtype: 'float64' });
    initWeights(model, 0.5, g);
    const sequences = [Int32Array.from([1, 5, 6, 2, 8, 9, 10, 2]), Int32Array.from([1, 11, 2, 12, 2])];
    const types = [Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), Int32Array.from([0, 0, 0, 1, 1])];
    const masked = maskBatch(sequences, 8, 0, g, { ...MASKING, probability: 0.5, randomLow: 4, randomHigh: 50 }, types);
    const batch = { ...masked, nextSentenceLabels: Int32Array.of(0, 1) };
    const ours = pretrainingLoss(model, batch);
    ours.loss.backward();
    const ourGrads = grads(model);
    model.zeroGrad();
    const ref = model.forward({
      inputIds: batch.inputIds,
      attentionMask: batch.attentionMask,
      tokenTypeIds: batch.tokenTypeIds,
      labels: tensor(batch.labels, { shape: [2, 8] }),
      nextSentenceLabel: tensor(batch.nextSentenceLabels, { shape: [2] }),
    });
    ref.loss!.backward();
    expect(ours.loss.item()).toBeCloseTo(ref.loss!.item(), 12);
    expect(maxDiff(ourGrads, grads(model))).toBeLessThan(1e-12);
    // Each part is reported on its own: the masked-LM part and the pairs classified right.
    expect(ours.maskedLoss! + ours.nextSentence!.loss).toBeCloseTo(ours.loss.item(), 12);
    const scores = ref.seqRelationshipLogits.toArray() as number[][];
    expect(ours.nextSentence!.correct).toBe(scores.filter((row, i) => (row[1]! > row[0]! ? 1 : 0) === batch.nextSentenceLabels[i]).length);
    expect(batch.tokenTypeIds!.toArray()).toEqual([
      [0, 0, 0, 0, 1, 1, 1, 1],
      [0, 0, 0, 1, 1, 0, 0, 0],
    ]);
  });

  test('clmLoss = LlamaForCausalLM.forward({ labels: inputIds }).loss', () => {
    const g = new Generator(4);
    const config = llamaConfig({
      vocab_size: 40,
      hidden_size: 8,
      intermediate_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 16,
      tie_word_embeddings: true,
    });
    const model = new LlamaForCausalLM(config, { generator: g, dtype: 'float64' });
    initWeights(model, 0.5, g);
    const ids = clmBatch([Int32Array.from([1, 5, 6, 7, 8]), Int32Array.from([1, 9, 10, 11, 12])]);
    const ours = clmLoss(model, ids);
    ours.loss.backward();
    const ourGrads = grads(model);
    model.zeroGrad();
    const ref = model.forward({ inputIds: ids, labels: ids }).loss!;
    ref.backward();
    expect(ours.loss.item()).toBeCloseTo(ref.item(), 12);
    expect(maxDiff(ourGrads, grads(model))).toBeLessThan(1e-12);
    expect(ours.count).toBe(8);
  });
});

describe('next-sentence pairs', () => {
  // Units of three documents; token ids encode (document, sentence, position) so a slice can be traced back.
  const arbUnits = fc.array(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 9 }).map((lengths) =>
    lengths.map((sentenceLengths, u) => ({
      document: u % 3,
      sentences: sentenceLengths.map((n, s) => Int32Array.from({ length: n }, (_, p) => 10_000 * u + 100 * s + p + 10)),
    })),
  );
  const CLS = 1;
  const SEP = 2;
  const flat = (unit: PackedUnit) => unit.sentences.flatMap((x) => [...x]);

  test('[CLS] A [SEP] B [SEP] within the length; segment 0 through the first [SEP]; B continues A (label 0) or starts a sentence of another document (label 1)', () => {
    fc.assert(
      fc.property(arbUnits, fc.integer({ min: 5, max: 40 }), fc.nat(), (units, maxLength, seed) => {
        const g = new Generator(seed);
        for (let index = 0; index < units.length; index++) {
          const { ids, types, label } = sentencePair(units, index, maxLength, CLS, SEP, g);
          expect(ids.length).toBeLessThanOrEqual(maxLength);
          expect(ids[0]).toBe(CLS);
          expect(ids.at(-1)).toBe(SEP);
          const sep = ids.indexOf(SEP);
          const a = [...ids.subarray(1, sep)];
          const b = [...ids.subarray(sep + 1, ids.length - 1)];
          expect(a.length).toBeGreaterThan(0);
          expect([...types]).toEqual([...ids].map((_, i) => (i <= sep ? 0 : 1)));
          const own = flat(units[index]!);
          // A is a run of the unit's tokens (its end when A was cut); B continues it exactly.
          const at = own.indexOf(a[0]!);
          expect(a).toEqual(own.slice(at, at + a.length));
          if (label === 0) expect(b).toEqual(own.slice(at + a.length, at + a.length + b.length));
          else {
            expect(b.length).toBeGreaterThan(0);
            const from = units[Math.floor((b[0]! - 10) / 10_000)]!;
            expect(from.document).not.toBe(units[index]!.document);
            expect((b[0]! - 10) % 100).toBe(0); // the first token of a sentence
            const all = flat(from);
            const start = all.indexOf(b[0]!);
            expect(b).toEqual(all.slice(start, start + b.length));
          }
          // Tokens are dropped only where the sequence is full.
          if (label === 0 && a.length + b.length < own.length) expect(ids.length).toBe(maxLength);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('about half the pairs are random (label 1)', () => {
    const units = Array.from({ length: 40 }, (_, u) => ({ document: u % 5, sentences: [Int32Array.of(10, 11, 12), Int32Array.of(13, 14)] }));
    const g = new Generator(7);
    let random = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) random += sentencePair(units, i % 40, 32, CLS, SEP, g).label;
    // Binomial(4000, ½): its standard deviation is 31.6, so 5σ is ±158.
    expect(Math.abs(random - n / 2)).toBeLessThan(158);
  });
});

describe('corpus', () => {
  test('sentence splitting keeps abbreviations and initials, the split is fixed', () => {
    expect(sentences('Mr. Smith went to Washington, D.C. on Jan. 5. He spoke! Did the U.S. Senate agree? “Yes.” It did.')).toEqual([
      'Mr. Smith went to Washington, D.C. on Jan. 5.',
      'He spoke!',
      'Did the U.S. Senate agree?',
      '“Yes.”',
      'It did.',
    ]);
    const { train, heldOut } = splitAddresses(Array.from({ length: 233 }, (_, i) => i));
    expect(heldOut).toEqual([10, 30, 50, 70, 90, 110, 130, 150, 170, 190, 210, 230]);
    expect(train.length).toBe(221);
  });

  test('the State of the Union addresses: 233, 1790–2021, in chronological order', async () => {
    const addresses = await loadSotu();
    expect(addresses.length).toBe(233);
    expect([addresses[0]!.year, addresses.at(-1)!.year]).toEqual([1790, 2021]);
    expect(addresses.every((a, i) => i === 0 || a.year >= addresses[i - 1]!.year)).toBe(true);
    expect(splitAddresses(addresses).heldOut.map((a) => a.year)).toEqual([1800, 1820, 1840, 1860, 1880, 1900, 1920, 1941, 1960, 1979, 1999, 2019]);
  });

  test('bert-base-uncased masking: random replacements come from the real word pieces (999…30521)', () => {
    const m = bertMasking(new BertTokenizer(bertVocabText()));
    expect(m).toMatchObject({ maskId: 103, randomLow: 999, randomHigh: 30522 });
    expect([...m.specialIds].sort((a, b) => a - b)).toEqual([0, 101, 102]);
  });
});

// A small repetitive corpus: learnable in a few steps.
const WORDS = ['the', 'congress', 'people', 'nation', 'economy', 'war', 'peace', 'states', 'government', 'year'];
const texts = (n: number, offset: number) =>
  Array.from({ length: n }, (_, d) =>
    Array.from(
      { length: 12 },
      (_, s) => `The ${WORDS[(d + s + offset) % 10]} of the ${WORDS[(3 * s + d) % 10]} is strong. We thank the ${WORDS[(s + offset) % 10]}.`,
    ).join(' '),
  );
const TINY_BERT = { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 };

function tinyBert(out: string, extra: Partial<PretrainArgs> = {}): PretrainArgs {
  return {
    model: 'bert',
    out,
    steps: 20,
    seed: 5,
    batchSize: 8,
    seqLength: 32,
    lr: 1e-2,
    warmupSteps: 2,
    evalSequences: 8,
    logEvery: 4,
    evalEvery: 0,
    checkpointEvery: 0,
    config: TINY_BERT,
    texts: { train: texts(12, 0), heldOut: texts(2, 5) },
    log: () => {},
    ...extra,
  };
}

describe('--mask-rate', () => {
  test('training sequences get that share of their real tokens chosen; the held-out masks, and so the evaluation, stay those of 15 %', async () => {
    const args = { ...tinyBert(join(scratch, 'mask-rate')), seed: 5, batchSize: 8, seqLength: 32, dropout: 0, evalSequences: 8 };
    const plain = await buildBert(args);
    const half = await buildBert({ ...args, maskRate: 0.5 });
    for (const [built, rate] of [
      [plain, 0.15],
      [half, 0.5],
    ] as const) {
      const batch = built.task.nextBatch();
      const mask = batch.attentionMask.toTypedArray() as Int32Array;
      for (let row = 0; row < 8; row++) {
        const real = mask.subarray(row * 32, (row + 1) * 32).reduce((n, m) => n + m, 0) - 2; // less [CLS] and [SEP]
        const chosen = [...batch.positions].filter((p) => Math.floor(p / 32) === row).length;
        expect(chosen).toBe(Math.max(1, Math.round(rate * real)));
      }
    }
    // Same seed, so the same initial weights: equal evaluations mean equal held-out inputs.
    expect(half.task.evaluate()).toEqual(plain.task.evaluate());
  });
});

describe('the small architectures (--size small)', () => {
  test('BERT-small is 4 layers × 256 with FFN 1024, LLaMa-small 4 × 256 with grouped-query attention; each fits 25 MB as F16', () => {
    const bert = bertConfig(BERT_SMALL);
    expect([bert.num_hidden_layers, bert.hidden_size, bert.num_attention_heads, bert.intermediate_size]).toEqual([4, 256, 4, 1024]);
    const llama = llamaConfig(LLAMA_SMALL);
    expect([llama.num_hidden_layers, llama.hidden_size, llama.num_attention_heads, llama.num_key_value_heads]).toEqual([4, 256, 4, 2]);
    for (const model of [new BertForMaskedLM(bert), new LlamaForCausalLM(llama)]) {
      // parameters() lists a tied weight once, as the safetensors file stores it.
      const count = model.parameters().reduce((n, p) => n + p.numel, 0);
      expect(2 * count).toBeLessThanOrEqual(25e6);
    }
  });
});

describe('pretraining a tiny config', () => {
  test('BERT: the masked-LM loss falls; the folder is a loadable HF folder with the summary', async () => {
    const out = join(scratch, 'bert');
    const summary = await pretrainCommand(tinyBert(out));
    const losses = summary.history.map((h) => h.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 1);
    expect(summary.heldOut.loss).toBeLessThan(summary.baselines.uniform.loss - 1);
    expect(readdirSync(out).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'pretraining.json',
      'special_tokens_map.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    const { model } = await loadPretrained(out);
    expect(model).toBeInstanceOf(BertForMaskedLM);
    expect((model as BertForMaskedLM).config.hidden_dropout_prob).toBe(0.1);
  });

  test('LLaMa: the next-token loss falls', async () => {
    const summary = await pretrainCommand({
      model: 'llama',
      out: join(scratch, 'llama'),
      steps: 12,
      seed: 2,
      batchSize: 4,
      seqLength: 32,
      lr: 1e-2,
      warmupSteps: 2,
      evalSequences: 4,
      logEvery: 3,
      evalEvery: 0,
      checkpointEvery: 0,
      config: {
        hidden_size: 16,
        intermediate_size: 32,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        head_dim: 8,
        max_position_embeddings: 32,
      },
      texts: { train: texts(12, 0), heldOut: texts(2, 5) },
      log: () => {},
    });
    const losses = summary.history.map((h) => h.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 1);
    expect(summary.heldOut.loss).toBeLessThan(summary.baselines.uniform.loss - 1);
  });

  test('an interrupted run resumes from its checkpoint and ends exactly where an uninterrupted one does', async () => {
    const settings = { steps: 4, logEvery: 1, checkpointEvery: 2, evalSequences: 4 };
    const straight = await pretrainCommand(tinyBert(join(scratch, 'straight'), settings));
    const out = join(scratch, 'resumed');
    const crash = (line: string) => {
      if (line.startsWith('step 3/')) throw new Error('simulated crash');
    };
    await expect(pretrainCommand(tinyBert(out, { ...settings, log: crash }))).rejects.toThrow('simulated crash');
    expect(existsSync(join(out, 'checkpoint', 'trainer_state.json'))).toBe(true);
    const lines: string[] = [];
    const resumed = await pretrainCommand(tinyBert(out, { ...settings, log: (l) => lines.push(l) }));
    expect(lines.some((l) => l.startsWith('resumed from') && l.endsWith('at step 2'))).toBe(true);
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss));
    expect(resumed.heldOut.loss).toBe(straight.heldOut.loss);
    expect(readFileSync(join(out, 'model.safetensors'))).toEqual(readFileSync(join(scratch, 'straight', 'model.safetensors')));
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  });
});

describe('continued pretraining (init)', () => {
  test('starts from the folder’s weights, keeps its record as `previous`, and refuses another architecture', async () => {
    const first = join(scratch, 'phase1');
    await pretrainCommand(tinyBert(first, { steps: 3 }));
    const record = JSON.parse(readFileSync(join(first, 'pretraining.json'), 'utf8'));
    // A rate of 1e-30 moves no weight by an F16 step: the saved file must be the folder's own.
    const second = join(scratch, 'phase2');
    const lines: string[] = [];
    const summary = await pretrainCommand(tinyBert(second, { steps: 1, lr: 1e-30, warmupSteps: 0, init: first, log: (l) => lines.push(l) }));
    // (Compared as numbers: a zero may change sign, −0 ↦ +0, under the tiny step.)
    const [before, after] = [await readFolderWeights(first), await readFolderWeights(second)];
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const [name, w] of Object.entries(before))
      expect(
        after[name]!.data.every((x, i) => x === w.data[i]),
        name,
      ).toBe(true);
    expect(summary.previous).toEqual(record);
    expect(JSON.parse(readFileSync(join(second, 'pretraining.json'), 'utf8')).previous).toEqual(record);
    expect(lines.some((l) => l.includes('continuing from') && l.includes('3 steps already trained'))).toBe(true);
    // The held-out masks do not depend on the seed: both phases are evaluated on the same tokens.
    expect(summary.heldOut.tokens).toBe(record.heldOut.tokens);
    const wider = { ...TINY_BERT, hidden_size: 2 * (TINY_BERT.hidden_size as number) };
    await expect(pretrainCommand(tinyBert(join(scratch, 'wider'), { init: first, config: wider }))).rejects.toThrow(/config differs .* in hidden_size/);
  });

  test('with nsp: a masked-LM folder continues as BertForPreTraining (pooler and next-sentence head fresh), reports next-sentence accuracy, and gives the classifier its pooler', async () => {
    const out = join(scratch, 'with-nsp');
    const lines: string[] = [];
    const summary = await pretrainCommand(tinyBert(out, { steps: 6, init: join(scratch, 'phase1'), nsp: true, logEvery: 3, log: (l) => lines.push(l) }));
    expect(summary.history.every((h) => h.nextSentence && h.nextSentence.count === 3 * 8)).toBe(true);
    expect(summary.heldOut.nextSentence!.count).toBe(8); // evalSequences pairs
    expect(lines.some((l) => l.includes('held-out next sentence'))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['BertForPreTraining']);
    const { model } = await loadPretrained(out);
    expect(model).toBeInstanceOf(BertForPreTraining);
    // The classifier built from it loads the trained pooler; only the new classifier is fresh.
    const { missing, model: classifier } = await loadBertClassifier(out, 2, new Generator(1));
    expect(missing.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(classifier.bert.pooler!.dense.weight.toArray()).toEqual((model as BertForPreTraining).bert.pooler!.dense.weight.toArray());
    // Continuing it without nsp would drop its pooler: refused.
    await expect(pretrainCommand(tinyBert(join(scratch, 'drop-nsp'), { init: out }))).rejects.toThrow(/no place for .*bert\.pooler/);
    await expect(pretrainCommand({ ...tinyBert(join(scratch, 'llama-nsp')), model: 'llama', nsp: true })).rejects.toThrow(
      /next-sentence prediction .* BERT task/,
    );
  });

  test('the held-out masks do not depend on the seed, so runs and phases compare', async () => {
    // phase2 holds phase1's weights rounded to F16; phase3 starts from exactly those with another
    // seed (another data order and training masks). Both take one step of 1e-30, which moves a
    // weight by ≤ 1e-30 (float32 resolves ~1e-10 at these magnitudes): their evaluations differ
    // only if the held-out masks do.
    const phase2 = await pretrainCommand(tinyBert(join(scratch, 'same-masks-2'), { steps: 1, lr: 1e-30, warmupSteps: 0, init: join(scratch, 'phase1') }));
    const phase3 = await pretrainCommand(
      tinyBert(join(scratch, 'same-masks-3'), { steps: 1, lr: 1e-30, warmupSteps: 0, seed: 9, init: join(scratch, 'same-masks-2') }),
    );
    expect(phase3.heldOut.tokens).toBe(phase2.heldOut.tokens);
    expect(Math.abs(phase3.heldOut.loss - phase2.heldOut.loss)).toBeLessThanOrEqual(1e-6 * phase2.heldOut.loss);
  });
});

/** The HF config.json fields each architecture may carry. */
const HF_FIELDS = {
  bert: [
    'architectures',
    'model_type',
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'hidden_act',
    'hidden_dropout_prob',
    'attention_probs_dropout_prob',
    'max_position_embeddings',
    'type_vocab_size',
    'initializer_range',
    'layer_norm_eps',
    'pad_token_id',
    'position_embedding_type',
    'classifier_dropout',
    'num_labels',
    'torch_dtype',
    'use_cache',
  ],
  llama: [
    'architectures',
    'model_type',
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'head_dim',
    'hidden_act',
    'max_position_embeddings',
    'initializer_range',
    'rms_norm_eps',
    'rope_theta',
    'rope_scaling',
    'tie_word_embeddings',
    'attention_bias',
    'attention_dropout',
    'mlp_bias',
    'bos_token_id',
    'eos_token_id',
    'pad_token_id',
    'torch_dtype',
    'use_cache',
  ],
};

function safetensorsDTypes(file: string): Set<string> {
  const bytes = readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype?: string }>;
  return new Set(
    Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => v.dtype!),
  );
}

const BERT_TEXT = 'the state of the union is strong, and the congress will act.';
const LLAMA_TEXT = 'The State of the Union is strong — and Congress will act in 2025.';
describe.each([
  { name: 'bert-mini', kind: 'bert' as const, arch: BertForMaskedLM, text: BERT_TEXT, limit: { of: 'folder', bytes: 12 * 2 ** 20 } },
  { name: 'llama-mini', kind: 'llama' as const, arch: LlamaForCausalLM, text: LLAMA_TEXT, limit: { of: 'folder', bytes: 12 * 2 ** 20 } },
  // The stronger models: F16 weights ≤ 25 MB each (the tokenizer files come on top).
  // bert-small's second phase added next-sentence prediction: a BertForPreTraining, with its pooler.
  { name: 'bert-small', kind: 'bert' as const, arch: BertForPreTraining, text: BERT_TEXT, limit: { of: 'weights', bytes: 25e6 } },
  // Its third phase on the fine-tuning corpora's unread text (pretrain --corpus all).
  { name: 'bert-small-tasktext', kind: 'bert' as const, arch: BertForPreTraining, text: BERT_TEXT, limit: { of: 'weights', bytes: 25e6 } },
  { name: 'llama-small', kind: 'llama' as const, arch: LlamaForCausalLM, text: LLAMA_TEXT, limit: { of: 'weights', bytes: 25e6 } },
])('committed pretrained/$name', ({ name, kind, arch, text, limit }) => {
  const dir = join(ROOT, 'cli/pretrained', name);

  test('loads with loadPretrained; its tokenizer round-trips a sentence', async () => {
    const { model, tokenizer } = await loadPretrained(dir);
    expect(model).toBeInstanceOf(arch);
    if (kind === 'bert') {
      const t = tokenizer as BertTokenizer;
      expect(t).toBeInstanceOf(BertTokenizer);
      expect(t.vocab.size).toBe(30522);
      expect(t.decode(t.encode(text).inputIds, { skipSpecialTokens: true })).toBe(text);
    } else {
      const t = tokenizer as LlamaTokenizer;
      expect(t).toBeInstanceOf(LlamaTokenizer);
      expect(t.vocab.size).toBe(32000);
      const ids = t.encode(text);
      expect(ids[0]).toBe(1);
      expect(t.decode(ids, { skipSpecialTokens: true })).toBe(text);
    }
  });

  test('config.json has Hugging Face field names only; weights are F16; the folder stays small', () => {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(config).filter((k) => !HF_FIELDS[kind].includes(k))).toEqual([]);
    expect(config.model_type).toBe(kind);
    expect(config.architectures).toEqual([arch.name]);
    expect(safetensorsDTypes(join(dir, 'model.safetensors'))).toEqual(new Set(['F16']));
    const files = limit.of === 'folder' ? readdirSync(dir) : ['model.safetensors'];
    expect(files.reduce((n, f) => n + statSync(join(dir, f)).size, 0)).toBeLessThan(limit.bytes);
    expect(readdirSync(dir)).toContain(kind === 'bert' ? 'vocab.txt' : 'tokenizer.json');
  });

  test('pretrain --model M --size S rebuilds it (its first phase, when continued): the defaults are its recorded settings', () => {
    let record = JSON.parse(readFileSync(join(dir, 'pretraining.json'), 'utf8'));
    while (record.previous) record = record.previous;
    const { options } = record;
    const d = DEFAULTS[kind][name.includes('-small') ? 'small' : 'mini'];
    expect({ steps: options.steps, batchSize: options.batchSize, seqLength: options.seqLength, lr: options.lr, evalSequences: options.evalSequences }).toEqual(
      d,
    );
  });

  test('its recorded held-out loss beats the unigram baseline', () => {
    const record = JSON.parse(readFileSync(join(dir, 'pretraining.json'), 'utf8'));
    expect(record.heldOut.loss).toBeLessThan(record.baselines.unigram.loss);
    expect(record.heldOut.accuracy).toBeGreaterThan(record.baselines.unigram.accuracy);
  });
});

test('committed pretrained/bert-small-tasktext continues the shipped bert-small: its earlier phases are bert-small’s whole record, its last read the task text', () => {
  const read = (name: string) => JSON.parse(readFileSync(join(ROOT, 'cli/pretrained', name, 'pretraining.json'), 'utf8'));
  const record = read('bert-small-tasktext');
  const base = read('bert-small');
  expect(record.previous).toEqual(base);
  expect(record.corpus.sources.map((source: { name: string }) => source.name)).toEqual(['spam', 'imdb', 'brown']);
  expect(record.heldOut.tokens).toBe(base.heldOut.tokens);
});
