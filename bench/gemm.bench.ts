// GEMM throughput: reference vs fast kernel on BERT-base shapes (float32).
// Run with: npx tsx bench/gemm.bench.ts

import { bench, measure, run, summary } from 'mitata';
import { gemm as reference } from '../kernels/reference/gemm.ts';
import { gemm as fast } from '../kernels/cpu/gemm.ts';
import { setThreads, threadInfo, threadsReady } from '../kernels/cpu/wasm-runtime.ts';

type Gemm = typeof reference;

type Shape = ReturnType<typeof shape>;

function shape(name: string, m: number, n: number, k: number, transA: boolean, transB: boolean) {
  const fill = (length: number) => Float32Array.from({ length }, () => Math.random() * 2 - 1);
  const a = fill(m * k),
    b = fill(k * n),
    c = new Float32Array(m * n);
  const lda = transA ? m : k,
    ldb = transB ? k : n;
  return {
    name,
    flops: 2 * m * n * k,
    run: (gemm: Gemm) => gemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, c, 0, n),
  };
}

// The first three share m·n·k: a linear layer's products in training.
const shapes: [Shape, Shape, Shape, Shape] = [
  shape('A·B   128×768 · 768×3072', 128, 3072, 768, false, false),
  shape('A·Bᵀ  128×768 · (3072×768)ᵀ', 128, 3072, 768, false, true), // x · Wᵀ
  shape('Aᵀ·B  (128×3072)ᵀ · 128×768', 3072, 768, 128, true, false), // dW = Gᵀ · X
  shape('A·B   512×512 · 512×512', 512, 512, 512, false, false),
];

await threadsReady();
summary(() => {
  // Transposes are absorbed by packing, so these three should run alike.
  bench(`fast ${shapes[0].name}`, () => shapes[0].run(fast)).baseline();
  bench(`fast ${shapes[1].name}`, () => shapes[1].run(fast));
  bench(`fast ${shapes[2].name}`, () => shapes[2].run(fast));
});
bench(`fast ${shapes[3].name}`, () => shapes[3].run(fast));

const { benchmarks } = await run();
const fastNs = benchmarks.map((trial) => trial.runs[0]!.stats!.avg);

// mitata's default sampling (≥ 12 runs) would spend about a minute on the
// reference at ~1 s a call, so it gets two timed runs per shape instead.
const refNs: number[] = [];
for (const s of shapes) refNs.push((await measure(() => s.run(reference), { min_samples: 2, min_cpu_time: 0 })).avg);

const gflops = (flops: number, ns: number) => (flops / ns).toFixed(1); // flop/ns = GFLOP/s
console.log(`\n${'shape'.padEnd(32)}${'ref GFLOP/s'.padStart(12)}${'fast GFLOP/s'.padStart(14)}${'fast/ref'.padStart(10)}`);
shapes.forEach((s, i) => {
  console.log(
    s.name.padEnd(32) +
      gflops(s.flops, refNs[i]!).padStart(12) +
      gflops(s.flops, fastNs[i]!).padStart(14) +
      `${(refNs[i]! / fastNs[i]!).toFixed(1)}×`.padStart(10),
  );
});

// The three shapes of one layer, interleaved: each round times every shape in turn, so a
// change in the machine's load reaches all three alike (mitata times one shape after
// another, and on a shared machine a busy minute lands on one of them). Medians of 8 rounds.
const layerShapes = shapes.slice(0, 3);
const rounds: number[][] = layerShapes.map(() => []);
for (let round = 0; round < 8; round++)
  layerShapes.forEach((s, i) => {
    for (let w = 0; w < 2; w++) s.run(fast);
    const t0 = performance.now();
    for (let r = 0; r < 10; r++) s.run(fast);
    rounds[i]!.push(((performance.now() - t0) / 10) * 1e6);
  });
const medians = rounds.map((ns) => ns.sort((a, b) => a - b)[ns.length >> 1]!);
console.log(
  `\ninterleaved, ${threadInfo().threads} thread(s), median of 8 rounds (GFLOP/s); slowest ÷ fastest ${(Math.max(...medians) / Math.min(...medians)).toFixed(2)}`,
);
layerShapes.forEach((s, i) => console.log(`${s.name.padEnd(32)}${gflops(s.flops, medians[i]!).padStart(10)}`));

// Thread scaling: the same three shapes on 1 thread and on every core (results are
// bitwise the same; spec/gemm.spec.ts). On a shared machine the second column moves
// with the other jobs' load, so the load average is printed with it.
const { loadavg } = await import('node:os');
const all = threadInfo().threads;
const scaling: string[] = [];
for (const s of layerShapes) {
  const at = async (n: number) => {
    setThreads(n);
    return (await measure(() => s.run(fast), { min_samples: 10 })).p50;
  };
  const one = await at(1),
    many = await at(all);
  scaling.push(`${s.name.padEnd(32)}${gflops(s.flops, one).padStart(10)}${gflops(s.flops, many).padStart(10)}${`${(one / many).toFixed(2)}×`.padStart(8)}`);
}
setThreads(all);
console.log(
  `\nthreads: 1 vs ${all} (GFLOP/s), load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const line of scaling) console.log(line);
