/**
 * SparseGradLinear's identities (docs/METHOD.md §12), over fast-check sizes and seeds:
 * conversion keeps the forward (both conventions); dX = G W; the dense dW̃ = Vᵀ (Gᵀ X) A
 * with ‖dW̃‖_F = ‖Gᵀ X‖_F; db = Σ G (flag: (Σ G) V); merge reconstructs W; identity
 * bases with full k are bitwise a plain Linear; row compaction and the materialized mode
 * equal the plain path; the selection hook keeps exactly the top-k (exact mode).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { eye, Generator, grad, noGrad, randn, type SparseCoo, Tensor } from '../../index.ts';
import { SparseGradLinear, type SparseGradLayerOptions } from '../../nn/sparsegrad/layer.ts';
import { arbSeed, assertClose, T32, T64 } from '../kit/index.ts';
import { linear, randomOrthogonal } from './helpers.ts';

const arbCase = fc.record({
  inF: fc.integer({ min: 1, max: 6 }),
  outF: fc.integer({ min: 1, max: 6 }),
  tokens: fc.integer({ min: 1, max: 5 }),
  seed: arbSeed(),
  reference: fc.boolean(),
});

function build(
  c: { inF: number; outF: number; tokens: number; seed: number; reference: boolean },
  options: Partial<SparseGradLayerOptions> = {},
  dtype: 'float32' | 'float64' = 'float64',
) {
  const plain = linear(c.inF, c.outF, c.seed, dtype);
  const U = randomOrthogonal(c.inF, c.seed + 1);
  const V = randomOrthogonal(c.outF, c.seed + 2);
  const sg = new SparseGradLinear(plain, U, V, { k: c.inF * c.outF, inputBasis: c.reference ? 'reference' : 'consistent', ...options });
  const x = randn([c.tokens, c.inF], { dtype, generator: new Generator(c.seed + 3) }).setRequiresGrad();
  const g = randn([c.tokens, c.outF], { dtype, generator: new Generator(c.seed + 4) });
  return { plain, sg, U, V, x, g, A: c.reference ? U.transpose() : U };
}

/** The dense dW̃ before selection: the VJP's value, read through grad() with the hook removed. */
function denseGrads(sg: SparseGradLinear, x: Tensor, g: Tensor): Tensor[] {
  sg.weight_tilde.hooks.length = 0;
  return grad(sg.forward(x), [x, sg.weight_tilde, sg.bias!], { gradOutputs: [g] }) as Tensor[];
}

describe('SparseGradLinear', () => {
  test('conversion leaves the forward unchanged (T64 in float64, T32 in float32), both conventions', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        for (const dtype of ['float64', 'float32'] as const) {
          const { plain, sg, x } = build(c, {}, dtype);
          assertClose(sg.forward(x), plain.forward(x), dtype === 'float64' ? T64 : T32, `forward ${dtype}`);
        }
      }),
      { numRuns: 50 },
    );
  });

  test('dX = G·W, dW̃ = Vᵀ(GᵀX)A with the same Frobenius norm as GᵀX, db = ΣG', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { plain, sg, x, g, V, A } = build(c);
        const [dx, dwt, db] = denseGrads(sg, x, g);
        assertClose(dx!, g.matmul(plain.weight), T64, 'dX');
        const m = g.transpose().matmul(x.detach());
        assertClose(dwt!, V.transpose().matmul(m).matmul(A), T64, 'dW̃');
        expect(dwt!.mul(dwt!).sum().sqrt().item()).toBeCloseTo(m.mul(m).sum().sqrt().item(), 10);
        assertClose(db!, g.sum(0), 'bitwise', 'db');
      }),
      { numRuns: 50 },
    );
  });

  test('the reference bias flag reproduces (ΣG)·V', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { sg, x, g, V } = build(c, { referenceBiasGrad: true });
        assertClose(denseGrads(sg, x, g)[2]!, g.sum(0).matmul(V), T64, 'rotated db');
      }),
      { numRuns: 30 },
    );
  });

  test('merge reconstructs W; unload returns the original layer', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { plain, sg } = build(c);
        assertClose(sg.merge().weight, plain.weight, T64, 'V W̃ Aᵀ = W');
        expect(sg.merge().bias).toBe(plain.bias);
        expect(sg.unload()).toBe(plain);
      }),
      { numRuns: 30 },
    );
  });

  test('identity bases with full k: gradients bitwise equal to a plain Linear', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const plain = linear(c.inF, c.outF, c.seed);
        const sg = new SparseGradLinear(plain, eye(c.inF, c.inF, { dtype: 'float64' }), eye(c.outF, c.outF, { dtype: 'float64' }), { k: c.inF * c.outF });
        const x = randn([c.tokens, c.inF], { dtype: 'float64', generator: new Generator(c.seed) });
        sg.forward(x).sum().backward();
        plain.forward(x).sum().backward();
        const sparse = sg.weight_tilde.grad as SparseCoo;
        const dense = plain.weight.grad as Tensor;
        // Selection drops exact zeros only; everything else is kept, bitwise.
        assertClose(sparse.toDense(), dense, 'bitwise', 'dW');
        assertClose(sg.bias!.grad as Tensor, plain.bias!.grad as Tensor, 'bitwise', 'db');
      }),
      { numRuns: 30 },
    );
  });

  test('row compaction equals the plain path (bitwise, sign of zero aside)', () => {
    fc.assert(
      fc.property(arbCase, fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), (c, zeroRows) => {
        const plainPath = build(c);
        const compacted = build(c, { rowCompaction: true });
        const mask = Tensor.fromStorage(
          Float64Array.from({ length: c.tokens }, (_, t) => (zeroRows[t] ? 0 : 1)),
          [c.tokens, 1],
        );
        const g = plainPath.g.mul(mask);
        const a = denseGrads(plainPath.sg, plainPath.x, g);
        const b = denseGrads(compacted.sg, compacted.x, g);
        a.forEach((t, i) => assertClose(b[i]!.add(0), t.add(0), 'bitwise', `grad ${i}`));
      }),
      { numRuns: 50 },
    );
  });

  test('materialized mode equals the factored mode (T64), and follows W̃ updates', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const factored = build(c);
        const materialized = build(c, { materialized: true });
        assertClose(materialized.sg.forward(materialized.x), factored.sg.forward(factored.x), T64, 'forward');
        denseGrads(materialized.sg, materialized.x, factored.g).forEach((t, i) =>
          assertClose(t, denseGrads(factored.sg, factored.x, factored.g)[i]!, T64, `grad ${i}`),
        );
        for (const layer of [factored.sg, materialized.sg]) noGrad(() => layer.weight_tilde.add_(1));
        assertClose(materialized.sg.forward(materialized.x), factored.sg.forward(factored.x), T64, 'forward after an update');
      }),
      { numRuns: 30 },
    );
  });

  test('the hook turns dW̃ into its exact top-k (exact mode), monotone in k', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 36 }), (c, k0) => {
        const k = Math.min(k0, c.inF * c.outF);
        const counts = [k, Math.min(k + 1, c.inF * c.outF)].map((kk) => {
          const { sg, x, g } = build(c, { k: kk, selection: 'exact' });
          const dense = denseGrads(build(c).sg, x, g)[1]!;
          sg.forward(x).backward(g);
          const coo = sg.weight_tilde.grad as SparseCoo;
          const magnitudes = Array.from(dense.toTypedArray() as Float64Array, Math.abs);
          const nonZero = magnitudes.filter((m) => m !== 0).length;
          expect(coo.nnz).toBe(Math.min(kk, nonZero));
          const kept = new Set(coo.indices);
          const minKept = Math.min(...Array.from(coo.indices, (i) => magnitudes[i]!));
          magnitudes.forEach((m, i) => kept.has(i) || expect(m).toBeLessThanOrEqual(minKept));
          return coo.nnz;
        });
        expect(counts[1]!).toBeGreaterThanOrEqual(counts[0]!);
      }),
      { numRuns: 50 },
    );
  });

  test('bad bases are refused with the shapes', () => {
    const plain = linear(3, 2, 1);
    expect(() => new SparseGradLinear(plain, eye(2, 2, { dtype: 'float64' }), eye(2, 2, { dtype: 'float64' }), { k: 1 })).toThrow(/U must be 3×3/);
    expect(() => new SparseGradLinear(plain, eye(3, 3, { dtype: 'float64' }), eye(2, 2, { dtype: 'float64' }), { k: 0 })).toThrow(
      /k must be a positive integer/,
    );
  });

  test('U and V are buffers saved in the state dict; the original W is not a parameter', () => {
    const { sg } = build({ inF: 3, outF: 2, tokens: 2, seed: 1, reference: false });
    expect(Object.keys(sg.stateDict()).sort()).toEqual(['U', 'V', 'bias', 'weight_tilde']);
    expect(sg.parameters().map((p) => p.shape)).toEqual([[2, 3], [2]]);
  });
});
