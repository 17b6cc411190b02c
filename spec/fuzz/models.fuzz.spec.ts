/**
 * Fuzz: mutated config.json and sharded-index JSON, through the bytes API, and the same
 * index in a real folder (spec/fuzz/harness.ts states the law).
 *
 * Configs: an accepted config builds a model whose stored values are exactly the size the
 * loader computed, and never more than `maxParameters` (the allocation is bounded by the
 * bound, not by the numbers in the file). Indexes: an accepted index loads exactly the
 * tensors of the original shards, bitwise; in a folder, a decoy file next to the folder
 * (reachable by `../`) is never read.
 */
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Generator, tensor, type Tensor } from '../../index.ts';
import { checkPretrainedConfig, exportWeights, modelFromConfig, parseSafetensors, serializeSafetensors, weightsFromBytes } from '../../models/index.ts';
import { readFolderWeights } from '../../node.ts';
import { assertClose } from '../kit/index.ts';
import { applyByteEdits, applyJsonEdits, arbByteEdits, arbJsonEdits, describeCase, jsonText, params, Tally } from './harness.ts';

const CONFIGS: Record<string, unknown>[] = [
  {
    architectures: ['BertForSequenceClassification'],
    model_type: 'bert',
    vocab_size: 12,
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 8,
    type_vocab_size: 2,
    pad_token_id: 0,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    id2label: { 0: 'a', 1: 'b' },
  },
  {
    architectures: ['BertForMaskedLM'],
    vocab_size: 12,
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    max_position_embeddings: 8,
  },
  {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 16,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 4,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
    rope_scaling: null,
  },
];
/** A bound far below what any mutated size could ask for, so an accepted config allocates little. */
const MAX_PARAMETERS = 20_000;

const tallies: Tally[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const t of tallies) console.log(t.summary());
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function expectBuilds(raw: Record<string, unknown>): void {
  const { parameters } = checkPretrainedConfig(raw, { maxParameters: MAX_PARAMETERS });
  expect(parameters).toBeLessThanOrEqual(MAX_PARAMETERS);
  const model = modelFromConfig(raw, { maxParameters: MAX_PARAMETERS, generator: new Generator(1) });
  expect(Object.values(exportWeights(model)).reduce((n, t) => n + t.numel, 0)).toBe(parameters);
}

describe('fuzz: config.json', () => {
  test('config trees and bytes: a documented error, or a model of exactly the computed size, within maxParameters', () => {
    const tally = new Tally('config.json');
    tallies.push(tally);
    const texts = CONFIGS.map((c) => new TextEncoder().encode(JSON.stringify(c)));
    fc.assert(
      fc.property(
        fc.nat({ max: CONFIGS.length - 1 }),
        fc.oneof(
          arbJsonEdits.map((e) => ({ json: e })),
          arbByteEdits.map((e) => ({ bytes: e })),
        ),
        (which, edit) => {
          const input = 'json' in edit ? jsonText(applyJsonEdits(CONFIGS[which], edit.json)) : applyByteEdits(texts[which]!, edit.bytes);
          if (input === null) return;
          const raw = tally.run(
            () => describeCase(`config ${which}`, edit),
            () => checkPretrainedConfig(input, { maxParameters: MAX_PARAMETERS }).raw,
          );
          if (raw) expectBuilds(raw);
        },
      ),
      params(1501, 900),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });
});

// ---- sharded indexes -----------------------------------------------------------------------

const WEIGHTS: Record<string, Tensor> = {
  'a.weight': tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'float32' },
  ),
  'a.bias': tensor([0.5, -0.5], { dtype: 'float32' }),
  'b.weight': tensor([7, 8, 9], { dtype: 'float32' }),
};
const SHARDS = {
  'model-00001-of-00002.safetensors': serializeSafetensors({ 'a.weight': WEIGHTS['a.weight']!, 'a.bias': WEIGHTS['a.bias']! }),
  'model-00002-of-00002.safetensors': serializeSafetensors({ 'b.weight': WEIGHTS['b.weight']! }),
};
const INDEX = {
  metadata: { total_size: 36 },
  weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'a.bias': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' },
};
/** What a shard outside the folder would hold: loading it would show up as these values. */
const DECOY = serializeSafetensors({
  'a.weight': tensor(
    [
      [-1, -1],
      [-1, -1],
    ],
    { dtype: 'float32' },
  ),
  'a.bias': tensor([-1, -1], { dtype: 'float32' }),
  'b.weight': tensor([-1, -1, -1], { dtype: 'float32' }),
});

/**
 * The exact result an accepted index must give, computed independently: every tensor the
 * index lists, read from the shard it names, and nothing else; never a decoy value (−1).
 */
function expectAsIndexed(tensors: Record<string, Tensor>, indexText: string | Uint8Array, shards: Record<string, Uint8Array>): void {
  const map = (JSON.parse(typeof indexText === 'string' ? indexText : new TextDecoder().decode(indexText)) as typeof INDEX).weight_map as Record<
    string,
    string
  >;
  expect(Object.keys(tensors).sort()).toEqual(Object.keys(map).sort());
  for (const name of Object.keys(map)) {
    assertClose(tensors[name]!, parseSafetensors(shards[map[name]!]!).tensors[name]!, 'bitwise', name);
    if (!(map[name] === 'decoy.safetensors' && Object.hasOwn(shards, 'decoy.safetensors'))) assertClose(tensors[name]!, WEIGHTS[name]!, 'bitwise', name);
  }
}

/** Index edits that aim at the shard names: paths out of the folder, separators, other shards. */
const arbShardEdit = fc.record({
  tensor: fc.constantFrom(...Object.keys(INDEX.weight_map)),
  shard: fc.constantFrom(
    'model-00001-of-00002.safetensors',
    '../decoy.safetensors',
    '/tmp/decoy.safetensors',
    'sub/x.safetensors',
    '..\\decoy.safetensors',
    '.',
    '',
    'decoy.safetensors',
    'model-00002-of-00002.safetensors',
    'C:decoy.safetensors',
    'model.safetensors',
  ),
});

describe('fuzz: model.safetensors.index.json', () => {
  test('index trees and bytes, shards given by name: a documented error, or exactly the original tensors', () => {
    const tally = new Tally('shard index (bytes API)');
    tallies.push(tally);
    const text = new TextEncoder().encode(JSON.stringify(INDEX));
    fc.assert(
      fc.property(
        fc.oneof(
          arbJsonEdits.map((e) => ({ json: e })),
          arbByteEdits.map((e) => ({ bytes: e })),
        ),
        fc.array(arbShardEdit, { maxLength: 2 }),
        (edit, shardEdits) => {
          let index: unknown = 'json' in edit ? applyJsonEdits(INDEX, edit.json) : applyByteEdits(text, edit.bytes);
          if (
            shardEdits.length > 0 &&
            'json' in edit &&
            typeof index === 'object' &&
            index !== null &&
            typeof (index as typeof INDEX).weight_map === 'object' &&
            (index as typeof INDEX).weight_map !== null
          ) {
            for (const e of shardEdits) ((index as typeof INDEX).weight_map as Record<string, string>)[e.tensor] = e.shard;
          }
          if (typeof index === 'object' && !(index instanceof Uint8Array)) index = jsonText(index);
          if (index === null) return;
          // The decoy is given by name here, so an index may legitimately name it.
          const weights = { ...SHARDS, 'decoy.safetensors': DECOY };
          const tensors = tally.run(
            () => describeCase('index', { edit, shardEdits }),
            () => weightsFromBytes(weights, { index: index as string | Uint8Array }),
          );
          if (tensors) expectAsIndexed(tensors, index as string | Uint8Array, weights);
        },
      ),
      params(1502, 700),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });

  test('in a folder, with a decoy shard one level up: a documented error or the original tensors, never the decoy', async () => {
    const tally = new Tally('shard index (folder)');
    tallies.push(tally);
    const root = mkdtempSync(join(tmpdir(), 'sparsegrad-fuzz-index-'));
    folders.push(root);
    const dir = join(root, 'model');
    mkdirSync(dir);
    writeFileSync(join(root, 'decoy.safetensors'), DECOY);
    for (const [name, bytes] of Object.entries(SHARDS)) writeFileSync(join(dir, name), bytes);
    await fc.assert(
      fc.asyncProperty(fc.array(arbShardEdit, { minLength: 1, maxLength: 3 }), arbJsonEdits, fc.boolean(), async (shardEdits, edits, alsoTree) => {
        const index = structuredClone(INDEX) as { weight_map: Record<string, string> };
        for (const e of shardEdits) index.weight_map[e.tensor] = e.shard;
        const text = jsonText(alsoTree ? applyJsonEdits(index, edits) : index);
        if (text === null) return;
        writeFileSync(join(dir, 'model.safetensors.index.json'), text);
        let tensors: Record<string, Tensor> | undefined;
        let error: unknown;
        try {
          tensors = await readFolderWeights(dir);
        } catch (e) {
          error = e;
        }
        const outcome = tally.run(
          () => describeCase('folder index', { shardEdits, edits: alsoTree ? edits : [] }),
          () => {
            if (error) throw error;
            return tensors!;
          },
        );
        // Only the folder's own shards can be read: the decoy one level up never is.
        if (outcome) expectAsIndexed(outcome, text, SHARDS);
      }),
      params(1503, 60),
    );
    expect(tally.total).toBeGreaterThan(0);
  });
});
