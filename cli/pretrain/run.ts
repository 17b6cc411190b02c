/**
 * The pretraining loop shared by BERT (MLM) and LLaMa (CLM): AdamW (decoupled weight
 * decay, none on biases and norm weights), linear warm-up then linear decay to 0,
 * gradient clipping at total norm 1.0, everything seeded. It logs one readable line per
 * `logEvery` steps (loss, accuracy, lr, gradient norm, steps/s, ETA), evaluates on
 * held-out data every `evalEvery` steps, and saves a resumable checkpoint (weights,
 * optimizer moments, generator states, data cursor, history) every `checkpointEvery`
 * steps through `sparsegrad/node`'s atomic `saveCheckpoint`. A run restarted with the
 * same options continues from its checkpoint and ends with the same weights.
 */
import { customVjp, noGrad } from '../../core/autograd.ts';
import { ShapeError, ValueError } from '../../base/errors.ts';
import type { Generator } from '../../core/random.ts';
import { linear as coreLinear } from '../../core/ops/linear.ts';
import { Tensor } from '../../core/tensor.ts';
import type { Module } from '../../nn/module.ts';
import { Embedding } from '../../nn/embedding.ts';
import { Linear } from '../../nn/linear.ts';
import { clipGradNorm, linear, LRScheduler, Optimizer, adamW } from '../../optim/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../../node.ts';

export interface LossResult {
  /** Mean cross-entropy over the predicted tokens (recorded for backward). */
  loss: Tensor;
  /** How many tokens were predicted, and how many of them correctly (argmax). */
  count: number;
  correct: number;
  /** When `loss` adds a second task: the token-prediction part alone (what `count` and `correct` describe). */
  maskedLoss?: number;
  /** Next-sentence prediction, when trained (BERT with --nsp): its loss, and pairs classified right of `count`. */
  nextSentence?: { loss: number; correct: number; count: number };
}

/** Next-sentence prediction over a logging window or an evaluation. */
export interface NextSentenceMetrics {
  loss: number;
  accuracy: number;
  count: number;
}

/**
 * mean over rows of cross-entropy(h·Wᵀ + b, targets), as one recorded op: the same value
 * and gradients as `crossEntropy(linear(h))` (spec/cli/linear-cross-entropy.spec.ts), but
 * the [N, vocab] logits become probabilities in one softmax, the loss comes from those, and
 * the backward is (softmax − one-hot)/N straight into the two GEMMs, instead of a chain of
 * ops each allocating [N, vocab]. With a 30k-token vocabulary and a 256-wide model this is
 * a large share of a step. Also counts argmax hits.
 */
export function linearCrossEntropy(h: Tensor, weight: Tensor, bias: Tensor | null, targets: Int32Array): { loss: Tensor; correct: number } {
  const [n, width] = h.shape as [number, number];
  const vocab = weight.shape[0]!;
  if (h.rank !== 2 || weight.rank !== 2 || weight.shape[1] !== width || targets.length !== n || (bias && bias.numel !== vocab)) {
    throw new ShapeError(`linearCrossEntropy: h [${h.shape}], weight [${weight.shape}], bias [${bias?.shape ?? ''}], ${targets.length} targets do not fit`);
  }
  for (const t of targets) if (!(t >= 0 && t < vocab)) throw new ValueError(`linearCrossEntropy: target ${t} is outside the vocabulary of ${vocab}`);
  let correct = 0;
  const op = customVjp(
    'LinearCrossEntropy',
    (x: Tensor, w: Tensor, ...b: Tensor[]) => {
      // The bias rides in the GEMM's epilogue; softmax runs in WebAssembly by rows. Per row, the
      // largest logit m is the prediction, and its probability is 1 / Σⱼ exp(zⱼ − m), so the loss
      // log Σⱼ exp(zⱼ) − z_t = m − log p_m − z_t needs no second pass (p_m ≥ 1/vocab never underflows).
      const logits = coreLinear(x, w, b[0] ?? null).contiguous();
      const probs = logits.softmax(-1);
      const z = logits.data as Float32Array | Float64Array;
      const p = probs.data as Float32Array | Float64Array;
      let total = 0;
      for (let r = 0; r < n; r++) {
        const row = r * vocab;
        let max = -Infinity;
        let arg = 0;
        for (let j = 0; j < vocab; j++) {
          if (z[row + j]! > max) {
            max = z[row + j]!;
            arg = j;
          }
        }
        if (arg === targets[r]) correct++;
        total += max - Math.log(p[row + arg]!) - z[row + targets[r]!]!;
      }
      const loss = Tensor.fromStorage(x.dtype === 'float64' ? Float64Array.of(total / n) : Float32Array.of(total / n), []);
      return { output: loss, saved: { probs, x, w } };
    },
    (g, { probs, x, w }) => {
      // (softmax − one-hot) · g / n into a fresh tensor: the saved probabilities stay as they
      // are, so a second backward through the same graph gives the same gradients.
      const scale = g.item() / n;
      const gradLogits = probs.mul(scale);
      const d = gradLogits.data as Float32Array | Float64Array;
      for (let r = 0; r < n; r++) d[r * vocab + targets[r]!] = d[r * vocab + targets[r]!]! - scale;
      return [
        x.requiresGrad ? gradLogits.matmul(w) : null,
        w.requiresGrad ? gradLogits.transpose().matmul(x) : null,
        ...(bias ? [bias.requiresGrad ? gradLogits.sum(0) : null] : []),
      ];
    },
  );
  const loss = bias ? op(h, weight, bias) : op(h, weight);
  return { loss, correct };
}

/** What the loop needs from a model + data pair. */
export interface PretrainTask<B> {
  readonly model: Module;
  /** The next training batch; advances the data cursor. */
  nextBatch(): B;
  loss(batch: B): LossResult;
  /** Held-out loss per predicted token and argmax accuracy (run without recording). */
  evaluate(): Evaluation;
  /** Where the data stands, and how to put it back (checkpoints). */
  dataState(): { epoch: number; cursor: number };
  restoreData(state: { epoch: number; cursor: number }): void;
  /** Every generator the task draws from (masking, dropout), saved and restored by name. */
  readonly generators: Record<string, Generator>;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Predicted tokens evaluated. */
  count: number;
  nextSentence?: NextSentenceMetrics;
}

export interface TrainOptions {
  steps: number;
  lr: number;
  /** Default: 6% of the steps. */
  warmupSteps?: number;
  weightDecay?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** Total gradient norm clip (default 1.0). */
  clipNorm?: number;
  logEvery?: number;
  /** 0: evaluate only at the end. */
  evalEvery?: number;
  /** 0 or no checkpointDir: no checkpoints. */
  checkpointEvery?: number;
  checkpointDir?: string;
  /** Continue from `checkpointDir` when it holds a checkpoint of this run (default true). */
  resume?: boolean;
  /** Plain JSON describing the run; a checkpoint of a different run is refused rather than resumed. */
  runConfig?: Record<string, unknown>;
  log?: (line: string) => void;
}

export interface HistoryEntry {
  step: number;
  loss: number;
  accuracy: number;
  lr: number;
  gradNorm: number;
  seconds: number;
  nextSentence?: NextSentenceMetrics;
}

export interface TrainResult {
  steps: number;
  /** Wall time of the whole run, resumed parts included. */
  seconds: number;
  /** Mean training loss and accuracy over the last logging interval. */
  trainLoss: number;
  trainAccuracy: number;
  history: HistoryEntry[];
  evals: (Evaluation & { step: number })[];
  resumedFrom: number | null;
}

/**
 * Hugging Face's `_init_weights` for BERT and LLaMa: Linear and Embedding weights
 * ~ N(0, std²) (config.initializer_range, 0.02), Linear biases 0, the padding row 0;
 * norms keep weight 1 and bias 0 (BERT's MLM output bias is already 0). The layers' own
 * torch-style inits (Embedding N(0, 1)) make a tied decoder's first logits huge.
 */
export function initWeights(model: Module, std: number, generator: Generator): void {
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      if (m instanceof Linear || m instanceof Embedding) {
        const w = m.weight.data as Float32Array | Float64Array;
        for (let i = 0; i < w.length; i++) w[i] = generator.normal() * std;
        m.weight.storage.version++;
        if (m instanceof Embedding && m.paddingIdx !== null) m.weight.narrow(0, m.paddingIdx, 1).zero_();
        if (m instanceof Linear && m.bias) m.bias.zero_();
      }
    }
  });
}

/** The pretraining AdamW: BERT's groups (below), β 0.9/0.98, ε 1e-6 and weight decay 0.01 unless `options` say otherwise. */
export function pretrainingOptimizer(model: Module, lr: number, options: Pick<TrainOptions, 'weightDecay' | 'betas' | 'eps'> = {}): Optimizer {
  return new Optimizer(parameterGroups(model, options.weightDecay ?? 0.01), {
    rule: adamW,
    lr,
    betas: options.betas ?? [0.9, 0.98],
    eps: options.eps ?? 1e-6,
  });
}

/** AdamW groups as in BERT/HF: weight decay on matrices (and embeddings), none on biases and norm weights. */
export function parameterGroups(model: Module, weightDecay: number) {
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [, p] of model.namedParameters()) (p.rank >= 2 ? decay : noDecay).push(p);
  return [
    { params: decay, weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** JSON with object keys sorted at every level (checkpoints store JSON that way). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** Sums next-sentence results over a window of steps or evaluation batches (pair-weighted). */
export class NextSentenceTally {
  private loss = 0;
  private correct = 0;
  private count = 0;

  add(r: { loss: number; correct: number; count: number }): void {
    this.loss += r.loss * r.count;
    this.correct += r.correct;
    this.count += r.count;
  }

  /** The window's metrics (undefined when nothing was added), and a fresh window. */
  take(): NextSentenceMetrics | undefined {
    const out = this.count > 0 ? { loss: this.loss / this.count, accuracy: this.correct / this.count, count: this.count } : undefined;
    this.loss = this.correct = this.count = 0;
    return out;
  }
}

/** Trains `task.model` in place for `options.steps` optimizer steps (fewer if resumed). */
export async function train<B>(task: PretrainTask<B>, options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { steps, lr } = options;
  if (!(Number.isInteger(steps) && steps > 0)) throw new ValueError(`train: steps must be a positive integer, got ${steps}`);
  const warmupSteps = options.warmupSteps ?? Math.round(0.06 * steps);
  const logEvery = Math.max(1, options.logEvery ?? 10);
  const evalEvery = options.evalEvery ?? 0;
  const checkpointEvery = options.checkpointDir ? (options.checkpointEvery ?? 0) : 0;
  const clipNorm = options.clipNorm ?? 1.0;
  const model = task.model;
  model.train();

  const optimizer = pretrainingOptimizer(model, lr, options);
  const scheduler = new LRScheduler(optimizer, linear({ warmupSteps, totalSteps: steps }));

  let step = 0;
  let secondsBefore = 0;
  let history: HistoryEntry[] = [];
  let evals: (Evaluation & { step: number })[] = [];
  let resumedFrom: number | null = null;
  const runConfig = { ...(options.runConfig ?? {}), steps, lr, warmupSteps, weightDecay: options.weightDecay ?? 0.01, clipNorm };

  if (options.checkpointDir && (options.resume ?? true)) {
    const checkpoint = await loadCheckpoint(options.checkpointDir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (checkpoint) {
      const saved = checkpoint.config as { run: Record<string, unknown>; history: HistoryEntry[]; evals: TrainResult['evals']; seconds: number };
      if (canonicalJson(saved.run) !== canonicalJson(runConfig)) {
        throw new ValueError(
          `train: ${options.checkpointDir} holds a checkpoint of a different run (${JSON.stringify(saved.run)}); remove it or pass the same options`,
        );
      }
      model.loadStateDict(checkpoint.model);
      optimizer.loadStateDict(checkpoint.optimizer!);
      for (const [name, g] of Object.entries(task.generators)) g.setState(checkpoint.rng![name]!);
      task.restoreData(checkpoint.data!);
      step = checkpoint.step;
      scheduler.loadStateDict({ lastStep: step, baseLrs: scheduler.baseLrs });
      ({ history, evals } = saved);
      secondsBefore = saved.seconds;
      resumedFrom = step;
      log(`resumed from ${options.checkpointDir} at step ${step}`);
    }
  }

  const save = async (seconds: number) => {
    if (!options.checkpointDir) return;
    await saveCheckpoint(options.checkpointDir, {
      model: model.stateDict(),
      optimizer: optimizer.stateDict(),
      rng: Object.fromEntries(Object.entries(task.generators).map(([n, g]) => [n, g.getState()])),
      step,
      data: task.dataState(),
      config: { run: runConfig, history, evals, seconds },
    });
  };
  const evaluate = () => {
    model.eval();
    const e = noGrad(() => task.evaluate());
    model.train();
    evals.push({ step, ...e });
    const pairs = e.nextSentence
      ? `  next sentence: loss ${fmt(e.nextSentence.loss)}, accuracy ${fmt(100 * e.nextSentence.accuracy, 1)}% (${e.nextSentence.count} pairs)`
      : '';
    log(
      `eval  step ${String(step).padStart(String(steps).length)}  held-out loss ${fmt(e.loss)}  ppl ${fmt(Math.exp(e.loss), 1)}  accuracy ${fmt(100 * e.accuracy, 1)}%  (${e.count} tokens)${pairs}`,
    );
  };

  const start = performance.now();
  const elapsed = () => secondsBefore + (performance.now() - start) / 1000;
  let windowLoss = 0;
  let windowCorrect = 0;
  let windowCount = 0;
  let windowSteps = 0;
  const windowPairs = new NextSentenceTally();
  let windowStart = performance.now();
  let lastLoss = NaN;
  let lastAccuracy = NaN;
  const stepsAtStart = step;

  while (step < steps) {
    const batch = task.nextBatch();
    const { loss, count, correct, maskedLoss, nextSentence } = task.loss(batch);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new ValueError(`train: the loss became ${value} at step ${step + 1}`);
    loss.backward();
    const gradNorm = clipGradNorm(
      optimizer.paramGroups.flatMap((g) => g.params),
      clipNorm,
    );
    const usedLr = optimizer.paramGroups[0]!.hyper.lr;
    optimizer.step();
    scheduler.step();
    optimizer.zeroGrad();
    step++;
    windowLoss += (maskedLoss ?? value) * count;
    windowCorrect += correct;
    windowCount += count;
    windowSteps++;
    if (nextSentence) windowPairs.add(nextSentence);

    if (step % logEvery === 0 || step === steps) {
      const now = performance.now();
      const rate = windowSteps / ((now - windowStart) / 1000);
      const overall = (step - stepsAtStart) / ((now - start) / 1000);
      lastLoss = windowLoss / windowCount;
      lastAccuracy = windowCorrect / windowCount;
      const pairs = windowPairs.take();
      history.push({ step, loss: lastLoss, accuracy: lastAccuracy, lr: usedLr, gradNorm, seconds: elapsed(), ...(pairs ? { nextSentence: pairs } : {}) });
      log(
        `step ${String(step).padStart(String(steps).length)}/${steps}  loss ${fmt(lastLoss)}  acc ${fmt(100 * lastAccuracy, 1)}%  ` +
          (pairs ? `nsp loss ${fmt(pairs.loss)} acc ${fmt(100 * pairs.accuracy, 1)}%  ` : '') +
          `lr ${usedLr.toExponential(2)}  |g| ${fmt(gradNorm, 2)}  ${rate.toFixed(2)} steps/s  elapsed ${formatDuration(elapsed())}  ETA ${formatDuration((steps - step) / overall)}`,
      );
      windowLoss = windowCorrect = windowCount = windowSteps = 0;
      windowStart = now;
    }
    if (evalEvery > 0 && step % evalEvery === 0 && step !== steps) evaluate();
    if (checkpointEvery > 0 && step % checkpointEvery === 0 && step !== steps) {
      await save(elapsed());
      log(`checkpoint saved at step ${step} (${options.checkpointDir})`);
    }
  }
  if (evals.at(-1)?.step !== step) evaluate();
  if (Number.isNaN(lastLoss) && history.length > 0) ({ loss: lastLoss, accuracy: lastAccuracy } = history.at(-1)!);
  return { steps: step, seconds: elapsed(), trainLoss: lastLoss, trainAccuracy: lastAccuracy, history, evals, resumedFrom };
}
