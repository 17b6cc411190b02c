// One BERT-base MLP training step through the whole engine (autograd included), W2 of
// bench/workloads.ts: h = gelu(x·W1ᵀ + b1), y = h·W2ᵀ + b2, loss = Σ y ⊙ g, backward to x, W1,
// b1, W2, b2, with 128 tokens, W1 3072×768, W2 768×3072, float32 — reference kernels vs fast kernels.
// Run with: npx tsx bench/mlp.bench.ts
import { bench, measure, run } from 'mitata';
import { Generator, randn, withBackend } from '../index.ts';
import { F as FFN, H as HIDDEN, mlpLoss, T as TOKENS, trainingStep } from './workloads.ts';

const g = new Generator(0);
const leaf = (shape: number[], scale: number) => randn(shape, { generator: g }).mul(scale).setRequiresGrad();

const x = leaf([TOKENS, HIDDEN], 1);
const w1 = leaf([FFN, HIDDEN], 0.02);
const b1 = leaf([FFN], 0.02);
const w2 = leaf([HIDDEN, FFN], 0.02);
const b2 = leaf([HIDDEN], 0.02);
const gradOut = randn([TOKENS, HIDDEN], { generator: g });
const step = trainingStep([x, w1, b1, w2, b2], () => mlpLoss(x, w1, b1, w2, b2, gradOut));

// Six GEMMs of 2·T·768·3072 flops each: two forward, four backward (dX and dW per layer).
const FLOPS = 6 * 2 * TOKENS * HIDDEN * FFN;

bench('fast (cpu backend) MLP step', () => withBackend('cpu', step));
const { benchmarks } = await run();
const fastNs = benchmarks[0]!.runs[0]!.stats!.avg;
// The reference takes seconds per step: two timed runs instead of mitata's sampling.
const refNs = (await measure(() => withBackend('reference', step), { min_samples: 2, min_cpu_time: 0 })).avg;

const report = (name: string, ns: number) =>
  console.log(`${name.padEnd(12)}${(ns / 1e6).toFixed(1).padStart(10)} ms/step${(FLOPS / ns).toFixed(2).padStart(10)} GFLOP/s`);
console.log('\nBERT-base MLP training step, 128 tokens, float32');
report('reference', refNs);
report('fast', fastNs);
console.log(`speed-up    ${(refNs / fastNs).toFixed(1)}×`);
