/**
 * HF model folders: save → load gives the same model bitwise (F32), a sharded index
 * loads like one file, F16 storage halves the file and rounds as F16 does, and bad
 * folders give clear errors. The same from bytes (what fetch returns; no file system),
 * and the loading findings of issue 13: duplicate names after normalization, prototype
 * names, shard paths outside the folder, tokenizer ids past vocab_size.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { FormatError, Generator, type Tensor, tensor, ValueError } from '../../index.ts';
import { bertConfig } from '../../models/config.ts';
import { BertForSequenceClassification } from '../../models/bert.ts';
import { serializeSafetensors } from '../../models/safetensors.ts';
import { exportWeights, configJson, loadWeights } from '../../models/weights.ts';
import { loadPretrainedFromBytes, parameterCount, parseShardIndex, weightsFromBytes } from '../../models/index.ts';
import type { Module } from '../../nn/module.ts';
import { loadPretrained, readFolderWeights, savePretrained } from '../../node.ts';
import type { BertTokenizer } from '../../models/tokenizers/index.ts';
import { assertClose } from '../kit/index.ts';

const CONFIG = {
  vocab_size: 12,
  hidden_size: 8,
  intermediate_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  max_position_embeddings: 8,
  num_labels: 2,
};
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'mat', '##s', '.'];
const fresh = () => new BertForSequenceClassification(bertConfig(CONFIG), { generator: new Generator(3) });
const folders: string[] = [];
/** A fresh temp folder, removed after the file's tests (each run used to leave them behind). */
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-pretrained-'));
  folders.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('HF folders', () => {
  test('save → load: same weights bitwise, tokenizer from vocab.txt', async () => {
    const dir = tmp();
    const model = fresh();
    await savePretrained(dir, model, { tokenizerFiles: { 'vocab.txt': `${VOCAB.join('\n')}\n` } });
    const loaded = await loadPretrained(dir);
    for (const [name, t] of Object.entries(model.stateDict())) assertClose(loaded.model.stateDict()[name]!, t, 'bitwise', name);
    expect((loaded.tokenizer as BertTokenizer).encode('the cats sat').inputIds).toEqual([2, 5, 6, 10, 7, 3]);
  });

  test('a sharded index loads like a single file', async () => {
    const dir = tmp();
    const model = fresh();
    const weights = exportWeights(model);
    const names = Object.keys(weights);
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((list, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(join(dir, file), serializeSafetensors(Object.fromEntries(list.map((n) => [n, weights[n]!]))));
      for (const n of list) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson(model)));
    const loaded = await loadPretrained(dir);
    for (const [name, t] of Object.entries(model.stateDict())) assertClose(loaded.model.stateDict()[name]!, t, 'bitwise', name);
  });

  test('F16 storage: about half the bytes, values rounded to half precision', async () => {
    const [a, b] = [tmp(), tmp()];
    const model = fresh();
    await savePretrained(a, model);
    await savePretrained(b, model, { dtype: 'F16' });
    const size = (d: string) => readFileSync(join(d, 'model.safetensors')).length;
    const dataBytes = Object.values(exportWeights(model)).reduce((n, t) => n + t.numel * 4, 0);
    expect(size(a) - size(b)).toBeGreaterThan(dataBytes * 0.45); // the data halves; the header barely changes
    const loaded = await loadPretrained(b);
    const w = model.stateDict()['classifier.weight']!;
    assertClose(loaded.model.stateDict()['classifier.weight']!, w, { atol: 0, rtol: 2 ** -11 }, 'F16 rounding');
  });

  test('clear errors: missing folder, missing config, no weights', async () => {
    await expect(loadPretrained(join(tmpdir(), 'no-such-model-folder'))).rejects.toThrow(/config\.json not found/);
    const dir = tmp();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['BertForSequenceClassification'], ...CONFIG }));
    await expect(loadPretrained(dir)).rejects.toThrow(/no weights in .*model\.safetensors/);
  });
});

// ---- from bytes (issue 10: no file system) and trustworthy loading (issue 13) ------------

const bytesOf = (model: BertForSequenceClassification) => serializeSafetensors(exportWeights(model), { metadata: { format: 'pt' } });
/** An ArrayBuffer holding exactly these bytes, as `fetch(...).arrayBuffer()` returns. */
const arrayBuffer = (bytes: Uint8Array) => bytes.slice().buffer;
const configText = (model: BertForSequenceClassification) => JSON.stringify(configJson(model));
const VOCAB_TXT = `${VOCAB.join('\n')}\n`;

function expectSameWeights(actual: Module, expected: Module): void {
  for (const [name, t] of Object.entries(expected.stateDict())) assertClose(actual.stateDict()[name]!, t, 'bitwise', name);
}

describe('loadPretrainedFromBytes: a model from what fetch returns', () => {
  test('config text + an ArrayBuffer + vocab.txt text give the same model and tokenizer as the folder', async () => {
    const model = fresh();
    const loaded = loadPretrainedFromBytes({ config: configText(model), weights: arrayBuffer(bytesOf(model)), vocabTxt: VOCAB_TXT });
    expect(loaded.model).toBeInstanceOf(BertForSequenceClassification);
    expectSameWeights(loaded.model, model);
    expect((loaded.tokenizer as BertTokenizer).encode('the cats sat').inputIds).toEqual([2, 5, 6, 10, 7, 3]);
    const dir = tmp();
    await savePretrained(dir, model, { tokenizerFiles: { 'vocab.txt': VOCAB_TXT } });
    expect(readFileSync(join(dir, 'model.safetensors'))).toEqual(Buffer.from(bytesOf(model)));
  });

  test('shards by name with their index, or a plain list of shards, load like one file', () => {
    const model = fresh();
    const weights = exportWeights(model);
    const names = Object.keys(weights);
    const shard = (list: string[]) => serializeSafetensors(Object.fromEntries(list.map((n) => [n, weights[n]!])));
    const [a, b] = [shard(names.slice(0, 5)), shard(names.slice(5))];
    const index = { weight_map: Object.fromEntries(names.map((n, i) => [n, i < 5 ? 'a.safetensors' : 'b.safetensors'])) };
    const byName = loadPretrainedFromBytes({
      config: configJson(model),
      weights: { 'a.safetensors': a, 'b.safetensors': arrayBuffer(b) },
      index: JSON.stringify(index),
    });
    expectSameWeights(byName.model, model);
    expectSameWeights(loadPretrainedFromBytes({ config: configJson(model), weights: [b, a] }).model, model);
    expect(byName.tokenizer).toBeNull();
  });

  test('a tensor in two shards, a shard the index does not assign it to, or a shard not given: FormatError/ValueError naming the files', () => {
    const model = fresh();
    const weights = exportWeights(model);
    const one = serializeSafetensors({ 'classifier.bias': weights['classifier.bias']! });
    expect(() => weightsFromBytes({ 'x.safetensors': one, 'y.safetensors': one })).toThrow(/'classifier\.bias' is in both x\.safetensors and y\.safetensors/);
    const index = JSON.stringify({ weight_map: { 'classifier.bias': 'y.safetensors' } });
    expect(() => weightsFromBytes({ 'x.safetensors': one }, { index })).toThrow(/names shard\(s\) 'y\.safetensors' that were not given/);
    expect(() => weightsFromBytes({ 'y.safetensors': serializeSafetensors({ other: weights['classifier.bias']! }) }, { index, source: 'models/m' })).toThrow(
      /models\/m\/y\.safetensors holds 'other', which model\.safetensors\.index\.json assigns to no shard/,
    );
    expect(() => weightsFromBytes(new Uint8Array(3), { source: 'models/m' })).toThrow(/^models\/m\/model\.safetensors: HeaderTooSmall/);
  });

  test('index entries must stay inside the folder: ../, absolute paths, separators, drives are FormatErrors', async () => {
    for (const shard of ['../outside/x.safetensors', '/etc/x.safetensors', 'sub/x.safetensors', 'sub\\x.safetensors', '..', 'C:x.safetensors', '', 'a\0b']) {
      expect(() => parseShardIndex({ weight_map: { w: shard } }), JSON.stringify(shard)).toThrow(FormatError);
    }
    // On disk: a valid shard just outside the folder is never opened.
    const root = tmp();
    const dir = join(root, 'model');
    const model = fresh();
    mkdirSync(dir);
    writeFileSync(join(root, 'outside.safetensors'), bytesOf(model));
    writeFileSync(join(dir, 'config.json'), configText(model));
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: Object.fromEntries(Object.keys(exportWeights(model)).map((n) => [n, '../outside.safetensors'])) }),
    );
    await expect(loadPretrained(dir)).rejects.toThrow(/shard "\.\.\/outside\.safetensors" must be a plain file name inside the model folder/);
    await expect(readFolderWeights(dir)).rejects.toThrow(FormatError);
  });

  test("a tokenizer with ids past the config's vocab_size is refused at load time, naming both", () => {
    const model = fresh();
    const longer = `${[...VOCAB, 'extra'].join('\n')}\n`; // ids 0..12 for a vocab_size of 12
    expect(() => loadPretrainedFromBytes({ config: configText(model), weights: bytesOf(model), vocabTxt: longer })).toThrow(
      /vocab\.txt has token ids up to 12 \('extra'\), but the model's vocab_size is 12/,
    );
  });

  test('a config that asks for more values than the weights hold is refused before the model is allocated', () => {
    const model = fresh();
    const config = { ...configJson(model), hidden_size: 4096, intermediate_size: 16384, num_attention_heads: 16 };
    const held = Object.values(exportWeights(model)).reduce((n, t) => n + t.numel, 0);
    const wanted = parameterCount('BertForSequenceClassification', bertConfig(config));
    expect(() => loadPretrainedFromBytes({ config, weights: bytesOf(model) }, { source: 'm' })).toThrow(
      `m/config.json describes a BertForSequenceClassification of ${wanted} values, but the weights hold only ${held}`,
    );
  });

  test('config.json that is not JSON, or not an object: FormatError naming the file', async () => {
    expect(() => loadPretrainedFromBytes({ config: '{"vocab_size": 12,', weights: new Uint8Array(8) }, { source: 'm' })).toThrow(
      /^m\/config\.json is not valid JSON/,
    );
    expect(() => loadPretrainedFromBytes({ config: '[1]', weights: new Uint8Array(8) })).toThrow(/config\.json must hold a JSON object/);
    const dir = tmp();
    writeFileSync(join(dir, 'config.json'), '{"architectures": ["BertModel"], ');
    await expect(loadPretrained(dir)).rejects.toThrow(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/config\\.json is not valid JSON`));
  });
});

describe('weights by name: no garbage loads silently (issue 13, finding 1)', () => {
  test('two names that normalize to one parameter are a FormatError naming both (prefix added or dropped, legacy gamma/beta)', () => {
    const model = fresh();
    const weights = exportWeights(model);
    const word = 'bert.embeddings.word_embeddings.weight';
    const withBoth = { ...weights, 'embeddings.word_embeddings.weight': weights[word]! };
    expect(() => loadWeights(fresh(), withBoth, { source: 'model.safetensors' })).toThrow(
      /model\.safetensors: tensors 'bert\.embeddings\.word_embeddings\.weight' and 'embeddings\.word_embeddings\.weight' both load into the model's 'bert\.embeddings\.word_embeddings\.weight'/,
    );
    const ln = 'bert.embeddings.LayerNorm.weight';
    expect(() => loadWeights(fresh(), { ...weights, 'bert.embeddings.LayerNorm.gamma': weights[ln]! })).toThrow(
      /'bert\.embeddings\.LayerNorm\.weight' and 'bert\.embeddings\.LayerNorm\.gamma' both load/,
    );
    // Through the bytes API (one file, as in the finding): same error, the file named.
    expect(() => loadPretrainedFromBytes({ config: configJson(model), weights: serializeSafetensors(withBoth) })).toThrow(
      /model\.safetensors: tensors .* both load into/,
    );
  });

  test('tensors named __proto__, constructor, toString, hasOwnProperty, valueOf are unexpected in a strict load, and nothing is copied', () => {
    const model = fresh();
    const target = new BertForSequenceClassification(bertConfig(CONFIG), { generator: new Generator(9) });
    const before = target.stateDict()['classifier.weight']!.clone();
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const tensors: Record<string, Tensor> = Object.create(null);
    for (const [name, t] of Object.entries(exportWeights(model))) tensors[name] = t;
    for (const name of odd) tensors[name] = tensor([1], { dtype: 'float32' });
    let error: unknown;
    try {
      loadWeights(target, tensors);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValueError);
    expect((error as Error).message).toContain(`Unexpected key(s) in state_dict: ${odd.map((n) => `"${n}"`).join(', ')}.`);
    assertClose(target.stateDict()['classifier.weight']!, before, 'bitwise', 'a refused load copies nothing');
    expect(loadWeights(target, tensors, { strict: false }).unexpected).toEqual(odd);
    expectSameWeights(target, model);
    // The same file through the bytes API.
    expect(() => loadPretrainedFromBytes({ config: configJson(model), weights: serializeSafetensors(tensors) })).toThrow(
      /Unexpected key\(s\) in state_dict: "__proto__", "constructor"/,
    );
  });
});
