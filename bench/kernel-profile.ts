// Where a training step's time goes, kernel by kernel, on the cpu backend with every backend
// method wrapped in a timer: W3 of bench/peers.ts (a post-LN BERT encoder layer, hidden 256,
// 4 heads, FFN 1024, 8 × 128 tokens, forward and backward) or, with WORKLOAD=W2, its BERT-base
// MLP step (128 tokens, 768 → 3072 → 768, GELU). Prints ms per step for each kernel (GEMMs are
// `matmul` and `linear`; `allocate` is the outputs' storage), the calls per step, and what the
// step spends outside the kernels (autograd, views, the JavaScript between them).
//
// Run with: npm run bench -- kernel-profile      (THREADS=1 for one thread; STEPS=N, default 20; WORKLOAD=W2)
// Not a test: nothing here asserts a time. The timers add ≈ 1 µs per call (≈ 200 calls a step).
import { pathToFileURL } from 'node:url';
import { Generator, linear, randn, setThreads, threadsReady } from '../index.ts';
import { getBackend } from '../kernels/backend.ts';
import type { BertConfig } from '../models/config.ts';
import { BertLayer } from '../models/bert.ts';

const W3: BertConfig = {
  model_type: 'bert',
  vocab_size: 1,
  hidden_size: 256,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  intermediate_size: 1024,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  max_position_embeddings: 128,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  pad_token_id: null,
  num_labels: 1,
  classifier_dropout: null,
};

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

/** W3's step: a BERT encoder layer's forward and backward. */
function layerStep(): () => void {
  const gen = new Generator(11);
  const layer = new BertLayer(W3, { generator: gen });
  layer.train();
  const x = randn([8, 128, 256], { generator: gen }).setRequiresGrad();
  const g = randn([8, 128, 256], { generator: gen });
  return () => {
    layer.zeroGrad();
    x.zeroGrad();
    layer.forward(x).mul(g).sum().backward();
  };
}

/** W2's step: y = gelu(x·W1ᵀ + b1)·W2ᵀ + b2 at BERT-base size, loss Σ y ⊙ G, backward to all five. */
function mlpStep(): () => void {
  const gen = new Generator(11);
  const leaf = (shape: number[], scale: number) => randn(shape, { generator: gen }).mul(scale).setRequiresGrad();
  const [x, w1, b1, w2, b2] = [leaf([128, 768], 1), leaf([3072, 768], 0.02), leaf([3072], 0.02), leaf([768, 3072], 0.02), leaf([768], 0.02)];
  const g = randn([128, 768], { generator: gen });
  return () => {
    for (const p of [x, w1, b1, w2, b2]) p.zeroGrad();
    linear(linear(x, w1, b1).gelu(), w2, b2)
      .mul(g)
      .sum()
      .backward();
  };
}

export async function main(): Promise<void> {
  const threads = Number(process.env.THREADS ?? 0);
  if (threads > 0) setThreads(threads);
  await threadsReady();
  const steps = Number(process.env.STEPS ?? 20);
  const workload = process.env.WORKLOAD ?? 'W3';
  if (workload !== 'W2' && workload !== 'W3') throw new Error(`kernel-profile: WORKLOAD must be W2 or W3, got ${workload}`);
  const step = workload === 'W2' ? mlpStep() : layerStep();
  for (let i = 0; i < 3; i++) step(); // warm-up: compiled tiers, grown memory
  const { totals, restore } = timeKernels();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const total = (performance.now() - t0) / steps;
  restore();
  let inKernels = 0;
  console.log(`${workload} training step, ${steps} steps, ${threads || 'all'} thread(s): ms per step by kernel`);
  for (const [name, [ms, calls]] of [...totals].sort((a, b) => b[1][0] - a[1][0])) {
    inKernels += ms / steps;
    console.log(`  ${name.padEnd(24)} ${(ms / steps).toFixed(2).padStart(7)} ms  ${(calls / steps).toFixed(0).padStart(4)} calls`);
  }
  console.log(`  ${'(outside the kernels)'.padEnd(24)} ${(total - inKernels).toFixed(2).padStart(7)} ms`);
  console.log(`  ${'step'.padEnd(24)} ${total.toFixed(2).padStart(7)} ms`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
