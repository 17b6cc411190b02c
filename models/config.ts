/**
 * Model configurations read from Hugging Face `config.json` files, with HF's own field
 * names (snake_case), so a downloaded folder's config loads as is. Validation names the
 * field and the bad value: a wrong config is the commonest way to load a model wrongly.
 */
import { ValueError } from '../base/errors.ts';
import { isRecord, show } from './json.ts';

export interface BertConfig {
  model_type: 'bert';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** "gelu" (exact erf form, BERT's) or "gelu_new"/"gelu_pytorch_tanh" (tanh approximation). */
  hidden_act: 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  /** The padding token, whose embedding row starts at zero and gets no gradient; null for none. */
  pad_token_id: number | null;
  /** Sequence-classification head size; 1 means regression (MSE), as in HF. */
  num_labels: number;
  classifier_dropout: number | null;
}

export interface LlamaConfig {
  model_type: 'llama';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** Per-head size; HF's default is hidden_size / num_attention_heads. */
  head_dim: number;
  hidden_act: 'silu';
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  /** null when the vocabulary has no such token (generation then stops only at maxNewTokens). */
  bos_token_id: number | null;
  eos_token_id: number | null;
}

const BERT_DEFAULTS: Omit<BertConfig, 'vocab_size'> = {
  model_type: 'bert',
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  num_labels: 2,
  classifier_dropout: null,
};

/** HF's LlamaConfig defaults for everything but the sizes, which a config.json must state. */
const LLAMA_DEFAULTS: Omit<LlamaConfig, (typeof REQUIRED_SIZES)[number] | 'num_key_value_heads' | 'head_dim'> = {
  model_type: 'llama',
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
};

type Raw = Record<string, unknown>;

/** Bounds on what a config may ask for, checked before anything is allocated. */
export interface ConfigLimits {
  /**
   * Largest model built, in stored values (parameters and persistent buffers, tied weights
   * once). Default DEFAULT_MAX_PARAMETERS; raise it to build a bigger model on purpose.
   */
  maxParameters?: number;
  /** Most hidden layers (default DEFAULT_MAX_LAYERS): each layer is a dozen modules, built one by one. */
  maxLayers?: number;
}

/** 2^30 values: 4 GiB as float32, past what a JavaScript engine trains in memory. */
export const DEFAULT_MAX_PARAMETERS = 2 ** 30;
/** Real models have at most ~130 layers; a few thousand would only be a typo or an attack. */
export const DEFAULT_MAX_LAYERS = 1024;
/** Every size and id is an int32 somewhere (token ids, typed-array lengths). */
const MAX_SIZE = 2 ** 31 - 1;

/** The sizes a config.json must state: every tensor's shape depends on them, and no default fits a given checkpoint. */
export const REQUIRED_SIZES = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'] as const;

function bad(field: string, what: string, v: unknown): never {
  throw new ValueError(`config.${field} must be ${what}, got ${show(v)}`);
}

function positiveInt(c: Raw, field: string): void {
  const v = c[field];
  if (!Number.isSafeInteger(v) || (v as number) <= 0 || (v as number) > MAX_SIZE) bad(field, `a positive integer ≤ ${MAX_SIZE}`, v);
}

function probability(c: Raw, field: string): void {
  const v = c[field];
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) bad(field, 'a probability in [0, 1)', v);
}

function positiveNumber(c: Raw, field: string): void {
  const v = c[field];
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) bad(field, 'a finite positive number', v);
}

function boolean(c: Raw, field: string): void {
  if (typeof c[field] !== 'boolean') bad(field, 'true or false', c[field]);
}

/** A token id the model embeds: an integer in [0, vocab_size), or null for none. */
function tokenId(c: Raw, field: string): void {
  const v = c[field];
  if (v !== null && !(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < (c.vocab_size as number))) {
    bad(field, `null or a token id in [0, vocab_size = ${c.vocab_size})`, v);
  }
}

function divisible(c: Raw, field: string, by: string): void {
  if ((c[field] as number) % (c[by] as number) !== 0) {
    throw new ValueError(`config.${field} (${c[field]}) must be divisible by config.${by} (${c[by]})`);
  }
}

/** ValueError naming every field of `fields` that `raw` lacks (undefined or null). */
export function required(raw: Raw, fields: readonly string[]): void {
  const absent = fields.filter((f) => raw[f] === undefined || raw[f] === null);
  if (absent.length > 0)
    throw new ValueError(
      `config.json must give ${absent.map((f) => `'${f}'`).join(', ')}: the weights' shapes depend on ${absent.length > 1 ? 'them' : 'it'}, and no default fits every checkpoint`,
    );
}

function layers(c: Raw, limits: ConfigLimits): void {
  const max = limits.maxLayers ?? DEFAULT_MAX_LAYERS;
  if ((c.num_hidden_layers as number) > max) {
    throw new ValueError(`config.num_hidden_layers is ${c.num_hidden_layers}, more than the limit of ${max} (raise it with the maxLayers option)`);
  }
}

/** HF stores num_labels implicitly as the size of id2label. */
function numLabels(raw: Raw): unknown {
  if (raw.num_labels !== undefined) return raw.num_labels;
  if (isRecord(raw.id2label)) return Object.keys(raw.id2label).length;
  return undefined;
}

/**
 * A BERT config from HF's fields, every one checked (type, range, integer sizes) and named
 * in the error. Absent fields take HF's BertConfig defaults, except the sizes of the
 * tensors (vocab_size, hidden_size, num_attention_heads, intermediate_size), which no
 * default could match; `modelFromConfig` also requires num_hidden_layers.
 *
 * @example
 * ```ts
 * import { bertConfig } from 'sparsegrad/models';
 * const config = bertConfig({ vocab_size: 30, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 });
 * config.layer_norm_eps; // => 1e-12
 * ```
 */
export function bertConfig(raw: Raw, limits: ConfigLimits = {}): BertConfig {
  if (!isRecord(raw)) throw new ValueError(`bertConfig(): the config must be a JSON object, got ${show(raw)}`);
  if (raw.model_type !== undefined && raw.model_type !== 'bert') throw new ValueError(`config.model_type must be "bert", got ${show(raw.model_type)}`);
  required(raw, ['vocab_size', 'hidden_size', 'num_attention_heads', 'intermediate_size']);
  const c = { ...BERT_DEFAULTS, ...stripUndefined(raw), model_type: 'bert', num_labels: numLabels(raw) ?? BERT_DEFAULTS.num_labels } as Raw;
  for (const f of [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
    'num_labels',
  ])
    positiveInt(c, f);
  layers(c, limits);
  for (const f of ['hidden_dropout_prob', 'attention_probs_dropout_prob']) probability(c, f);
  if (c.classifier_dropout !== null) probability(c, 'classifier_dropout');
  positiveNumber(c, 'layer_norm_eps');
  tokenId(c, 'pad_token_id');
  divisible(c, 'hidden_size', 'num_attention_heads');
  if (!['gelu', 'gelu_new', 'gelu_pytorch_tanh'].includes(c.hidden_act as string)) {
    throw new ValueError(`config.hidden_act must be one of "gelu", "gelu_new", "gelu_pytorch_tanh", got ${show(c.hidden_act)}`);
  }
  if (c.position_embedding_type !== undefined && c.position_embedding_type !== 'absolute') {
    throw new ValueError(`config.position_embedding_type ${show(c.position_embedding_type)} is not supported (absolute positions only)`);
  }
  return c as unknown as BertConfig;
}

/**
 * A LLaMa config from HF's fields, checked as bertConfig's. No size has a default (HF's
 * 4096-wide LLaMa-7B defaults would allocate gigabytes before the weights could disagree).
 *
 * @example
 * ```ts
 * import { llamaConfig } from 'sparsegrad/models';
 * const config = llamaConfig({ vocab_size: 32, hidden_size: 8, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 16, num_hidden_layers: 2 });
 * config.rope_theta; // => 10000
 * ```
 */
export function llamaConfig(raw: Raw, limits: ConfigLimits = {}): LlamaConfig {
  if (!isRecord(raw)) throw new ValueError(`llamaConfig(): the config must be a JSON object, got ${show(raw)}`);
  if (raw.model_type !== undefined && raw.model_type !== 'llama') throw new ValueError(`config.model_type must be "llama", got ${show(raw.model_type)}`);
  required(raw, REQUIRED_SIZES);
  const c = { ...LLAMA_DEFAULTS, ...stripUndefined(raw), model_type: 'llama' } as Raw;
  if (Array.isArray(c.eos_token_id)) c.eos_token_id = c.eos_token_id.length > 0 ? c.eos_token_id[0] : null;
  c.num_key_value_heads ??= c.num_attention_heads;
  for (const f of [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'max_position_embeddings',
  ])
    positiveInt(c, f);
  layers(c, limits);
  if (c.head_dim === undefined || c.head_dim === null) {
    divisible(c, 'hidden_size', 'num_attention_heads');
    c.head_dim = (c.hidden_size as number) / (c.num_attention_heads as number);
  }
  positiveInt(c, 'head_dim');
  positiveNumber(c, 'rms_norm_eps');
  positiveNumber(c, 'rope_theta');
  boolean(c, 'tie_word_embeddings');
  boolean(c, 'attention_bias');
  for (const f of ['bos_token_id', 'eos_token_id']) {
    // HF's defaults (1 and 2) do not exist in a vocabulary smaller than that: no such token then.
    if (raw[f] === undefined && (c[f] as number) >= (c.vocab_size as number)) c[f] = null;
    tokenId(c, f);
  }
  divisible(c, 'num_attention_heads', 'num_key_value_heads');
  if ((c.head_dim as number) % 2 !== 0) throw new ValueError(`config.head_dim must be even for rotary embeddings, got ${c.head_dim}`);
  if (c.mlp_bias !== undefined && c.mlp_bias !== null && c.mlp_bias !== false)
    throw new ValueError(`config.mlp_bias ${show(c.mlp_bias)} is not supported (LLaMa MLPs have no bias)`);
  if (c.hidden_act !== 'silu') throw new ValueError(`config.hidden_act must be "silu" for LLaMa, got ${show(c.hidden_act)}`);
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) throw new ValueError('config.rope_scaling is not supported (plain rotary embeddings only)');
  return c as unknown as LlamaConfig;
}

/**
 * Values a model of this architecture stores (what `exportWeights` writes: parameters and
 * persistent buffers, tied weights once), from the config alone, so a size bound can be
 * checked before anything is allocated. Computed in float64: exact below 2^53, and above
 * it still far past any bound.
 *
 * @example
 * ```ts
 * import { BertModel, bertConfig, parameterCount } from 'sparsegrad/models';
 * const config = bertConfig({ vocab_size: 30, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 });
 * const counted = new BertModel(config).parameters().reduce((n, p) => n + p.numel, 0);
 * parameterCount('BertModel', config) === counted; // => true
 * ```
 */
export function parameterCount(architecture: PretrainedArchitecture, config: BertConfig | LlamaConfig): number {
  if (config.model_type === 'llama') {
    const {
      vocab_size: V,
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: L,
      num_attention_heads: nH,
      num_key_value_heads: nKV,
      head_dim: hd,
      attention_bias,
    } = config;
    const b = attention_bias ? 1 : 0;
    const attention = H * nH * hd + 2 * H * nKV * hd + nH * hd * H + b * (nH * hd + 2 * nKV * hd + H);
    const layer = attention + 3 * H * I + 2 * H;
    return V * H + L * layer + H + (config.tie_word_embeddings ? 0 : V * H);
  }
  const { vocab_size: V, hidden_size: H, intermediate_size: I, num_hidden_layers: L, max_position_embeddings: P, type_vocab_size: T, num_labels: C } = config;
  const embeddings = (V + P + T) * H + 2 * H;
  // q, k, v, o with biases; two LayerNorms; the MLP's two linears with biases.
  const layer = 4 * (H * H + H) + 2 * (2 * H) + (H * I + I) + (I * H + H);
  const encoder = embeddings + L * layer;
  const pooler = H * H + H;
  switch (architecture) {
    case 'BertModel':
      return encoder + pooler;
    case 'BertForSequenceClassification':
      return encoder + pooler + H * C + C;
    // No pooler; the transform (dense + LayerNorm) and the decoder bias; the decoder weight is the tied embedding.
    case 'BertForMaskedLM':
      return encoder + (H * H + H) + 2 * H + V;
    // The masked-LM head as above, plus the pooler and the two-way next-sentence classifier.
    case 'BertForPreTraining':
      return encoder + pooler + (H * H + H) + 2 * H + V + 2 * H + 2;
    default:
      throw new ValueError(`parameterCount(): ${architecture} is not a BERT architecture`);
  }
}

/** The architectures modelFromConfig builds. */
export type PretrainedArchitecture = 'BertModel' | 'BertForSequenceClassification' | 'BertForMaskedLM' | 'BertForPreTraining' | 'LlamaForCausalLM';

/** Refuse a model whose size exceeds the limit, naming the computed size (before anything is allocated). */
export function checkModelSize(architecture: PretrainedArchitecture, config: BertConfig | LlamaConfig, limits: ConfigLimits = {}): number {
  const max = limits.maxParameters ?? DEFAULT_MAX_PARAMETERS;
  const count = parameterCount(architecture, config);
  if (count > max) {
    throw new ValueError(
      `config.json describes a ${architecture} of ${count.toExponential(3)} values (hidden_size ${config.hidden_size}, intermediate_size ${config.intermediate_size}, num_hidden_layers ${config.num_hidden_layers}, vocab_size ${config.vocab_size}), more than the limit of ${max} (raise it with the maxParameters option)`,
    );
  }
  return count;
}

function stripUndefined(raw: Raw): Raw {
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}
