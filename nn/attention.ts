/**
 * MultiHeadAttention: scaled dot-product attention with what both model families need —
 * padding and causal masks, grouped-query attention (GQA), rotary embeddings and a KV
 * cache for incremental decoding.
 *
 * One module, two checkpoint layouts. The projections are Linear children whose field
 * names come from `names`, so parameters carry the checkpoint's own dotted names and
 * name-based surgery (LoRA on "query"/"value" or on "q_proj"/"v_proj") works unchanged:
 *  - HF LLaMa `self_attn`: LLAMA_NAMES (q_proj, k_proj, v_proj, o_proj), bias false, rope,
 *    causal, numKvHeads < numHeads.
 *  - HF BERT `attention.self`: BERT_NAMES (query, key, value; o null). HF keeps BERT's
 *    output projection `attention.output.dense` beside the residual and LayerNorm in
 *    BertSelfOutput, so with o null this module returns the heads' concatenated context
 *    [B, S, numHeads·headDim] and the BERT model applies its own `attention.output`.
 * Projections are looked up by name at every forward, so a module put in their place by
 * `replaceModule` (LoRA, SparseGrad) is the one that runs.
 *
 * Masking follows HF: a masked score becomes torch.finfo(dtype).min (not −Inf), keys only;
 * padded query rows are still computed. A query that may see no key at all (every visible
 * key padded) thus gets equal scores everywhere and attends uniformly to all keys of its
 * row, as in HF — never NaN. Such rows are garbage by construction; callers ignore them.
 *
 * GQA: head h reads KV head ⌊h / (numHeads/numKvHeads)⌋ (HF's repeat_kv). Queries are
 * viewed as [B, kvHeads, group, S, d] and keys as [B, kvHeads, 1, T, d], so the batched
 * matmul broadcasts each KV head over its group: nothing is repeated in memory, and the
 * backward sums the group's gradients back onto the shared head.
 */
import { arange } from '../core/creation.ts';
import type { FloatDType } from '../base/dtype.ts';
import { ShapeError, ValueError } from '../base/errors.ts';
import { compare, where } from '../core/ops/elementwise.ts';
import { cat } from '../core/ops/movement.ts';
import { dropout } from '../core/ops/nn.ts';
import { defaultGenerator, type Generator } from '../core/random.ts';
import { formatShape, sameShape } from '../base/shape.ts';
import { Tensor } from '../core/tensor.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';
import { applyRope, ropeCache } from './rope.ts';

/** Field names of the four projections; o null means "no output projection here". */
export interface AttentionNames {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly o: string | null;
}
export const LLAMA_NAMES: AttentionNames = Object.freeze({ q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj' });
export const BERT_NAMES: AttentionNames = Object.freeze({ q: 'query', k: 'key', v: 'value', o: null });

export interface AttentionOptions {
  hidden: number;
  numHeads: number;
  /** KV heads for GQA; must divide numHeads. Default numHeads (plain multi-head attention). */
  numKvHeads?: number;
  /** Default hidden / numHeads. */
  headDim?: number;
  /** Biases on all projections (BERT: true, LLaMa: false). Default true, as Linear. */
  bias?: boolean;
  /** Rotary embeddings on q and k (HF rotate-half layout), e.g. { theta: 10000 }. */
  rope?: { theta: number };
  /** Query i sees keys ≤ i only. Default false. */
  causal?: boolean;
  /** Default LLAMA_NAMES. */
  names?: AttentionNames;
  /** This module's slot in a KVCache (HF's layer_idx). Default 0. */
  layerIndex?: number;
  /** Dropout on the attention probabilities in training mode (BERT's attention_probs_dropout_prob). Default 0. */
  dropout?: number;
  dtype?: FloatDType;
  generator?: Generator;
}

export interface AttentionInputs {
  /** [B, T] over all keys (cached ones first): nonzero attends, 0 is padding. */
  attentionMask?: Tensor;
  /** RoPE positions of the new tokens, [S] or [B, S]. Default positionOffset + 0..S−1. */
  positions?: Tensor | readonly number[];
  /** First RoPE position when `positions` is absent. Default: the tokens already in kvCache. */
  positionOffset?: number;
  /** Past keys/values; this call's are appended. */
  kvCache?: KVCache;
}

type Role = 'q' | 'k' | 'v' | 'o';
type Projection = Module & { forward(x: Tensor): Tensor };

/** torch.finfo(dtype).min: what HF puts at masked scores. */
const FINFO_MIN: Record<FloatDType, number> = { float32: -3.4028234663852886e38, float64: -Number.MAX_VALUE };

/**
 * Multi-head attention with masks, GQA, RoPE and a KV cache (above).
 *
 * @example
 * ```ts
 * import { LLAMA_NAMES, MultiHeadAttention } from 'sparsegrad/nn';
 * import { randn } from 'sparsegrad';
 * const attn = new MultiHeadAttention({ hidden: 8, numHeads: 2, numKvHeads: 1, causal: true, rope: { theta: 10000 }, names: LLAMA_NAMES });
 * attn.forward(randn([1, 5, 8])).shape; // => [1, 5, 8]
 * attn.namedChildren().map(([name]) => name); // => ['q_proj', 'k_proj', 'v_proj', 'o_proj']
 * ```
 */
export class MultiHeadAttention extends Module {
  readonly hidden: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly rope: { readonly theta: number } | null;
  readonly names: AttentionNames;
  readonly layerIndex: number;
  readonly dropout: number;
  private readonly generator: Generator;

  constructor(options: AttentionOptions) {
    super();
    const { hidden, numHeads, numKvHeads = numHeads } = options;
    for (const [name, n] of Object.entries({ hidden, numHeads, numKvHeads })) {
      if (!Number.isInteger(n) || n <= 0) throw new ValueError(`MultiHeadAttention: ${name} must be a positive integer, got ${n}`);
    }
    if (options.headDim === undefined && hidden % numHeads !== 0) {
      throw new ValueError(`MultiHeadAttention: hidden (${hidden}) is not divisible by numHeads (${numHeads}); pass headDim to choose the head size`);
    }
    if (numHeads % numKvHeads !== 0) throw new ValueError(`MultiHeadAttention: numHeads (${numHeads}) must be divisible by numKvHeads (${numKvHeads})`);
    const headDim = options.headDim ?? hidden / numHeads;
    if (!Number.isInteger(headDim) || headDim <= 0) throw new ValueError(`MultiHeadAttention: headDim must be a positive integer, got ${headDim}`);
    if (options.rope && headDim % 2 !== 0) throw new ValueError(`MultiHeadAttention: rotary embeddings need an even headDim, got ${headDim}`);
    this.hidden = hidden;
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
    this.causal = options.causal ?? false;
    this.rope = options.rope ?? null;
    this.names = options.names ?? LLAMA_NAMES;
    this.layerIndex = options.layerIndex ?? 0;
    this.dropout = options.dropout ?? 0;
    this.generator = options.generator ?? defaultGenerator;

    const linear = (inF: number, outF: number) => new Linear(inF, outF, { bias: options.bias ?? true, dtype: options.dtype, generator: this.generator });
    const shapes: [Role, number, number][] = [
      ['q', hidden, numHeads * headDim],
      ['k', hidden, numKvHeads * headDim],
      ['v', hidden, numKvHeads * headDim],
      ['o', numHeads * headDim, hidden],
    ];
    for (const [role, inF, outF] of shapes) {
      const name = this.names[role];
      if (name === null) continue;
      if (name in this)
        throw new ValueError(
          `MultiHeadAttention: projection name '${name}' is already taken (names must be distinct and not clash with the module's own fields)`,
        );
      (this as unknown as Record<string, Module>)[name] = linear(inF, outF);
    }
  }

  /** x [B, S, hidden] → [B, S, hidden] (or [B, S, numHeads·headDim] without an output projection). */
  forward(x: Tensor, inputs: AttentionInputs = {}): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.hidden)
      throw new ShapeError(`MultiHeadAttention: expected input [batch, seq, ${this.hidden}], got ${formatShape(x.shape)}`);
    const [batch, seq] = x.shape as [number, number];
    const { numHeads, numKvHeads, headDim } = this;
    const past = inputs.kvCache?.length(this.layerIndex) ?? 0;
    // Heads as views: q [B, kvHeads, group, S, d]; k and v [B, kvHeads, S, d] (the cache's layout).
    let q = this.project('q', x)
      .reshape([batch, seq, numKvHeads, numHeads / numKvHeads, headDim])
      .permute(0, 2, 3, 1, 4);
    const heads = (t: Tensor) => t.reshape([batch, seq, numKvHeads, headDim]).permute(0, 2, 1, 3);
    let k = heads(this.project('k', x));
    let v = heads(this.project('v', x));
    if (this.rope) {
      const { cos, sin } = this.ropeTables(inputs, batch, seq, past, x.dtype as FloatDType);
      q = applyRope(q, cos.unsqueeze(1), sin.unsqueeze(1));
      k = applyRope(k, cos, sin);
    }
    if (inputs.kvCache) ({ k, v } = inputs.kvCache.update(this.layerIndex, k, v));
    const scores = q.matmul(k.unsqueeze(2).transpose(-2, -1)).mul(1 / Math.sqrt(headDim));
    const keep = this.keepMask(inputs.attentionMask, batch, seq, k.shape[2]!);
    const probs = (keep ? where(keep, scores, FINFO_MIN[x.dtype as FloatDType]) : scores).softmax(-1);
    const dropped = dropout(probs, this.dropout, { training: this.training, generator: this.generator });
    const context = dropped
      .matmul(v.unsqueeze(2))
      .permute(0, 3, 1, 2, 4)
      .reshape([batch, seq, numHeads * headDim]);
    return this.names.o === null ? context : this.project('o', context);
  }

  private project(role: Role, x: Tensor): Tensor {
    return (this as unknown as Record<string, Projection>)[this.names[role]!]!.forward(x);
  }

  /** cos/sin as [B or 1, 1, S, d], broadcasting over heads. */
  private ropeTables(inputs: AttentionInputs, batch: number, seq: number, past: number, dtype: FloatDType) {
    const start = inputs.positionOffset ?? past;
    const positions = inputs.positions ?? Array.from({ length: seq }, (_, i) => start + i);
    const shape = positions instanceof Tensor ? positions.shape : [positions.length];
    if (!sameShape(shape, [seq]) && !sameShape(shape, [batch, seq])) {
      throw new ShapeError(`MultiHeadAttention: positions must have shape [${seq}] or [${batch}, ${seq}], got ${formatShape(shape)}`);
    }
    const { cos, sin } = ropeCache(this.headDim, positions, this.rope!.theta, dtype);
    const lift = (t: Tensor) => t.reshape([shape.length === 2 ? batch : 1, 1, seq, this.headDim]);
    return { cos: lift(cos), sin: lift(sin) };
  }

  /** Which keys each query may see, broadcastable to the scores [B, kvHeads, group, S, T]; null when all. */
  private keepMask(mask: Tensor | undefined, batch: number, seq: number, keys: number): Tensor | null {
    let keep: Tensor | null = null;
    if (mask) {
      if (!sameShape(mask.shape, [batch, keys])) {
        throw new ShapeError(
          `MultiHeadAttention: attentionMask must have shape [batch, keys] = [${batch}, ${keys}] (${keys - seq} cached + ${seq} new tokens), got ${formatShape(mask.shape)}`,
        );
      }
      keep = mask.ne(0).reshape([batch, 1, 1, 1, keys]);
    }
    if (this.causal) {
      // New token i sits at index past + i among the keys.
      const causal = arange(keys)
        .unsqueeze(0)
        .le(arange(keys - seq, keys).unsqueeze(1));
      keep = keep ? compare('logicalAnd', keep, causal) : causal;
    }
    return keep;
  }

  protected override describe(): string {
    const rope = this.rope ? `, rope θ=${this.rope.theta}` : '';
    return `MultiHeadAttention(hidden=${this.hidden}, heads=${this.numHeads}, kvHeads=${this.numKvHeads}, headDim=${this.headDim}${this.causal ? ', causal' : ''}${rope})`;
  }
}

/**
 * Keys and values seen so far, one slot per layer (HF's DynamicCache), for incremental
 * decoding: each slot holds [B, kvHeads, T, headDim], keys already rotated, so a step
 * projects and rotates only its new tokens and attends over the concatenation. Decoding
 * token by token then equals one causal forward over the whole sequence.
 *
 * @example
 * ```ts
 * import { KVCache, MultiHeadAttention } from 'sparsegrad/nn';
 * import { randn } from 'sparsegrad';
 * const attn = new MultiHeadAttention({ hidden: 8, numHeads: 2, causal: true });
 * const kvCache = new KVCache();
 * attn.forward(randn([1, 3, 8]), { kvCache });
 * attn.forward(randn([1, 1, 8]), { kvCache }).shape; // => [1, 1, 8]
 * kvCache.length(); // => 4
 * ```
 */
export class KVCache {
  private readonly layers: { k: Tensor; v: Tensor }[] = [];

  /** Tokens cached for a layer (0 before its first update). */
  length(layer = 0): number {
    return this.layers[layer]?.k.shape[2] ?? 0;
  }

  /** Append keys and values [B, kvHeads, S, headDim] along the sequence axis; returns the layer's full K and V. */
  update(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const past = this.layers[layer];
    const next = past ? { k: cat([past.k, k], 2), v: cat([past.v, v], 2) } : { k, v };
    this.layers[layer] = next;
    return next;
  }
}
