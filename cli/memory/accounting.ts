/**
 * The bytes each method holds, by category (parameters, kept originals, gradients, optimizer
 * state, SparseGrad's bases and materialized weights, and the labelled activation estimate),
 * two ways: measured off a live model after one step (`measuredMemory`) and computed from
 * the shapes (`analyticMemory`); the tests hold them equal byte for byte.
 */
import { eye, zeros } from '../../core/creation.ts';
import { Generator } from '../../core/random.ts';
import { SparseCoo } from '../../core/sparse.ts';
import type { Tensor } from '../../core/tensor.ts';
import type { Linear } from '../../nn/linear.ts';
import { memoryReport, type MemoryReport } from '../../nn/memory.ts';
import type { Module } from '../../nn/module.ts';
import type { LayerTypeBases } from '../../nn/sparsegrad/apply.ts';
import { budget } from '../../nn/sparsegrad/apply.ts';
import { findTargets, layerType } from '../../nn/targets.ts';
import { convertSparseGrad, materializedPays, prepareSimple, type MethodName, type MethodOptions, type Prepared, type TrainScope } from '../methods.ts';

import type { ModelSpec, TargetSpec } from './models.ts';

const E = 4; // float32 bytes per entry
const INDEX = 4; // int32 bytes per COO index or touched index

/**
 * The default share of a W̃'s entries ever selected, for sparse-moment SparseAdam. Measured
 * here, not taken from the paper (which reports none): `compare` records, per step, the
 * entries that have had a non-zero gradient (RunResult.changes.everSelected). In the default
 * setting on bert-mini — `sparsegrad compare --methods sparsegrad,meprop --seeds 42` (spam,
 * 2,000 e-mails, 120 steps of 16, lr 3e-4; 2026-12-06) — SparseGrad's 109 sparse steps at
 * k = 4,480 of 65,536 entries (6.8 %) per step had touched 116,696 of the 262,144 entries of
 * its four W̃'s: 0.445 (0.315 after 39 steps). The share grows with the steps and with the
 * density, so BERT-base at 1.2 % over a short run touches less, and a long run more: pass
 * --touched with the figure of the run in question.
 */
export const DEFAULT_TOUCHED = 0.45;

export interface MemoryRow {
  key: string;
  label: string;
  method: MethodName;
  sparseMoments: boolean;
}

export const MEMORY_ROWS: readonly MemoryRow[] = [
  { key: 'full', label: 'Full FT', method: 'full', sparseMoments: false },
  { key: 'lora', label: 'LoRA', method: 'lora', sparseMoments: false },
  { key: 'meprop', label: 'MeProp', method: 'meprop', sparseMoments: false },
  { key: 'sparsegrad', label: 'SparseGrad, dense moments', method: 'sparsegrad', sparseMoments: false },
  { key: 'sparsegrad-sparse', label: 'SparseGrad, sparse moments', method: 'sparsegrad', sparseMoments: true },
];

export interface MemorySettings {
  scope: TrainScope;
  /** LoRA rank; MeProp and SparseGrad keep k = rank·(in + out) entries per layer. */
  rank: number;
  /** Share of each W̃'s entries ever selected (sparse moments). */
  touched: number;
  materialized: 'auto' | 'on' | 'off';
}

/** The byte categories of nn/memory.ts's MemoryReport that a method changes, plus its analytic activations. */
export interface Accounting {
  parameters: number;
  trainableEntries: number;
  originals: number;
  gradientsDense: number;
  gradientsSparse: number;
  optimizerState: number;
  bases: number;
  materializedWeights: number;
  held: number;
  activationsSaved: number;
  activationsTransient: number;
}

/** Entries of a W̃ in the sparse-moment touched set: the touched share, never fewer than one step's k. */
export function touchedEntries(t: TargetSpec, k: number, touched: number): number {
  return Math.min(t.out * t.in, Math.max(k, Math.round(touched * t.out * t.in)));
}

/** The bytes from the shapes alone: the rules memoryReport applies to live arrays (nn/memory.ts header). */
export function analyticMemory(spec: ModelSpec, row: MemoryRow, s: MemorySettings): Accounting {
  const targetParams = new Set(spec.targets.flatMap((t) => [`${t.name}.weight`, `${t.name}.bias`]));
  const a: Accounting = {
    parameters: 0,
    trainableEntries: 0,
    originals: 0,
    gradientsDense: 0,
    gradientsSparse: 0,
    optimizerState: 0,
    bases: 0,
    materializedWeights: 0,
    held: 0,
    activationsSaved: 0,
    activationsTransient: 0,
  };
  let denseTrainable = 0; // entries with a dense gradient and AdamW's two moments
  for (const p of spec.params) {
    a.parameters += p.numel * E;
    if (!targetParams.has(p.name) && spec.trains(p.name, s.scope)) denseTrainable += p.numel;
  }
  const T = spec.tokens;
  const types = new Map<string, TargetSpec>();
  for (const t of spec.targets) {
    types.set(layerType(t.name), t);
    const W = t.out * t.in;
    const k = budget({ rank: s.rank }, t.in, t.out);
    if (t.bias) denseTrainable += t.out; // the bias trains densely in every method (AdamW)
    switch (row.method) {
      case 'full':
      case 'meprop': // a masked gradient is still a dense array, and AdamW's moments are dense
        denseTrainable += W;
        a.activationsSaved += T * t.in * E;
        if (row.method === 'meprop') a.activationsTransient += W * E; // the dense dW before masking
        break;
      case 'lora': {
        const adapters = s.rank * (t.in + t.out);
        a.parameters += adapters * E; // W stays, frozen, on the original's storage
        denseTrainable += adapters;
        a.activationsSaved += T * (t.in + s.rank) * E;
        break;
      }
      case 'sparsegrad': {
        // W̃ replaces W (same size); its gradient is k COO entries; SparseAdam's moments are dense or only for the touched set.
        a.trainableEntries += W;
        a.gradientsSparse += k * (INDEX + E);
        a.optimizerState += row.sparseMoments ? touchedEntries(t, k, s.touched) * (INDEX + 2 * E) : 2 * W * E;
        const materialized = s.materialized === 'auto' ? materializedPays(T, t.in, t.out) : s.materialized === 'on';
        if (materialized) a.materializedWeights += W * E;
        a.activationsSaved += T * t.in * E;
        a.activationsTransient += (materialized ? 2 * W : T * t.out + W) * E;
        break;
      }
    }
  }
  if (row.method === 'sparsegrad') for (const t of types.values()) a.bases += (t.in * t.in + t.out * t.out) * E; // one pair per layer type
  a.trainableEntries += denseTrainable;
  a.gradientsDense = denseTrainable * E;
  a.optimizerState += 2 * denseTrainable * E;
  a.held = a.parameters + a.originals + a.gradientsDense + a.gradientsSparse + a.optimizerState + a.bases + a.materializedWeights;
  return a;
}

/**
 * Build the model, apply the method as `compare` does, give every trainable parameter the
 * gradient it holds after a backward, take one optimizer step, and read memoryReport.
 * With sparse moments the step's W̃ gradients cover the touched set first (so SparseAdam's
 * state is that of a run which has touched it), then the held gradient is k of those entries.
 */
export function measuredMemory(spec: ModelSpec, row: MemoryRow, s: MemorySettings): Accounting {
  const model = spec.build();
  for (const [name, p] of model.namedParameters()) if (!spec.targets.some((t) => name.startsWith(`${t.name}.`))) p.requiresGrad = spec.trains(name, s.scope);
  const o: MethodOptions = {
    method: row.method,
    lr: 1e-3,
    rank: s.rank,
    loraAlpha: 1,
    prelimSteps: 1,
    prelimUpdate: false,
    inputBasis: 'consistent',
    materialized: s.materialized,
    tokensPerStep: spec.tokens,
    train: s.scope,
    sparseMoments: row.sparseMoments,
    ...(spec.everyNthBlock !== undefined ? { everyNthBlock: spec.everyNthBlock } : {}),
  };
  // Any orthogonal bases hold the same bytes: identities, in float64 as the preliminary phase returns them.
  const prepared: Prepared = row.method === 'sparsegrad' ? convertSparseGrad(model, identityBases(model, o), o) : prepareSimple(model, o, new Generator(1));
  const sparse = new Map((prepared.sparse?.layers ?? []).map(([, l]) => [l.weight_tilde as Tensor, l.options.k]));
  const give = (p: Tensor, indices: (k: number) => Int32Array) => {
    const k = sparse.get(p);
    if (k === undefined) p.grad = zeros(p.shape, { dtype: p.dtype as 'float32' });
    else {
      const idx = indices(k);
      p.grad = new SparseCoo(p.shape, idx, new Float32Array(idx.length).fill(1e-3));
    }
  };
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  const spread = (n: number, count: number) => Int32Array.from({ length: count }, (_, i) => Math.floor((i * n) / count)); // strictly increasing for count ≤ n
  for (const p of trainable) give(p, (k) => (row.sparseMoments ? spread(p.numel, Math.max(k, Math.round(s.touched * p.numel))) : spread(p.numel, k)));
  prepared.optimizer.step();
  if (row.sparseMoments)
    for (const p of trainable) if (sparse.has(p)) give(p, (k) => spread(p.numel, Math.max(k, Math.round(s.touched * p.numel))).subarray(0, k));
  const r: MemoryReport = memoryReport(model, prepared.optimizer, {
    tokens: spec.tokens,
    ...(spec.everyNthBlock !== undefined ? { everyNthBlock: spec.everyNthBlock } : {}),
  });
  return {
    parameters: r.parameters.bytes,
    trainableEntries: r.parameters.trainableEntries,
    originals: r.originals,
    gradientsDense: r.gradients.dense,
    gradientsSparse: r.gradients.sparse,
    optimizerState: r.optimizerState,
    bases: r.bases,
    materializedWeights: r.materializedWeights,
    held: r.held,
    activationsSaved: r.activations?.saved ?? 0,
    activationsTransient: r.activations?.transient ?? 0,
  };
}

function identityBases(model: Module, o: MethodOptions): Map<string, LayerTypeBases> {
  const bases = new Map<string, LayerTypeBases>();
  for (const [name, linear] of findTargets(model, o.everyNthBlock === undefined ? {} : { everyNthBlock: o.everyNthBlock })) {
    const type = layerType(name);
    if (bases.has(type)) continue;
    const [out, inF] = (linear as Linear).weight.shape as [number, number];
    bases.set(type, {
      U: eye(inF, inF, { dtype: 'float64' }),
      V: eye(out, out, { dtype: 'float64' }),
      inValues: new Float64Array(0),
      outValues: new Float64Array(0),
      slices: 0,
    });
  }
  return bases;
}
