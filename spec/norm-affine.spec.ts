/**
 * LayerNorm and RMSNorm with their affine step fused (Backend.normAffine, kernels/cpu/normalize.ts)
 * must give bitwise what the unfused ops give — normalize, then mul by the weight and add the
 * bias, and those ops' VJPs — for the output and for the gradients of x, the weight and the
 * bias, in both float dtypes, whatever the layout of x and of the incoming gradient. The
 * unfused run is the same cpu backend without the two fused kernels, so only the fusion
 * differs. The gradients themselves are checked against finite differences by the op table
 * (spec/ops.table.ts), which runs the fused path.
 */
import fc from 'fast-check';
import { afterEach, expect, test, vi } from 'vitest';
import { layerNorm, rmsNorm, tensor, type Tensor } from '../index.ts';
import { registerBackend, withBackend } from '../kernels/backend.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';

registerBackend({ ...cpuBackend, name: 'cpu-unfused', normAffine: undefined, normAffineBackward: undefined });

afterEach(() => vi.restoreAllMocks());

interface Case {
  shape: number[];
  dtype: 'float32' | 'float64';
  centered: boolean;
  weight: boolean;
  bias: boolean;
  transposed: boolean;
  grads: [boolean, boolean, boolean];
  seed: number;
}

const cases: fc.Arbitrary<Case> = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 2, maxLength: 3 }),
  dtype: fc.constantFrom('float32' as const, 'float64' as const),
  centered: fc.boolean(),
  weight: fc.boolean(),
  bias: fc.boolean(),
  transposed: fc.boolean(),
  grads: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
  seed: fc.integer(),
});

/** Deterministic values in [−2, 2) (mulberry32). */
function values(length: number, seed: number): number[] {
  return Array.from({ length }, () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 4 - 2;
  });
}

/** The output and the gradients of x, weight and bias (null where not asked) on one backend. */
function run(c: Case, backend: string): (number[] | null)[] {
  return withBackend(backend, () => {
    const width = c.shape.at(-1)!;
    const make = (shape: number[], seed: number, grad: boolean) =>
      tensor(
        values(
          shape.reduce((p, d) => p * d, 1),
          seed,
        ),
        { shape, dtype: c.dtype, requiresGrad: grad },
      );
    // A transposed x: the same values stored column by column, read through a permuted view.
    const x = c.transposed
      ? make([...c.shape].reverse(), c.seed, false)
          .permute(c.shape.map((_, i) => c.shape.length - 1 - i))
          .detach()
          .setRequiresGrad(c.grads[0])
      : make(c.shape, c.seed, c.grads[0]);
    const weight = c.weight ? make([width], c.seed + 1, c.grads[1]) : null;
    const bias = c.bias && c.centered ? make([width], c.seed + 2, c.grads[2]) : null;
    const y: Tensor = c.centered ? layerNorm(x, [width], weight, bias, 1e-5) : rmsNorm(x, weight, 1e-6);
    if (y.requiresGrad) {
      // A non-uniform incoming gradient, read through a transposed view half the time.
      const g = make(c.shape, c.seed + 3, false);
      y.backward(c.transposed ? g.transpose(-2, -1).contiguous().transpose(-2, -1) : g);
    }
    const list = (t: Tensor | null | undefined) => (t ? Array.from(t.toTypedArray() as ArrayLike<number>) : null);
    return [list(y), list(x.grad as Tensor | null), list(weight?.grad as Tensor | null), list(bias?.grad as Tensor | null)];
  });
}

test('fused LayerNorm / RMSNorm: output and gradients bitwise the unfused ops, both dtypes, any layout', () => {
  const fused = vi.spyOn(cpuBackend, 'normAffineBackward');
  fc.assert(
    fc.property(cases, (c) => {
      const [want, got] = [run(c, 'cpu-unfused'), run(c, 'cpu')];
      got.forEach((g, i) => {
        expect(g === null, `result ${i} present in one run only`).toBe(want[i] === null);
        const differs = g?.findIndex((v, j) => !Object.is(v, want[i]![j])) ?? -1;
        expect(differs, `${JSON.stringify(c)}: result ${i}[${differs}] fused ${g?.[differs]}, unfused ${want[i]?.[differs]}`).toBe(-1);
      });
    }),
    { numRuns: 150 },
  );
  expect(fused).toHaveBeenCalled(); // the fused path was taken (the table's cases with an affine step)
});

test('a weight that only broadcasts takes the unfused ops, with their result', () => {
  const x = tensor([
    [1, 2, 3],
    [4, 0, -1],
  ]);
  const fused = vi.spyOn(cpuBackend, 'normAffine');
  const y = rmsNorm(x, tensor([2])); // one value for every column: valid for mul, not per-column
  expect(fused).not.toHaveBeenCalled();
  expect(Array.from(y.toTypedArray() as Float32Array)).toEqual(Array.from(rmsNorm(x).mul(2).toTypedArray() as Float32Array));
});
