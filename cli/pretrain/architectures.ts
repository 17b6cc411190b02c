/**
 * What `sparsegrad pretrain` builds: the shipped architectures (HF config fields) and, per
 * model and size, the settings of the committed runs that wrote cli/pretrained/
 * (cli/pretrained/README.md).
 */
export type PretrainModel = 'bert' | 'llama';
export type PretrainSize = 'mini' | 'small';

/** The shipped architectures (HF config fields). */
const BERT_MINI: Record<string, unknown> = {
  architectures: ['BertForMaskedLM'],
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 512,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 128,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  torch_dtype: 'float16',
};

const LLAMA_MINI: Record<string, unknown> = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 32000,
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  hidden_act: 'silu',
  max_position_embeddings: 256,
  initializer_range: 0.02,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'float16',
};

/** BERT-small: 4 layers × 256 (4 heads of 64), FFN 1024 — the mini's vocabulary and positions. */
export const BERT_SMALL: Record<string, unknown> = { ...BERT_MINI, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 };

/** LLaMa-small: 4 layers × 256, GQA with 4 query / 2 key-value heads of 64, SwiGLU 688 (≈ 8/3 · 256, as LLaMa sizes it). */
export const LLAMA_SMALL: Record<string, unknown> = {
  ...LLAMA_MINI,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 64,
};

/** The architecture of each model and size. */
export const ARCHITECTURES: Record<PretrainModel, Record<PretrainSize, Record<string, unknown>>> = {
  bert: { mini: BERT_MINI, small: BERT_SMALL },
  llama: { mini: LLAMA_MINI, small: LLAMA_SMALL },
};

/** Defaults per model and size: the settings of the committed runs (cli/pretrained/README.md). */
export const DEFAULTS = {
  bert: {
    mini: { steps: 600, batchSize: 16, seqLength: 128, lr: 2e-3, evalSequences: 512 },
    small: { steps: 1000, batchSize: 16, seqLength: 128, lr: 1e-3, evalSequences: 512 },
  },
  llama: {
    mini: { steps: 450, batchSize: 4, seqLength: 256, lr: 2e-3, evalSequences: 96 },
    small: { steps: 800, batchSize: 4, seqLength: 256, lr: 1e-3, evalSequences: 96 },
  },
} as const;
