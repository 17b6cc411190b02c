/**
 * The fine-tuning loop, one method and one seed per call, for both workloads:
 *
 * - classification (BERT): texts encoded once ([CLS] text [SEP], truncated to maxLength),
 *   each batch padded to its longest member with an attention mask on the padding;
 *   cross-entropy on the pooled [CLS]; evaluation = accuracy and macro-F1 on the test split.
 * - language modelling (LLaMa): documents tokenized (BOS … EOS), concatenated and cut
 *   into blocks of maxLength tokens; next-token cross-entropy; evaluation = mean loss
 *   and perplexity on the held-out blocks.
 *
 * Determinism: given the seed, the run is a pure function of the configuration. The
 * model's generator (classifier init, dropout masks) is `Generator(seed)`; LoRA's A is
 * drawn from its own seeded generator; the data order of epoch e is a Fisher–Yates
 * shuffle from a generator seeded by (seed, e), so the batch of step s depends on s only.
 *
 * Checkpoints (node.ts, atomic) hold the model state (for SparseGrad: W̃ and the bases
 * U, V), the optimizer state, the model generator's state, the step and the loss history.
 * `resume` rebuilds the method's structure, loads them and continues: an interrupted and
 * resumed run ends with bitwise the weights of an uninterrupted one. Ctrl-C (SIGINT) is
 * honoured between steps: the checkpoint is written, then the process exits with status
 * 130; a second Ctrl-C exits at once. The preliminary phase of SparseGrad and the
 * evaluation are not interruptible halfway (the checkpoint follows them).
 *
 * The SparseGrad budget counts steps alike: the preliminary AdamW steps are the first
 * `prelimSteps` of the run's `steps`, on the same batches the other methods see then, so
 * every method takes the same number of optimizer steps on the same data.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../core/autograd.ts';
import { tensor } from '../core/creation.ts';
import { crossEntropy } from '../core/ops/nn.ts';
import { Generator } from '../core/random.ts';
import { SparseCoo } from '../core/sparse.ts';
import { Tensor } from '../core/tensor.ts';
import type { BertForSequenceClassification } from '../models/bert.ts';
import { type LlamaForCausalLM, nextTokenTargets } from '../models/llama.ts';
import type { BertTokenizer, LlamaTokenizer } from '../models/tokenizers/index.ts';
import { memoryReport, type MemoryReport } from '../nn/memory.ts';
import type { Module } from '../nn/module.ts';
import { loadCheckpoint, saveCheckpoint } from '../node.ts';
import { weightsDigest } from './weights-identity.ts';
import type { OptimizerStateDict } from '../optim/index.ts';
import { CliError } from './args.ts';
import { assertFiniteTensors, DEFAULT_DIVERGENCE, DivergenceGuard, type DivergenceOptions } from './divergence.ts';
import { measureConcentration, type LayerConcentration } from './concentration.ts';
import {
  applyTrainScope,
  basesFromState,
  convertSparseGrad,
  fullSteps,
  hasPreliminary,
  layerBudget,
  loadBertClassifier,
  loadLlama,
  type MethodName,
  type MethodOptions,
  type Prepared,
  prepareSimple,
  runPreliminary,
  targetGradients,
} from './methods.ts';
import { accuracy, macroF1 } from './metrics.ts';
import { startProgress } from './progress.ts';

// ---- data ------------------------------------------------------------------------------

export interface ClassificationTask {
  name: string;
  labels: string[];
  train: { text: string; label: number }[];
  test: { text: string; label: number }[];
  split?: string;
}

export interface LmTask {
  name: string;
  train: string[];
  heldOut: string[];
  split?: string;
}

/** Token ids per example: what the training loop consumes (and compare hands to its workers). */
export interface EncodedClassification {
  kind: 'classification';
  name: string;
  labels: string[];
  train: { ids: number[]; label: number }[];
  test: { ids: number[]; label: number }[];
  padId: number;
}

export interface EncodedLm {
  kind: 'lm';
  name: string;
  /** Blocks of exactly blockLength tokens. */
  train: number[][];
  heldOut: number[][];
  blockLength: number;
}

export type EncodedTask = EncodedClassification | EncodedLm;

/** Tokenize a classification task once ([CLS] text [SEP], truncated to maxLength). */
export function encodeClassification(task: ClassificationTask, tokenizer: BertTokenizer, maxLength: number): EncodedClassification {
  const all = [...task.train, ...task.test];
  const bar = startProgress('tokenize', all.length, { unit: 'texts' });
  const encode = (rows: { text: string; label: number }[]) =>
    rows.map(({ text, label }) => {
      const ids = tokenizer.encode(text, undefined, { maxLength, truncation: 'longest_first' }).inputIds;
      bar.tick();
      return { ids, label };
    });
  const train = encode(task.train);
  const test = encode(task.test);
  const mean = all.length ? [...train, ...test].reduce((s, e) => s + e.ids.length, 0) / all.length : 0;
  bar.done(`mean length ${mean.toFixed(1)} tokens`);
  return { kind: 'classification', name: task.name, labels: task.labels, train, test, padId: tokenizer.padId };
}

/** Tokenize an LM task: each document BOS … EOS, concatenated per split and cut into blocks. */
export function encodeLm(task: LmTask, tokenizer: LlamaTokenizer, blockLength: number): EncodedLm {
  const bar = startProgress('tokenize', task.train.length + task.heldOut.length, { unit: 'docs' });
  const blocks = (docs: string[]) => {
    const stream: number[] = [];
    for (const d of docs) {
      for (const id of tokenizer.encode(d, { addBos: true, addEos: true })) stream.push(id);
      bar.tick();
    }
    const out: number[][] = [];
    for (let i = 0; i + blockLength <= stream.length; i += blockLength) out.push(stream.slice(i, i + blockLength));
    return out;
  };
  const train = blocks(task.train);
  const heldOut = blocks(task.heldOut);
  bar.done(`${train.length} train / ${heldOut.length} held-out blocks of ${blockLength}`);
  if (train.length === 0) throw new CliError(`task ${task.name}: the training text is shorter than one block of ${blockLength} tokens`);
  if (heldOut.length === 0) throw new CliError(`task ${task.name}: the held-out text is shorter than one block of ${blockLength} tokens; lower --max-length`);
  return { kind: 'lm', name: task.name, train, heldOut, blockLength };
}

/** A 32-bit mix of integers, for derived seeds. */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h ^= Math.imul((x >>> 0) ^ 0x85ebca6b, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

/** The example order: epoch e is a seeded shuffle, so step s's batch depends on (seed, s) only. */
export class Stream {
  private readonly cache = new Map<number, Int32Array>();
  constructor(
    readonly size: number,
    readonly seed: number,
  ) {}

  private order(epoch: number): Int32Array {
    let perm = this.cache.get(epoch);
    if (!perm) {
      const g = new Generator(mixSeed(this.seed, epoch, 0x5eed));
      perm = Int32Array.from({ length: this.size }, (_, i) => i);
      for (let i = this.size - 1; i > 0; i--) {
        const j = g.integer(0, i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      this.cache.clear();
      this.cache.set(epoch, perm);
    }
    return perm;
  }

  /** Example indices of step `step` for batches of `batchSize`. */
  batch(step: number, batchSize: number): number[] {
    const out: number[] = [];
    for (let p = step * batchSize; p < (step + 1) * batchSize; p++) out.push(this.order(Math.floor(p / this.size))[p % this.size]!);
    return out;
  }

  position(step: number, batchSize: number): { epoch: number; cursor: number } {
    const p = step * batchSize;
    return { epoch: Math.floor(p / this.size), cursor: p % this.size };
  }
}

interface Batch {
  inputIds: Tensor;
  attentionMask?: Tensor;
  labels: Tensor;
  tokens: number;
}

function classificationBatch(rows: { ids: number[]; label: number }[], padId: number): Batch {
  const width = Math.max(...rows.map((r) => r.ids.length));
  const ids = new Int32Array(rows.length * width).fill(padId);
  const mask = new Int32Array(rows.length * width);
  rows.forEach((r, i) => {
    ids.set(r.ids, i * width);
    mask.fill(1, i * width, i * width + r.ids.length);
  });
  const shape = [rows.length, width];
  return {
    inputIds: tensor(ids, { shape }),
    attentionMask: tensor(mask, { shape }),
    labels: tensor(Int32Array.from(rows.map((r) => r.label))),
    tokens: rows.length * width,
  };
}

function lmBatch(blocks: number[][]): Batch {
  const width = blocks[0]!.length;
  const ids = new Int32Array(blocks.length * width);
  blocks.forEach((b, i) => ids.set(b, i * width));
  const t = tensor(ids, { shape: [blocks.length, width] });
  return { inputIds: t, labels: t, tokens: blocks.length * width };
}

// ---- configuration and results --------------------------------------------------------------

export interface RunConfig extends Omit<MethodOptions, 'tokensPerStep'> {
  /** The base model folder. */
  model: string;
  seed: number;
  batchSize: number;
  /** Total optimizer steps (SparseGrad's preliminary steps included). */
  steps: number;
  maxLength: number;
  evalBatchSize: number;
  /** Evaluate every n steps as well as at the end (0: only at the end). */
  evalEvery: number;
  /** Where checkpoints go; none: no checkpoints (Ctrl-C then just stops). */
  checkpointDir?: string;
  /** Save every n steps (0: only on Ctrl-C and at the end). */
  checkpointEvery: number;
  resume: boolean;
  /** SparseGrad: measure gradient concentration on this many batches after the preliminary phase (0: off). */
  concentrationBatches: number;
  /** SparseGrad: keep the last update of the first W̃ for the heatmap. */
  captureUpdate: boolean;
  /** Record per step what the method changed (RunResult.changes): entries modified, energy kept, entries ever selected. */
  trackChanges?: boolean;
  /** Test hook: send SIGINT to this process after this many steps of this invocation. */
  stopAfter?: number;
  /** When a run counts as diverged (cli/divergence.ts); default: 10× the first loss for 5 steps. */
  divergence?: DivergenceOptions;
  /** Optional per-step callback (the compare worker reports progress through it). */
  label?: string;
}

export interface EvalResult {
  kind: 'classification' | 'lm';
  examples: number;
  accuracy?: number;
  f1?: number;
  loss?: number;
  perplexity?: number;
  predictions?: number[];
  /** Language modelling: each held-out block's mean next-token loss, in order. */
  blockLosses?: number[];
}

export interface UpdateSnapshot {
  layer: string;
  shape: [number, number];
  step: number;
  indices: number[];
  /** The applied change of W̃ at each index (new − old). */
  delta: number[];
}

export interface RunResult {
  method: MethodName;
  seed: number;
  task: string;
  steps: number;
  summary: string;
  /** Per-layer budget k (entries per MLP layer per step), or null (full FT). */
  budget: number | null;
  losses: number[];
  /** Median wall time of a training step (forward + backward + optimizer), main phase. */
  msPerStep: number;
  prepSeconds: { collect: number; eigen: number; concentration: number };
  trainSeconds: number;
  evalSeconds: number;
  memory: {
    totalEntries: number;
    trainableEntries: number;
    gradientDenseBytes: number;
    gradientSparseBytes: number;
    optimizerStateBytes: number;
    /** gradients (dense + sparse) + optimizer state, exact, at the last step before zeroGrad. */
    gradOptBytes: number;
    basesBytes: number;
    heldBytes: number;
    activationSavedBytes: number;
  } | null;
  peakRssBytes: number;
  eval: EvalResult;
  evalCurve: { step: number; accuracy?: number; loss?: number }[];
  concentration: LayerConcentration[] | null;
  update: UpdateSnapshot | null;
  /** With `trackChanges`: per main-phase step, over the target layers' trained matrices (Prepared.tracked). */
  changes?: StepChanges | null;
  resumedFrom: number | null;
  /** The digest of the base model's weight files (cli/weights-identity.ts); absent in results from before it was recorded. */
  weights?: string;
}

/** What each step changed in the MLP linears' trained matrices (W; LoRA's A and B; SparseGrad's W̃). */
export interface StepChanges {
  layers: number;
  /** Entries of the trained matrices per layer (W: out·in; LoRA: r·(in + out)). */
  entriesPerLayer: number;
  /** The 1-based step numbers recorded (the main phase: after any preliminary steps). */
  steps: number[];
  /** Entries whose value the optimizer step changed, summed over layers. */
  modified: number[];
  /** Entries that have had a non-zero gradient at some recorded step so far, summed over layers (for SparseGrad: SparseAdam's touched set). */
  everSelected: number[];
  /** Set when the run was resumed: the step from which everSelected counts again (the union is not checkpointed). */
  everSelectedFrom?: number;
  /** Σ kept g² / Σ g² of the step's top-k selections over all layers (MeProp, SparseGrad); null for the others. */
  energyKept: number[] | null;
}

/** Thrown after Ctrl-C once the checkpoint is safe: main.ts exits with status 130. */
export class Interrupted extends Error {
  /** `resumeCommand`: the full command that continues the run (commands know their flags; the loop does not). */
  constructor(
    readonly checkpointDir: string | undefined,
    readonly step: number,
    resumeCommand?: string,
  ) {
    super(
      checkpointDir
        ? `interrupted at step ${step}; checkpoint saved in ${checkpointDir} (continue with ${resumeCommand ?? '--resume'})`
        : `interrupted at step ${step} (no checkpoint directory was set, nothing saved)`,
    );
    this.name = 'Interrupted';
  }
}

// ---- SIGINT ------------------------------------------------------------------------------

let interruptRequested = false;
let firstInterrupt = 0;
let sigintInstalled = 0;
const onSigint = () => {
  // `npm start` forwards the terminal's SIGINT to its child, which also gets it from the
  // terminal: two signals within a moment are one Ctrl-C.
  if (interruptRequested && Date.now() - firstInterrupt < 1500) return;
  if (interruptRequested) {
    process.stderr.write('\nsecond interrupt: exiting without waiting for the checkpoint\n');
    process.exit(130);
  }
  interruptRequested = true;
  firstInterrupt = Date.now();
  process.stderr.write('\ninterrupt: saving a checkpoint at the next step boundary (Ctrl-C again to quit at once)\n');
};

/** Install the SIGINT handler for the duration of `fn`. */
async function withSigint<T>(fn: () => Promise<T>): Promise<T> {
  if (sigintInstalled++ === 0) process.on('SIGINT', onSigint);
  try {
    return await fn();
  } finally {
    if (--sigintInstalled === 0) process.off('SIGINT', onSigint);
  }
}

export const interruptPending = () => interruptRequested;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---- the run -------------------------------------------------------------------------------

/** The fields of a configuration that must match to resume. */
function fingerprint(c: RunConfig, task: EncodedTask): Record<string, unknown> {
  return {
    model: c.model,
    // The path alone does not say which weights: a retrained folder must not resume an old run.
    weights: weightsDigest(c.model),
    task: task.name,
    kind: task.kind,
    trainSize: task.train.length,
    method: c.method,
    seed: c.seed,
    lr: c.lr,
    batchSize: c.batchSize,
    steps: c.steps,
    maxLength: c.maxLength,
    rank: c.rank,
    k: c.k ?? null,
    loraAlpha: c.loraAlpha,
    prelimSteps: c.prelimSteps,
    prelimUpdate: c.prelimUpdate,
    inputBasis: c.inputBasis,
    materialized: c.materialized,
    everyNthBlock: c.everyNthBlock ?? null,
    train: c.train ?? 'paper',
    prelimAll: c.prelimAll ?? false,
    sparseMoments: c.sparseMoments ?? false,
    rowCompaction: c.rowCompaction ?? false,
  };
}

interface SavedState {
  run: Record<string, unknown>;
  losses: number[];
  stepMs: number[];
  prep: RunResult['prepSeconds'];
  evalCurve: RunResult['evalCurve'];
  concentration: LayerConcentration[] | null;
  /** Measured at the last step (kept in the checkpoint, so a run resumed after it still reports it). */
  memory?: RunResult['memory'];
  update?: UpdateSnapshot | null;
  changes?: StepChanges | null;
}

function memorySummary(m: MemoryReport): NonNullable<RunResult['memory']> {
  return {
    totalEntries: m.parameters.entries,
    trainableEntries: m.parameters.trainableEntries,
    gradientDenseBytes: m.gradients.dense,
    gradientSparseBytes: m.gradients.sparse,
    optimizerStateBytes: m.optimizerState,
    gradOptBytes: m.gradients.dense + m.gradients.sparse + m.optimizerState,
    basesBytes: m.bases,
    heldBytes: m.held,
    activationSavedBytes: m.activations?.saved ?? 0,
  };
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

type AnyModel = BertForSequenceClassification | LlamaForCausalLM;

export interface RunOutput {
  result: RunResult;
  model: AnyModel;
  prepared: Prepared;
}

/** Fine-tune one method with one seed on an encoded task. */
export function runTraining(config: RunConfig, task: EncodedTask): Promise<RunOutput> {
  return withSigint(() => run(config, task));
}

async function run(c: RunConfig, task: EncodedTask): Promise<RunOutput> {
  validate(c, task);
  const modelGenerator = new Generator(c.seed);
  const model: AnyModel =
    task.kind === 'classification'
      ? (await loadBertClassifier(c.model, task.labels.length, modelGenerator)).model
      : (await loadLlama(c.model, modelGenerator)).model;
  model.train();
  applyTrainScope(model, c); // before any method is prepared: 'mlp-only' freezes all but the MLP linears and the head
  const stream = new Stream(task.train.length, c.seed);
  const batchAt = (step: number): Batch => {
    const idx = stream.batch(step, c.batchSize);
    return task.kind === 'classification'
      ? classificationBatch(
          idx.map((i) => task.train[i]!),
          task.padId,
        )
      : lmBatch(idx.map((i) => task.train[i]!));
  };
  const lossOf = (b: Batch): Tensor => {
    const out =
      task.kind === 'classification'
        ? (model as BertForSequenceClassification).forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, labels: b.labels })
        : (model as LlamaForCausalLM).forward({ inputIds: b.inputIds, labels: b.labels });
    return out.loss!;
  };
  // Every loss of the run is checked before its backward pass and update (cli/divergence.ts);
  // a resumed run rebuilds the guard from its loss history below.
  let guard = new DivergenceGuard(c.label ?? c.method, c.divergence ?? DEFAULT_DIVERGENCE);
  const backward = (step: number, check = true): number => {
    const loss = lossOf(batchAt(step));
    const value = loss.item();
    if (check) guard.loss(step + 1, value);
    loss.backward();
    return value;
  };
  const tokensPerStep = c.batchSize * (task.kind === 'classification' ? c.maxLength : task.blockLength);
  const methodOptions: MethodOptions = { ...c, tokensPerStep };
  const loraGenerator = new Generator(mixSeed(c.seed, 0x10a));

  const checkpointFile = c.checkpointDir ? join(c.checkpointDir, 'trainer_state.json') : undefined;
  const resuming = c.resume && checkpointFile !== undefined && existsSync(checkpointFile);
  if (c.resume && !c.checkpointDir) throw new CliError('--resume needs a checkpoint directory (--checkpoint-dir, or the output folder)');
  let saved: SavedState;
  let prepared: Prepared;
  let startStep: number;
  const run = fingerprint(c, task);

  if (resuming) {
    const ckpt = await loadCheckpoint(c.checkpointDir!);
    const state = ckpt.config as SavedState;
    const diff = Object.keys(run).filter((k) => JSON.stringify(run[k]) !== JSON.stringify(state.run?.[k]));
    if (diff.length > 0) {
      throw new CliError(
        `the checkpoint in ${c.checkpointDir} was written by a different configuration (${diff.map((k) => `${k}: ${JSON.stringify(state.run?.[k])} there, ${JSON.stringify(run[k])} now`).join('; ')}); use the same flags, or another --checkpoint-dir`,
      );
    }
    prepared =
      c.method === 'sparsegrad'
        ? convertSparseGrad(model, basesFromState(model, ckpt.model, c), methodOptions)
        : prepareSimple(model, methodOptions, loraGenerator);
    model.loadStateDict(ckpt.model);
    prepared.optimizer.loadStateDict(ckpt.optimizer as OptimizerStateDict);
    modelGenerator.setState(ckpt.rng!.model!);
    saved = state;
    startStep = ckpt.step;
    guard = new DivergenceGuard(c.label ?? c.method, c.divergence ?? DEFAULT_DIVERGENCE, saved.losses);
    console.log(`resuming ${c.label ?? c.method} from step ${startStep}/${c.steps} (${c.checkpointDir})`);
  } else {
    saved = { run, losses: [], stepMs: [], prep: { collect: 0, eigen: 0, concentration: 0 }, evalCurve: [], concentration: null };
    if (c.method !== 'sparsegrad' && hasPreliminary(c)) {
      // The ablation --prelim-all: the same full AdamW steps SparseGrad takes first, then the method.
      const t0 = performance.now();
      saved.losses.push(...fullSteps(model, methodOptions, backward, `${c.method}: preliminary full steps`));
      saved.prep.collect = (performance.now() - t0) / 1000;
      prepared = prepareSimple(model, methodOptions, loraGenerator);
      startStep = c.prelimSteps;
    } else if (c.method === 'sparsegrad') {
      const pre = runPreliminary(model, methodOptions, backward);
      saved.losses.push(...pre.losses);
      saved.prep.collect = pre.collectSeconds;
      saved.prep.eigen = pre.eigenSeconds;
      if (c.concentrationBatches > 0) {
        const t0 = performance.now();
        // Held-out gradients: the batches right after the preliminary phase, without an
        // update, and with the dropout stream restored so training does not see them.
        const rng = modelGenerator.getState();
        const bar = startProgress('sparsegrad: gradient concentration', c.concentrationBatches, { unit: 'batches' });
        const slices = new Map<string, { shape: [number, number]; slices: Float64Array[] }>();
        for (let i = 0; i < c.concentrationBatches; i++) {
          backward(c.prelimSteps + i, false); // held-out batches: not training losses
          for (const [type, g] of targetGradients(model, c)) {
            const entry = slices.get(type) ?? { shape: g.shape, slices: [] };
            entry.slices.push(...g.slices);
            slices.set(type, entry);
          }
          model.zeroGrad();
          bar.tick();
        }
        modelGenerator.setState(rng);
        saved.concentration = measureConcentration(slices, pre.bases, { budget: layerBudget(model, c) });
        saved.prep.concentration = (performance.now() - t0) / 1000;
        bar.done(
          saved.concentration
            .map(
              (l) =>
                `${l.layerType.split('.').slice(-2, -1)[0]}: top-1% ${(l.top1.untransformed * 100).toFixed(1)}% → ${(l.top1.consistent * 100).toFixed(1)}%`,
            )
            .join(', '),
        );
      }
      prepared = convertSparseGrad(model, pre.bases, methodOptions);
      startStep = c.prelimSteps;
    } else {
      prepared = prepareSimple(model, methodOptions, loraGenerator);
      startStep = 0;
    }
    // The preliminary steps (if any) updated the weights: they must still be finite.
    if (startStep > 0) guard.weights(startStep, model.namedParameters());
    console.log(`${c.label ? `${c.label}: ` : ''}${prepared.summary}`);
  }
  const { optimizer } = prepared;
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);

  const save = async (step: number) => {
    if (!c.checkpointDir) return;
    const modelState = model.stateDict();
    const optimizerState = optimizer.stateDict();
    // Never a checkpoint with NaN/Inf in it: weights and every optimizer buffer are checked first.
    assertFiniteTensors(c.checkpointDir, [
      ...Object.entries(modelState),
      ...Object.entries(optimizerState.state).flatMap(([k, entry]) =>
        Object.entries(entry)
          .filter((e): e is [string, Tensor] => e[1] instanceof Tensor)
          .map(([b, t]) => [`optimizer state ${k}.${b}`, t] as const),
      ),
    ]);
    await saveCheckpoint(c.checkpointDir, {
      model: modelState,
      optimizer: optimizerState,
      rng: { model: modelGenerator.getState() },
      step,
      data: stream.position(step, c.batchSize),
      config: saved,
    });
  };

  const firstSparse = prepared.sparse?.layers[0];
  const tracker = c.trackChanges ? new ChangeTracker(prepared, saved.changes ?? null) : null;
  const trainStart = performance.now();
  const bar = startProgress(`train ${c.label ?? c.method}`, c.steps - startStep);
  let done = 0;
  for (let step = startStep; step < c.steps; step++) {
    const t0 = performance.now();
    const batch = batchAt(step);
    const loss = lossOf(batch);
    const value = loss.item();
    guard.loss(step + 1, value); // before the update: a non-finite loss never reaches the weights
    loss.backward();
    const last = step === c.steps - 1;
    let before: Float32Array | null = null;
    let grad: SparseCoo | null = null;
    if (last && c.captureUpdate && firstSparse && firstSparse[1].weight_tilde.grad instanceof SparseCoo) {
      grad = firstSparse[1].weight_tilde.grad;
      const w = firstSparse[1].weight_tilde.data as Float32Array;
      before = Float32Array.from(grad.indices, (i) => w[i]!);
    }
    tracker?.before();
    optimizer.step();
    guard.weights(step + 1, trainable);
    if (tracker) saved.changes = tracker.after(step + 1);
    if (last) saved.memory = memorySummary(memoryReport(model, optimizer, { tokens: batch.tokens }));
    if (grad && before && firstSparse) {
      const w = firstSparse[1].weight_tilde.data as Float32Array;
      saved.update = {
        layer: firstSparse[0],
        shape: firstSparse[1].weight_tilde.shape as [number, number],
        step: step + 1,
        indices: Array.from(grad.indices),
        delta: Array.from(grad.indices, (i, n) => w[i]! - before![n]!),
      };
    }
    optimizer.zeroGrad();
    saved.losses.push(value);
    saved.stepMs.push(performance.now() - t0);
    done++;
    bar.tick(1, `loss ${value.toFixed(4)}`);
    if (c.evalEvery > 0 && (step + 1) % c.evalEvery === 0 && !last) {
      const e = evaluate(model, task, c.evalBatchSize, false);
      saved.evalCurve.push({ step: step + 1, accuracy: e.accuracy, loss: e.loss });
    }
    if (c.stopAfter !== undefined && done === c.stopAfter) process.kill(process.pid, 'SIGINT');
    if (c.checkpointEvery > 0 && (step + 1) % c.checkpointEvery === 0 && !last) await save(step + 1);
    await yieldToEventLoop();
    if (interruptRequested) {
      bar.done('interrupted');
      await save(step + 1);
      throw new Interrupted(c.checkpointDir, step + 1);
    }
  }
  const trainSeconds = (performance.now() - trainStart) / 1000;
  bar.done(saved.losses.length ? `loss ${saved.losses.at(-1)!.toFixed(4)}` : undefined);
  if (done > 0) await save(c.steps);

  const evalStart = performance.now();
  const evalResult = evaluate(model, task, c.evalBatchSize, true);
  const evalSeconds = (performance.now() - evalStart) / 1000;
  if (interruptRequested) throw new Interrupted(c.checkpointDir, c.steps);

  // Step times of this run's main phase (SparseGrad's preliminary steps are timed in prepSeconds); the first is warm-up.
  const mainPhase = saved.stepMs.length > 1 ? saved.stepMs.slice(1) : saved.stepMs;
  const result: RunResult = {
    method: c.method,
    seed: c.seed,
    task: task.name,
    steps: c.steps,
    summary: prepared.summary,
    budget: prepared.budget,
    losses: saved.losses,
    msPerStep: median(mainPhase),
    prepSeconds: saved.prep,
    trainSeconds,
    evalSeconds,
    memory: saved.memory ?? null,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    eval: evalResult, // predictions included: the comparison's paired bootstrap needs them
    evalCurve: saved.evalCurve,
    concentration: saved.concentration,
    update: saved.update ?? null,
    changes: saved.changes ?? null,
    resumedFrom: resuming ? startStep : null,
    weights: run.weights as string,
  };
  return { result, model, prepared };
}

/**
 * Counts, around each optimizer step, what it changed in the tracked matrices: a copy
 * before, a comparison after (out·in per layer and step: small next to the step itself).
 * "Ever selected" is the union of non-zero gradient entries so far. The union is not in
 * the checkpoint: a resumed run starts it empty again and says from which step it counts
 * (`everSelectedFrom`).
 */
class ChangeTracker {
  private readonly layers: Tensor[][];
  private copies: (Float32Array | Float64Array)[][] = [];
  private readonly ever: Uint8Array[][];
  private everCount = 0;
  private readonly record: StepChanges;

  constructor(
    private readonly prepared: Prepared,
    previous: StepChanges | null,
  ) {
    this.layers = prepared.tracked.map((l) => l.tensors);
    this.ever = this.layers.map((ts) => ts.map((t) => new Uint8Array(t.numel)));
    const hasSelection = prepared.tracked.some((l) => l.selection);
    this.record = previous ?? {
      layers: this.layers.length,
      entriesPerLayer: this.layers[0]?.reduce((n, t) => n + t.numel, 0) ?? 0,
      steps: [],
      modified: [],
      everSelected: [],
      energyKept: hasSelection ? [] : null,
    };
    if (previous) previous.everSelectedFrom = (previous.steps.at(-1) ?? 0) + 1;
  }

  before(): void {
    this.copies = this.layers.map((ts) => ts.map((t) => (t.data as Float32Array | Float64Array).slice()));
    this.layers.forEach((ts, l) =>
      ts.forEach((t, j) => {
        const mark = this.ever[l]![j]!;
        const g = t.grad;
        if (g instanceof SparseCoo) {
          for (let n = 0; n < g.indices.length; n++) if (g.values[n] !== 0 && !mark[g.indices[n]!]) (mark[g.indices[n]!] = 1), this.everCount++;
        } else if (g) {
          const d = g.contiguous().data;
          for (let i = 0; i < d.length; i++) if (d[i] !== 0 && !mark[i]) (mark[i] = 1), this.everCount++;
        }
      }),
    );
  }

  after(step: number): StepChanges {
    let modified = 0;
    this.layers.forEach((ts, l) =>
      ts.forEach((t, j) => {
        const now = t.data as Float32Array | Float64Array;
        const was = this.copies[l]![j]!;
        for (let i = 0; i < now.length; i++) if (now[i] !== was[i]) modified++;
      }),
    );
    const r = this.record;
    r.steps.push(step);
    r.modified.push(modified);
    r.everSelected.push(this.everCount);
    if (r.energyKept) {
      let kept = 0;
      let total = 0;
      for (const l of this.prepared.tracked) {
        const e = l.selection?.();
        if (e) (kept += e.kept), (total += e.total);
      }
      r.energyKept.push(total > 0 ? kept / total : NaN);
    }
    return r;
  }
}

function validate(c: RunConfig, task: EncodedTask): void {
  if (task.train.length === 0) throw new CliError(`task ${task.name} has no training examples`);
  if (hasPreliminary(c) && c.steps <= c.prelimSteps) {
    throw new CliError(
      `--steps (${c.steps}) must exceed the preliminary steps (--prelim-steps ${c.prelimSteps}${c.method === 'sparsegrad' ? '' : ', taken first with --prelim-all'}), which count towards them`,
    );
  }
}

/** Evaluate on the test split (classification) or the held-out blocks (LM), in eval mode, without gradients. */
export function evaluate(model: Module, task: EncodedTask, batchSize: number, showProgress = true): EvalResult {
  const rows = task.kind === 'classification' ? task.test : task.heldOut;
  if (task.kind === 'lm') {
    // The [batch, block, vocab] logits dominate memory: keep them under ~16 M floats.
    const vocab = (model as LlamaForCausalLM).config.vocab_size;
    batchSize = Math.max(1, Math.min(batchSize, Math.floor(16e6 / (task.blockLength * vocab))));
  }
  const batches = Math.ceil(rows.length / batchSize);
  const bar = showProgress ? startProgress('evaluate', batches, { unit: 'batches' }) : null;
  model.eval();
  try {
    return noGrad(() => {
      if (task.kind === 'classification') {
        const predictions: number[] = [];
        for (let b = 0; b < batches; b++) {
          const batch = classificationBatch(task.test.slice(b * batchSize, (b + 1) * batchSize), task.padId);
          const logits = (model as BertForSequenceClassification).forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask }).logits;
          predictions.push(...(logits.argmax(1).toArray() as number[]));
          bar?.tick();
        }
        const gold = task.test.map((r) => r.label);
        const result = {
          kind: 'classification' as const,
          examples: gold.length,
          accuracy: accuracy(predictions, gold),
          f1: macroF1(predictions, gold, task.labels.length),
          predictions,
        };
        bar?.done(`accuracy ${(result.accuracy * 100).toFixed(2)}%  macro-F1 ${(result.f1 * 100).toFixed(2)}%`);
        return result;
      }
      // Each block's own mean next-token loss (the comparison's paired bootstrap resamples
      // blocks); every block predicts the same number of tokens, so their mean is the loss.
      const blockLosses: number[] = [];
      for (let b = 0; b < batches; b++) {
        const batch = lmBatch(rows.slice(b * batchSize, (b + 1) * batchSize) as number[][]);
        const [B, T] = batch.inputIds.shape as [number, number];
        const logits = (model as LlamaForCausalLM).forward({ inputIds: batch.inputIds }).logits;
        // All positions' logits as they are (slicing off the last would copy them all); the
        // last position's target is ignored and its (zero) loss sliced off before the mean.
        const perToken = crossEntropy(logits.reshape([B * T, -1]), nextTokenTargets(batch.inputIds), { reduction: 'none' })
          .reshape([B, T])
          .slice(1, 0, T - 1)
          .mean(1);
        blockLosses.push(...(perToken.toArray() as number[]));
        bar?.tick();
      }
      const loss = blockLosses.reduce((a, x) => a + x, 0) / blockLosses.length;
      bar?.done(`loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(2)}`);
      return { kind: 'lm' as const, examples: task.heldOut.length, loss, perplexity: Math.exp(loss), blockLosses };
    });
  } finally {
    model.train();
  }
}
