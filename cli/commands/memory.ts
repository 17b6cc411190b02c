/**
 * `sparsegrad memory`: the memory each fine-tuning method holds at the sizes where the
 * paper makes its claim — BERT-base (GLUE) and a LLaMa-2-7B-shaped stack of MLP blocks —
 * built from the config alone (random weights, no data, no training).
 *
 * Two routes to the same numbers:
 * - measured: the model is built, the method applied exactly as `compare` applies it
 *   (cli/methods.ts: the same train scope, LoRA/MeProp/SparseGrad set-up, optimizer
 *   groups, SparseGrad's materialized rule), every trainable parameter given the gradient
 *   it holds after a backward (dense zeros; each W̃ a COO gradient of exactly k entries),
 *   one optimizer step taken so the optimizer state exists, and then nn/memory.ts's
 *   memoryReport reads the bytes off the live arrays (each array once: bases shared by the
 *   blocks of a type count once);
 * - analytic: the same categories computed from the shapes (`analyticMemory`). The test
 *   proves analytic = measured, byte for byte, on small configs of both architectures;
 *   where a model does not fit the machine (the 7B stack holds ≈ 17 GB of float32
 *   weights before any gradient), only the analytic route is taken, and the table says so.
 *
 * Conventions: float32 everywhere (the engine's training dtype; the paper's LLaMa runs
 * use bf16, which halves every byte count but the int32 indices); SparseGrad keeps no
 * original W (as `compare` and the reference); its bases are one float32 U, V pair per
 * layer type; SparseAdam with sparse moments stores an int32 index and two float32
 * moments for each entry ever selected — the share of entries ever selected is the
 * `--touched` flag (default below). The activation figures are nn/memory.ts's analytic
 * estimate for the adapted linears only (what each method's backward keeps and makes),
 * labelled as such: not a measurement, and not the whole network's activations.
 */
import { availableParallelism } from 'node:os';
import { ValueError } from '../../base/errors.ts';
import { eye, zeros } from '../../core/creation.ts';
import { Generator } from '../../core/random.ts';
import { SparseCoo } from '../../core/sparse.ts';
import type { Tensor } from '../../core/tensor.ts';
import { BertForSequenceClassification } from '../../models/bert.ts';
import { bertConfig, type BertConfig } from '../../models/config.ts';
import type { Linear } from '../../nn/linear.ts';
import { memoryReport, type MemoryReport } from '../../nn/memory.ts';
import { SwiGLU } from '../../nn/mlp.ts';
import { Module } from '../../nn/module.ts';
import type { LayerTypeBases } from '../../nn/sparsegrad/apply.ts';
import { budget } from '../../nn/sparsegrad/apply.ts';
import { findTargets, layerType } from '../../nn/targets.ts';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from '../args.ts';
import {
  convertSparseGrad,
  isTaskHead,
  materializedPays,
  prepareSimple,
  TRAIN_SCOPES,
  type MethodName,
  type MethodOptions,
  type Prepared,
  type TrainScope,
} from '../methods.ts';
import { formatBytes, formatCount } from '../metrics.ts';

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

// ---- what is built -------------------------------------------------------------------------

export interface TargetSpec {
  /** Module name, e.g. bert.encoder.layer.0.intermediate.dense. */
  name: string;
  out: number;
  in: number;
  bias: boolean;
}

/** A model as the accounting needs it: every parameter (name, entries), the adapted linears, and what else trains. */
export interface ModelSpec {
  label: string;
  params: { name: string; numel: number }[];
  targets: TargetSpec[];
  /** Whether a parameter outside the targets trains under a scope. */
  trains(name: string, scope: TrainScope): boolean;
  /** Tokens through each adapted linear per step, for the activation estimate and the materialized rule. */
  tokens: number;
  /** Only blocks whose index is a multiple of this are adapted (LLaMa: 3, the paper's setting). */
  everyNthBlock?: number;
  /** Build it (random weights, float32). */
  build(): Module;
}

/** BERT for sequence classification (2 labels) from a config: every method trains everything in 'paper', the head in 'mlp-only'. */
export function bertSpec(config: BertConfig, tokens: number, label = 'BERT'): ModelSpec {
  const { hidden_size: H, intermediate_size: I, num_hidden_layers: L, vocab_size: V, max_position_embeddings: P, type_vocab_size: T, num_labels: C } = config;
  const params: ModelSpec['params'] = [];
  const add = (name: string, numel: number) => params.push({ name, numel });
  const dense = (name: string, inF: number, out: number) => (add(`${name}.weight`, out * inF), add(`${name}.bias`, out));
  const norm = (name: string) => (add(`${name}.weight`, H), add(`${name}.bias`, H));
  add('bert.embeddings.word_embeddings.weight', V * H);
  add('bert.embeddings.position_embeddings.weight', P * H);
  add('bert.embeddings.token_type_embeddings.weight', T * H);
  norm('bert.embeddings.LayerNorm');
  const targets: TargetSpec[] = [];
  for (let l = 0; l < L; l++) {
    const p = `bert.encoder.layer.${l}`;
    for (const proj of ['query', 'key', 'value']) dense(`${p}.attention.self.${proj}`, H, H);
    dense(`${p}.attention.output.dense`, H, H);
    norm(`${p}.attention.output.LayerNorm`);
    dense(`${p}.intermediate.dense`, H, I);
    dense(`${p}.output.dense`, I, H);
    norm(`${p}.output.LayerNorm`);
    targets.push({ name: `${p}.intermediate.dense`, out: I, in: H, bias: true }, { name: `${p}.output.dense`, out: H, in: I, bias: true });
  }
  dense('bert.pooler.dense', H, H);
  dense('classifier', H, C);
  return {
    label,
    params,
    targets,
    tokens,
    trains: (name, scope) => scope === 'paper' || isTaskHead(name),
    build: () => new BertForSequenceClassification(config, { generator: new Generator(0) }),
  };
}

/** BERT-base (bert-base-uncased's sizes) with a 2-label head. */
export function bertBaseSpec(tokens: number): ModelSpec {
  const base = {
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    type_vocab_size: 2,
  };
  return bertSpec(bertConfig({ ...base, num_labels: 2 }), tokens, 'BERT-base (110 M parameters)');
}

/** A stack of LLaMa MLP blocks under HF's names (model.layers.N.mlp.*), so the default targets find up_proj/down_proj. */
class MlpStack extends Module {
  model: StackBody;
  constructor(blocks: number, hidden: number, intermediate: number) {
    super();
    this.model = new StackBody(blocks, hidden, intermediate);
  }
  forward(x: Tensor): Tensor {
    return this.model.layers.reduce((h, l) => h.add(l.mlp.forward(h)), x);
  }
}
class StackBody extends Module {
  layers: StackLayer[];
  constructor(blocks: number, hidden: number, intermediate: number) {
    super();
    const generator = new Generator(0);
    this.layers = Array.from({ length: blocks }, () => new StackLayer(hidden, intermediate, generator));
  }
}
class StackLayer extends Module {
  mlp: SwiGLU;
  constructor(hidden: number, intermediate: number, generator: Generator) {
    super();
    this.mlp = new SwiGLU(hidden, intermediate, { generator });
  }
}

/**
 * LLaMa MLP blocks (gate, up, down; no biases), adapted as in the paper's LLaMa-2 runs:
 * up_proj and down_proj of every `everyNth`-th block. What else trains: 'paper' =
 * gate_proj of the adapted blocks (densely, in every method; docs/METHOD.md, the LLaMa
 * setting); 'mlp-only' = nothing. Every other weight is frozen but held.
 */
export function llamaMlpSpec(blocks: number, hidden: number, intermediate: number, everyNth: number, tokens: number, label = 'LLaMa MLP stack'): ModelSpec {
  const params: ModelSpec['params'] = [];
  const targets: TargetSpec[] = [];
  for (let b = 0; b < blocks; b++) {
    const p = `model.layers.${b}.mlp`;
    params.push(
      { name: `${p}.gate_proj.weight`, numel: intermediate * hidden },
      { name: `${p}.up_proj.weight`, numel: intermediate * hidden },
      { name: `${p}.down_proj.weight`, numel: hidden * intermediate },
    );
    if (b % everyNth === 0)
      targets.push(
        { name: `${p}.up_proj`, out: intermediate, in: hidden, bias: false },
        { name: `${p}.down_proj`, out: hidden, in: intermediate, bias: false },
      );
  }
  const adapted = (name: string) => {
    const m = /^model\.layers\.(\d+)\.mlp\.gate_proj\./.exec(name);
    return m !== null && Number(m[1]) % everyNth === 0;
  };
  return {
    label,
    params,
    targets,
    tokens,
    everyNthBlock: everyNth,
    trains: (name, scope) => scope === 'paper' && adapted(name),
    build: () => new MlpStack(blocks, hidden, intermediate),
  };
}

/** LLaMa-2 7B's MLP sizes: 32 blocks of 4096 → 11008, blocks 0, 3, …, 30 adapted (11 of 32). */
export function llama7bMlpSpec(tokens: number): ModelSpec {
  return llamaMlpSpec(32, 4096, 11008, 3, tokens, 'LLaMa-2-7B MLP stack (32 × 4096 → 11008; blocks 0, 3, …, 30 adapted)');
}

// ---- the methods, as rows ---------------------------------------------------------------------

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

// ---- the table ------------------------------------------------------------------------------

export interface MemoryTable {
  model: string;
  /** Tokens per step of the activation estimate. */
  tokens: number;
  route: 'measured' | 'analytic';
  /** Why the analytic route was taken, or that measured = analytic was checked. */
  note: string;
  rows: { row: MemoryRow; bytes: Accounting }[];
}

/** One model's table: measured when its largest method fits under `limitBytes` (and then checked against the analytic figures), analytic otherwise. */
export function memoryTable(spec: ModelSpec, s: MemorySettings, limitBytes: number, rows: readonly MemoryRow[] = MEMORY_ROWS): MemoryTable {
  const analytic = rows.map((row) => ({ row, bytes: analyticMemory(spec, row, s) }));
  const largest = Math.max(...analytic.map((r) => r.bytes.held));
  if (largest > limitBytes) {
    return {
      model: spec.label,
      tokens: spec.tokens,
      route: 'analytic',
      rows: analytic,
      note: `analytic: the largest method holds ${formatBytes(largest)}, more than the ${formatBytes(limitBytes)} this run may allocate (--limit-gib), so nothing was built; the figures come from the accounting that equals the measured bytes on small configs (spec/sparsegrad/memory-command.spec.ts)`,
    };
  }
  const measured = rows.map((row) => ({ row, bytes: measuredMemory(spec, row, s) }));
  const mismatched = measured.filter((m, i) => JSON.stringify(m.bytes) !== JSON.stringify(analytic[i]!.bytes)).map((m) => m.row.label);
  return {
    model: spec.label,
    tokens: spec.tokens,
    route: 'measured',
    rows: measured,
    note:
      mismatched.length === 0
        ? 'measured on the built model (memoryReport on the live arrays); the analytic accounting agrees byte for byte'
        : `measured; the analytic accounting DIFFERS for ${mismatched.join(', ')} (a bug: please report it)`,
  };
}

const COLUMNS: [string, (a: Accounting) => string][] = [
  ['parameters', (a) => formatBytes(a.parameters)],
  ['trainable entries', (a) => formatCount(a.trainableEntries)],
  ['kept originals', (a) => formatBytes(a.originals)],
  ['gradients', (a) => formatBytes(a.gradientsDense + a.gradientsSparse)],
  ['optimizer state', (a) => formatBytes(a.optimizerState)],
  ['bases U, V', (a) => formatBytes(a.bases)],
  ['materialized W', (a) => formatBytes(a.materializedWeights)],
  ['held (exact)', (a) => formatBytes(a.held)],
  ['activations, analytic', (a) => `${formatBytes(a.activationsSaved)} + ${formatBytes(a.activationsTransient)}`],
];

/** The sentence the table leads to: which method holds the least, and by how much. */
export function leastSentence(t: MemoryTable): string {
  const sorted = [...t.rows].sort((a, b) => a.bytes.held - b.bytes.held);
  const [least, next] = [sorted[0]!, sorted[1]];
  const full = t.rows.find((r) => r.row.method === 'full');
  const pct = (x: number, of: number) => `${((x / of) * 100).toFixed(1)} %`;
  let s = `${least.row.label} holds the least: ${formatBytes(least.bytes.held)}`;
  if (next) s += `, ${formatBytes(next.bytes.held - least.bytes.held)} less than ${next.row.label} (${formatBytes(next.bytes.held)})`;
  if (full && full !== least) {
    const share = pct(full.bytes.held - least.bytes.held, full.bytes.held);
    s += full === next ? `, ${share} less than full fine-tuning` : `, ${formatBytes(full.bytes.held - least.bytes.held)} (${share}) less than full fine-tuning`;
  }
  for (const r of t.rows.filter((x) => x.row.method === 'sparsegrad')) {
    if (!full) break;
    const d = r.bytes.held - full.bytes.held;
    s += `; ${r.row.label} holds ${formatBytes(Math.abs(d))} ${d > 0 ? 'more' : 'less'} than full fine-tuning`;
  }
  return `${s}.`;
}

export function formatMemoryTable(t: MemoryTable, s: MemorySettings): string {
  const cells = t.rows.map(({ row, bytes }) => [row.label, ...COLUMNS.map(([, f]) => f(bytes))]);
  const head = ['method', ...COLUMNS.map(([h]) => h)];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [
    `${t.model}: ${t.route}`,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
    '',
    leastSentence(t),
    `held (exact bytes, float32): parameters + kept originals + gradients + optimizer state + bases + materialized weights; train scope '${s.scope}'; k = rank·(in + out) with rank ${s.rank}; SparseGrad keeps no original W; sparse moments: ${(s.touched * 100).toFixed(0)} % of each W̃ touched (--touched).`,
    `activations, analytic (nn/memory.ts): saved for the backward + transient buffers of the backward (summed over layers, though not all alive at once), adapted linears only, ${formatCount(t.tokens)} tokens per step.`,
    t.note,
  ].join('\n');
}

// ---- the command -----------------------------------------------------------------------------

export const memoryFlags = {
  models: {
    type: 'list',
    choices: ['bert-base', 'llama-7b-mlp'],
    default: ['bert-base', 'llama-7b-mlp'],
    help: 'which models: bert-base (built and measured), llama-7b-mlp (analytic unless --limit-gib allows it)',
  },
  train: {
    type: 'choice',
    choices: TRAIN_SCOPES,
    default: 'paper',
    help: "what trains besides the adapted linears: 'paper' (BERT: everything; LLaMa: gate_proj of the adapted blocks) or 'mlp-only' (BERT: the task head; LLaMa: nothing)",
  },
  rank: {
    type: 'int',
    min: 1,
    default: 7,
    help: 'LoRA rank r; MeProp and SparseGrad keep k = r·(in + out) entries per layer (BERT-base: 26,880 ≈ 1.2 %; 7B: 105,728 ≈ 0.23 %)',
  },
  touched: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    max: 1,
    default: DEFAULT_TOUCHED,
    help: `share of each W̃ ever selected, for sparse-moment SparseAdam (default ${DEFAULT_TOUCHED}: measured in compare's default setting on bert-mini after 109 SparseGrad steps; see cli/commands/memory.ts)`,
  },
  bertTokens: { type: 'int', min: 1, default: 32 * 128, help: "tokens per step for BERT-base (default 32 × 128, the paper's GLUE batch and length)" },
  llamaTokens: { type: 'int', min: 1, default: 2 * 512, help: "tokens per micro-step for the 7B stack (default 2 × 512, the reference's micro-batch)" },
  materialized: {
    type: 'choice',
    choices: ['auto', 'on', 'off'],
    default: 'auto',
    help: "SparseGrad's materialized weight: 'auto' as compare (on when it is the cheaper path for the tokens)",
  },
  limitGib: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: 6,
    help: 'build and measure a model only if its largest method holds at most this many GiB (else analytic)',
  },
  json: { type: 'string', placeholder: 'FILE', help: 'also write the tables as JSON' },
} as const satisfies FlagSpecs;

export async function memoryCommand(argv: readonly string[]): Promise<number> {
  const { flags, help } = parseFlags(argv, memoryFlags, 'memory');
  if (help) {
    console.log(
      formatHelp(
        'memory',
        [
          "The bytes each method holds at the paper's sizes, built from config alone (random weights, no training):",
          'BERT-base and a LLaMa-2-7B-shaped MLP stack; per method (full FT, LoRA, MeProp, SparseGrad with dense and',
          'sparse-moment SparseAdam) the exact held bytes by category, an analytic activation estimate, and which holds',
          'the least. A model whose largest method exceeds --limit-gib is computed analytically, and the table says so.',
        ].join('\n'),
        memoryFlags,
      ),
    );
    return 0;
  }
  const settings: MemorySettings = {
    scope: flags.train as TrainScope,
    rank: flags.rank,
    touched: flags.touched,
    materialized: flags.materialized as MemorySettings['materialized'],
  };
  const specs: Record<string, () => ModelSpec> = { 'bert-base': () => bertBaseSpec(flags.bertTokens), 'llama-7b-mlp': () => llama7bMlpSpec(flags.llamaTokens) };
  const tables: MemoryTable[] = [];
  console.log(`memory: ${availableParallelism()} cores; float32; building the models that fit under ${flags.limitGib} GiB`);
  for (const name of flags.models) {
    const spec = specs[name];
    if (!spec) throw new CliError(`memory: unknown model '${name}'`);
    const s = spec();
    const t0 = performance.now();
    let table: MemoryTable;
    try {
      table = memoryTable(s, settings, flags.limitGib * 2 ** 30);
    } catch (e) {
      if (e instanceof ValueError) throw new CliError(`memory (${name}): ${e.message}`);
      throw e;
    }
    tables.push(table);
    console.log(`\n${formatMemoryTable(table, settings)}\n(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  if (flags.json) {
    const { writeFileAtomic } = await import('../../node.ts');
    await writeFileAtomic(flags.json, `${JSON.stringify({ settings, tables: tables.map((t) => ({ ...t, least: leastSentence(t) })) }, null, 1)}\n`);
    console.log(`json: ${flags.json}`);
  }
  return 0;
}
