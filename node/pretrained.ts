/**
 * Hugging Face model folders on disk (Node only; re-exported by `sparsegrad/node`):
 * `config.json` + `model.safetensors`, or a sharded `model.safetensors.index.json`
 * (`weight_map`: tensor name → shard file), + tokenizer files (`tokenizer.json`, or
 * BERT's `vocab.txt`). Reading only reads files: every check and every conversion is the
 * bytes API's (models/pretrained.ts), which a browser uses the same way. Saving writes the
 * same layout back — config, HF-named weights (tied aliases once), tokenizer — so a
 * fine-tuned model loads here and in transformers.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from '../base/errors.ts';
import type { Tensor } from '../core/tensor.ts';
import type { ConfigLimits } from '../models/config.ts';
import {
  type AnyTokenizer,
  checkPretrainedConfig,
  CONFIG_FILE,
  INDEX_FILE,
  type LoadOptions,
  loadPretrainedFromBytes,
  parseShardIndex,
  type Pretrained,
  tokenizerFromFiles,
  weightsFromBytes,
  WEIGHTS_FILE,
} from '../models/pretrained.ts';
import { serializeSafetensors, type SafetensorsDType } from '../models/safetensors.ts';
import type { BertTokenizer, LlamaTokenizer } from '../models/tokenizers/index.ts';
import { configJson, exportWeights, type PretrainedModel } from '../models/weights.ts';
import { writeFileAtomic } from '../node.ts';

export type { AnyTokenizer, Pretrained };

/** A folder's file names, or a ValueError naming the folder. */
async function listFolder(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => {
    throw new ValueError(`model folder not found: ${dir}`);
  });
}

async function readBytes(dir: string, name: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(join(dir, name));
  } catch {
    throw new ValueError(`${what} not found: ${join(dir, name)}`);
  }
}

/** A folder's weight files: the index and the shards it names (never a path outside the folder), or model.safetensors. */
async function readWeightFiles(dir: string, files: string[]): Promise<{ weights: Record<string, Uint8Array>; index?: Uint8Array }> {
  if (files.includes(INDEX_FILE)) {
    const index = await readBytes(dir, INDEX_FILE, 'shard index');
    // Checked before any shard is opened: names are plain file names inside `dir`.
    const { shards } = parseShardIndex(index, join(dir, INDEX_FILE));
    const weights: Record<string, Uint8Array> = Object.create(null);
    for (const shard of shards) weights[shard] = await readBytes(dir, shard, `shard '${shard}' named by ${INDEX_FILE}`);
    return { weights, index };
  }
  if (files.includes(WEIGHTS_FILE)) return { weights: { [WEIGHTS_FILE]: await readBytes(dir, WEIGHTS_FILE, 'weights') } };
  throw new ValueError(`no weights in ${dir}: expected ${WEIGHTS_FILE} or ${INDEX_FILE} (PyTorch .bin files are not supported)`);
}

/** Every tensor of a folder's weights: a single file, or all shards named by the index (see weightsFromBytes). */
export async function readFolderWeights(dir: string): Promise<Record<string, Tensor>> {
  const { weights, index } = await readWeightFiles(dir, await listFolder(dir));
  return weightsFromBytes(weights, { index, source: dir });
}

/** The tokenizer files a folder holds, as the bytes API takes them. */
async function readTokenizerFiles(dir: string, files: string[]): Promise<{ tokenizerJson?: Uint8Array; vocabTxt?: Uint8Array; tokenizerConfig?: Uint8Array }> {
  if (files.includes('tokenizer.json')) return { tokenizerJson: await readBytes(dir, 'tokenizer.json', 'tokenizer') };
  if (files.includes('vocab.txt')) {
    return {
      vocabTxt: await readBytes(dir, 'vocab.txt', 'vocabulary'),
      ...(files.includes('tokenizer_config.json') ? { tokenizerConfig: await readBytes(dir, 'tokenizer_config.json', 'tokenizer config') } : {}),
    };
  }
  return {};
}

/**
 * The tokenizer a folder ships, if any: tokenizer.json first, else vocab.txt (BERT).
 * With `vocabSize`, token ids at or past it are refused (see tokenizerFromFiles).
 */
export async function readFolderTokenizer(dir: string, options: { vocabSize?: number } = {}): Promise<BertTokenizer | LlamaTokenizer | null> {
  return tokenizerFromFiles(await readTokenizerFiles(dir, await listFolder(dir)), { ...options, source: dir });
}

/** A folder's config.json, parsed and validated (fields, architecture, size bound), before anything else is read. */
export async function readFolderConfig(dir: string, limits: ConfigLimits = {}): Promise<Record<string, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, CONFIG_FILE));
  } catch {
    throw new ValueError(`${CONFIG_FILE} not found: ${join(dir, CONFIG_FILE)}`);
  }
  return checkPretrainedConfig(bytes, { ...limits, source: dir }).raw;
}

/**
 * Load a HF folder: the architecture from config.json, weights by name (strict), the
 * tokenizer if present. A thin reader over loadPretrainedFromBytes; the config is checked
 * before the weights are read, so a bad config costs no weight-sized read.
 */
export async function loadPretrained(dir: string, options: LoadOptions = {}): Promise<Pretrained> {
  const config = await readFolderConfig(dir, options);
  const files = await listFolder(dir);
  const tokenizer = await readTokenizerFiles(dir, files);
  const { weights, index } = await readWeightFiles(dir, files);
  return loadPretrainedFromBytes({ config, weights, index, ...tokenizer }, { ...options, source: options.source ?? dir });
}

/**
 * Write a HF folder: config.json, model.safetensors (optionally stored as F16/BF16 to
 * halve the size) and, when given, the tokenizer's own files. Each file is written to a
 * temporary name, fsynced and renamed, so a crash never leaves a half-written file in place.
 */
export async function savePretrained(
  dir: string,
  model: PretrainedModel,
  options: { dtype?: SafetensorsDType; tokenizerFiles?: Record<string, string> } = {},
): Promise<void> {
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
