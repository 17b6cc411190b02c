// Where a training step's time goes, kernel by kernel, on the cpu backend with every backend
// method wrapped in a timer: the W3 step that bench/peers.ts times against its peers (a
// post-LN BERT encoder layer, hidden 256, 4 heads, FFN 1024, 8 × 128 tokens, forward and
// backward; bench/workloads.ts), with WORKLOAD=W2 its BERT-base MLP step (128 tokens,
// 768 → 3072 → 768, GELU), with WORKLOAD=W2-SG that step with both linears SparseGrad's,
// with WORKLOAD=W1 that step's first matmul alone, or with WORKLOAD=PRETRAIN bert-small's
// whole pretraining step as `sparsegrad pretrain --size small --nsp` takes it (16 × 128
// tokens, masked LM + next sentence, gradient clipping and AdamW included). Prints ms per
// step for each kernel (GEMMs are `matmul` and `linear`; `allocate` is the outputs' storage),
// the calls per step, what the step spends outside the kernels (autograd, views, the
// JavaScript between them), and the wasm GEMMs' time by phase: copying operands in and C out
// (on the calling thread), packing, the micro-kernel (on every thread).
//
// Run with: npm run bench -- kernel-profile      (THREADS=1 for one thread; STEPS=N, default 20; WORKLOAD=W1, W2, W2-SG or PRETRAIN)
// Not a test: nothing here asserts a time. The timers add ≈ 1 µs per call (≈ 200 calls a step).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bertMasking, maskBatch } from '../cli/pretrain/mlm.ts';
import { pretrainingLoss } from '../cli/pretrain/nsp.ts';
import { pretrainingOptimizer } from '../cli/pretrain/run.ts';
import { Generator, randn, setThreads, threadsReady } from '../index.ts';
import { BertForPreTraining } from '../models/bert.ts';
import { bertConfig } from '../models/config.ts';
import { clipGradNorm } from '../optim/index.ts';
import { BertTokenizer } from '../models/tokenizers/index.ts';
import { Linear } from '../nn/linear.ts';
import { getBackend } from '../kernels/backend.ts';
import { timeGemmPhases } from '../kernels/cpu/gemm.ts';
import { BertLayer } from '../models/bert.ts';
import { B3, F, H, H3, layerLoss, mlpLoss, S3, sparseGradLinear, sparseGradMlpLoss, T, trainingStep, W3_CONFIG } from './workloads.ts';

/** Wraps every method of the active backend with a timer; returns the totals (ms, calls) by name, and a restore. */
function timeKernels(): { totals: Map<string, [number, number]>; restore: () => void } {
  const backend = getBackend() as unknown as Record<string, unknown>;
  const originals = Object.entries(backend).filter(([, f]) => typeof f === 'function') as [string, (...args: unknown[]) => unknown][];
  const totals = new Map<string, [number, number]>();
  for (const [name, f] of originals) {
    backend[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const result = f.apply(backend, args);
      // The op of elementwise and reduce kernels is their first argument: one line each.
      const key = typeof args[0] === 'string' ? `${name} ${args[0]}` : name;
      const entry = totals.get(key) ?? [0, 0];
      entry[0] += performance.now() - t0;
      entry[1]++;
      totals.set(key, entry);
      return result;
    };
  }
  return { totals, restore: () => originals.forEach(([name, f]) => (backend[name] = f)) };
}

/** W3's step (bench/workloads.ts) on random inputs. */
function layerStep(): () => void {
  const gen = new Generator(11);
  const layer = new BertLayer(W3_CONFIG, { generator: gen });
  layer.train();
  const [x, g] = [randn([B3, S3, H3], { generator: gen }).setRequiresGrad(), randn([B3, S3, H3], { generator: gen })];
  return trainingStep([layer, x], () => layerLoss(layer, x, g));
}

/** W1: the matmul 128×768 · 768×3072 alone. */
function matmulStep(): () => void {
  const gen = new Generator(11);
  const [a, b] = [randn([T, H], { generator: gen }), randn([H, F], { generator: gen })];
  return () => void a.matmul(b);
}

/** W2's step (bench/workloads.ts) on random inputs at BERT-base scale, backward to all five inputs but G. */
function mlpStep(): () => void {
  const gen = new Generator(11);
  const leaf = (shape: number[], scale: number) => randn(shape, { generator: gen }).mul(scale).setRequiresGrad();
  const [x, w1, b1, w2, b2] = [leaf([T, H], 1), leaf([F, H], 0.02), leaf([F], 0.02), leaf([H, F], 0.02), leaf([H], 0.02)];
  const g = randn([T, H], { generator: gen });
  return trainingStep([x, w1, b1, w2, b2], () => mlpLoss(x, w1, b1, w2, b2, g));
}

/** W2-SG's step (bench/workloads.ts) on random inputs. */
function sparseGradStep(): () => void {
  const gen = new Generator(11);
  const [sg1, sg2] = [sparseGradLinear(new Linear(H, F, { generator: gen })), sparseGradLinear(new Linear(F, H, { generator: gen }))];
  const x = randn([T, H], { generator: gen }).setRequiresGrad();
  const g = randn([T, H], { generator: gen });
  return trainingStep([sg1, sg2, x], () => sparseGradMlpLoss(x, sg1, sg2, g));
}

/**
 * PRETRAIN: bert-small's pretraining step on random word pieces (its cost does not depend on
 * which): sixteen 128-token sentence pairs masked as `sparsegrad pretrain` masks them, the
 * masked-LM and next-sentence losses, backward, clipping at norm 1 and AdamW, no dropout.
 */
function pretrainStep(): () => void {
  const gen = new Generator(0);
  const folder = (file: string) => readFileSync(new URL(`../cli/pretrained/bert-small/${file}`, import.meta.url), 'utf8');
  const config = bertConfig(JSON.parse(folder('config.json')));
  const tokenizer = new BertTokenizer(folder('vocab.txt'));
  const masking = bertMasking(tokenizer);
  const model = new BertForPreTraining({ ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, { generator: gen });
  model.train();
  const optimizer = pretrainingOptimizer(model, 1e-4);
  const params = optimizer.paramGroups.flatMap((group) => group.params);
  const { clsId: cls, sepId: sep, padId: pad } = tokenizer;
  return () => {
    const pairs = Array.from({ length: 16 }, () =>
      Int32Array.from({ length: 128 }, (_, i) => (i === 0 ? cls : i === 63 || i === 127 ? sep : gen.integer(masking.randomLow, masking.randomHigh))),
    );
    const segments = pairs.map((pair) => Int32Array.from(pair, (_, i) => (i < 64 ? 0 : 1)));
    const batch = maskBatch(pairs, 128, pad, gen, masking, segments);
    const nextSentenceLabels = Int32Array.from(pairs, () => gen.integer(0, 2));
    optimizer.zeroGrad();
    pretrainingLoss(model, { ...batch, nextSentenceLabels }).loss.backward();
    clipGradNorm(params, 1);
    optimizer.step();
  };
}

export async function main(): Promise<void> {
  const threads = Number(process.env.THREADS ?? 0);
  if (threads > 0) setThreads(threads);
  await threadsReady();
  const steps = Number(process.env.STEPS ?? 20);
  const workload = process.env.WORKLOAD ?? 'W3';
  const makers = { W1: matmulStep, W2: mlpStep, W3: layerStep, 'W2-SG': sparseGradStep, PRETRAIN: pretrainStep } as Record<string, () => () => void>;
  if (!makers[workload]) throw new Error(`kernel-profile: WORKLOAD must be W1, W2, W3, W2-SG or PRETRAIN, got ${workload}`);
  const step = makers[workload]();
  for (let i = 0; i < 3; i++) step(); // warm-up: compiled tiers, grown memory
  const { totals, restore } = timeKernels();
  const phases = timeGemmPhases(true)!;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const total = (performance.now() - t0) / steps;
  timeGemmPhases(false);
  restore();
  let inKernels = 0;
  console.log(`${workload} ${workload === 'W1' ? 'matmul' : 'training step'}, ${steps} steps, ${threads || 'all'} thread(s): ms per step by kernel`);
  for (const [name, [ms, calls]] of [...totals].sort((a, b) => b[1][0] - a[1][0])) {
    inKernels += ms / steps;
    console.log(`  ${name.padEnd(24)} ${(ms / steps).toFixed(2).padStart(7)} ms  ${(calls / steps).toFixed(0).padStart(4)} calls`);
  }
  console.log(`  ${'(outside the kernels)'.padEnd(24)} ${(total - inKernels).toFixed(2).padStart(7)} ms`);
  console.log(`  ${'step'.padEnd(24)} ${total.toFixed(2).padStart(7)} ms`);
  // Inside the wasm GEMMs: the copies run on the calling thread; packing and the micro-kernel on all.
  console.log(
    `the wasm GEMMs by phase, ms per step: ${Object.entries(phases)
      .map(([p, ms]) => `${p} ${(ms / steps).toFixed(2)}`)
      .join(', ')}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
