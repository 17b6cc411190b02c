/**
 * Activations as modules, so they can sit in a model's fields (and be found or
 * swapped by name) like any other layer. Each is one fused elementwise op.
 */
import type { Tensor } from '../core/tensor.ts';
import { Module } from './module.ts';

/** GELU: 'none' is the exact x·Φ(x) (BERT; HF "gelu"), 'tanh' the GPT-2 approximation (HF "gelu_new"). */
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

/** SiLU (swish): x·σ(x), LLaMa's gate activation. */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
