/**
 * The pretraining loss (cli/pretrain/run.ts): cross-entropy of h·Wᵀ + b as one recorded op,
 * with its own forward (the largest logit and its probability give the loss) and backward
 * (softmax − one-hot straight into the GEMMs). It must be the library's
 * crossEntropy(linear(h, W, b)) in value and gradients, and a float64 gradcheck.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { linearCrossEntropy } from '../../cli/pretrain/run.ts';
import { linear } from '../../core/ops/linear.ts';
import { crossEntropy } from '../../core/ops/nn.ts';
import { Generator, randn, type Tensor, tensor } from '../../index.ts';
import { assertClose } from '../kit/close.ts';
import { gradcheck } from '../kit/gradcheck.ts';

const sizes = fc.record({
  n: fc.integer({ min: 1, max: 6 }),
  width: fc.integer({ min: 1, max: 5 }),
  vocab: fc.integer({ min: 2, max: 40 }),
  seed: fc.nat(1000),
});

function inputs({ n, width, vocab, seed }: { n: number; width: number; vocab: number; seed: number }, dtype: 'float32' | 'float64') {
  const generator = new Generator(seed);
  const leaf = (shape: number[], scale: number) => randn(shape, { generator, dtype }).mul(scale).detach().setRequiresGrad();
  const targets = Int32Array.from({ length: n }, (_, i) => (seed + 7 * i) % vocab);
  return { h: leaf([n, width], 2), w: leaf([vocab, width], 2), b: leaf([vocab], 1), targets };
}

describe('linearCrossEntropy', () => {
  test('float64 gradcheck in h, W and b', () => {
    fc.assert(
      fc.property(sizes, (s) => {
        const { h, w, b, targets } = inputs(s, 'float64');
        gradcheck((x, y, z) => linearCrossEntropy(x, y, z, targets).loss, [h, w, b]);
      }),
      { numRuns: 25 },
    );
  });

  test('equals crossEntropy(linear(h, W, b)) in value and gradients, and counts the argmax hits (float32)', () => {
    fc.assert(
      fc.property(sizes, (s) => {
        const { h, w, b, targets } = inputs(s, 'float32');
        const { loss, correct } = linearCrossEntropy(h, w, b, targets);
        loss.backward();
        const grads = () => [h, w, b].map((t) => t.grad as Tensor);
        const mine = [loss, ...grads()];
        h.grad = w.grad = b.grad = null;
        const logits = linear(h, w, b);
        const theirs = crossEntropy(logits, tensor(Array.from(targets), { dtype: 'int32' }));
        theirs.backward();
        const z = logits.detach().toArray() as number[][];
        // The loss is log Σ exp(z) − z_t per row: a difference of terms the size of the logits,
        // which cancel when the target is the sure prediction. Each way of computing it rounds
        // those terms in float32, so the bound scales with them (a few ulps), not with the loss.
        const terms = z.reduce((sum, row, r) => sum + Math.max(...row.map(Math.abs)) + Math.abs(row[targets[r]!]!) + Math.log(s.vocab), 0) / s.n;
        assertClose(loss, theirs, { name: '16 ulps of the terms', atol: 16 * 2 ** -24 * terms, rtol: 0 }, 'loss');
        // The gradients are GEMMs of G = (softmax − one-hot)/n. Each way rounds an entry to
        // within a few ulps of (p·(1 + |log p|) + y)/n: p − 1 cancels for a sure prediction, and
        // crossEntropy's exp(log p) carries log p's absolute error into p. The standard bound:
        // (k + 4)·2⁻²⁴·Σ|terms| with k the GEMM's inner size, from those magnitudes in float64.
        const A = tensor(
          z.map((row, r) => {
            const m = Math.max(...row);
            const e = row.map((v) => Math.exp(v - m));
            const total = e.reduce((x, y) => x + y, 0);
            return e.map((v, j) => ((v / total) * (1 + Math.abs(Math.log(v / total))) + (j === targets[r] ? 1 : 0)) / s.n);
          }),
          { dtype: 'float64' },
        );
        const abs64 = (t: Tensor) => t.detach().to('float64').abs();
        const magnitudes = [
          [A.matmul(abs64(w)), s.vocab],
          [A.transpose().matmul(abs64(h)), s.n],
          [A.sum(0), s.n],
        ] as const;
        grads().forEach((t, i) => {
          const [magnitude, k] = magnitudes[i]!;
          const bound = (k + 4) * 2 ** -24;
          const [got, want, terms] = [mine[i + 1]!, t, magnitude].map((x) => x.toTypedArray());
          want!.forEach((e, j) => expect(Math.abs(got![j]! - e), `gradient ${i}[${j}]`).toBeLessThanOrEqual(bound * terms![j]!));
        });
        const hits = z.filter((row, r) => row.indexOf(Math.max(...row)) === targets[r]).length;
        expect(correct).toBe(hits);
      }),
      { numRuns: 50 },
    );
  });

  test('names the shapes that do not fit, and a target outside the vocabulary', () => {
    const { h, w, b } = inputs({ n: 2, width: 3, vocab: 4, seed: 1 }, 'float32');
    expect(() => linearCrossEntropy(h, w, b, new Int32Array(3))).toThrow(/linearCrossEntropy: h \[2,3\], weight \[4,3\], bias \[4\], 3 targets do not fit/);
    expect(() => linearCrossEntropy(h, w, b, Int32Array.of(0, 4))).toThrow(/target 4 is outside the vocabulary of 4/);
  });
});
