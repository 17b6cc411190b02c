/**
 * Activations as modules, so they can sit in a model's fields (and be found or
 * swapped by name) like any other layer. Each is one fused elementwise op.
 */
import type { Tensor } from '../core/tensor.ts';
import { Module } from './module.ts';

/**
 * GELU: 'none' is the exact x·Φ(x) (BERT; HF "gelu"), 'tanh' the GPT-2 approximation (HF "gelu_new").
 *
 * @example
 * ```ts
 * import { GELU } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * new GELU().forward(tensor([0, 1])); // => [0, 0.8413]
 * new GELU({ approximate: 'tanh' }).forward(tensor([1])); // => [0.8412]
 * ```
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }

  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }

  protected override describe(): string {
    return `GELU(approximate='${this.approximate}')`;
  }
}

/**
 * SiLU (swish): x·σ(x), LLaMa's gate activation.
 *
 * @example
 * ```ts
 * import { SiLU } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * new SiLU().forward(tensor([0, 1])); // => [0, 0.7311]
 * ```
 */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

/**
 * max(x, 0) as a module.
 *
 * @example
 * ```ts
 * import { ReLU } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * new ReLU().forward(tensor([-1, 2])); // => [0, 2]
 * ```
 */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/**
 * tanh as a module.
 *
 * @example
 * ```ts
 * import { Tanh } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * new Tanh().forward(tensor([0, 1])); // => [0, 0.7616]
 * ```
 */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
