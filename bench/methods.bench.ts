// The paper's methods side by side on ONE BERT-base MLP block, float32, 128 tokens:
//   x [128, 768] → intermediate.dense 768→3072 → gelu → output.dense 3072→768,
// loss = Σ y ⊙ g with the last 40 % of g's rows zero: padded tokens reach no loss (BERT
// masks them as keys), so G has zero rows — what row compaction skips. One step is
// zeroGrad, forward, backward (to x too, as in a middle block) and the optimizer step:
// AdamW (HF form, wd 0) for dense parameters, SparseAdam for SparseGrad's W̃.
// Budgets as the paper: LoRA r = 7; MeProp (paper variant) and SparseGrad k = 7·(768 + 3072).
// Bases: dense random orthogonal matrices, the eigenvectors of random symmetric ones
// (nn/sparsegrad/eigen.ts; one solve per size, minutes at 3072), distinct per layer type.
// Memory is memoryReport's: exact bytes held right after the step (gradients not yet
// zeroed), and its analytic activation estimate for the two linears.
// Run with: npx tsx bench/methods.bench.ts
import { measure } from 'mitata';
import { Generator, randn, Tensor } from '../index.ts';
import { applyLora } from '../nn/lora.ts';
import { memoryReport, type MemoryReport } from '../nn/memory.ts';
import { applyMeProp } from '../nn/meprop.ts';
import { GeluMlp } from '../nn/mlp.ts';
import { applySparseGrad, sparseGradGroups, type LayerTypeBases, type SparseGradConfig } from '../nn/sparsegrad/apply.ts';
import { symmetricEigen } from '../nn/sparsegrad/eigen.ts';
import { adamWHf, Optimizer, sparseAdam, type AnyRule } from '../optim/index.ts';

const TOKENS = 128;
const HIDDEN = 768;
const FFN = 3072;
const PADDED = Math.round(0.4 * TOKENS);
const RANK = 7;
const K = RANK * (HIDDEN + FFN);
const HYPER = { lr: 1e-4, eps: 1e-8 };

const x = randn([TOKENS, HIDDEN], { generator: new Generator(1) }).setRequiresGrad();
const realRows = Tensor.fromStorage(
  Float32Array.from({ length: TOKENS }, (_, t) => (t < TOKENS - PADDED ? 1 : 0)),
  [TOKENS, 1],
);
const gradOut = randn([TOKENS, HIDDEN], { generator: new Generator(2) }).mul(realRows);

/** A dense random n×n orthogonal matrix (float32) and its transpose as a separate array. */
function orthogonal(n: number, seed: number): [Tensor, Tensor] {
  const m = randn([n, n], { dtype: 'float64', generator: new Generator(seed) });
  const q = Tensor.fromStorage(symmetricEigen(m.add(m.transpose()).contiguous().data as Float64Array, n).vectors, [n, n]).to('float32');
  return [q, q.transpose().contiguous()];
}

const started = performance.now();
const [q768, q768t] = orthogonal(HIDDEN, 3);
const [q3072, q3072t] = orthogonal(FFN, 4);
console.log(`bases: ${((performance.now() - started) / 1000).toFixed(0)} s for the two eigensolves`);
// Bench bases, not from gradients: no eigenvalues or slices to report.
const basis = (U: Tensor, V: Tensor): LayerTypeBases => ({ U, V, inValues: new Float64Array(0), outValues: new Float64Array(0), slices: 0 });
const bases = new Map([
  ['intermediate.dense', basis(q768, q3072)],
  ['output.dense', basis(q3072t, q768t)],
]);

interface Setup {
  block: GeluMlp;
  optimizer: Optimizer;
}
const newBlock = () => new GeluMlp(HIDDEN, FFN, { generator: new Generator(5) });
const adamW = (block: GeluMlp): Setup => ({
  block,
  optimizer: new Optimizer(
    block.parameters().filter((p) => p.requiresGrad),
    { rule: adamWHf, ...HYPER },
  ),
});
const sparseGrad = (config: SparseGradConfig) => (): Setup => {
  const block = newBlock();
  const handle = applySparseGrad(block, bases, { k: K, ...config });
  return {
    block,
    optimizer: new Optimizer(sparseGradGroups<AnyRule, AnyRule>(block, handle, { sparse: sparseAdam, dense: adamWHf }, HYPER), { rule: adamWHf }),
  };
};

const methods: [string, () => Setup][] = [
  ['full FT', () => adamW(newBlock())],
  [
    'LoRA r=7',
    () => {
      const block = newBlock();
      applyLora(block, { r: RANK });
      return adamW(block);
    },
  ],
  [
    'MeProp (paper)',
    () => {
      const block = newBlock();
      applyMeProp(block, { k: K });
      return adamW(block);
    },
  ],
  ['SparseGrad', sparseGrad({})],
  ['SG compacted', sparseGrad({ rowCompaction: true })],
  ['SG materialized', sparseGrad({ materialized: true })],
  ['SG compacted+mat.', sparseGrad({ rowCompaction: true, materialized: true })],
];

function step({ block, optimizer }: Setup): void {
  optimizer.zeroGrad();
  x.zeroGrad();
  block.forward(x).mul(gradOut).sum().backward();
  optimizer.step();
}

const results: { name: string; ms: number; memory: MemoryReport }[] = [];
for (const [name, setup] of methods) {
  const s = setup();
  // Seconds per step: a few timed runs rather than mitata's full sampling.
  // The last timed step leaves its gradients in place: the report sees them held.
  const { avg } = await measure(() => step(s), { min_samples: 3, max_samples: 3, warmup_samples: 1, min_cpu_time: 0 });
  results.push({ name, ms: avg / 1e6, memory: memoryReport(s.block, s.optimizer, { tokens: TOKENS }) });
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const times = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const peak = (m: MemoryReport) => m.held + m.activations!.saved;
const full = results[0]!;
const columns: [string, (r: (typeof results)[number]) => string][] = [
  ['ms/step', (r) => r.ms.toFixed(0)],
  ['×', (r) => times(r.ms, full.ms)],
  ['params', (r) => mib(r.memory.parameters.bytes)],
  ['trainable', (r) => mib(r.memory.parameters.trainableBytes)],
  ['orig W', (r) => mib(r.memory.originals)],
  ['grads', (r) => mib(r.memory.gradients.dense + r.memory.gradients.sparse)],
  ['optim', (r) => mib(r.memory.optimizerState)],
  ['U,V', (r) => mib(r.memory.bases)],
  ['W_eff', (r) => mib(r.memory.materializedWeights)],
  ['held', (r) => mib(r.memory.held)],
  ['×', (r) => times(r.memory.held, full.memory.held)],
  ['act.', (r) => mib(r.memory.activations!.saved)],
  ['trans.', (r) => mib(r.memory.activations!.transient)],
  ['held+act', (r) => mib(peak(r.memory))],
  ['×', (r) => times(peak(r.memory), peak(full.memory))],
];
console.log(`\nOne BERT-base MLP block, ${TOKENS} tokens (${PADDED} padded), float32; memory in MiB; × = ratio to full FT`);
console.log(['method'.padEnd(18), ...columns.map(([title]) => title.padStart(10))].join(''));
for (const r of results) console.log([r.name.padEnd(18), ...columns.map(([, cell]) => cell(r).padStart(10))].join(''));
console.log('held: exact bytes (parameters, originals kept for unload(), gradients, optimizer state, bases, W_eff).');
console.log('act., trans.: analytic saved activations and backward transients of the two linears (nn/memory.ts).');
