// One self-attention training step through the whole engine (autograd included):
//   y = MultiHeadAttention(x) with a padding mask,  loss = Σ y ⊙ g,  backward to x and the weights
// with hidden 256, 4 heads, seq 128, batch 8, float32 — reference kernels vs fast kernels.
// Run with: npx tsx bench/attention.bench.ts
import { bench, measure, run } from 'mitata';
import { Generator, ones, randn, type Tensor, withBackend } from '../index.ts';
import { MultiHeadAttention } from '../nn/attention.ts';

const BATCH = 8;
const SEQ = 128;
const HIDDEN = 256;
const HEADS = 4;
const g = new Generator(0);
const attention = new MultiHeadAttention({ hidden: HIDDEN, numHeads: HEADS, generator: g });
const x = randn([BATCH, SEQ, HIDDEN], { generator: g }).setRequiresGrad();
const gradOut = randn([BATCH, SEQ, HIDDEN], { generator: g });
// The last 16 tokens of every row are padding: the mask path is part of the step.
const attentionMask = ones([BATCH, SEQ]);
attentionMask.slice(1, SEQ - 16).zero_();
const params: Tensor[] = [x, ...attention.parameters()];

function step(): void {
  params.forEach((p) => p.zeroGrad());
  attention.forward(x, { attentionMask }).mul(gradOut).sum().backward();
}

// Per GEMM 2·m·n·k, forward and two backward products each: four projections
// (B·S × H × H) and the two attention products (B·heads × S × S × headDim).
const FLOPS = 3 * 2 * (4 * BATCH * SEQ * HIDDEN * HIDDEN + 2 * BATCH * SEQ * SEQ * HIDDEN);

bench('attention step, cpu backend', () => withBackend('cpu', step));
const cpuNs = (await run()).benchmarks[0]!.runs[0]!.stats!.avg;
// mitata's sampling would spend minutes on the reference, at seconds a step: two timed runs do.
const referenceNs = (await measure(() => withBackend('reference', step), { min_samples: 2, min_cpu_time: 0 })).avg;

console.log(`\nSelf-attention training step, batch ${BATCH} × seq ${SEQ}, hidden ${HIDDEN}, ${HEADS} heads, float32`);
for (const [backend, ns] of [
  ['reference', referenceNs],
  ['cpu', cpuNs],
] as const) {
  console.log(`${backend.padEnd(10)} ${(ns / 1e6).toFixed(1).padStart(9)} ms/step ${(FLOPS / ns).toFixed(2).padStart(8)} GFLOP/s`);
}
console.log(`ratio      ${(referenceNs / cpuNs).toFixed(1)}× (reference / cpu)`);
