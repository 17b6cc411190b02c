/**
 * `memoryReport`: the bytes a fine-tuning setup holds, so the paper's memory comparison
 * (docs/METHOD.md §9, §10) can be redone with numbers that say where they come from.
 *
 * Exact — counted from the typed arrays held right now, each array once (tied weights,
 * LoRA's frozen W on the original's storage, bases shared by all blocks of a type):
 * - parameters, all and those that require grad, with their entry counts;
 * - originals: what adapted layers keep of the Linear they replaced, for unload(), beyond
 *   what they share with it — SparseGradLinear's W (out·in); LoRA and MeProp share all;
 * - gradients in `.grad`: dense arrays, and sparse COO as int32 indices + values;
 * - optimizer state: every buffer in `optimizer.stateDict()` (moments, SparseAdam's
 *   touched set). Step counters are JS numbers, not typed memory, and count 0;
 * - SparseGrad bases: the U/V buffers of every SparseGradLinear; other buffers apart;
 * - materialized SparseGrad layers' W_eff = V W̃ Aᵀ: a private cache of fixed size out·in,
 *   held from the layer's first forward on, so counted for every such layer.
 *
 * Analytic — only with `tokens` (T, the tokens through each target linear): per target
 * layer, the activations its backward needs, i.e. what torch's autograd saves for it,
 *   Linear, W trainable; MeProp     X                 T·in
 *   Linear, W frozen                nothing (dX = G W needs W only)
 *   LoRA                            X and X A         T·(in + r)
 *   SparseGrad, factored            X̃ = X A           T·in   (X itself is not needed)
 *   SparseGrad, materialized        X                 T·in
 * and the transient buffers its backward makes beyond a plain layer's dX and dW:
 *   MeProp 'paper': the dense dW before masking (out·in); 'original': G_k (T·out);
 *   SparseGrad factored: G̃ = G V (T·out) and the dense dW̃ before selection (out·in);
 *   SparseGrad materialized: Gᵀ X and the dense dW̃ (2·out·in).
 * Row compaction shrinks T to the rows of G that are non-zero; the estimate uses T. This
 * engine keeps more alive than torch: a graph node references its inputs until the graph
 * is dropped, so every forward intermediate (X Wᵀ before the bias add, say) lives until
 * then too. The analytic figures are the methods' own, comparable across methods and
 * with torch, not this engine's peak.
 */
import { ValueError } from '../base/errors.ts';
import { SparseCoo } from '../core/sparse.ts';
import { Tensor } from '../core/tensor.ts';
import { Linear } from './linear.ts';
import { LoraLinear } from './lora.ts';
import { isMePropWeight, MePropLinear } from './meprop.ts';
import type { Module } from './module.ts';
import { SparseGradLinear } from './sparsegrad/layer.ts';
import { findModules } from './surgery.ts';
import { defaultTargets, type TargetOptions } from './targets.ts';

/** What memoryReport reads of an optimizer (optim's Optimizer fits; nn does not import optim). */
export interface OptimizerLike {
  stateDict(): { state: Record<string, Record<string, unknown>> };
}

export interface MemoryOptions extends TargetOptions {
  /** Tokens (batch·seq) through each target linear: turns on the analytic activation estimate. */
  tokens?: number;
}

export type LayerMethod = 'dense' | 'frozen' | 'lora' | 'meprop-paper' | 'meprop-original' | 'sparsegrad' | 'sparsegrad-materialized';

export interface LayerActivations {
  name: string;
  method: LayerMethod;
  /** Bytes kept from the forward for the backward. */
  saved: number;
  /** Bytes the backward allocates beyond a plain layer's dX and dW. */
  transient: number;
}

export interface MemoryReport {
  parameters: { bytes: number; entries: number; trainableBytes: number; trainableEntries: number };
  /** Parameters of the original Linears that adapted layers keep for unload() and share with nobody. */
  originals: number;
  gradients: { dense: number; sparse: number };
  optimizerState: number;
  bases: number;
  otherBuffers: number;
  materializedWeights: number;
  /** Everything above (trainable bytes being part of parameters): exact, held now. */
  held: number;
  /** Analytic (see the header); null without `tokens`. */
  activations: { tokens: number; layers: LayerActivations[]; saved: number; transient: number } | null;
}

/**
 * The bytes a model (and optionally its optimizer) holds, by kind (above).
 *
 * @example
 * ```ts
 * import { Linear, memoryReport, Module } from 'sparsegrad/nn';
 * class Net extends Module { fc = new Linear(4, 2); }
 * const report = memoryReport(new Net());
 * report.parameters.entries; // => 10
 * report.parameters.bytes; // => 40
 * ```
 */
export function memoryReport(model: Module, optimizer?: OptimizerLike, options: MemoryOptions = {}): MemoryReport {
  const seen = new Set<ArrayBufferView>();
  /** The array's bytes the first time it is met, 0 after. */
  const once = (array: ArrayBufferView): number => {
    if (seen.has(array)) return 0;
    seen.add(array);
    return array.byteLength;
  };

  const parameters = { bytes: 0, entries: 0, trainableBytes: 0, trainableEntries: 0 };
  for (const p of model.parameters()) {
    const bytes = once(p.data);
    if (bytes === 0) continue;
    parameters.bytes += bytes;
    parameters.entries += p.numel;
    if (p.requiresGrad) {
      parameters.trainableBytes += bytes;
      parameters.trainableEntries += p.numel;
    }
  }

  // What a wrapper keeps for unload() beyond the parameters it shares: SparseGrad's W.
  let originals = 0;
  for (const [, m] of model.namedModules()) {
    if (m instanceof SparseGradLinear && !m.options.keepOriginal) continue; // nothing kept: unload() would throw
    if (m instanceof SparseGradLinear || m instanceof LoraLinear || m instanceof MePropLinear) {
      for (const p of m.unload().parameters()) originals += once(p.data);
    }
  }

  const gradients = { dense: 0, sparse: 0 };
  for (const p of model.parameters()) {
    if (p.grad instanceof SparseCoo) gradients.sparse += once(p.grad.indices) + once(p.grad.values);
    else if (p.grad) gradients.dense += once(p.grad.data);
  }

  let optimizerState = 0;
  for (const entry of Object.values(optimizer?.stateDict().state ?? {})) {
    for (const buffer of Object.values(entry)) if (buffer instanceof Tensor) optimizerState += once(buffer.data);
  }

  let bases = 0;
  let materializedWeights = 0;
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof SparseGradLinear)) continue;
    bases += once(m.U.data) + once(m.V.data);
    if (m.options.materialized) materializedWeights += m.outFeatures * m.inFeatures * m.weight_tilde.data.BYTES_PER_ELEMENT;
  }
  const otherBuffers = model.namedBuffers(true).reduce((sum, [, b]) => sum + once(b.data), 0);

  const held = parameters.bytes + originals + gradients.dense + gradients.sparse + optimizerState + bases + otherBuffers + materializedWeights;
  const activations = options.tokens === undefined ? null : activationEstimate(model, options.tokens, options);
  return { parameters, originals, gradients, optimizerState, bases, otherBuffers, materializedWeights, held, activations };
}

function activationEstimate(model: Module, tokens: number, options: TargetOptions): NonNullable<MemoryReport['activations']> {
  if (!Number.isInteger(tokens) || tokens < 1) throw new ValueError(`memoryReport: tokens must be a positive integer, got ${tokens}`);
  const pattern = options.targets ?? defaultTargets(model, options.everyNthBlock);
  const layers = findModules(model, pattern).flatMap(([name, m]) => {
    const found = layerActivations(m, tokens);
    return found ? [{ name, ...found }] : [];
  });
  if (layers.length === 0) throw new ValueError(`memoryReport: no linear layer matches the targets ${String(pattern)}`);
  const total = (key: 'saved' | 'transient') => layers.reduce((sum, l) => sum + l[key], 0);
  return { tokens, layers, saved: total('saved'), transient: total('transient') };
}

/** The table in the header, in bytes; null for a module that is no linear layer. */
function layerActivations(m: Module, T: number): Omit<LayerActivations, 'name'> | null {
  const layer = (method: LayerMethod, weight: Tensor, saved: number, transient: number) => {
    const e = weight.data.BYTES_PER_ELEMENT;
    return { method, saved: saved * e, transient: transient * e };
  };
  if (m instanceof LoraLinear) return layer('lora', m.weight, T * (m.inFeatures + m.r), 0);
  if (m instanceof MePropLinear) return layer('meprop-original', m.weight, T * m.inFeatures, T * m.outFeatures);
  if (m instanceof SparseGradLinear) {
    const [o, i] = [m.outFeatures, m.inFeatures];
    return m.options.materialized
      ? layer('sparsegrad-materialized', m.weight_tilde, T * i, 2 * o * i)
      : layer('sparsegrad', m.weight_tilde, T * i, T * o + o * i);
  }
  if (m instanceof Linear) {
    const [o, i] = [m.outFeatures, m.inFeatures];
    if (isMePropWeight(m.weight)) return layer('meprop-paper', m.weight, T * i, o * i);
    return m.weight.requiresGrad ? layer('dense', m.weight, T * i, 0) : layer('frozen', m.weight, 0, 0);
  }
  return null;
}

const MiB = 1024 * 1024;

/**
 * The report as a fixed-width table: bytes and MiB, exact rows first, then the analytic ones.
 *
 * @example
 * ```ts
 * import { formatMemoryReport, Linear, memoryReport, Module } from 'sparsegrad/nn';
 * class Net extends Module { fc = new Linear(4, 2); }
 * formatMemoryReport(memoryReport(new Net())).includes('parameters'); // => true
 * ```
 */
export function formatMemoryReport(r: MemoryReport): string {
  const row = (label: string, bytes: number, note = '') =>
    `${label.padEnd(32)}${bytes.toLocaleString('en-US').padStart(16)} B${(bytes / MiB).toFixed(2).padStart(11)} MiB${note ? `  ${note}` : ''}`;
  const lines = [
    `${'exact, held now'.padEnd(32)}${'bytes'.padStart(18)}${'MiB'.padStart(15)}`,
    row('parameters', r.parameters.bytes, `${r.parameters.entries.toLocaleString('en-US')} entries`),
    row('  trainable', r.parameters.trainableBytes, `${r.parameters.trainableEntries.toLocaleString('en-US')} entries`),
    row('originals kept for unload()', r.originals),
    row('gradients, dense', r.gradients.dense),
    row('gradients, sparse (COO)', r.gradients.sparse),
    row('optimizer state', r.optimizerState),
    row('SparseGrad bases U, V', r.bases),
    row('other buffers', r.otherBuffers),
    row('materialized W_eff', r.materializedWeights),
    row('held', r.held),
  ];
  const a = r.activations;
  if (a) {
    lines.push('', `analytic, ${a.tokens} tokens per target layer (saved for backward / backward transient)`);
    for (const l of a.layers) lines.push(row(`  ${l.name} [${l.method}]`, l.saved, `+ ${(l.transient / MiB).toFixed(2)} MiB transient`));
    lines.push(row('activations saved', a.saved), row('backward transient, summed', a.transient));
  }
  return lines.join('\n');
}
