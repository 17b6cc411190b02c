/**
 * LLaMa (Touvron et al. 2023) with Hugging Face's module tree and parameter names
 * (`model.layers.0.self_attn.q_proj.weight`, …):
 *
 *   each layer (pre-norm):  h = x + o_proj(attention(input_layernorm(x)))     causal, RoPE, GQA
 *                           y = h + down_proj(silu(gate_proj(n)) ⊙ up_proj(n)),  n = post_attention_layernorm(h)
 *   model.norm (RMSNorm) → lm_head (optionally tied to embed_tokens: one Parameter, two names)
 *
 * Generation lives in models/generate.ts and uses the attention KV cache.
 */
import { crossEntropy } from '../core/ops/nn.ts';
import { DTypeError, ShapeError } from '../base/errors.ts';
import { formatShape } from '../base/shape.ts';
import { tensor } from '../core/creation.ts';
import { defaultGenerator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { KVCache, LLAMA_NAMES, MultiHeadAttention } from '../nn/attention.ts';
import { Embedding } from '../nn/embedding.ts';
import { Linear } from '../nn/linear.ts';
import { SwiGLU } from '../nn/mlp.ts';
import { Module } from '../nn/module.ts';
import { RMSNorm } from '../nn/norm.ts';
import type { BuildOptions } from './bert.ts';
import type { LlamaConfig } from './config.ts';

export interface LlamaInputs {
  inputIds: Tensor;
  /** 1 for real tokens, 0 for padding, over cached + new tokens. */
  attentionMask?: Tensor;
  /** RoPE positions [S] or [B, S]; default continues after the cache. */
  positionIds?: Tensor;
  kvCache?: KVCache;
}

export class LlamaDecoderLayer extends Module {
  self_attn: MultiHeadAttention;
  mlp: SwiGLU;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(c: LlamaConfig, index: number, o: BuildOptions) {
    super();
    this.self_attn = new MultiHeadAttention({
      hidden: c.hidden_size,
      numHeads: c.num_attention_heads,
      numKvHeads: c.num_key_value_heads,
      headDim: c.head_dim,
      bias: c.attention_bias,
      rope: { theta: c.rope_theta },
      causal: true,
      names: LLAMA_NAMES,
      layerIndex: index,
      dtype: o.dtype,
      generator: o.generator,
    });
    this.mlp = new SwiGLU(c.hidden_size, c.intermediate_size, o);
    this.input_layernorm = new RMSNorm(c.hidden_size, { eps: c.rms_norm_eps, dtype: o.dtype });
    this.post_attention_layernorm = new RMSNorm(c.hidden_size, { eps: c.rms_norm_eps, dtype: o.dtype });
  }

  forward(x: Tensor, inputs: Omit<LlamaInputs, 'inputIds'>): Tensor {
    const h = x.add(
      this.self_attn.forward(this.input_layernorm.forward(x), {
        attentionMask: inputs.attentionMask,
        positions: inputs.positionIds,
        kvCache: inputs.kvCache,
      }),
    );
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

export class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: LlamaDecoderLayer[];
  norm: RMSNorm;

  constructor(
    readonly config: LlamaConfig,
    o: BuildOptions = {},
  ) {
    super();
    const opts = { dtype: o.dtype, generator: o.generator ?? defaultGenerator };
    this.embed_tokens = new Embedding(config.vocab_size, config.hidden_size, opts);
    this.layers = Array.from({ length: config.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(config, i, opts));
    this.norm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps, dtype: o.dtype });
  }

  /** Returns HF's hidden_states: [embeddings, after layer 1, …, after layer L−1, final norm output]. */
  forward(inputs: LlamaInputs): Tensor[] {
    const ids = inputs.inputIds;
    if (ids.rank !== 2 || ids.dtype !== 'int32') throw new ShapeError(`LlamaModel: expected int32 inputIds [batch, seq], got ${ids.dtype} [${ids.shape}]`);
    const states = [this.embed_tokens.forward(ids)];
    for (const layer of this.layers) states.push(layer.forward(states.at(-1)!, inputs));
    states[states.length - 1] = this.norm.forward(states.at(-1)!);
    return states;
  }
}

export interface CausalLMOutputs {
  logits: Tensor;
  hiddenStates: Tensor[];
  /** Next-token cross-entropy when labels were given (labels shifted inside, −100 ignored), as HF. */
  loss?: Tensor;
}

/**
 * The flat next-token targets of `labels` [B, S] (int32): row b·S + t holds labels[b, t + 1],
 * and the last position of each sequence holds −100 (ignored by crossEntropy). With them the
 * logits [B·S, vocab] are used as they are: no slice, no copy of the whole head's output.
 */
export function nextTokenTargets(labels: Tensor): Tensor {
  const [batch, seq] = labels.shape as [number, number];
  const ids = labels.toTypedArray() as Int32Array;
  const shifted = new Int32Array(batch * seq).fill(-100);
  for (let b = 0; b < batch; b++) shifted.set(ids.subarray(b * seq + 1, (b + 1) * seq), b * seq);
  return tensor(shifted);
}

/**
 * HF's LlamaForCausalLM: the decoder stack and the LM head; with `labels`, the next-token loss.
 *
 * @example
 * ```ts
 * import { LlamaForCausalLM, llamaConfig } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const config = llamaConfig({ vocab_size: 32, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 });
 * const ids = tensor([[1, 5, 9, 3]], { dtype: 'int32' });
 * const { logits, loss } = new LlamaForCausalLM(config).forward({ inputIds: ids, labels: ids });
 * logits.shape; // => [1, 4, 32]
 * loss!.item() > 0; // => true
 * ```
 */
export class LlamaForCausalLM extends Module {
  model: LlamaModel;
  lm_head: Linear;

  constructor(
    readonly config: LlamaConfig,
    o: BuildOptions = {},
  ) {
    super();
    const generator = o.generator ?? defaultGenerator;
    this.model = new LlamaModel(config, { ...o, generator });
    this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false, dtype: o.dtype, generator });
    if (config.tie_word_embeddings) this.lm_head.weight = this.model.embed_tokens.weight;
  }

  /** `labels` [B, S] int32, usually the input ids: position t predicts labels[t + 1]. */
  forward(inputs: LlamaInputs & { labels?: Tensor }): CausalLMOutputs {
    const hiddenStates = this.model.forward(inputs);
    const logits = this.lm_head.forward(hiddenStates.at(-1)!);
    if (!inputs.labels) return { logits, hiddenStates };
    // Position t predicts labels[t + 1]: the labels move left and the last position is
    // ignored, rather than the logits being sliced — a slice's backward would allocate and
    // fill a zero gradient the size of all the logits ([B, S, vocab]) to copy into.
    if (inputs.labels.dtype !== 'int32') throw new DTypeError(`LlamaForCausalLM.forward(): labels must be int32, got ${inputs.labels.dtype}`);
    if (inputs.labels.rank !== 2) throw new ShapeError(`LlamaForCausalLM.forward(): labels must be [batch, seq], got ${formatShape(inputs.labels.shape)}`);
    const loss = crossEntropy(logits.reshape([-1, this.config.vocab_size]), nextTokenTargets(inputs.labels), { ignoreIndex: -100 });
    return { logits, hiddenStates, loss };
  }

  /** A fresh cache for incremental decoding. */
  newCache(): KVCache {
    return new KVCache();
  }
}
