/**
 * Embedding: a [numEmbeddings, dim] table whose rows are picked by integer ids.
 *
 * `paddingIdx` follows torch: that row starts at zero and the lookup sends it no
 * gradient, so padding tokens never move it. This is a mask in forward (padding
 * positions read a detached copy of their row), not a gradient hook on the weight,
 * because the mask belongs to this lookup only: a tied use of the same weight (an LM
 * head) still trains the row, as in torch; it survives replacing or re-tying the
 * Parameter; and it does not interleave with other hooks on the weight (SparseGrad's),
 * whose order this layer does not own.
 */
import { randn } from '../core/creation.ts';
import type { FloatDType } from '../base/dtype.ts';
import { ValueError } from '../base/errors.ts';
import { where } from '../core/ops/elementwise.ts';
import { embedding } from '../core/ops/nn.ts';
import { defaultGenerator, type Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { Module, Parameter } from './module.ts';

export interface EmbeddingOptions {
  /** A row (negative counts from the end) that is zero at init and gets no gradient from lookups. */
  paddingIdx?: number;
  dtype?: FloatDType;
  generator?: Generator;
}

/**
 * A lookup table of `numEmbeddings` rows of size `embeddingDim` (above).
 *
 * @example
 * ```ts
 * import { Embedding } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * const emb = new Embedding(10, 4, { paddingIdx: 0 });
 * emb.forward(tensor([[1, 2, 0]], { dtype: 'int32' })).shape; // => [1, 3, 4]
 * emb.weight.slice(0, 0, 1); // => [[0, 0, 0, 0]]
 * ```
 */
export class Embedding extends Module {
  weight: Parameter;
  /** The padding row, normalised to [0, numEmbeddings), or null. */
  readonly paddingIdx: number | null;

  /** torch's init: weight ~ N(0, 1), the padding row zeroed. */
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    this.paddingIdx = normalizePaddingIdx(options.paddingIdx, numEmbeddings);
    const weight = randn([numEmbeddings, embeddingDim], { dtype: options.dtype ?? 'float32', generator: options.generator ?? defaultGenerator });
    if (this.paddingIdx !== null) weight.narrow(0, this.paddingIdx, 1).zero_();
    this.weight = new Parameter(weight);
  }

  /** ids (int32, any shape) → [...ids.shape, embeddingDim]. */
  forward(ids: Tensor): Tensor {
    const out = embedding(this.weight, ids);
    // Only a recorded lookup needs the mask; without autograd it would be a wasted pass.
    if (this.paddingIdx === null || !out.requiresGrad) return out;
    return where(ids.ne(this.paddingIdx).unsqueeze(-1), out, out.detach());
  }

  protected override describe(): string {
    const padding = this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`;
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim}${padding})`;
  }
}

function normalizePaddingIdx(paddingIdx: number | undefined, numEmbeddings: number): number | null {
  if (paddingIdx === undefined) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -numEmbeddings || paddingIdx >= numEmbeddings) {
    throw new ValueError(`Embedding: paddingIdx must be within num_embeddings (${numEmbeddings}), got ${paddingIdx}`);
  }
  return paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
}
