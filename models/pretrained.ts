/**
 * Hugging Face model folders from bytes: `config.json`, `model.safetensors` (or the
 * shards a `model.safetensors.index.json` names) and the tokenizer files, given as what
 * `fetch` returns in a browser (ArrayBuffer, Uint8Array, text). No file system here:
 * `sparsegrad/node` reads a folder and calls these.
 *
 * Loading is ordered so that a bad input fails before anything large is built: the
 * config is validated and the model's size bounded (ConfigLimits) first, then the
 * tokenizer is checked against the config's vocab_size, then the weights are parsed
 * (memory bounded by their bytes), then the model is allocated, only if the weights hold
 * at least as many values as it needs, and loaded by name (strict by default).
 */
import { FormatError, ValueError } from '../base/errors.ts';
import type { Tensor } from '../core/tensor.ts';
import type { BuildOptions } from './bert.ts';
import type { BertConfig, ConfigLimits, LlamaConfig, PretrainedArchitecture } from './config.ts';
import { isRecord, parseJson, show } from './json.ts';
import { parseSafetensors } from './safetensors.ts';
import { BertTokenizer, LlamaTokenizer } from './tokenizers/index.ts';
import { checkTokenizerJson } from './tokenizers/tokenizer-json.ts';
import { loadWeights, modelFromConfig, resolveConfig, type PretrainedModel } from './weights.ts';

/** Bytes as a browser or Node hands them over. */
export type Bytes = ArrayBuffer | Uint8Array;
/** Text files may also be given already decoded. */
export type TextOrBytes = string | Bytes;

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export type AnyTokenizer = BertTokenizer | LlamaTokenizer;

export interface Pretrained {
  model: PretrainedModel;
  tokenizer: AnyTokenizer | null;
  config: Record<string, unknown>;
}

export interface PretrainedFiles {
  /** `config.json`: its bytes, its text, or the parsed object. */
  config: TextOrBytes | Record<string, unknown>;
  /**
   * The weights: one safetensors file, a list of shard files, or shards by file name
   * (what `index.weight_map` refers to). With an index, shards must be given by name.
   */
  weights: Bytes | readonly Bytes[] | Readonly<Record<string, Bytes>>;
  /** `model.safetensors.index.json` (bytes, text or parsed), for sharded weights. */
  index?: TextOrBytes | Record<string, unknown>;
  /** `tokenizer.json` (bytes, text or parsed); preferred over vocab.txt when both are given. */
  tokenizerJson?: TextOrBytes | Record<string, unknown>;
  /** BERT's `vocab.txt` (bytes or text). */
  vocabTxt?: TextOrBytes;
  /** `tokenizer_config.json`, read for `do_lower_case` with a vocab.txt. */
  tokenizerConfig?: TextOrBytes | Record<string, unknown>;
}

export interface LoadOptions extends BuildOptions, ConfigLimits {
  /** Missing or unexpected weights are errors (default true). */
  strict?: boolean;
  /** Where the files come from (a folder, a URL), prefixed to file names in error messages. */
  source?: string;
}

/** `source/name`, or `name` alone. */
export function fileLabel(source: string | undefined, name: string): string {
  return source ? `${source.replace(/\/+$/, '')}/${name}` : name;
}

/** A JSON file given as bytes, text or an already parsed value → a checked object. */
export function jsonObject(input: TextOrBytes | Record<string, unknown>, what: string): Record<string, unknown> {
  const value = typeof input === 'string' || input instanceof Uint8Array || input instanceof ArrayBuffer ? parseJson(input, what) : input;
  if (!isRecord(value)) throw new FormatError(`${what} must hold a JSON object, got ${show(value)}`);
  return value;
}

function asUint8(bytes: Bytes, what: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new ValueError(`${what} must be an ArrayBuffer or a Uint8Array, got ${show(bytes)}`);
}

// ---- the shard index -----------------------------------------------------------------

export interface ShardIndex {
  /** Tensor name → shard file name (a Map: any name is a plain key). */
  weightMap: Map<string, string>;
  /** The distinct shard files, in order of first mention. */
  shards: string[];
}

/**
 * A shard file name the index may name: a plain name inside the model folder. A `/` or
 * `\` (a sub-folder, or `../` out of it), an absolute or drive path, `.`/`..`, a NUL or a
 * control character is refused, so a folder's index can never make a reader open a file
 * elsewhere.
 */
export function checkShardName(name: unknown, what: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what a shard name may not contain
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0-\x1f:]/.test(name) || name.length > 255) {
    throw new FormatError(`${what}: shard ${show(name)} must be a plain file name inside the model folder (no path separators, no '..', no drive)`);
  }
  return name;
}

/** Parse and check `model.safetensors.index.json`: a `weight_map` of tensor names to plain shard file names. */
export function parseShardIndex(input: TextOrBytes | Record<string, unknown>, what = INDEX_FILE): ShardIndex {
  const index = jsonObject(input, what);
  const map = index.weight_map;
  if (!isRecord(map)) throw new FormatError(`${what} has no weight_map object (got ${show(map)})`);
  const weightMap = new Map<string, string>();
  const shards = new Set<string>();
  for (const name of Object.keys(map)) {
    const shard = checkShardName(map[name], `${what} weight_map[${show(name)}]`);
    weightMap.set(name, shard);
    shards.add(shard);
  }
  if (weightMap.size === 0) throw new FormatError(`${what}: weight_map is empty`);
  return { weightMap, shards: [...shards] };
}

// ---- weights ----------------------------------------------------------------------

/**
 * Every tensor of a model's weights, from one file, a list of files, or shards by name
 * (checked against `index` when given: each shard holds exactly the tensors the index
 * assigns to it). A tensor name in two files is a FormatError naming both. Errors name
 * the file (`source`/name).
 */
export function weightsFromBytes(
  weights: PretrainedFiles['weights'],
  options: { index?: PretrainedFiles['index']; source?: string } = {},
): Record<string, Tensor> {
  const { source } = options;
  const files: [string, Bytes][] =
    weights instanceof Uint8Array || weights instanceof ArrayBuffer
      ? [[WEIGHTS_FILE, weights]]
      : Array.isArray(weights)
        ? (weights as readonly Bytes[]).map((b, i) => [`weights[${i}]`, b])
        : isRecord(weights)
          ? Object.keys(weights).map((name) => [name, (weights as Record<string, Bytes>)[name]!])
          : [];
  if (files.length === 0)
    throw new ValueError(`${fileLabel(source, 'weights')}: expected safetensors bytes, a list of them, or shards by file name, got ${show(weights)}`);
  const index = options.index === undefined ? undefined : parseShardIndex(options.index, fileLabel(source, INDEX_FILE));
  if (index) {
    const given = new Set(files.map(([name]) => name));
    const absent = index.shards.filter((s) => !given.has(s));
    if (absent.length > 0)
      throw new ValueError(`${fileLabel(source, INDEX_FILE)} names shard(s) ${absent.map((s) => `'${s}'`).join(', ')} that were not given`);
  }
  const out: Record<string, Tensor> = Object.create(null);
  const origin = new Map<string, string>();
  for (const [file, bytes] of files) {
    // Shards the index does not name are not read (a folder may hold other files).
    if (index && !index.shards.includes(file)) continue;
    const label = fileLabel(source, file);
    let tensors: Record<string, Tensor>;
    try {
      ({ tensors } = parseSafetensors(asUint8(bytes, label)));
    } catch (e) {
      throw relabel(e, label);
    }
    for (const name of Object.keys(tensors)) {
      const first = origin.get(name);
      if (first !== undefined) throw new FormatError(`tensor '${name}' is in both ${fileLabel(source, first)} and ${label}`);
      if (index && index.weightMap.get(name) !== file) {
        throw new FormatError(
          `${label} holds '${name}', which ${INDEX_FILE} assigns to ${index.weightMap.has(name) ? `'${index.weightMap.get(name)}'` : 'no shard'}`,
        );
      }
      origin.set(name, file);
      out[name] = tensors[name]!;
    }
  }
  if (index) {
    const absent = [...index.weightMap.keys()].filter((n) => !origin.has(n));
    if (absent.length > 0)
      throw new FormatError(
        `${fileLabel(source, INDEX_FILE)} lists tensors no shard holds: ${absent
          .slice(0, 5)
          .map((n) => `'${n}'`)
          .join(', ')}${absent.length > 5 ? ', …' : ''}`,
      );
  }
  return out;
}

/** The same error class with the file's label in front (messages name the file). */
function relabel(e: unknown, label: string): unknown {
  if (e instanceof FormatError) return new FormatError(`${label}: ${e.message}`);
  if (e instanceof ValueError) return new ValueError(`${label}: ${e.message}`);
  return e;
}

// ---- tokenizers ---------------------------------------------------------------------

/**
 * The tokenizer the files describe (tokenizer.json first, else vocab.txt), or null when
 * neither is given. With `vocabSize` (the model's), every token id must be below it: a
 * tokenizer that can emit an id the embedding lacks is refused here, not at the forward pass.
 */
export function tokenizerFromFiles(
  files: Pick<PretrainedFiles, 'tokenizerJson' | 'vocabTxt' | 'tokenizerConfig'>,
  options: { vocabSize?: number; source?: string } = {},
): AnyTokenizer | null {
  const { source } = options;
  let tokenizer: AnyTokenizer;
  let what: string;
  if (files.tokenizerJson !== undefined) {
    what = fileLabel(source, 'tokenizer.json');
    const json = checkTokenizerJson(jsonObject(files.tokenizerJson, what), what);
    tokenizer = json.model.type === 'WordPiece' ? new BertTokenizer(json) : new LlamaTokenizer(json);
  } else if (files.vocabTxt !== undefined) {
    what = fileLabel(source, 'vocab.txt');
    const config = files.tokenizerConfig === undefined ? {} : jsonObject(files.tokenizerConfig, fileLabel(source, 'tokenizer_config.json'));
    const lower = config.do_lower_case ?? true;
    if (typeof lower !== 'boolean')
      throw new FormatError(`${fileLabel(source, 'tokenizer_config.json')}: do_lower_case must be true or false, got ${show(lower)}`);
    const text = typeof files.vocabTxt === 'string' ? files.vocabTxt : decodeText(files.vocabTxt, what);
    tokenizer = new BertTokenizer(text, { doLowerCase: lower });
  } else {
    return null;
  }
  if (options.vocabSize !== undefined) {
    const ids = tokenizer.vocab.tokens.length; // one past the largest id
    if (ids > options.vocabSize) {
      throw new ValueError(
        `${what} has token ids up to ${ids - 1} ('${tokenizer.vocab.tokens[ids - 1]}'), but the model's vocab_size is ${options.vocabSize}: the embedding has no row for them`,
      );
    }
  }
  return tokenizer;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(bytes: Bytes, what: string): string {
  try {
    return UTF8.decode(asUint8(bytes, what));
  } catch (e) {
    if (e instanceof ValueError) throw e;
    throw new FormatError(`${what} is not valid UTF-8`);
  }
}

// ---- the whole folder ------------------------------------------------------------------

/**
 * Check a config before anything is built or read: its fields, its architecture, and its
 * size against `maxParameters` (ValueError naming the field or the computed size).
 */
export function checkPretrainedConfig(
  config: PretrainedFiles['config'],
  options: ConfigLimits & { source?: string } = {},
): { raw: Record<string, unknown>; architecture: PretrainedArchitecture; config: BertConfig | LlamaConfig; parameters: number } {
  const what = fileLabel(options.source, CONFIG_FILE);
  const raw = jsonObject(config, what);
  try {
    return { raw, ...resolveConfig(raw, options) };
  } catch (e) {
    throw relabel(e, what);
  }
}

/**
 * A model (and its tokenizer) from the bytes of a HF folder: the browser's
 * `loadPretrained`. See the file comment for the order of checks.
 *
 *     const model = await loadPretrainedFromBytes({
 *       config: await (await fetch(`${url}/config.json`)).text(),
 *       weights: await (await fetch(`${url}/model.safetensors`)).arrayBuffer(),
 *     });
 */
export function loadPretrainedFromBytes(files: PretrainedFiles, options: LoadOptions = {}): Pretrained {
  const { source } = options;
  const checked = checkPretrainedConfig(files.config, options);
  const tokenizer = tokenizerFromFiles(files, { vocabSize: checked.config.vocab_size, source });
  const tensors = weightsFromBytes(files.weights, { index: files.index, source });
  const strict = options.strict ?? true;
  if (strict) {
    // Every value the model stores must come from the weights, so they bound its size.
    let values = 0;
    for (const name of Object.keys(tensors)) values += tensors[name]!.numel;
    if (values < checked.parameters) {
      throw new ValueError(
        `${fileLabel(source, CONFIG_FILE)} describes a ${checked.architecture} of ${checked.parameters} values, but the weights hold only ${values}: the config does not match the weights`,
      );
    }
  }
  const model = modelFromConfig(checked.raw, options);
  loadWeights(model, tensors, { strict, source: fileLabel(source, files.index === undefined ? WEIGHTS_FILE : INDEX_FILE) });
  return { model, tokenizer, config: checked.raw };
}
