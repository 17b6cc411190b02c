/**
 * Losses as modules over the functional ops of core/ops/nn.ts.
 *
 * CrossEntropyLoss takes logits with the classes on the LAST axis, [..., C], and
 * targets [...] — a language model's [B, S, V] logits with [B, S] labels — and
 * flattens them to [N, C] and [N], as Hugging Face's models do before calling torch.
 * (torch's own K-dimensional form puts classes on axis 1 instead.)
 */
import { ShapeError } from '../base/errors.ts';
import { crossEntropy, mseLoss, type Reduction } from '../core/ops/nn.ts';
import { formatShape, sameShape } from '../base/shape.ts';
import type { Tensor } from '../core/tensor.ts';
import { Module } from './module.ts';

/**
 * Cross-entropy over the last axis of the logits (above), as a module.
 *
 * @example
 * ```ts
 * import { CrossEntropyLoss } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * const logits = tensor([[[0, 0], [0, 0]]]); // [B=1, S=2, C=2]
 * new CrossEntropyLoss().forward(logits, tensor([[0, 1]], { dtype: 'int32' })).item(); // => 0.6931
 * ```
 */
export class CrossEntropyLoss extends Module {
  /** Targets equal to ignoreIndex (default −100, HF's label for padding) add nothing and are not counted by 'mean'. */
  readonly ignoreIndex: number;
  readonly reduction: Reduction;

  constructor(options: { ignoreIndex?: number; reduction?: Reduction } = {}) {
    super();
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.reduction = options.reduction ?? 'mean';
  }

  /** logits [..., C], target int32 [...]; with reduction 'none' the result has target's shape. */
  forward(logits: Tensor, target: Tensor): Tensor {
    const leading = logits.shape.slice(0, -1);
    if (logits.rank === 0 || !sameShape(target.shape, leading)) {
      throw new ShapeError(
        `CrossEntropyLoss: expected target of shape ${formatShape(leading)} for logits of shape ${formatShape(logits.shape)}, got ${formatShape(target.shape)}`,
      );
    }
    const n = target.numel;
    const loss = crossEntropy(logits.reshape([n, logits.shape[logits.rank - 1]!]), target.reshape([n]), {
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
    });
    return this.reduction === 'none' ? loss.reshape(target.shape) : loss;
  }
}

/**
 * Mean squared error as a module.
 *
 * @example
 * ```ts
 * import { MSELoss } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * new MSELoss().forward(tensor([1, 2]), tensor([1, 4])).item(); // => 2
 * new MSELoss({ reduction: 'sum' }).forward(tensor([1, 2]), tensor([1, 4])).item(); // => 4
 * ```
 */
export class MSELoss extends Module {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    super();
    this.reduction = options.reduction ?? 'mean';
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}
