/**
 * Linear: y = x·Wᵀ + b, with W stored [out, in] as PyTorch and Hugging Face store it,
 * so checkpoints load by name without transposing. The GEMM reads W through its
 * strides as Wᵀ: nothing is copied.
 */
import { uniform } from '../core/creation.ts';
import type { FloatDType } from '../base/dtype.ts';
import { ShapeError } from '../base/errors.ts';
import { defaultGenerator, type Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { linear } from '../core/ops/linear.ts';
import { Module, Parameter } from './module.ts';

export interface LinearOptions {
  bias?: boolean;
  dtype?: FloatDType;
  generator?: Generator;
}

/**
 * y = x·Wᵀ + b with W [out, in] (above).
 *
 * @example
 * ```ts
 * import { Linear } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const fc = new Linear(3, 2);
 * fc.weight.shape; // => [2, 3]
 * fc.forward(ones([5, 3])).shape; // => [5, 2]
 * new Linear(3, 2, { bias: false }).bias; // => null
 * ```
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  /**
   * torch's default init: W and b ~ U(−1/√in, 1/√in) (Kaiming-uniform with a = √5),
   * which keeps activations of a freshly built network in a sane range.
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    const draw = { dtype: options.dtype ?? 'float32', generator: options.generator ?? defaultGenerator } as const;
    this.weight = new Parameter(uniform([outFeatures, inFeatures], -bound, bound, draw));
    this.bias = options.bias === false ? null : new Parameter(uniform([outFeatures], -bound, bound, draw));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`Linear: expected input with last dimension ${this.inFeatures}, got shape [${x.shape.join(', ')}]`);
    }
    // The fused op (core/ops/linear.ts): leading axes flattened into rows as torch's
    // F.linear does (one GEMM over all tokens, dW = Gᵀ X summed in one pass), the bias
    // added in the GEMM's epilogue, dW produced in W's own layout.
    return linear(x, this.weight, this.bias);
  }

  protected override describe(): string {
    return `Linear(in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== null})`;
  }
}
