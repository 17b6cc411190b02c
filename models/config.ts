/**
 * Model configurations read from Hugging Face `config.json` files, with HF's own field
 * names (snake_case), so a downloaded folder's config loads as is. Validation names the
 * field and the bad value: a wrong config is the commonest way to load a model wrongly.
 */
import { ValueError } from '../base/errors.ts';

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
  pad_token_id: number;
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
  bos_token_id: number;
  eos_token_id: number;
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

const LLAMA_DEFAULTS: Omit<LlamaConfig, 'vocab_size' | 'num_key_value_heads' | 'head_dim'> = {
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
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

function positiveInt(c: Raw, field: string): void {
  const v = c[field];
  if (!Number.isInteger(v) || (v as number) <= 0) throw new ValueError(`config.${field} must be a positive integer, got ${JSON.stringify(v)}`);
}

function probability(c: Raw, field: string): void {
  const v = c[field];
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ValueError(`config.${field} must be a probability in [0, 1), got ${JSON.stringify(v)}`);
}

function positiveNumber(c: Raw, field: string): void {
  const v = c[field];
  if (typeof v !== 'number' || !(v > 0)) throw new ValueError(`config.${field} must be a positive number, got ${JSON.stringify(v)}`);
}

function divisible(c: Raw, field: string, by: string): void {
  if ((c[field] as number) % (c[by] as number) !== 0) {
    throw new ValueError(`config.${field} (${c[field]}) must be divisible by config.${by} (${c[by]})`);
  }
}

/** HF stores num_labels implicitly as the size of id2label. */
function numLabels(raw: Raw): number | undefined {
  if (raw.num_labels !== undefined) return raw.num_labels as number;
  if (raw.id2label && typeof raw.id2label === 'object') return Object.keys(raw.id2label).length;
  return undefined;
}

export function bertConfig(raw: Raw): BertConfig {
  if (raw.model_type !== undefined && raw.model_type !== 'bert') throw new ValueError(`config.model_type must be "bert", got ${JSON.stringify(raw.model_type)}`);
  const c = { ...BERT_DEFAULTS, ...stripUndefined(raw), model_type: 'bert', num_labels: numLabels(raw) ?? BERT_DEFAULTS.num_labels } as Raw;
  for (const f of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size', 'num_labels']) positiveInt(c, f);
  for (const f of ['hidden_dropout_prob', 'attention_probs_dropout_prob']) probability(c, f);
  if (c.classifier_dropout !== null) probability(c, 'classifier_dropout');
  positiveNumber(c, 'layer_norm_eps');
  divisible(c, 'hidden_size', 'num_attention_heads');
  if (!['gelu', 'gelu_new', 'gelu_pytorch_tanh'].includes(c.hidden_act as string)) {
    throw new ValueError(`config.hidden_act must be one of "gelu", "gelu_new", "gelu_pytorch_tanh", got ${JSON.stringify(c.hidden_act)}`);
  }
  return c as unknown as BertConfig;
}

export function llamaConfig(raw: Raw): LlamaConfig {
  if (raw.model_type !== undefined && raw.model_type !== 'llama') throw new ValueError(`config.model_type must be "llama", got ${JSON.stringify(raw.model_type)}`);
  const c = { ...LLAMA_DEFAULTS, ...stripUndefined(raw), model_type: 'llama' } as Raw;
  if (Array.isArray(c.eos_token_id)) c.eos_token_id = c.eos_token_id[0];
  c.num_key_value_heads ??= c.num_attention_heads;
  if (c.head_dim === undefined || c.head_dim === null) {
    divisible(c, 'hidden_size', 'num_attention_heads');
    c.head_dim = (c.hidden_size as number) / (c.num_attention_heads as number);
  }
  for (const f of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'max_position_embeddings']) positiveInt(c, f);
  positiveNumber(c, 'rms_norm_eps');
  positiveNumber(c, 'rope_theta');
  divisible(c, 'num_attention_heads', 'num_key_value_heads');
  if ((c.head_dim as number) % 2 !== 0) throw new ValueError(`config.head_dim must be even for rotary embeddings, got ${c.head_dim}`);
  if (c.mlp_bias) throw new ValueError('config.mlp_bias is not supported (LLaMa MLPs have no bias)');
  if (c.hidden_act !== 'silu') throw new ValueError(`config.hidden_act must be "silu" for LLaMa, got ${JSON.stringify(c.hidden_act)}`);
  if ((c as { rope_scaling?: unknown }).rope_scaling) throw new ValueError('config.rope_scaling is not supported (plain rotary embeddings only)');
  return c as unknown as LlamaConfig;
}

function stripUndefined(raw: Raw): Raw {
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}
