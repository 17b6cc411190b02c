// The training workloads that bench/peers.ts times against its peers and
// bench/kernel-profile.ts takes apart kernel by kernel, written once so that both measure
// the same step:
//   W2  BERT-base MLP, 128 tokens: y = gelu(x·W1ᵀ + b1)·W2ᵀ + b2, loss Σ y ⊙ G
//   W3  a post-LN BERT encoder layer, hidden 256, 4 heads, FFN 1024, 8 × 128 tokens, loss Σ layer(x) ⊙ G
//   W2-SG  W2 with both linears SparseGrad's
// (W1, one matmul of W2's first shape, needs no code of its own.) Files that run when imported
// (peers.ts) cannot be imported by another bench: hence this module.
import { eye } from '../core/creation.ts';
import { linear } from '../core/ops/linear.ts';
import type { Tensor } from '../core/tensor.ts';
import type { Linear } from '../nn/linear.ts';
import { SparseGradLinear } from '../nn/sparsegrad/layer.ts';
import type { BertLayer } from '../models/bert.ts';
import type { BertConfig } from '../models/config.ts';

/** W1 and W2: tokens, hidden size, FFN size (BERT-base). */
export const [T, H, F] = [128, 768, 3072];
/** W3: batch, sequence length, hidden size, heads, FFN size. */
export const [B3, S3, H3, HEADS3, F3] = [8, 128, 256, 4, 1024];

/** W3's layer: no dropout (every system computes the same function), LayerNorm ε 1e-5 as torch's default. */
export const W3_CONFIG: BertConfig = {
  model_type: 'bert',
  vocab_size: 1,
  hidden_size: H3,
  num_hidden_layers: 1,
  num_attention_heads: HEADS3,
  intermediate_size: F3,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  max_position_embeddings: S3,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  pad_token_id: null,
  num_labels: 1,
  classifier_dropout: null,
};

/** W2's loss. `linear` is F.linear: the bias is fused into the GEMM and dW comes out in W's layout. */
export const mlpLoss = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, g: Tensor): Tensor =>
  linear(linear(x, w1, b1).gelu(), w2, b2)
    .mul(g)
    .sum();

/**
 * One of W2's linears as SparseGrad's (docs/METHOD.md): row compaction on, k = 7·(in + out)
 * entries per weight. U, V = I: the rotations' GEMMs cost the same for any basis.
 */
export const sparseGradLinear = (l: Linear): SparseGradLinear =>
  new SparseGradLinear(l, eye(l.inFeatures), eye(l.outFeatures), { k: 7 * (H + F), rowCompaction: true });

/** W2-SG's loss: W2's with both linears SparseGrad's. */
export const sparseGradMlpLoss = (x: Tensor, sg1: SparseGradLinear, sg2: SparseGradLinear, g: Tensor): Tensor =>
  sg2.forward(sg1.forward(x).gelu()).mul(g).sum();

/** W3's loss. */
export const layerLoss = (layer: BertLayer, x: Tensor, g: Tensor): Tensor => layer.forward(x).mul(g).sum();

/** A training step: clear the gradients of `owners`, run `loss`'s backward, return the loss. */
export function trainingStep(owners: readonly { zeroGrad(): void }[], loss: () => Tensor): () => Tensor {
  return () => {
    for (const o of owners) o.zeroGrad();
    const value = loss();
    value.backward();
    return value;
  };
}
