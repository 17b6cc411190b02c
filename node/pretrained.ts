/**
 * Hugging Face model folders on disk (Node only; re-exported by `sparsegrad/node`):
 * `config.json` + `model.safetensors`, or a sharded `model.safetensors.index.json`
 * (`weight_map`: tensor name → shard file), + tokenizer files (`tokenizer.json`, or
 * BERT's `vocab.txt`). Saving writes the same layout back — config, HF-named weights
 * (tied aliases once), tokenizer — so a fine-tuned model loads here and in transformers.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FormatError, ValueError } from '../base/errors.ts';
import type { Tensor } from '../core/tensor.ts';
import type { BuildOptions } from '../models/bert.ts';
import { parseSafetensors, serializeSafetensors, type SafetensorsDType } from '../models/safetensors.ts';
import { BertTokenizer, fromTokenizerJson, LlamaTokenizer } from '../models/tokenizers/index.ts';
import { configJson, exportWeights, loadWeights, modelFromConfig, type PretrainedModel } from '../models/weights.ts';
import { writeFileAtomic } from '../node.ts';

export interface Pretrained {
  model: PretrainedModel;
  tokenizer: BertTokenizer | LlamaTokenizer | null;
  config: Record<string, unknown>;
}

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ValueError(`${what} not found: ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Every tensor of a folder's weights: a single file, or all shards named by the index. */
export async function readFolderWeights(dir: string): Promise<Record<string, Tensor>> {
  const files = await readdir(dir).catch(() => {
    throw new ValueError(`model folder not found: ${dir}`);
  });
  if (files.includes('model.safetensors.index.json')) {
    const index = await readJson(join(dir, 'model.safetensors.index.json'), 'shard index');
    const map = index.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') throw new FormatError(`${dir}/model.safetensors.index.json has no weight_map`);
    const out: Record<string, Tensor> = {};
    for (const shard of new Set(Object.values(map))) {
      const { tensors } = parseSafetensors(new Uint8Array(await readFile(join(dir, shard))));
      for (const [name, t] of Object.entries(tensors)) {
        if (map[name] !== shard) throw new FormatError(`${shard} holds ${name}, which the index assigns to ${map[name] ?? 'no shard'}`);
        out[name] = t;
      }
    }
    const absent = Object.keys(map).filter((n) => !(n in out));
    if (absent.length) throw new FormatError(`shard index lists tensors no shard holds: ${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ', …' : ''}`);
    return out;
  }
  if (files.includes('model.safetensors')) return parseSafetensors(new Uint8Array(await readFile(join(dir, 'model.safetensors')))).tensors;
  throw new ValueError(`no weights in ${dir}: expected model.safetensors or model.safetensors.index.json (PyTorch .bin files are not supported)`);
}

/** The tokenizer a folder ships, if any: tokenizer.json first, else vocab.txt (BERT). */
export async function readFolderTokenizer(dir: string): Promise<BertTokenizer | LlamaTokenizer | null> {
  const files = await readdir(dir);
  if (files.includes('tokenizer.json')) return fromTokenizerJson(await readJson(join(dir, 'tokenizer.json'), 'tokenizer') as never);
  if (files.includes('vocab.txt')) {
    const tokenizerConfig = files.includes('tokenizer_config.json') ? await readJson(join(dir, 'tokenizer_config.json'), 'tokenizer config') : {};
    return new BertTokenizer(await readFile(join(dir, 'vocab.txt'), 'utf8'), { doLowerCase: (tokenizerConfig.do_lower_case as boolean | undefined) ?? true });
  }
  return null;
}

/** Load a HF folder: the architecture from config.json, weights by name (strict), the tokenizer if present. */
export async function loadPretrained(dir: string, options: BuildOptions = {}): Promise<Pretrained> {
  const config = await readJson(join(dir, 'config.json'), 'config.json');
  const model = modelFromConfig(config, options);
  loadWeights(model, await readFolderWeights(dir));
  return { model, tokenizer: await readFolderTokenizer(dir), config };
}

/**
 * Write a HF folder: config.json, model.safetensors (optionally stored as F16/BF16 to
 * halve the size) and, when given, the tokenizer's own files. Each file is written to a
 * temporary name, fsynced and renamed, so a crash never leaves a half-written file in place.
 */
export async function savePretrained(dir: string, model: PretrainedModel, options: { dtype?: SafetensorsDType; tokenizerFiles?: Record<string, string> } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = exportWeights(model);
  const dtype = options.dtype ? Object.fromEntries(Object.keys(weights).map((n) => [n, options.dtype!])) : undefined;
  const files: [string, string | Uint8Array][] = [
    ['config.json', `${JSON.stringify(configJson(model), null, 2)}\n`],
    ['model.safetensors', serializeSafetensors(weights, { metadata: { format: 'pt' }, dtype })],
    ...Object.entries(options.tokenizerFiles ?? {}),
  ];
  for (const [name, content] of files) await writeFileAtomic(join(dir, name), content);
}
