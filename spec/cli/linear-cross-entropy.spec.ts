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
import { assertClose, T32 } from '../kit/close.ts';
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
        [theirs, ...grads()].forEach((t, i) => assertClose(mine[i]!, t, T32, `output ${i}`));
        const z = logits.detach().toArray() as number[][];
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
