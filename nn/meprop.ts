/**
 * MeProp baselines (docs/METHOD.md §8, §11.10). Two different methods share the name:
 *
 * - 'paper' (default; the SparseGrad paper's MeProp column): the forward, dX = G W and
 *   db = Σ G are untouched; a hook on each target weight keeps the entries of the dense
 *   dW = Gᵀ X with |dW| ≥ the k-th largest (core/topk.ts; threshold semantics by default,
 *   exactly SparseGrad's selection) and returns the DENSE masked gradient, zeros elsewhere,
 *   which AdamW then applies like any dense gradient. k counts weight entries per layer;
 *   the default is SparseGrad's budget rank·(in + out) with rank 7 (sparsegrad/apply.ts).
 * - 'original' (Sun et al. 2017, `lancopku/meProp`): the output gradient is sparsified
 *   per row — for each token, its k largest |G[t, :]| — and both dX = G_k W and
 *   dW = G_kᵀ X use G_k, while db = Σ_t G uses the full G. Here k counts output units
 *   (so only k < out sparsifies) and must be given. Selection defaults to 'exact': exactly
 *   k per row, as torch.topk (ties to the lower index).
 *
 * Zeros: a selection never keeps an exact zero and writes +0 where it drops, so with k at
 * least the number of entries the gradients are the dense ones bitwise, except that a −0
 * entry comes back as +0.
 */
import { allocate, type FloatStorage } from '../base/dtype.ts';
import { ShapeError, ValueError } from '../base/errors.ts';
import { Tensor, type HookHandle } from '../core/tensor.ts';
import { topK, type TopKMode } from '../core/topk.ts';
import type { Linear } from './linear.ts';
import { Module, type Parameter } from './module.ts';
import { budget } from './sparsegrad/apply.ts';
import { selectionEnergy } from './sparsegrad/layer.ts';
import { findTargets, type TargetOptions } from './targets.ts';

export type MePropVariant = 'paper' | 'original';

export interface MePropOptions extends TargetOptions {
  variant?: MePropVariant;
  /** 'paper': weight entries kept per layer (default rank·(in + out)); 'original': output units kept per token (required). */
  k?: number;
  /** 'paper' only: the LoRA rank whose budget the default k matches. Default 7. */
  rank?: number;
  /** Default 'threshold' for 'paper' (as SparseGrad), 'exact' for 'original' (as torch.topk). */
  selection?: TopKMode;
}

export interface MePropHandle {
  readonly variant: MePropVariant;
  /** 'paper': the hooked Linears themselves; 'original': the MePropLinears that replaced them. */
  readonly layers: [string, Linear | MePropLinear][];
  /** Remove the hooks ('paper') or put the Linears back ('original'). W itself was trained either way. */
  unload(): void;
  /**
   * 'paper': per layer, the last selection's gradient energy (Σ kept g², Σ g² of the dense
   * dW; null before its first backward). 'original': empty (it selects per token in G).
   */
  selections(): ({ kept: number; total: number } | null)[];
}

/** Weights currently carrying a 'paper' MeProp hook (read by memoryReport to label them). */
const hookedWeights = new WeakSet<Tensor>();

/**
 * Whether a weight carries a 'paper' MeProp hook now.
 *
 * @example
 * ```ts
 * import { applyMeProp, isMePropWeight, Linear, Module } from 'sparsegrad/nn';
 * class Net extends Module { fc = new Linear(4, 2); }
 * const net = new Net();
 * const handle = applyMeProp(net, { targets: 'fc', k: 3 });
 * isMePropWeight(net.fc.weight); // => true
 * handle.unload();
 * isMePropWeight(net.fc.weight); // => false
 * ```
 */
export function isMePropWeight(t: Tensor): boolean {
  return hookedWeights.has(t);
}

/**
 * Each row (last axis) of g reduced to its top-k |entries|, +0 elsewhere.
 *
 * @example
 * ```ts
 * import { topKRows } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * topKRows(tensor([[1, -5, 3], [4, 0, -2]]), 1); // => [[0, -5, 0], [4, 0, 0]]
 * ```
 */
export function topKRows(g: Tensor, k: number, mode: TopKMode = 'exact'): Tensor {
  const width = g.shape[g.rank - 1]!;
  const data = g.contiguous().data as FloatStorage;
  const out = allocate(g.dtype, data.length) as FloatStorage;
  for (let start = 0; start < data.length; start += width) {
    const row = topK(Tensor.fromStorage(data.subarray(start, start + width), [width]), k, mode);
    for (let i = 0; i < row.nnz; i++) out[start + row.indices[i]!] = row.values[i]!;
  }
  return Tensor.fromStorage(out, g.shape);
}

/**
 * A Linear whose backward sees only the top-k output-gradient entries of each token ('original' MeProp).
 *
 * @example
 * ```ts
 * import { Linear, MePropLinear } from 'sparsegrad/nn';
 * import { ones } from 'sparsegrad';
 * const layer = new MePropLinear(new Linear(4, 3), 1);
 * const x = ones([2, 4], { requiresGrad: true });
 * layer.forward(x).sum().backward();
 * x.grad!.shape; // => [2, 4]
 * ```
 */
export class MePropLinear extends Module {
  /** The original's own Parameters: W trains, under the names it had. */
  weight: Parameter;
  bias: Parameter | null;
  readonly #original: Linear;

  constructor(
    linear: Linear,
    readonly k: number,
    readonly selection: TopKMode = 'exact',
  ) {
    super();
    this.#original = linear;
    this.weight = linear.weight;
    this.bias = linear.bias;
  }

  get inFeatures(): number {
    return this.#original.inFeatures;
  }
  get outFeatures(): number {
    return this.#original.outFeatures;
  }

  /**
   * The selection is a hook on X Wᵀ before the bias is added: the bias has already taken
   * the full G, and the matmul's own VJP computes dX and dW from G_k — a plain Linear's
   * arithmetic, so k ≥ out is bitwise dense.
   */
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) throw new ShapeError(`MePropLinear: expected input with last dimension ${this.inFeatures}, got [${x.shape}]`);
    const product = x.matmul(this.weight.transpose());
    if (product.requiresGrad) product.registerHook((g) => topKRows(g instanceof Tensor ? g : g.toDense(), this.k, this.selection));
    return this.bias ? product.add(this.bias) : product;
  }

  unload(): Linear {
    return this.#original;
  }

  protected override describe(): string {
    return `MePropLinear(in=${this.inFeatures}, out=${this.outFeatures}, k=${this.k} per token, ${this.selection})`;
  }
}

/**
 * MeProp on the target linears: 'paper' hooks their weights, 'original' replaces them by MePropLinear (above).
 *
 * @example
 * ```ts
 * import { applyMeProp, Linear, Module } from 'sparsegrad/nn';
 * import { tensor } from 'sparsegrad';
 * class Net extends Module { fc = new Linear(4, 3); }
 * const net = new Net();
 * applyMeProp(net, { targets: 'fc', k: 2 });
 * net.fc.forward(tensor([[1, 2, 3, 4]])).mul(tensor([1, 2, 3])).sum().backward();
 * net.fc.weight.grad; // => [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 9, 12]]
 * ```
 */
export function applyMeProp(model: Module, options: MePropOptions = {}): MePropHandle {
  const targets = findTargets(model, options);
  if (options.variant === 'original') {
    const { k } = options;
    if (k === undefined || !Number.isInteger(k) || k < 1)
      throw new ValueError(`MeProp (original): k, the output units kept per token, must be a positive integer, got ${k}`);
    const layers = targets.map(([name, linear]): [string, MePropLinear] => {
      const layer = new MePropLinear(linear, k, options.selection ?? 'exact');
      model.replaceModule(name, layer);
      return [name, layer];
    });
    return { variant: 'original', layers, unload: () => layers.forEach(([name, l]) => model.replaceModule(name, l.unload())), selections: () => [] };
  }
  const energies: ({ kept: number; total: number } | null)[] = targets.map(() => null);
  const hooks: [Tensor, HookHandle][] = targets.map(([, linear], i) => {
    const [out, inF] = linear.weight.shape as [number, number];
    const k = budget({ k: options.k, rank: options.rank }, inF, out);
    const mode = options.selection ?? 'threshold';
    const handle = linear.weight.registerHook((g) => {
      const dense = g instanceof Tensor ? g : g.toDense();
      const selected = topK(dense, k, mode);
      energies[i] = selectionEnergy(dense, selected);
      return selected.toDense();
    });
    hookedWeights.add(linear.weight);
    return [linear.weight, handle];
  });
  const unload = () => {
    for (const [weight, handle] of hooks) {
      handle.remove();
      hookedWeights.delete(weight);
    }
  };
  return { variant: 'paper', layers: targets, unload, selections: () => [...energies] };
}
