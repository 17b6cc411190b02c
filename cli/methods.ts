/**
 * Preparing a model for one fine-tuning method, and its optimizer (docs/METHOD.md §7, §8):
 *
 * - full:       every parameter trains with AdamW (HF `adamw_hf`, wd 0, ε 1e-8).
 * - lora:       the MLP linears get LoRA (r, α = 1, the authors' variant), their W frozen;
 *               everything else trains densely with AdamW, as in the paper's GLUE runs.
 * - meprop:     the paper's MeProp: dense forward, each MLP weight gradient masked to its
 *               top-k |entries| (k = r·(in + out)), the masked dense gradient to AdamW.
 * - sparsegrad: the preliminary phase (the reference's 11 AdamW steps on all parameters,
 *               with the MLP weight gradients streamed into per-type float64 Gram
 *               matrices), bases by eigen-decomposition, conversion W̃ = Vᵀ W U, then
 *               SparseAdam on the W̃'s and AdamW (wd 0) on everything else.
 *
 * What trains besides the MLP linears is the `train` scope: 'paper' (default) trains
 * everything else densely with AdamW, as the paper's GLUE code; 'mlp-only' freezes every
 * parameter outside the MLP linears except the task head (BERT: the pooler and classifier,
 * both freshly initialised), so that the MLP method is the only variable. `prelimAll`
 * gives LoRA and MeProp SparseGrad's preliminary full AdamW steps too (the ablation that
 * shares its advantage); full fine-tuning is unchanged by it, its first steps being full
 * AdamW steps already.
 *
 * All at constant lr, no clipping, betas (0.9, 0.999), ε 1e-8 (docs/METHOD.md §10). Also here: loading a
 * BERT folder (a BertForMaskedLM pretraining checkpoint or a classifier) as a
 * BertForSequenceClassification with a fresh head.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { noGrad } from '../core/autograd.ts';
import { ValueError } from '../base/errors.ts';
import type { Generator } from '../core/random.ts';
import { Tensor } from '../core/tensor.ts';
import { BertForSequenceClassification } from '../models/bert.ts';
import { bertConfig } from '../models/config.ts';
import { LlamaForCausalLM } from '../models/llama.ts';
import { loadWeights, modelFromConfig } from '../models/weights.ts';
import type { BertTokenizer, LlamaTokenizer } from '../models/tokenizers/index.ts';
import { applyLora, type LoraHandle } from '../nn/lora.ts';
import { applyMeProp, type MePropHandle } from '../nn/meprop.ts';
import type { Module } from '../nn/module.ts';
import { applySparseGrad, budget, GradientCollector, sparseGradGroups, type LayerTypeBases, type SparseGradHandle } from '../nn/sparsegrad/apply.ts';
import type { InputBasis } from '../nn/sparsegrad/layer.ts';
import { findTargets, layerType, type TargetOptions } from '../nn/targets.ts';
import { readFolderTokenizer, readFolderWeights } from '../node/pretrained.ts';
import { adamWHf, Optimizer, sparseAdam } from '../optim/index.ts';
import { CliError } from './args.ts';
import { startProgress } from './progress.ts';

export const METHODS = ['full', 'lora', 'meprop', 'sparsegrad'] as const;
export type MethodName = (typeof METHODS)[number];
export const METHOD_LABELS: Record<MethodName, string> = { full: 'Full FT', lora: 'LoRA', meprop: 'MeProp', sparsegrad: 'SparseGrad' };

/** What trains besides the MLP linears (see the header). */
export const TRAIN_SCOPES = ['paper', 'mlp-only'] as const;
export type TrainScope = (typeof TRAIN_SCOPES)[number];

export interface MethodOptions {
  method: MethodName;
  lr: number;
  /** LoRA rank, and the rank whose budget r·(in + out) MeProp and SparseGrad match. */
  rank: number;
  /** An explicit per-layer budget for SparseGrad and MeProp instead of r·(in + out). */
  k?: number;
  loraAlpha: number;
  /** SparseGrad: steps of the preliminary phase (the reference: 11). */
  prelimSteps: number;
  /** SparseGrad: preliminary steps update the model (reference) or only collect (the paper's wording). */
  prelimUpdate: boolean;
  inputBasis: InputBasis;
  /** SparseGrad's materialized-weight mode; 'auto' turns it on when it is the cheaper path (§4). */
  materialized: 'auto' | 'on' | 'off';
  /** Tokens through each target linear per step (for 'auto'). */
  tokensPerStep: number;
  /** LLaMa: adapt only blocks whose index is a multiple of n. */
  everyNthBlock?: number;
  /** What trains besides the MLP linears (default 'paper': everything, densely). */
  train?: TrainScope;
  /** LoRA and MeProp: run SparseGrad's preliminary full AdamW steps first (default false). */
  prelimAll?: boolean;
  /** SparseGrad: SparseAdam keeps m, v only for the entries ever selected (optim/rules/sparse-adam.ts). */
  sparseMoments?: boolean;
  /** SparseGrad: skip the all-zero rows of G in the backward (nn/sparsegrad/layer.ts). */
  rowCompaction?: boolean;
}

/** HF `adamw_hf` as the reference runs it: ε 1e-8, betas (0.9, 0.999), no weight decay. */
const ADAMW = { rule: adamWHf, eps: 1e-8, betas: [0.9, 0.999] as [number, number], weightDecay: 0 };

export function denseOptimizer(params: Tensor[], lr: number): Optimizer {
  return new Optimizer(params, { ...ADAMW, lr });
}

export const targetOptions = (o: { everyNthBlock?: number }): TargetOptions => (o.everyNthBlock === undefined ? {} : { everyNthBlock: o.everyNthBlock });

// ---- loading ---------------------------------------------------------------------

async function readConfig(dir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    throw new CliError(
      `model folder not found or incomplete: ${dir} (expected config.json and model.safetensors; run 'sparsegrad pretrain' to build the default models, or pass --model DIR)`,
    );
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CliError(`${join(dir, 'config.json')}: not valid JSON (${(e as Error).message})`);
  }
}

export type AnyTokenizer = BertTokenizer | LlamaTokenizer;

/**
 * A BERT classifier from any BERT folder: the same config with `numLabels`, the `bert.*`
 * weights loaded non-strictly (a BertForMaskedLM's MLM head is unused; the pooler and
 * classifier missing from an MLM checkpoint keep their fresh init from `generator`).
 * A folder that already holds a classifier with the same label count loads strictly.
 */
export async function loadBertClassifier(
  dir: string,
  numLabels: number,
  generator: Generator,
): Promise<{ model: BertForSequenceClassification; tokenizer: BertTokenizer; missing: string[] }> {
  const raw = await readConfig(dir);
  const arch = Array.isArray(raw.architectures) ? String(raw.architectures[0]) : String(raw.model_type ?? '');
  if (!/^Bert/.test(arch) && raw.model_type !== 'bert')
    throw new CliError(
      `${dir} holds a ${arch || 'model of unknown type'}, not a BERT model: classification tasks need a BERT folder (e.g. pretrained/bert-mini)`,
    );
  const { id2label: _i, label2id: _l, num_labels: _n, architectures: _a, ...rest } = raw;
  const config = bertConfig({ ...rest, num_labels: numLabels });
  const model = new BertForSequenceClassification(config, { generator });
  const weights = await readFolderWeights(dir);
  const sameHead = arch === 'BertForSequenceClassification' && weights['classifier.weight']?.shape[0] === numLabels;
  const wanted = sameHead ? weights : Object.fromEntries(Object.entries(weights).filter(([n]) => !n.startsWith('cls.') && !n.startsWith('classifier.')));
  const { missing, unexpected } = loadWeights(model, wanted, { strict: false });
  if (unexpected.length > 0)
    throw new CliError(`${dir}: weights that fit no parameter of a BERT classifier: ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', …' : ''}`);
  const allowed = /^(bert\.pooler\.|classifier\.)/;
  const bad = missing.filter((n) => !allowed.test(n));
  if (bad.length > 0) throw new CliError(`${dir}: the checkpoint lacks ${bad.length} encoder weight(s), e.g. ${bad.slice(0, 3).join(', ')}`);
  const tokenizer = await readFolderTokenizer(dir);
  if (!tokenizer || !('clsId' in tokenizer)) throw new CliError(`${dir} has no BERT tokenizer (vocab.txt or a WordPiece tokenizer.json)`);
  return { model, tokenizer, missing };
}

/** A LLaMa causal LM from a folder (strict), with its tokenizer. */
export async function loadLlama(dir: string, generator: Generator): Promise<{ model: LlamaForCausalLM; tokenizer: LlamaTokenizer }> {
  const raw = await readConfig(dir);
  let model: Module;
  try {
    model = modelFromConfig(raw, { generator });
  } catch (e) {
    throw new CliError(`${dir}: ${(e as Error).message}`);
  }
  if (!(model instanceof LlamaForCausalLM))
    throw new CliError(`${dir} holds a ${model.constructor.name}, not a LLaMa model: language-model tasks need a LLaMa folder (e.g. pretrained/llama-mini)`);
  loadWeights(model, await readFolderWeights(dir));
  const tokenizer = await readFolderTokenizer(dir);
  if (!tokenizer || 'clsId' in tokenizer) throw new CliError(`${dir} has no LLaMa tokenizer (tokenizer.json with a BPE model)`);
  return { model, tokenizer };
}

/** The tokenizer files of a folder, to copy next to a fine-tuned model. */
export async function tokenizerFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
    try {
      out[name] = await readFile(join(dir, name), 'utf8');
    } catch {
      // absent: fine
    }
  }
  return out;
}

// ---- method preparation ----------------------------------------------------------------

/** Parameters of the task head, which every scope trains: BERT's pooler and classifier (new layers when loading an MLM checkpoint). */
const TASK_HEAD = /^(bert\.pooler\.|classifier\.)/;
export const isTaskHead = (parameterName: string) => TASK_HEAD.test(parameterName);

/**
 * Apply the train scope before any method is prepared: 'mlp-only' sets requiresGrad false
 * on every parameter outside the target linears and the task head (those keep their flag).
 * Returns the number of parameters it froze. Methods then build on the flags: LoRA adds
 * its A, B; SparseGrad's W̃ inherits W's flag; the optimizers take what requires grad.
 */
export function applyTrainScope(model: Module, o: Pick<MethodOptions, 'train' | 'everyNthBlock'>): number {
  if ((o.train ?? 'paper') === 'paper') return 0;
  const keep = new Set<Tensor>();
  for (const [, linear] of findTargets(model, targetOptions(o))) for (const p of linear.parameters()) keep.add(p);
  let frozen = 0;
  for (const [name, p] of model.namedParameters()) {
    if (keep.has(p) || TASK_HEAD.test(name) || !p.requiresGrad) continue;
    p.requiresGrad = false;
    frozen++;
  }
  return frozen;
}

/** The matrices each method trains in an MLP linear, per target layer: what "entries modified per step" counts. */
export interface TrackedLayer {
  name: string;
  /** Full FT and MeProp: [W]; LoRA: [A, B]; SparseGrad: [W̃]. */
  tensors: Tensor[];
  /** The last top-k selection's gradient energy: kept (Σ selected g²) and total (Σ g²); MeProp and SparseGrad only. */
  selection?: () => { kept: number; total: number } | null;
}

export interface Prepared {
  optimizer: Optimizer;
  /** The trained matrices of every target layer (see TrackedLayer). */
  tracked: TrackedLayer[];
  /** Put the model back into plain HF layers (merge adapters / W̃) before exporting. */
  merge(): void;
  sparse: SparseGradHandle | null;
  /** Entries updated per MLP layer per step (k), when the method has such a budget. */
  budget: number | null;
  /** What was done, for logs. */
  summary: string;
}

/** Every method's per-layer budget k = r·(in + out) (or the explicit k), for the first target. */
export function layerBudget(model: Module, o: Pick<MethodOptions, 'k' | 'rank' | 'everyNthBlock'>): number {
  const [, first] = findTargets(model, targetOptions(o))[0]!;
  const [out, inF] = first.weight.shape as [number, number];
  return budget({ k: o.k, rank: o.rank }, inF, out);
}

/** 'auto': whether the materialized weight is the cheaper path for T tokens through an out×in layer. */
export function materializedPays(tokens: number, inF: number, out: number): boolean {
  // Factored: 2T(in² + out²) extra MACs per step; materialized: two triple products (§4).
  return tokens * (inF * inF + out * out) > inF * out * (inF + out);
}

function useMaterialized(model: Module, o: MethodOptions): boolean {
  if (o.materialized !== 'auto') return o.materialized === 'on';
  const [, first] = findTargets(model, targetOptions(o))[0]!;
  const [out, inF] = first.weight.shape as [number, number];
  return materializedPays(o.tokensPerStep, inF, out);
}

/** The SparseGrad conversion with given bases (fresh from the preliminary phase, or read back from a checkpoint). */
export function convertSparseGrad(model: Module, bases: Map<string, LayerTypeBases>, o: MethodOptions): Prepared {
  const k = layerBudget(model, o);
  const sparse = applySparseGrad(model, bases, {
    ...targetOptions(o),
    k: o.k,
    rank: o.rank,
    inputBasis: o.inputBasis,
    materialized: useMaterialized(model, o),
    keepOriginal: false,
    rowCompaction: o.rowCompaction ?? false,
  });
  const sparseMoments = o.sparseMoments ?? false;
  const groups = sparseGradGroups(model, sparse, { sparse: sparseAdam, dense: adamWHf }, { lr: o.lr, eps: 1e-8, betas: [0.9, 0.999] });
  const optimizer = new Optimizer(
    groups.map((g) => (g.rule === adamWHf ? { ...g, weightDecay: 0 } : { ...g, sparseMoments })),
    { rule: adamWHf, lr: o.lr },
  );
  const options = sparse.layers[0]![1].options;
  const modes = [options.materialized ? 'materialized' : '', options.rowCompaction ? 'row compaction' : '', sparseMoments ? 'sparse moments' : ''].filter(
    Boolean,
  );
  return {
    optimizer,
    sparse,
    budget: k,
    tracked: sparse.layers.map(([name, l]) => ({ name, tensors: [l.weight_tilde], selection: () => l.lastSelection })),
    merge: () => sparse.merge(),
    summary: `SparseGrad: ${sparse.layers.length} MLP linears converted (${bases.size} layer types, input basis ${o.inputBasis}${modes.map((m) => `, ${m}`).join('')}), k = ${k} per layer, SparseAdam on W̃ + AdamW on the rest${scopeNote(o)}`,
  };
}

/** Bases as stored in a checkpoint's model state (each SparseGradLinear's U and V buffers). */
export function basesFromState(model: Module, state: Record<string, Tensor>, o: { everyNthBlock?: number }): Map<string, LayerTypeBases> {
  const bases = new Map<string, LayerTypeBases>();
  for (const [name] of findTargets(model, targetOptions(o))) {
    const type = layerType(name);
    if (bases.has(type)) continue;
    const U = state[`${name}.U`];
    const V = state[`${name}.V`];
    if (!U || !V) throw new ValueError(`checkpoint has no SparseGrad bases for ${name} (expected ${name}.U and ${name}.V)`);
    bases.set(type, { U: U.to('float64'), V: V.to('float64'), inValues: new Float64Array(0), outValues: new Float64Array(0), slices: 0 });
  }
  return bases;
}

/** Methods other than SparseGrad are one call; SparseGrad's preliminary phase is `runPreliminary`. */
export function prepareSimple(model: Module, o: MethodOptions, generator: Generator): Prepared {
  const trainable = () => model.parameters().filter((p) => p.requiresGrad);
  const note = scopeNote(o);
  switch (o.method) {
    case 'full':
      return {
        optimizer: denseOptimizer(trainable(), o.lr),
        sparse: null,
        budget: null,
        merge: () => {},
        tracked: findTargets(model, targetOptions(o)).map(([name, l]) => ({ name, tensors: [l.weight] })),
        summary: (o.train ?? 'paper') === 'paper' ? 'full fine-tuning: every parameter, AdamW' : `full fine-tuning of the MLP linears, AdamW${note}`,
      };
    case 'lora': {
      const handle: LoraHandle = applyLora(model, { ...targetOptions(o), r: o.rank, alpha: o.loraAlpha, generator });
      return {
        optimizer: denseOptimizer(trainable(), o.lr),
        sparse: null,
        budget: o.rank * (handle.layers[0]![1].inFeatures + handle.layers[0]![1].outFeatures),
        tracked: handle.layers.map(([name, l]) => ({ name, tensors: [l.lora_A, l.lora_B] })),
        merge: () => handle.merge(),
        summary: `LoRA r=${o.rank} α=${o.loraAlpha} on ${handle.layers.length} MLP linears (W frozen), ${note ? `AdamW${note}` : 'everything else AdamW'}`,
      };
    }
    case 'meprop': {
      const k = layerBudget(model, o);
      const handle: MePropHandle = applyMeProp(model, { ...targetOptions(o), k: o.k, rank: o.rank });
      return {
        optimizer: denseOptimizer(trainable(), o.lr),
        sparse: null,
        budget: k,
        tracked: handle.layers.map(([name, l], i) => ({ name, tensors: [l.weight], selection: () => handle.selections()[i] ?? null })),
        merge: () => handle.unload(),
        summary: `MeProp (paper variant) on ${handle.layers.length} MLP linears, top-${k} of each dW, AdamW on ${note ? `them${note}` : 'everything'}`,
      };
    }
    case 'sparsegrad':
      throw new ValueError('prepareSimple: SparseGrad needs its preliminary phase (runPreliminary)');
  }
}

/** '' in the paper's scope; otherwise what else trains. */
function scopeNote(o: Pick<MethodOptions, 'train'>): string {
  return (o.train ?? 'paper') === 'paper' ? '' : ' (mlp-only: everything else frozen but a classifier’s task head)';
}

// ---- SparseGrad's preliminary phase ---------------------------------------------------------

/** One training step of the preliminary phase: forward + backward (the caller's loss). */
export type StepFn = (step: number) => number;

export interface Preliminary {
  bases: Map<string, LayerTypeBases>;
  /** Training losses of the preliminary steps (they count towards the run's steps). */
  losses: number[];
  collectSeconds: number;
  eigenSeconds: number;
}

/**
 * Stream the MLP weight gradients of `steps` training steps into per-type Gram matrices
 * (post-accumulate hooks), stepping AdamW on all parameters meanwhile (the reference),
 * then eigen-decompose them with a progress bar per layer type.
 */
export function runPreliminary(model: Module, o: MethodOptions, backward: (step: number) => number): Preliminary {
  const collector = new GradientCollector(model, targetOptions(o));
  const grams = [...collector.types.values()].map(({ gram }) => gram);
  const t0 = performance.now();
  let losses: number[];
  try {
    losses = fullSteps(
      model,
      o,
      backward,
      'sparsegrad: collect gradients',
      `${grams.reduce((s, g) => s + g.outFeatures * g.inFeatures, 0).toLocaleString('en-US')} entries per slice set`,
    );
  } finally {
    collector.stop();
  }
  const collectSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const eig = startProgress('sparsegrad: eigen-decomposition', grams.length, { unit: 'types' });
  const bases = collector.finish((type, b) => eig.tick(1, `${type} (${b.V.shape[0]}×${b.U.shape[0]}, ${b.slices} slices)`));
  eig.done();
  return { bases, losses, collectSeconds, eigenSeconds: (performance.now() - t1) / 1000 };
}

/**
 * `o.prelimSteps` AdamW steps on every parameter that requires grad, with an optimizer of
 * their own that is dropped afterwards (the reference's preliminary phase; with
 * `prelimUpdate` false, backward passes only). Returns the losses.
 */
export function fullSteps(
  model: Module,
  o: Pick<MethodOptions, 'lr' | 'prelimSteps' | 'prelimUpdate'>,
  backward: (step: number) => number,
  label: string,
  doneNote?: string,
): number[] {
  const optimizer = denseOptimizer(
    model.parameters().filter((p) => p.requiresGrad),
    o.lr,
  );
  const losses: number[] = [];
  const bar = startProgress(label, o.prelimSteps);
  for (let step = 0; step < o.prelimSteps; step++) {
    const loss = backward(step);
    if (o.prelimUpdate) optimizer.step();
    optimizer.zeroGrad();
    losses.push(loss);
    bar.tick(1, `loss ${loss.toFixed(4)}`);
  }
  bar.done(doneNote);
  return losses;
}

/** Whether a method runs preliminary full AdamW steps: SparseGrad always; LoRA and MeProp with `prelimAll`. */
export function hasPreliminary(o: Pick<MethodOptions, 'method' | 'prelimAll'>): boolean {
  return o.method === 'sparsegrad' || (o.prelimAll === true && (o.method === 'lora' || o.method === 'meprop'));
}

/** The dense weight gradients of the target linears after one backward (copies, float64), by layer type. */
export function targetGradients(model: Module, o: { everyNthBlock?: number }): Map<string, { shape: [number, number]; slices: Float64Array[] }> {
  const out = new Map<string, { shape: [number, number]; slices: Float64Array[] }>();
  noGrad(() => {
    for (const [name, linear] of findTargets(model, targetOptions(o))) {
      const g = linear.weight.grad;
      if (!(g instanceof Tensor)) continue;
      const type = layerType(name);
      const entry = out.get(type) ?? { shape: linear.weight.shape as [number, number], slices: [] };
      entry.slices.push(Float64Array.from(g.contiguous().data as Float32Array));
      out.set(type, entry);
    }
  });
  return out;
}
