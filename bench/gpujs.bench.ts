// gpu.js beside the CPU backends, in one run: float32 matmul GFLOP/s and one BERT-base MLP
// training step (128 tokens, W1 3072×768, W2 768×3072, as bench/mlp.bench.ts) per gpu.js
// mode — headlessgl (Mesa llvmpipe under Xvfb: a CPU rasteriser, not a GPU), webasm and
// cpu — and the cpu (and, for the matmul, reference) backends.
//
// Each timing includes reading a result back (a scalar for the MLP step, the product for
// the matmul): GL calls are queued, so only a readback shows the work was done. The MLP's
// weights are uploaded once (toDevice) and stay resident across steps in GL mode.
// Run with: xvfb-run -a npx tsx bench/gpujs.bench.ts (headlessgl is skipped without a display).
import { measure } from 'mitata';
import { Generator, randn, type Tensor, withBackend } from '../index.ts';
import { registerBackend } from '../kernels/backend.ts';
import { createGpujsBackend, toDevice, type GpujsBackend, type GpujsMode } from '../kernels/gpujs/index.ts';

const TOKENS = 128;
const HIDDEN = 768;
const FFN = 3072;
const MLP_FLOPS = 6 * 2 * TOKENS * HIDDEN * FFN;

interface Target {
  label: string;
  run<T>(fn: () => T): T;
  backend: GpujsBackend | null;
}

const targets: Target[] = [{ label: 'cpu backend', run: (fn) => withBackend('cpu', fn), backend: null }];
for (const mode of ['headlessgl', 'webasm', 'cpu'] as GpujsMode[]) {
  try {
    const backend = await createGpujsBackend({ mode });
    registerBackend(backend);
    targets.push({ label: `gpu.js ${mode}`, run: (fn) => withBackend('gpujs', fn, { mode }), backend });
  } catch (e) {
    console.log(`gpu.js ${mode}: unavailable here (${(e as Error).message.split('.')[0]})`);
  }
}

async function time(fn: () => void, samples: number): Promise<number> {
  fn(); // warm up: compiles the kernels for these shapes
  return (await measure(fn, { min_samples: samples, max_samples: samples, min_cpu_time: 0 })).avg;
}

const g = new Generator(0);
const fmt = (ns: number, flops: number) => `${(ns / 1e6).toFixed(0).padStart(8)} ms${(flops / ns).toFixed(2).padStart(9)} GFLOP/s`;

// ---- matmul -------------------------------------------------------------------------------
const shapes: [string, number, number, number][] = [
  ['128×768 · 768×3072', 128, 768, 3072],
  ['512×512 · 512×512', 512, 512, 512],
];
console.log('\nfloat32 matmul (result read back)');
for (const [name, m, k, n] of shapes) {
  const a = randn([m, k], { generator: g });
  const b = randn([k, n], { generator: g });
  const flops = 2 * m * k * n;
  const rows: [string, number][] = [];
  for (const t of targets) {
    const [da, db] = t.backend?.onDevice ? t.run(() => [toDevice(a), toDevice(b)]) : [a, b];
    rows.push([t.label, await time(() => t.run(() => da.matmul(db).toTypedArray()), t.backend ? 3 : 10)]);
  }
  rows.push(['reference backend', await time(() => withBackend('reference', () => a.matmul(b)), 2)]);
  for (const [label, ns] of rows) console.log(`  ${name.padEnd(20)} ${label.padEnd(20)}${fmt(ns, flops)}`);
}

// ---- BERT-base MLP training step ------------------------------------------------------------
console.log('\nBERT-base MLP training step, 128 tokens, float32 (forward + backward, a scalar read back)');
const leaf = (shape: number[], scale: number) => randn(shape, { generator: g }).mul(scale);
const host = { x: leaf([TOKENS, HIDDEN], 1), w1: leaf([FFN, HIDDEN], 0.02), b1: leaf([FFN], 0.02), w2: leaf([HIDDEN, FFN], 0.02), b2: leaf([HIDDEN], 0.02) };
const gradOut = randn([TOKENS, HIDDEN], { generator: g });
for (const t of targets) {
  const p = t.run(() =>
    Object.fromEntries(Object.entries(host).map(([k, v]) => [k, (t.backend?.onDevice ? toDevice(v) : v.detach().clone()).setRequiresGrad()])),
  ) as Record<keyof typeof host, Tensor>;
  const step = () =>
    t.run(() => {
      for (const v of Object.values(p)) v.zeroGrad();
      const h = p.x.matmul(p.w1.transpose()).add(p.b1).gelu();
      h.matmul(p.w2.transpose()).add(p.b2).mul(gradOut).sum().backward();
      return (p.w1.grad as Tensor).sum().item();
    });
  console.log(`  ${t.label.padEnd(20)}${fmt(await time(step, t.backend ? 2 : 8), MLP_FLOPS)}`);
}
console.log('\nheadlessgl runs on Mesa llvmpipe (software) here; speed on a real GPU is not measured on these machines.');
