/**
 * The SparseGrad preliminary phase's numerics at BERT-base sizes (docs/METHOD.md §3):
 * streaming one 768×3072 gradient slice into C_out and C_in, and symmetric
 * eigen-decompositions at 256 and 768 — plus 3072, the C_in of `output.dense` and the
 * C_out of `intermediate.dense`, which takes minutes and runs only when asked:
 *
 *   npx tsx bench/eigen.bench.ts
 *   SPARSEGRAD_BENCH_3072=1 npx tsx bench/eigen.bench.ts
 *
 * These calls take seconds, so each is timed directly (wall clock, and the process's
 * CPU time, which a busy machine inflates less) instead of by mitata's sampling.
 */
import { Generator } from '../core/random.ts';
import { orthogonalityError } from '../nn/sparsegrad/bases.ts';
import { symmetricEigen } from '../nn/sparsegrad/eigen.ts';
import { GramAccumulator } from '../nn/sparsegrad/gram.ts';

const g = new Generator(0);
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Runs f `runs` times; prints the mean wall and CPU time per run. */
function time<T>(label: string, runs: number, f: () => T): T {
  let result!: T;
  const wall0 = performance.now(),
    cpu0 = cpuMs();
  for (let r = 0; r < runs; r++) result = f();
  const wall = (performance.now() - wall0) / runs,
    cpu = (cpuMs() - cpu0) / runs;
  console.log(`${label.padEnd(34)}${(wall / 1000).toFixed(3).padStart(9)} s wall${(cpu / 1000).toFixed(3).padStart(9)} s CPU`);
  return result;
}

// A Gram slice: float32 like a real `.grad`. The first slice also warms up the GEMM.
const OUT = 768,
  IN = 3072,
  SLICES = 3;
const slice = Float32Array.from({ length: OUT * IN }, () => 0.01 * g.normal());
const acc = new GramAccumulator(OUT, IN);
acc.add(slice);
time(`Gram, per ${OUT}×${IN} slice`, SLICES, () => acc.add(slice));
console.log(`  (both full products are ${(((OUT * OUT * IN + IN * IN * OUT) * 2) / 1e9).toFixed(1)} GFLOP; the symmetric staircase computes ≈57 % of that)`);

function randomSymmetric(n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) c[i * n + j] = c[j * n + i] = g.normal();
  return c;
}

const sizes = [256, 768, ...(process.env.SPARSEGRAD_BENCH_3072 ? [3072] : [])];
for (const n of sizes) {
  const c = randomSymmetric(n);
  const { vectors } = time(`symmetricEigen ${n}×${n}`, n <= 256 ? 3 : 1, () => symmetricEigen(c));
  console.log(`  max|VᵀV − I| = ${orthogonalityError(vectors).toExponential(2)}`);
}
if (!process.env.SPARSEGRAD_BENCH_3072) console.log('(3072×3072 skipped: set SPARSEGRAD_BENCH_3072=1; it takes minutes)');
