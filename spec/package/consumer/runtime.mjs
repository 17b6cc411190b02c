// The installed package under one runtime (Node, Deno or Bun), in plain JavaScript: the
// thread pool it starts, whether its workers really take part, the tiny MLP's losses and a
// matmul large enough to be split over the threads. Prints them as JSON;
// spec/package/install.spec.ts runs it in each runtime and expects the same output to the
// bit, on the plain GEMM kernel: the fused multiply-adds the engine uses by default where it
// has relaxed SIMD (Deno's V8; Node 20 only behind a flag) round differently, so the script
// records whether they were on and then turns them off. It ends without process.exit: a pool that kept the runtime alive would make the
// test time out.
import { Generator, randn, setRelaxedSimd, threadInfo, threadsReady } from 'sparsegrad';
import { trainTinyMlp } from './tiny-mlp.mjs';

const fusedByDefault = threadInfo().fma;
setRelaxedSimd(false);
await threadsReady();
const generator = new Generator(1);
const [a, b] = [randn([256, 384], { generator }), randn([384, 512], { generator })];
let product = a.matmul(b);
// The caller never waits for a worker that is slow to wake, so one product may run entirely
// on the calling thread; over a few hundred, a working worker takes some of the tasks.
const { workerTasks: before, ...threads } = threadInfo();
for (let i = 0; i < 300 && threadInfo().workerTasks === before && threads.parallel; i++) product = a.matmul(b);
const workersTookTasks = threadInfo().workerTasks > before;
let matmulSum = 0;
for (const v of product.data) matmulSum += v;
console.log(JSON.stringify({ fusedByDefault, threads, workersTookTasks, losses: trainTinyMlp(), matmulSum }));
