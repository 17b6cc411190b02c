/**
 * One optimizer step on a BERT-base MLP weight (3072×768, float32): torch-style AdamW with
 * a dense gradient vs SparseAdam with a 1 % sparse gradient (SparseGrad's budget), with
 * dense moments (torch) and with sparse moments (only touched indices), then what sparse
 * moments save in state memory for a repeating and for a fresh random pattern per step.
 *
 *   npx tsx bench/optim.bench.ts
 */
import { bench, run } from 'mitata';
import { Generator, randn, SparseCoo, Tensor } from '../index.ts';
import { Parameter } from '../nn/module.ts';
import { AdamW, SparseAdam, type Optimizer } from '../optim/index.ts';

const [ROWS, COLS] = [3072, 768];
const SIZE = ROWS * COLS;
const NNZ = Math.round(SIZE * 0.01);
const g = new Generator(0);

/** NNZ distinct flat indices, sorted, drawn uniformly. */
function pattern(): Int32Array {
  const chosen = new Set<number>();
  while (chosen.size < NNZ) chosen.add(g.integer(0, SIZE));
  return Int32Array.from(chosen).sort();
}
const sparseGrad = (indices: Int32Array) =>
  new SparseCoo(
    [ROWS, COLS],
    indices,
    Float32Array.from(indices, () => g.normal() * 1e-3),
  );
const param = () => new Parameter(randn([ROWS, COLS], { generator: g }).mul(0.02));

const fixed = pattern();
const dense = param();
dense.grad = randn([ROWS, COLS], { generator: g }).mul(1e-3);
const sparse = param();
sparse.grad = sparseGrad(fixed);
const compact = param();
compact.grad = sparseGrad(fixed);
const cases: [string, Optimizer][] = [
  ['AdamW, dense gradient', new AdamW([dense])],
  ['SparseAdam, 1% (dense moments)', new SparseAdam([sparse])],
  ['SparseAdam, 1% (sparse moments)', new SparseAdam([compact], { sparseMoments: true })],
];
for (const [name, opt] of cases) bench(name, () => opt.step());

const { benchmarks } = await run();
const ms = benchmarks.map((b) => b.runs[0]!.stats!.avg / 1e6);
console.log(`\nOne step on a ${ROWS}×${COLS} float32 parameter (${NNZ} of ${SIZE} entries present)`);
cases.forEach(([name], i) =>
  console.log(`${name.padEnd(34)}${ms[i]!.toFixed(3).padStart(9)} ms/step  ${(ms[0]! / ms[i]!).toFixed(1).padStart(6)}× AdamW's speed`),
);

/** Bytes of optimizer state after `steps` steps whose patterns come from `next`. */
function stateBytes(steps: number, next: () => Int32Array): { bytes: number; ms: number } {
  const p = param();
  const opt = new SparseAdam([p], { sparseMoments: true });
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    p.grad = sparseGrad(next());
    opt.step();
  }
  const elapsed = performance.now() - start;
  const state = opt.stateDict().state['0']!;
  const bytes = Object.values(state).reduce((sum: number, t) => sum + (t instanceof Tensor ? t.data.byteLength : 0), 0);
  return { bytes, ms: elapsed / steps };
}

const denseBytes = 2 * SIZE * 4;
console.log(`\nSparseAdam state: dense moments ${(denseBytes / 2 ** 20).toFixed(1)} MiB; sparse moments (12 bytes per touched entry):`);
for (const [name, steps, next] of [
  ['same 1% pattern every step', 100, () => fixed],
  ['fresh uniform 1% pattern each step', 100, pattern],
  ['fresh uniform 1% pattern each step', 300, pattern],
] as const) {
  const { bytes, ms: perStep } = stateBytes(steps, next);
  const saved = 1 - bytes / denseBytes;
  console.log(
    `  ${name}, ${steps} steps: ${(bytes / 2 ** 20).toFixed(2)} MiB (${saved >= 0 ? `saves ${(saved * 100).toFixed(1)}%` : `costs ${(-saved * 100).toFixed(1)}% more`}), ${perStep.toFixed(2)} ms/step while growing`,
  );
}
