/**
 * Applying SparseGrad to a whole model, as peft applies adapters — no model code changes:
 *
 * 1. Preliminary phase (`collectGradients`): hooks on the target linears' weights stream
 *    every accumulated weight gradient M (out×in) into one float64 Gram accumulator per
 *    layer *type* (C_out += M Mᵀ, C_in += Mᵀ M; the stack of slices is never stored).
 *    The caller runs ordinary training steps meanwhile — the reference runs 11 AdamW
 *    steps on all parameters — or steps without updating (the paper's wording).
 * 2. Bases (`finish`): V = eigenvectors of C_out, U = eigenvectors of C_in (descending,
 *    deterministic signs, orthonormal to 1e-12), one shared pair per layer type.
 * 3. Conversion (`applySparseGrad`): each target becomes a SparseGradLinear with W̃ = Vᵀ W A.
 *
 * Training then uses one optimizer with two groups: SparseAdam for the W̃'s and AdamW for
 * everything else that trains, MLP biases included (`sparseGradGroups`).
 */
import type { DType } from '../../base/dtype.ts';
import { ValueError } from '../../base/errors.ts';
import { noGrad } from '../../core/autograd.ts';
import { Tensor } from '../../core/tensor.ts';
import type { HookHandle } from '../../core/tensor.ts';
import type { Linear } from '../linear.ts';
import type { Module, Parameter } from '../module.ts';
import { findTargets, layerType, type TargetOptions } from '../targets.ts';
import { basesFromGram } from './bases.ts';
import { GramAccumulator } from './gram.ts';
import { SparseGradLinear, type SparseGradLayerOptions } from './layer.ts';

/** The layer options (one definition, in layer.ts) plus how the budget k is chosen per layer. */
export interface SparseGradConfig extends TargetOptions, Omit<SparseGradLayerOptions, 'k'> {
  /** Entries kept per layer and step. Default rank·(in + out): the budget of a LoRA of that rank. */
  k?: number;
  /** Instead of k: a fraction of in·out in (0, 1], rounded to the nearest integer (at least 1). */
  density?: number;
  /** The LoRA rank the default budget matches. Default 7 (BERT-base: 26,880 ≈ the reference's 28,000). */
  rank?: number;
}

/** One shared pair of bases for every layer of a type, as tensors. */
export interface LayerTypeBases {
  U: Tensor;
  V: Tensor;
  /** Eigenvalues of C_in and C_out, descending. */
  inValues: Float64Array;
  outValues: Float64Array;
  /** Gradient slices that went into the Gram matrices. */
  slices: number;
}

/**
 * The per-layer budget k of a config, validated.
 *
 * @example
 * ```ts
 * import { budget } from 'sparsegrad/nn';
 * budget({}, 768, 3072); // => 26880
 * budget({ density: 0.01 }, 100, 100); // => 100
 * ```
 */
export function budget(config: SparseGradConfig, inF: number, outF: number): number {
  if (config.k !== undefined && config.density !== undefined) throw new ValueError('SparseGrad: give k or density, not both');
  if (config.density !== undefined) {
    if (!(config.density > 0 && config.density <= 1)) throw new ValueError(`SparseGrad: density must be in (0, 1], got ${config.density}`);
    return Math.max(1, Math.round(config.density * inF * outF));
  }
  const k = config.k ?? (config.rank ?? 7) * (inF + outF);
  if (!Number.isInteger(k) || k < 1) throw new ValueError(`SparseGrad: k must be a positive integer, got ${k}`);
  return Math.min(k, inF * outF);
}

/**
 * Streams the target weights' gradients into Gram matrices, one per layer type, then finishes them into bases (phase 1 and 2 above).
 *
 * @example
 * ```ts
 * import { GradientCollector, Linear, Module } from 'sparsegrad/nn';
 * import { randn } from 'sparsegrad';
 * class Net extends Module { fc = new Linear(4, 3); }
 * const net = new Net();
 * const collector = new GradientCollector(net, { targets: 'fc' });
 * net.fc.forward(randn([8, 4])).pow(2).sum().backward();
 * collector.finish().get('fc')!.U.shape; // => [4, 4]
 * ```
 */
export class GradientCollector {
  readonly types = new Map<string, { gram: GramAccumulator; layers: string[] }>();
  private readonly handles: HookHandle[] = [];

  /** Start streaming the targets' weight gradients (dense) into per-type Gram matrices. */
  constructor(model: Module, config: TargetOptions = {}) {
    for (const [name, linear] of findTargets(model, config)) {
      const type = layerType(name);
      const [out, inF] = linear.weight.shape as [number, number];
      const entry = this.types.get(type) ?? { gram: new GramAccumulator(out, inF), layers: [] };
      if (entry.gram.outFeatures !== out || entry.gram.inFeatures !== inF) {
        throw new ValueError(
          `SparseGrad: layers of type ${type} differ in shape (${name} is ${out}×${inF}, others ${entry.gram.outFeatures}×${entry.gram.inFeatures})`,
        );
      }
      entry.layers.push(name);
      this.types.set(type, entry);
      if (!linear.weight.requiresGrad) throw new ValueError(`SparseGrad: ${name}.weight does not require grad, so no gradient can be collected`);
      this.handles.push(
        linear.weight.registerPostAccumulateGradHook((w) => {
          const g = w.grad;
          if (!(g instanceof Tensor)) throw new ValueError(`SparseGrad: expected a dense gradient on ${name}.weight during collection`);
          entry.gram.add(g.contiguous().data as Float32Array | Float64Array);
        }),
      );
    }
  }

  /** Stop collecting (idempotent): later backward passes are no longer streamed into the Gram matrices. */
  stop(): void {
    for (const h of this.handles.splice(0)) h.remove();
  }

  /**
   * Stop collecting and compute one pair of bases per layer type; `onType` hears of each
   * type as it is done (the eigen-decompositions take seconds at BERT-base size).
   */
  finish(onType?: (type: string, bases: LayerTypeBases) => void): Map<string, LayerTypeBases> {
    this.stop();
    const bases = new Map<string, LayerTypeBases>();
    for (const [type, { gram }] of this.types) {
      const gramResult = gram.finish();
      if (gramResult.slices === 0)
        throw new ValueError(`SparseGrad: no gradient was collected for ${type}; run at least one backward pass between collectGradients() and finish()`);
      const { U, V, eigenvalues } = basesFromGram(gramResult);
      const typeBases: LayerTypeBases = {
        V: Tensor.fromStorage(V, [gram.outFeatures, gram.outFeatures]),
        U: Tensor.fromStorage(U, [gram.inFeatures, gram.inFeatures]),
        outValues: eigenvalues.v,
        inValues: eigenvalues.u,
        slices: gramResult.slices,
      };
      bases.set(type, typeBases);
      onType?.(type, typeBases);
    }
    return bases;
  }
}

/**
 * Phase 1: start a GradientCollector on the model's targets.
 *
 * @example
 * ```ts
 * import { collectGradients, Linear, Module } from 'sparsegrad/nn';
 * import { randn } from 'sparsegrad';
 * class Net extends Module { fc = new Linear(4, 3); }
 * const net = new Net();
 * const collector = collectGradients(net, { targets: 'fc' });
 * net.fc.forward(randn([8, 4])).pow(2).sum().backward();
 * collector.finish().get('fc')!.V.shape; // => [3, 3]
 * ```
 */
export const collectGradients = (model: Module, config: TargetOptions = {}) => new GradientCollector(model, config);

export interface SparseGradHandle {
  layers: [string, SparseGradLinear][];
  /** The W̃'s: the SparseAdam group. */
  sparseParameters(): Parameter[];
  /** Replace each SparseGradLinear by its merged plain Linear (W = V W̃ Aᵀ): HF names again. */
  merge(): void;
  /** Put the original linears back (fine-tuned W̃'s are dropped). */
  unload(): void;
}

/**
 * Convert the target linears with the collected bases (one pair per layer type).
 *
 * @example
 * ```ts
 * import { applySparseGrad, collectGradients, Linear, Module, SparseGradLinear } from 'sparsegrad/nn';
 * import { randn } from 'sparsegrad';
 * class Net extends Module { fc = new Linear(4, 3); }
 * const net = new Net();
 * const collector = collectGradients(net, { targets: 'fc' });
 * net.fc.forward(randn([8, 4])).pow(2).sum().backward();
 * const handle = applySparseGrad(net, collector.finish(), { targets: 'fc', k: 2 });
 * net.fc instanceof SparseGradLinear; // => true
 * handle.sparseParameters()[0]!.shape; // => [3, 4]
 * ```
 */
export function applySparseGrad(model: Module, bases: Map<string, LayerTypeBases>, config: SparseGradConfig = {}): SparseGradHandle {
  // The bases arrive in float64; each layer computes in its weight's dtype. Convert each
  // type's pair once, here, so that every block of the type holds the same U and V
  // storage (a per-block copy costs blocks × (in² + out²) entries: ≈ 960 MB instead of
  // ≈ 80 MB at BERT-base), and memoryReport, which counts each array once, sees one copy.
  const converted = new Map<string, { U: Tensor; V: Tensor }>();
  const shared = (type: string, pair: LayerTypeBases, dtype: DType) => {
    const key = `${type}\u0000${dtype}`;
    let entry = converted.get(key);
    if (!entry) converted.set(key, (entry = noGrad(() => ({ U: pair.U.to(dtype).contiguous(), V: pair.V.to(dtype).contiguous() }))));
    return entry;
  };
  const layers: [string, SparseGradLinear][] = findTargets(model, config).map(([name, linear]) => {
    const type = layerType(name);
    const pair = bases.get(type);
    if (!pair) throw new ValueError(`SparseGrad: no bases for ${name} (type ${type}); collected types: ${[...bases.keys()].join(', ')}`);
    const [out, inF] = linear.weight.shape as [number, number];
    const { U, V } = shared(type, pair, linear.weight.dtype);
    // The layer's own defaults fill what the config leaves unset.
    const { k: _k, density: _density, rank: _rank, targets: _targets, everyNthBlock: _every, ...layerOptions } = config;
    const layer = new SparseGradLinear(linear, U, V, { ...layerOptions, k: budget(config, inF, out) });
    model.replaceModule(name, layer);
    return [name, layer];
  });
  const swap = (make: (l: SparseGradLinear) => Linear) => layers.forEach(([name, l]) => model.replaceModule(name, make(l)));
  return {
    layers,
    sparseParameters: () => layers.map(([, l]) => l.weight_tilde),
    merge: () => swap((l) => l.merge()),
    unload: () => swap((l) => l.unload()),
  };
}

/**
 * Parameter groups for one optimizer, as the reference trains: the W̃'s in a SparseAdam
 * group, every other trainable parameter (MLP biases included) in the dense group.
 * The rules are passed in so this file does not depend on optim/.
 *
 * @example
 * ```ts
 * import { applySparseGrad, collectGradients, Linear, Module, sparseGradGroups } from 'sparsegrad/nn';
 * import { adamW, Optimizer, sparseAdam } from 'sparsegrad/optim';
 * import { randn } from 'sparsegrad';
 * class Net extends Module { fc = new Linear(4, 3); }
 * const net = new Net();
 * const collector = collectGradients(net, { targets: 'fc' });
 * net.fc.forward(randn([8, 4])).pow(2).sum().backward();
 * const handle = applySparseGrad(net, collector.finish(), { targets: 'fc', k: 2 });
 * const groups = sparseGradGroups(net, handle, { sparse: sparseAdam, dense: adamW }, { lr: 1e-3 });
 * groups.map((g) => g.params.length); // => [1, 1]
 * new Optimizer(groups, { rule: adamW }).paramGroups.length; // => 2
 * ```
 */
export function sparseGradGroups<S, D>(model: Module, handle: SparseGradHandle, rules: { sparse: S; dense: D }, hyper: Record<string, unknown> = {}) {
  const sparse = new Set<Tensor>(handle.sparseParameters());
  const dense = model.parameters().filter((p) => p.requiresGrad && !sparse.has(p));
  return [{ params: [...sparse], rule: rules.sparse, ...hyper }, ...(dense.length > 0 ? [{ params: dense, rule: rules.dense, ...hyper }] : [])];
}
