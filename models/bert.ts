/**
 * BERT (Devlin et al. 2019) with Hugging Face's module tree and parameter names, so
 * `bert.encoder.layer.0.attention.self.query.weight` loads straight from a checkpoint:
 *
 *   embeddings: LayerNorm(word[ids] + position[pos] + token_type[types]) → dropout
 *   each layer (post-LN):  a = LayerNorm(x + dropout(attention.output.dense(selfAttention(x))))
 *                          y = LayerNorm(a + dropout(output.dense(gelu(intermediate.dense(a)))))
 *   pooler: tanh(dense(h[:, 0]))          (the [CLS] position)
 *
 * Padding is masked on keys only (HF's extended attention mask). Dropout is active in
 * training mode and seeded through the generator passed at construction.
 */
import { arange, zeros } from '../core/creation.ts';
import { ShapeError } from '../base/errors.ts';
import type { FloatDType } from '../base/dtype.ts';
import { defaultGenerator, type Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { MultiHeadAttention, BERT_NAMES } from '../nn/attention.ts';
import { Dropout } from '../nn/dropout.ts';
import { Embedding } from '../nn/embedding.ts';
import { Linear } from '../nn/linear.ts';
import { DenseBlock } from '../nn/mlp.ts';
import { Module, Parameter } from '../nn/module.ts';
import { LayerNorm } from '../nn/norm.ts';
import { crossEntropy, mseLoss } from '../core/ops/nn.ts';
import type { BertConfig } from './config.ts';

export interface BuildOptions {
  dtype?: FloatDType;
  generator?: Generator;
}

export interface BertInputs {
  inputIds: Tensor;
  /** 1 for real tokens, 0 for padding; default all ones. */
  attentionMask?: Tensor;
  /** Segment ids (sentence A/B); default zeros. */
  tokenTypeIds?: Tensor;
  /** Default 0..S−1 in every row. */
  positionIds?: Tensor;
}

export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(c: BertConfig, o: BuildOptions) {
    super();
    const opts = { dtype: o.dtype, generator: o.generator };
    this.word_embeddings = new Embedding(c.vocab_size, c.hidden_size, { ...opts, paddingIdx: c.pad_token_id ?? undefined });
    this.position_embeddings = new Embedding(c.max_position_embeddings, c.hidden_size, opts);
    this.token_type_embeddings = new Embedding(c.type_vocab_size, c.hidden_size, opts);
    this.LayerNorm = new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps, dtype: o.dtype });
    this.dropout = new Dropout(c.hidden_dropout_prob, { generator: o.generator });
  }

  forward(ids: Tensor, tokenTypeIds: Tensor, positionIds: Tensor): Tensor {
    const sum = this.word_embeddings.forward(ids).add(this.position_embeddings.forward(positionIds)).add(this.token_type_embeddings.forward(tokenTypeIds));
    return this.dropout.forward(this.LayerNorm.forward(sum));
  }
}

/** HF's BertSelfOutput / BertOutput: dense → dropout → LayerNorm(· + residual). */
export class BertResidualOutput extends DenseBlock {
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(inFeatures: number, c: BertConfig, o: BuildOptions) {
    super(inFeatures, c.hidden_size, o);
    this.LayerNorm = new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps, dtype: o.dtype });
    this.dropout = new Dropout(c.hidden_dropout_prob, { generator: o.generator });
  }

  forward(h: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(this.dropout.forward(this.dense.forward(h)).add(residual));
  }
}

export class BertAttention extends Module {
  self: MultiHeadAttention;
  output: BertResidualOutput;

  constructor(c: BertConfig, o: BuildOptions) {
    super();
    this.self = new MultiHeadAttention({
      hidden: c.hidden_size,
      numHeads: c.num_attention_heads,
      bias: true,
      names: BERT_NAMES,
      dropout: c.attention_probs_dropout_prob,
      dtype: o.dtype,
      generator: o.generator,
    });
    this.output = new BertResidualOutput(c.hidden_size, c, o);
  }

  forward(x: Tensor, attentionMask: Tensor | undefined): Tensor {
    return this.output.forward(this.self.forward(x, { attentionMask }), x);
  }
}

export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: DenseBlock;
  output: BertResidualOutput;
  private readonly approximate: 'none' | 'tanh';

  constructor(c: BertConfig, o: BuildOptions) {
    super();
    this.attention = new BertAttention(c, o);
    this.intermediate = new DenseBlock(c.hidden_size, c.intermediate_size, o);
    this.output = new BertResidualOutput(c.intermediate_size, c, o);
    this.approximate = c.hidden_act === 'gelu' ? 'none' : 'tanh';
  }

  forward(x: Tensor, attentionMask?: Tensor): Tensor {
    const a = this.attention.forward(x, attentionMask);
    return this.output.forward(this.intermediate.dense.forward(a).gelu(this.approximate), a);
  }
}

export class BertEncoder extends Module {
  layer: BertLayer[];

  constructor(c: BertConfig, o: BuildOptions) {
    super();
    this.layer = Array.from({ length: c.num_hidden_layers }, () => new BertLayer(c, o));
  }

  /** Returns every hidden state: [embeddings, after layer 1, …, after layer L] (HF's hidden_states). */
  forward(x: Tensor, attentionMask?: Tensor): Tensor[] {
    const states = [x];
    for (const layer of this.layer) states.push(layer.forward(states.at(-1)!, attentionMask));
    return states;
  }
}

export class BertPooler extends DenseBlock {
  forward(h: Tensor): Tensor {
    return this.dense.forward(h.slice(1, 0, 1).squeeze(1)).tanh();
  }
}

export interface BertOutputs {
  lastHiddenState: Tensor;
  /** tanh(dense(h[:, 0])); null without a pooler. */
  pooled: Tensor | null;
  hiddenStates: Tensor[];
}

/**
 * HF's BertModel: embeddings, the encoder's layers and (unless `pooler: false`) the [CLS] pooler.
 *
 * @example
 * ```ts
 * import { BertModel, bertConfig } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const bert = new BertModel(bertConfig({ vocab_size: 30, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 2 }));
 * const out = bert.forward({ inputIds: tensor([[2, 5, 7]], { dtype: 'int32' }) });
 * out.lastHiddenState.shape; // => [1, 3, 8]
 * out.pooled!.shape; // => [1, 8]
 * ```
 */
export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  /** Absent in masked-LM models (HF's add_pooling_layer=False). */
  pooler: BertPooler | null;

  constructor(
    readonly config: BertConfig,
    o: BuildOptions & { pooler?: boolean } = {},
  ) {
    super();
    const opts = { dtype: o.dtype, generator: o.generator ?? defaultGenerator };
    this.embeddings = new BertEmbeddings(config, opts);
    this.encoder = new BertEncoder(config, opts);
    this.pooler = o.pooler === false ? null : new BertPooler(config.hidden_size, config.hidden_size, opts);
  }

  forward(inputs: BertInputs): BertOutputs {
    const ids = inputs.inputIds;
    if (ids.rank !== 2 || ids.dtype !== 'int32') throw new ShapeError(`BertModel: expected int32 inputIds [batch, seq], got ${ids.dtype} [${ids.shape}]`);
    const [batch, seq] = ids.shape as [number, number];
    if (seq > this.config.max_position_embeddings) {
      throw new ShapeError(`BertModel: sequence length ${seq} exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    const positions = inputs.positionIds ?? arange(seq).unsqueeze(0).expand([batch, seq]);
    const types = inputs.tokenTypeIds ?? ids.mul(0);
    const hiddenStates = this.encoder.forward(this.embeddings.forward(ids, types, positions), inputs.attentionMask);
    const lastHiddenState = hiddenStates.at(-1)!;
    return { lastHiddenState, pooled: this.pooler?.forward(lastHiddenState) ?? null, hiddenStates };
  }
}

export interface ClassifierOutputs extends BertOutputs {
  logits: Tensor;
  /** Present when labels were given: cross-entropy, or MSE for a single-label regression head. */
  loss?: Tensor;
}

/**
 * BERT with a linear head on the pooled [CLS] vector (HF BertForSequenceClassification).
 *
 * @example
 * ```ts
 * import { BertForSequenceClassification, bertConfig } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const model = new BertForSequenceClassification(bertConfig({ vocab_size: 30, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1, num_labels: 3 }));
 * const { logits, loss } = model.forward({ inputIds: tensor([[2, 5], [7, 1]], { dtype: 'int32' }), labels: tensor([0, 2], { dtype: 'int32' }) });
 * logits.shape; // => [2, 3]
 * loss!.backward();
 * ```
 */
export class BertForSequenceClassification extends Module {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;

  constructor(
    readonly config: BertConfig,
    o: BuildOptions = {},
  ) {
    super();
    const generator = o.generator ?? defaultGenerator;
    this.bert = new BertModel(config, { ...o, generator });
    this.dropout = new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob, { generator });
    this.classifier = new Linear(config.hidden_size, config.num_labels, { dtype: o.dtype, generator });
  }

  /** `labels`: int32 class ids [batch], or float targets [batch] when num_labels is 1 (regression). */
  forward(inputs: BertInputs & { labels?: Tensor }): ClassifierOutputs {
    const out = this.bert.forward(inputs);
    const logits = this.classifier.forward(this.dropout.forward(out.pooled!));
    if (!inputs.labels) return { ...out, logits };
    const loss = this.config.num_labels === 1 ? mseLoss(logits.squeeze(-1), inputs.labels) : crossEntropy(logits, inputs.labels);
    return { ...out, logits, loss };
  }
}

/** HF's BertPredictionHeadTransform: dense → gelu → LayerNorm. */
export class BertPredictionTransform extends DenseBlock {
  LayerNorm: LayerNorm;

  constructor(c: BertConfig, o: BuildOptions) {
    super(c.hidden_size, c.hidden_size, o);
    this.LayerNorm = new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps, dtype: o.dtype });
  }

  forward(h: Tensor, approximate: 'none' | 'tanh'): Tensor {
    return this.LayerNorm.forward(this.dense.forward(h).gelu(approximate));
  }
}

/**
 * The masked-LM head: transform, then a decoder whose weight IS the word-embedding
 * matrix (tied: one Parameter, two names, as in HF) plus its own bias `cls.predictions.bias`.
 */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionTransform;
  decoder: Linear;
  bias: Parameter;

  constructor(c: BertConfig, wordEmbeddings: Parameter, o: BuildOptions) {
    super();
    this.transform = new BertPredictionTransform(c, o);
    this.decoder = new Linear(c.hidden_size, c.vocab_size, { bias: false, dtype: o.dtype, generator: o.generator });
    this.decoder.weight = wordEmbeddings;
    this.bias = new Parameter(zeros([c.vocab_size], { dtype: o.dtype ?? 'float32' }));
  }

  forward(h: Tensor, approximate: 'none' | 'tanh'): Tensor {
    return this.decoder.forward(this.transform.forward(h, approximate)).add(this.bias);
  }
}

export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;

  constructor(c: BertConfig, wordEmbeddings: Parameter, o: BuildOptions) {
    super();
    this.predictions = new BertLMPredictionHead(c, wordEmbeddings, o);
  }
}

export interface MaskedLMOutputs extends BertOutputs {
  logits: Tensor;
  /** Cross-entropy over positions whose label is not −100 (HF's convention for unmasked tokens). */
  loss?: Tensor;
}

/**
 * BERT pre-training's masked-language-model head (HF BertForMaskedLM).
 *
 * @example
 * ```ts
 * import { BertForMaskedLM, bertConfig } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const model = new BertForMaskedLM(bertConfig({ vocab_size: 30, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 }));
 * const { logits } = model.forward({ inputIds: tensor([[2, 5, 7]], { dtype: 'int32' }) });
 * logits.shape; // => [1, 3, 30]
 * ```
 */
export class BertForMaskedLM extends Module {
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(
    readonly config: BertConfig,
    o: BuildOptions = {},
  ) {
    super();
    const generator = o.generator ?? defaultGenerator;
    this.bert = new BertModel(config, { ...o, generator, pooler: false });
    this.cls = new BertOnlyMLMHead(config, this.bert.embeddings.word_embeddings.weight, { ...o, generator });
  }

  /** `labels` [batch, seq] int32: the original ids at masked positions, −100 elsewhere. */
  forward(inputs: BertInputs & { labels?: Tensor }): MaskedLMOutputs {
    const out = this.bert.forward(inputs);
    const logits = this.cls.predictions.forward(out.lastHiddenState, this.config.hidden_act === 'gelu' ? 'none' : 'tanh');
    if (!inputs.labels) return { ...out, logits };
    const vocab = this.config.vocab_size;
    return { ...out, logits, loss: crossEntropy(logits.reshape([-1, vocab]), inputs.labels.reshape([-1]), { ignoreIndex: -100 }) };
  }
}

/** HF's BertPreTrainingHeads: the masked-LM head and the next-sentence classifier on the pooled [CLS]. */
export class BertPreTrainingHeads extends BertOnlyMLMHead {
  seq_relationship: Linear;

  constructor(c: BertConfig, wordEmbeddings: Parameter, o: BuildOptions) {
    super(c, wordEmbeddings, o);
    this.seq_relationship = new Linear(c.hidden_size, 2, { dtype: o.dtype, generator: o.generator });
  }
}

export interface PreTrainingOutputs extends MaskedLMOutputs {
  /** [batch, 2]: class 0 "B continues A", class 1 "B is a random segment" (HF's convention). */
  seqRelationshipLogits: Tensor;
}

/**
 * BERT's original pretraining model (HF BertForPreTraining): masked LM plus next-sentence
 * prediction. The second task is what trains the pooler and the [CLS] position — a model
 * pretrained by masked LM alone never puts a loss on them, so its [CLS] vector barely
 * depends on the text and a classifier fine-tuned on it starts from almost nothing.
 *
 * @example
 * ```ts
 * import { BertForPreTraining, bertConfig } from 'sparsegrad/models';
 * import { tensor } from 'sparsegrad';
 * const model = new BertForPreTraining(bertConfig({ vocab_size: 30, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_hidden_layers: 1 }));
 * const out = model.forward({ inputIds: tensor([[2, 5, 7]], { dtype: 'int32' }), nextSentenceLabel: tensor([1], { dtype: 'int32' }) });
 * out.seqRelationshipLogits.shape; // => [1, 2]
 * out.loss!.backward();
 * ```
 */
export class BertForPreTraining extends Module {
  bert: BertModel;
  cls: BertPreTrainingHeads;

  constructor(
    readonly config: BertConfig,
    o: BuildOptions = {},
  ) {
    super();
    const generator = o.generator ?? defaultGenerator;
    this.bert = new BertModel(config, { ...o, generator });
    this.cls = new BertPreTrainingHeads(config, this.bert.embeddings.word_embeddings.weight, { ...o, generator });
  }

  /**
   * `labels` as BertForMaskedLM's; `nextSentenceLabel` [batch] int32 (0 continues, 1 random).
   * The loss sums the two cross-entropies that were asked for, as HF does when both are given.
   */
  forward(inputs: BertInputs & { labels?: Tensor; nextSentenceLabel?: Tensor }): PreTrainingOutputs {
    const out = this.bert.forward(inputs);
    const logits = this.cls.predictions.forward(out.lastHiddenState, this.config.hidden_act === 'gelu' ? 'none' : 'tanh');
    const seqRelationshipLogits = this.cls.seq_relationship.forward(out.pooled!);
    const losses: Tensor[] = [];
    if (inputs.labels) losses.push(crossEntropy(logits.reshape([-1, this.config.vocab_size]), inputs.labels.reshape([-1]), { ignoreIndex: -100 }));
    if (inputs.nextSentenceLabel) losses.push(crossEntropy(seqRelationshipLogits, inputs.nextSentenceLabel));
    const loss = losses.length === 0 ? undefined : losses.length === 1 ? losses[0] : losses[0]!.add(losses[1]!);
    return { ...out, logits, seqRelationshipLogits, ...(loss ? { loss } : {}) };
  }
}
