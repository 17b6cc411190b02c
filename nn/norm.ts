/**
 * Normalisation layers over the trailing axes, thin shells around the functional ops
 * in core/ops/nn.ts: they own the learned scale (ones) and shift (zeros) and the eps.
 * eps is a constructor argument because models disagree and the difference is visible:
 * torch's LayerNorm default 1e-5, HF BERT 1e-12; HF LLaMa's RMSNorm 1e-6, llama2.c 1e-5.
 */
import { ones, zeros } from '../core/creation.ts';
import type { FloatDType } from '../base/dtype.ts';
import { layerNorm, rmsNorm } from '../core/ops/nn.ts';
import type { Tensor } from '../core/tensor.ts';
import { Module, Parameter } from './module.ts';

export interface LayerNormOptions {
  eps?: number;
  /** Learn a per-element weight (and bias); default true. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, also learn the bias; default true. */
  bias?: boolean;
  dtype?: FloatDType;
}

/**
 * (x − mean) / √(var + eps) · weight + bias over the trailing `normalizedShape` axes.
 *
 * @example
 * ```ts
 * import { LayerNorm } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * const norm = new LayerNorm(2, { eps: 1e-12 });
 * norm.forward(tensor([[1, 3], [5, 5]])); // => [[-1, 1], [0, 0]]
 * ```
 */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    const dtype = { dtype: options.dtype ?? 'float32' } as const;
    this.weight = affine ? new Parameter(ones(this.normalizedShape, dtype)) : null;
    this.bias = affine && options.bias !== false ? new Parameter(zeros(this.normalizedShape, dtype)) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override describe(): string {
    return `LayerNorm([${this.normalizedShape.join(', ')}], eps=${this.eps}, affine=${this.weight !== null}, bias=${this.bias !== null})`;
  }
}

/**
 * LLaMa's RMSNorm: x / √(mean(x²) + eps) · weight over the last axis (no centring, no bias).
 *
 * @example
 * ```ts
 * import { RMSNorm } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * new RMSNorm(2, { eps: 0 }).forward(tensor([[3, 4]])); // => [[0.8485, 1.1314]]
 * ```
 */
export class RMSNorm extends Module {
  weight: Parameter;
  readonly eps: number;

  constructor(
    readonly dim: number,
    options: { eps?: number; dtype?: FloatDType } = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-6;
    this.weight = new Parameter(ones([dim], { dtype: options.dtype ?? 'float32' }));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }

  protected override describe(): string {
    return `RMSNorm(${this.dim}, eps=${this.eps})`;
  }
}
