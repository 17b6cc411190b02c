/**
 * Dropout as a layer: active only while `training` (so `model.eval()` turns every
 * dropout in a network off), drawing its masks from its own generator when given one,
 * so that a run replays exactly whatever else consumes random numbers.
 */
import { ValueError } from '../base/errors.ts';
import { dropout } from '../core/ops/nn.ts';
import type { Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { Module } from './module.ts';

/**
 * Dropout as a layer (above): zeroes entries with probability p in training, scales the rest by 1/(1 − p).
 *
 * @example
 * ```ts
 * import { Dropout } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const drop = new Dropout(0.5);
 * drop.forward(ones([1000])).max().item(); // => 2
 * drop.eval().forward(ones([3])); // => [1, 1, 1]
 * ```
 */
export class Dropout extends Module {
  private readonly generator: Generator | undefined;

  /** p: the probability of zeroing an element (default 0.5); without a generator, the default one is used. */
  constructor(
    readonly p = 0.5,
    options: { generator?: Generator } = {},
  ) {
    super();
    // Checked here too, so a bad configuration fails when the model is built, not at its first step.
    if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout probability has to be between 0 and 1, but got ${p}`);
    this.generator = options.generator;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.generator });
  }

  protected override describe(): string {
    return `Dropout(p=${this.p})`;
  }
}
