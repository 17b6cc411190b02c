/**
 * LoRA as the SparseGrad authors ran it as a baseline (their `lora_utils.py`;
 * docs/METHOD.md §8) — not peft's variant:
 *
 *   Y = X Wᵀ + b + (α/r)·((X A) Bᵀ),   A [in, r] ~ U(±1/√r),   B [out, r] = 0
 *
 * - A's bound is torch's `kaiming_uniform_(A, a=√5)` on an [in, r] tensor, which reads
 *   fan_in from dim 1, i.e. r: gain·√(3/fan_in) = √(1/3)·√(3/r) = 1/√r. (peft stores A as
 *   [r, in] with bound 1/√in.) The reference uses α = 1 (scale 1/r) and no dropout.
 * - W is frozen; the bias is the original's own Parameter and keeps its flag (trainable
 *   in a fresh model). Everything outside the targets is left alone, so it trains densely
 *   as in the paper's GLUE runs; freezing more (the LLaMa setting) is the caller's choice.
 * - The order of operations is the reference's: the base output, then + scale·correction.
 *   With B = 0 the correction is exactly ±0, so at init the output is bitwise the base
 *   layer's (for finite inputs, up to −0 + 0 = +0) and dA = Xᵀ((α/r)·G B) = 0, while
 *   dB = (α/r)·Gᵀ(X A) ≠ 0.
 */
import { noGrad } from '../core/autograd.ts';
import { uniform, zeros } from '../core/creation.ts';
import type { FloatDType } from '../base/dtype.ts';
import { ShapeError, ValueError } from '../base/errors.ts';
import { defaultGenerator, Generator } from '../core/random.ts';
import type { Tensor } from '../core/tensor.ts';
import { Linear } from './linear.ts';
import { Module, Parameter } from './module.ts';
import { findTargets, type TargetOptions } from './targets.ts';

export interface LoraOptions {
  /** Rank r. Default 7 (the paper's BERT/RoBERTa-base runs; 10 for large). */
  r?: number;
  /** Scale numerator: the correction is multiplied by α/r. Default 1, as the reference. */
  alpha?: number;
  /** Draws A. Default: the global generator, as torch's init would. */
  generator?: Generator;
}

/**
 * A Linear with a trainable low-rank correction (α/r)·(X A) Bᵀ and its W frozen (above).
 *
 * @example
 * ```ts
 * import { Linear, LoraLinear } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const base = new Linear(4, 2);
 * const lora = new LoraLinear(base, { r: 2 });
 * lora.weight.requiresGrad; // => false
 * lora.forward(ones([1, 4])).sub(base.forward(ones([1, 4]))).abs().max().item(); // => 0
 * lora.merge().weight.shape; // => [2, 4]
 * ```
 */
export class LoraLinear extends Module {
  /** The base weight, frozen: a new Parameter on the original's storage (no copy). */
  weight: Parameter;
  bias: Parameter | null;
  lora_A: Parameter;
  lora_B: Parameter;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly r: number;
  readonly alpha: number;
  // Not enumerable (ES private), so the original is not a child and its W not a parameter.
  readonly #original: Linear;

  constructor(linear: Linear, options: LoraOptions = {}) {
    super();
    const r = options.r ?? 7;
    const alpha = options.alpha ?? 1;
    if (!Number.isInteger(r) || r < 1) throw new ValueError(`LoRA: r must be a positive integer, got ${r}`);
    if (!Number.isFinite(alpha)) throw new ValueError(`LoRA: alpha must be a finite number, got ${alpha}`);
    const [out, inF] = linear.weight.shape as [number, number];
    const dtype = linear.weight.dtype as FloatDType;
    this.inFeatures = inF;
    this.outFeatures = out;
    this.r = r;
    this.alpha = alpha;
    this.#original = linear;
    this.weight = new Parameter(linear.weight, false);
    this.bias = linear.bias;
    const bound = 1 / Math.sqrt(r);
    this.lora_A = new Parameter(uniform([inF, r], -bound, bound, { dtype, generator: options.generator ?? defaultGenerator }));
    this.lora_B = new Parameter(zeros([out, r], { dtype }));
  }

  get scale(): number {
    return this.alpha / this.r;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) throw new ShapeError(`LoraLinear: expected input with last dimension ${this.inFeatures}, got [${x.shape}]`);
    const base = x.matmul(this.weight.transpose());
    const output = this.bias ? base.add(this.bias) : base;
    const correction = x.matmul(this.lora_A).matmul(this.lora_B.transpose());
    return output.add(correction.mul(this.scale));
  }

  /** A plain Linear with W + (α/r)·B Aᵀ and the same bias: HF names, no adapter left. */
  merge(): Linear {
    // A private generator: the discarded init must not advance the global one.
    const merged = new Linear(this.inFeatures, this.outFeatures, { bias: false, dtype: this.weight.dtype as FloatDType, generator: new Generator(0) });
    const w = noGrad(() => this.weight.add(this.lora_B.matmul(this.lora_A.transpose()).mul(this.scale)));
    merged.weight = new Parameter(w, this.#original.weight.requiresGrad);
    merged.bias = this.bias;
    return merged;
  }

  /** The Linear this layer wraps, as it was (its bias is shared, so bias training is kept). */
  unload(): Linear {
    return this.#original;
  }

  protected override describe(): string {
    return `LoraLinear(in=${this.inFeatures}, out=${this.outFeatures}, r=${this.r}, alpha=${this.alpha}, bias=${this.bias !== null})`;
  }
}

export interface LoraHandle {
  layers: [string, LoraLinear][];
  /** Replace each LoraLinear in the model by its merged plain Linear. */
  merge(): void;
  /** Put the original Linears back (the adapters are dropped). */
  unload(): void;
}

/**
 * Wrap the target linears (default: the architecture's MLP linears, nn/targets.ts) in LoRA.
 *
 * @example
 * ```ts
 * import { applyLora, Linear, LoraLinear, Module } from 'sparsegrad/nn';
 * class Net extends Module { fc = new Linear(4, 2); }
 * const net = new Net();
 * const handle = applyLora(net, { targets: 'fc', r: 2 });
 * net.fc instanceof LoraLinear; // => true
 * handle.unload();
 * net.fc instanceof LoraLinear; // => false
 * ```
 */
export function applyLora(model: Module, options: LoraOptions & TargetOptions = {}): LoraHandle {
  const layers = findTargets(model, options).map(([name, linear]): [string, LoraLinear] => {
    const layer = new LoraLinear(linear, options);
    model.replaceModule(name, layer);
    return [name, layer];
  });
  const swap = (make: (l: LoraLinear) => Linear) => layers.forEach(([name, l]) => model.replaceModule(name, make(l)));
  return { layers, merge: () => swap((l) => l.merge()), unload: () => swap((l) => l.unload()) };
}
