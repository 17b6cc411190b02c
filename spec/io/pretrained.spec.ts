/**
 * HF model folders: save → load gives the same model bitwise (F32), a sharded index
 * loads like one file, F16 storage halves the file and rounds as F16 does, and bad
 * folders give clear errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Generator } from '../../index.ts';
import { bertConfig } from '../../models/config.ts';
import { BertForSequenceClassification } from '../../models/bert.ts';
import { serializeSafetensors } from '../../models/safetensors.ts';
import { exportWeights, configJson } from '../../models/weights.ts';
import { loadPretrained, savePretrained } from '../../node.ts';
import type { BertTokenizer } from '../../models/tokenizers/index.ts';
import { assertClose } from '../kit/index.ts';

const CONFIG = { vocab_size: 12, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 8, num_labels: 2 };
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'mat', '##s', '.'];
const fresh = () => new BertForSequenceClassification(bertConfig(CONFIG), { generator: new Generator(3) });
const tmp = () => mkdtempSync(join(tmpdir(), 'sparsegrad-pretrained-'));

describe('HF folders', () => {
  test('save → load: same weights bitwise, tokenizer from vocab.txt', async () => {
    const dir = tmp();
    const model = fresh();
    await savePretrained(dir, model, { tokenizerFiles: { 'vocab.txt': VOCAB.join('\n') + '\n' } });
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
