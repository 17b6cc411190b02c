/**
 * Elementwise, reduction and softmax kernels: reference vs cpu on BERT-base-sized
 * activations (128 tokens × 3072 FFN features, float32), and the log-softmax of a LLaMa
 * head (512 positions × 32,000 tokens).
 *
 *   npx tsx bench/elementwise.bench.ts
 *
 * Before measuring, every op of the scalar table is run once through both backends
 * on several layouts and dtypes. In a real training step the kernels see all of them,
 * so their call sites are megamorphic; a benchmark that only ever calls `gelu` would
 * let V8 inline it and report a speed no model gets.
 */
import { bench, do_not_optimize, run, summary } from 'mitata';
import type { Storage } from '../base/dtype.ts';
import { contiguousStrides } from '../base/shape.ts';
import type { Backend } from '../kernels/backend.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import { BINARY, REDUCE, UNARY, type BinaryOp, type ReduceOp, type UnaryOp } from '../kernels/scalar.ts';
import type { View } from '../kernels/view.ts';

const backends: readonly Backend[] = [referenceBackend, cpuBackend];

/** A deterministic pseudo-random fill in [−2, 2] (a linear congruential generator). */
function filled<S extends Storage>(data: S, seed = 1): S {
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32) * 4 - 2;
  }
  return data;
}

function view<S extends Storage>(data: S, shape: number[], strides = contiguousStrides(shape), offset = 0): View<S> {
  return { data, shape, strides, offset };
}

/** Run every op on a few layouts and dtypes, so call sites see what a training step shows them. */
function warmUpAllOps(): void {
  const layouts = (data: Float32Array | Float64Array): View[] => [
    view(data, [8, 8]),
    view(data, [8, 8], [1, 8]),
    view(data, [8, 8], [0, 1]),
    view(data, [4, 8], [16, 1], 3),
  ];
  for (const be of backends) {
    for (const data of [filled(new Float32Array(64)), filled(new Float64Array(64))]) {
      const make = () => new (data.constructor as Float32ArrayConstructor)(64);
      for (const x of layouts(data)) {
        for (const op of Object.keys(UNARY) as UnaryOp[]) {
          be.unary(op, x, make(), 2, 1);
          be.unaryBackward(op, x, x, make(), 2, 1);
        }
        for (const op of Object.keys(BINARY) as BinaryOp[]) be.binary(op, x, layouts(data)[0]!, make());
        for (const op of Object.keys(REDUCE) as ReduceOp[]) {
          be.reduce(op, x, [0], make());
          be.reduce(op, x, [1], make());
          be.reduce(op, x, [0, 1], make());
        }
        be.softmax(x as View<Float32Array>, make(), false);
        be.softmax(x as View<Float32Array>, make(), true);
      }
    }
  }
}

const [T, F] = [128, 3072];
const x = view(filled(new Float32Array(T * F), 1), [T, F]);
const y = view(filled(new Float32Array(T * F), 2), [T, F]);
const bias = filled(new Float32Array(F), 3);
const biasRow = view(bias, [T, F], [0, 1]); // [3072] broadcast to [128, 3072]
const out = new Float32Array(T * F);
const colSums = new Float32Array(F);
const scores = view(filled(new Float32Array(12 * 128 * 128), 4), [12 * 128, 128]);
const probs = new Float32Array(12 * 128 * 128);
const [V, R] = [32000, 512]; // a LLaMa head: 512 positions × a 32k-token vocabulary
const logits = view(filled(new Float32Array(R * V), 5), [R, V]);
const logProbs = new Float32Array(R * V);

/** One mitata summary per kernel: reference first, so the summary prints cpu's speed-up over it. */
function compareBackends(name: string, body: (be: Backend) => unknown): void {
  summary(() => {
    for (const be of backends) bench(`${be.name.padEnd(9)} ${name}`, () => do_not_optimize(body(be)));
  });
}

warmUpAllOps();
compareBackends('add [128,3072]+[128,3072]', (be) => be.binary('add', x, y, out));
compareBackends('add [128,3072]+[3072] (bias)', (be) => be.binary('add', x, biasRow, out));
compareBackends('mul [128,3072]*[128,3072]', (be) => be.binary('mul', x, y, out));
compareBackends('gelu [128,3072]', (be) => be.unary('gelu', x, out, 0, 0));
compareBackends('gelu backward [128,3072]', (be) => be.unaryBackward('gelu', x, y, out, 0, 0));
compareBackends('sum axis 0 of [128,3072] (bias grad)', (be) => be.reduce('sum', x, [0], colSums));
compareBackends('exp [128,3072]', (be) => be.unary('exp', x, out, 0, 0));
compareBackends('silu [128,3072]', (be) => be.unary('silu', x, out, 0, 0));
compareBackends('silu backward [128,3072]', (be) => be.unaryBackward('silu', x, y, out, 0, 0));
compareBackends('softmax [1536,128]', (be) => be.softmax(scores, probs, false));
compareBackends('log-softmax [512,32000] (LLaMa head)', (be) => be.softmax(logits, logProbs, true));

await run();
