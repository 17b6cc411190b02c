/**
 * The two transformer feed-forward blocks, with Hugging Face's parameter names so that
 * checkpoints load by name:
 *
 * - GeluMlp (BERT): `intermediate.dense` (hidden → intermediate), GELU, `output.dense`
 *   (intermediate → hidden). HF's BertOutput also applies dropout, the residual and
 *   `output.LayerNorm`; those need the block's input, so they are the layer's job, not
 *   this block's. A BERT layer that extends GeluMlp keeps HF's names by putting a
 *   DenseBlock subclass with `LayerNorm` and `dropout` fields in `output`.
 * - SwiGLU (LLaMa): down_proj(silu(gate_proj(x)) ⊙ up_proj(x)), no biases.
 */
import type { FloatDType } from '../base/dtype.ts';
import type { Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';

export interface MlpOptions {
  dtype?: FloatDType;
  generator?: Generator;
}

/**
 * A module whose one child is the Linear `dense`: HF BERT's holder (BertIntermediate, BertOutput, BertSelfOutput, BertPooler).
 *
 * @example
 * ```ts
 * import { DenseBlock } from 'sparsegrad/nn';
 * new DenseBlock(4, 8).namedParameters().map(([name]) => name); // => ['dense.weight', 'dense.bias']
 * ```
 */
export class DenseBlock extends Module {
  dense: Linear;

  constructor(inFeatures: number, outFeatures: number, options: MlpOptions = {}) {
    super();
    this.dense = new Linear(inFeatures, outFeatures, options);
  }
}

/**
 * BERT's feed-forward: output.dense(gelu(intermediate.dense(x))).
 *
 * @example
 * ```ts
 * import { GeluMlp } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const mlp = new GeluMlp(4, 16);
 * mlp.forward(ones([2, 4])).shape; // => [2, 4]
 * mlp.namedParameters().map(([name]) => name)[0]; // => 'intermediate.dense.weight'
 * ```
 */
export class GeluMlp extends Module {
  intermediate: DenseBlock;
  output: DenseBlock;
  /** HF's "gelu" is the exact erf form; "gelu_new" is 'tanh'. */
  readonly approximate: 'none' | 'tanh';

  constructor(hidden: number, intermediate: number, options: MlpOptions & { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.intermediate = new DenseBlock(hidden, intermediate, options);
    this.output = new DenseBlock(intermediate, hidden, options);
    this.approximate = options.approximate ?? 'none';
  }

  forward(x: Tensor): Tensor {
    return this.output.dense.forward(this.intermediate.dense.forward(x).gelu(this.approximate));
  }
}

/**
 * LLaMa's gated feed-forward: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)).
 *
 * @example
 * ```ts
 * import { SwiGLU } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const mlp = new SwiGLU(4, 16);
 * mlp.forward(ones([2, 4])).shape; // => [2, 4]
 * mlp.namedChildren().map(([name]) => name); // => ['gate_proj', 'up_proj', 'down_proj']
 * ```
 */
export class SwiGLU extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;

  constructor(hidden: number, intermediate: number, options: MlpOptions = {}) {
    super();
    const noBias = { ...options, bias: false };
    this.gate_proj = new Linear(hidden, intermediate, noBias);
    this.up_proj = new Linear(hidden, intermediate, noBias);
    this.down_proj = new Linear(intermediate, hidden, noBias);
  }

  forward(x: Tensor): Tensor {
    return this.down_proj.forward(this.gate_proj.forward(x).silu().mul(this.up_proj.forward(x)));
  }
}
