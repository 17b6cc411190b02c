/** Test helpers for SparseGrad: random orthogonal bases and small linears, all seeded. */
import { Generator, randn, Tensor } from '../../index.ts';
import { Linear } from '../../nn/linear.ts';
import { symmetricEigen } from '../../nn/sparsegrad/eigen.ts';

/** A random n×n orthogonal matrix: the eigenvectors of a random symmetric one (float64). */
export function randomOrthogonal(n: number, seed: number): Tensor {
  const m = randn([n, n], { dtype: 'float64', generator: new Generator(seed) });
  const sym = m.add(m.transpose()).contiguous();
  return Tensor.fromStorage(symmetricEigen(sym.data as Float64Array, n).vectors, [n, n]);
}

export function linear(inF: number, outF: number, seed: number, dtype: 'float32' | 'float64' = 'float64', bias = true): Linear {
  return new Linear(inF, outF, { dtype, bias, generator: new Generator(seed) });
}

/** Tiny BERT and LLaMa configs (two MLP layer types each) for the method's model-level tests. */
export const BERT = {
  vocab_size: 30,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 8,
  num_labels: 2,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
};
export const LLAMA = {
  vocab_size: 30,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 4,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
};
