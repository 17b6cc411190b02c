/**
 * SparseAdam: torch.optim.SparseAdam's exact semantics (docs/METHOD.md §7 and §12.9,
 * docs/TESTING.md §4), through the Optimizer so the step counting is part of what is tested.
 * The reference below is `torch/optim/_functional.py: sparse_adam` transcribed op for op;
 * in float64 our rule performs the same operations in the same order, so it is bitwise.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SparseCoo, type Tensor, tensor, ValueError } from '../../index.ts';
import { AdamWHf, SparseAdam, type OptimizerStateDict, type SparseAdamHyper } from '../../optim/index.ts';
import { assertClose, T32 } from '../kit/index.ts';

interface SparseStep {
  indices: number[];
  values: number[];
}

/** torch's sparse_adam, one parameter, on plain numbers. */
function reference(p0: number[], steps: SparseStep[], h: Omit<SparseAdamHyper, 'sparseMoments'>) {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const [beta1, beta2] = h.betas;
  let step = 0;
  for (const { indices, values } of steps) {
    step += 1;
    if (values.length === 0) continue; // "Skip update for empty grad"
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    const stepSize = (h.lr * Math.sqrt(bc2)) / bc1;
    indices.forEach((i, k) => {
      const g = values[k]!;
      const oldM = m[i]!;
      const updM = (g - oldM) * (1 - beta1);
      m[i] = oldM + updM;
      const oldV = v[i]!;
      const updV = (g * g - oldV) * (1 - beta2);
      v[i] = oldV + updV;
      const numer = updM + oldM;
      const denom = Math.sqrt(updV + oldV) + h.eps;
      p[i] = p[i]! + -stepSize * (numer / denom);
    });
  }
  return { p, m, v, step };
}

/** A float64 (or float32) parameter driven by SparseAdam through the given sparse gradients. */
function train(p0: number[], steps: SparseStep[], hyper: Partial<SparseAdamHyper>, dtype: 'float64' | 'float32' = 'float64') {
  const param = tensor(p0, { dtype }).setRequiresGrad();
  const opt = new SparseAdam([param], hyper);
  for (const s of steps) {
    param.grad = sparse(param.shape, s, dtype);
    opt.step();
  }
  return { param, opt, state: opt.stateDict().state['0'] };
}

function sparse(shape: readonly number[], { indices, values }: SparseStep, dtype: 'float64' | 'float32' = 'float64'): SparseCoo {
  return new SparseCoo(shape, Int32Array.from(indices), dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values));
}

const value = fc.integer({ min: -(2 ** 20), max: 2 ** 20 }).map((k) => k / 2 ** 19);
const arbRun = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.record({
    p0: fc.array(value, { minLength: n, maxLength: n }),
    steps: fc.array(
      fc.array(fc.option(value, { nil: undefined }), { minLength: n, maxLength: n }).map((vs) => ({
        indices: vs.flatMap((x, i) => (x === undefined ? [] : [i])),
        values: vs.filter((x): x is number => x !== undefined),
      })),
      { minLength: 1, maxLength: 8 },
    ),
    hyper: fc.record({
      lr: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
      betas: fc.tuple(fc.constantFrom(0, 0.9), fc.constantFrom(0.9, 0.999)),
      eps: fc.constantFrom(1e-8, 1e-3),
    }),
  }),
);

describe('SparseAdam equals torch.optim.SparseAdam', () => {
  test.each([false, true])('float64 bitwise, random patterns and empty gradients (sparseMoments %s)', (sparseMoments) => {
    fc.assert(
      fc.property(arbRun, ({ p0, steps, hyper }) => {
        const { param, state } = train(p0, steps, { ...hyper, sparseMoments });
        const ref = reference(p0, steps, hyper);
        assertClose(param, tensor(ref.p, { dtype: 'float64' }), 'bitwise', 'parameter');
        expect(state?.step).toBe(steps.length);
        if (!sparseMoments) {
          assertClose(state!.exp_avg as Tensor, ref.m, 'bitwise', 'exp_avg');
          assertClose(state!.exp_avg_sq as Tensor, ref.v, 'bitwise', 'exp_avg_sq');
        }
      }),
      { numRuns: 200 },
    );
  });

  test('float32 within T32 of the float64 reference', () => {
    fc.assert(
      fc.property(arbRun, ({ p0, steps, hyper }) => {
        assertClose(train(p0, steps, hyper, 'float32').param, reference(p0, steps, hyper).p, T32, { ignoreDType: true });
      }),
      { numRuns: 100 },
    );
  });
});

describe('SparseAdam formulas (docs/METHOD.md §12.9)', () => {
  const h = { lr: 0.01, betas: [0.9, 0.999] as const, eps: 1e-3 };

  test('a constant g moves each entry by lr·g/(|g| + ε/√(1−β2ᵗ)) at step t', () => {
    const g = [0.01, -0.002, 0.5];
    const param = tensor([1, 2, 3], { dtype: 'float64' }).setRequiresGrad();
    const opt = new SparseAdam([param], h);
    for (let t = 1; t <= 20; t++) {
      const before = Array.from(param.data);
      param.grad = sparse([3], { indices: [0, 1, 2], values: g });
      opt.step();
      const moved = Array.from(param.data, (x, i) => x - before[i]!);
      // The closed form and the iterated moments agree up to rounding: of p (|p| ≤ 3, so
      // 3e-12 absolute, as the move is a difference of two parameters) and of the moments
      // (≈ t ulps relative), not T64.
      assertClose(
        moved,
        g.map((gi) => (-h.lr * gi) / (Math.abs(gi) + h.eps / Math.sqrt(1 - h.betas[1] ** t))),
        { name: 'rounding', atol: 3e-12, rtol: 1e-12 },
        `step ${t}`,
      );
    }
  });

  test('a first step moves by ≈ lr·sign(g), off by at most lr·ε/(√(1−β2)·|g|)', () => {
    const g = [3, -0.5, 1e-2];
    const { param } = train([0, 0, 0], [{ indices: [0, 1, 2], values: g }], { ...h, eps: 1e-8 });
    Array.from(param.data).forEach((x, i) =>
      expect(Math.abs(x + h.lr * Math.sign(g[i]!))).toBeLessThanOrEqual((h.lr * 1e-8) / (Math.sqrt(1 - h.betas[1]) * Math.abs(g[i]!))),
    );
  });

  test('absent entries keep p, m and v bitwise; present zero values still decay m and v', () => {
    const first = { indices: [0, 1, 3], values: [0.5, -1, 2] };
    const { param, opt, state } = train([1, -0, 3, 4, 5], [first], h);
    const snap = (s: typeof state) => ['exp_avg', 'exp_avg_sq'].map((k) => Array.from((s![k] as Tensor).data));
    const [m1, v1] = snap(state);
    const p1 = Array.from(param.data);
    param.grad = sparse([5], { indices: [1, 3], values: [0, 0] });
    opt.step();
    const [m2, v2] = snap(opt.stateDict().state['0']);
    for (const i of [0, 2, 4]) {
      expect(Object.is(param.data[i], p1[i])).toBe(true);
      expect([m2![i], v2![i]]).toEqual([m1![i], v1![i]]);
    }
    for (const i of [1, 3]) {
      expect(m2![i]).toBe(m1![i]! + 0.1 * (0 - m1![i]!));
      expect(v2![i]).toBe(v1![i]! + (1 - 0.999) * (0 - v1![i]!));
      expect(param.data[i]).not.toBe(p1[i]); // stale moments still move the entry
    }
  });

  test('an empty gradient counts a step and changes nothing; later corrections use the global count', () => {
    const steps = [
      { indices: [1], values: [0.3] },
      { indices: [], values: [] },
      { indices: [], values: [] },
      { indices: [0, 1], values: [-0.2, 0.1] },
    ];
    const { param, state } = train([1, 2], steps.slice(0, 3), h);
    expect(state!.step).toBe(3);
    expect(Array.from(param.data)).toEqual(reference([1, 2], steps.slice(0, 1), h).p);
    const all = train([1, 2], steps, h);
    expect(all.state!.step).toBe(4);
    expect(Array.from(all.param.data)).toEqual(reference([1, 2], steps, h).p);
  });

  test('with every index present it equals dense adamw_hf at wd = 0, bitwise (same ε form)', () => {
    fc.assert(
      fc.property(arbRun, ({ p0, steps, hyper }) => {
        const a = tensor(p0, { dtype: 'float64' }).setRequiresGrad();
        const b = tensor(p0, { dtype: 'float64' }).setRequiresGrad();
        const sparseOpt = new SparseAdam([a], hyper);
        const denseOpt = new AdamWHf([b], { ...hyper, weightDecay: 0 });
        const all = p0.map((_, i) => i);
        for (const { values } of steps) {
          const full = all.map((i) => values[i] ?? i / 7);
          a.grad = sparse(a.shape, { indices: all, values: full });
          b.grad = tensor(full, { dtype: 'float64' });
          sparseOpt.step();
          denseOpt.step();
        }
        assertClose(a, b, 'bitwise');
        for (const key of ['exp_avg', 'exp_avg_sq'])
          assertClose(sparseOpt.stateDict().state['0']![key] as Tensor, denseOpt.stateDict().state['0']![key] as Tensor, 'bitwise', key);
      }),
      { numRuns: 100 },
    );
  });

  test('a dense gradient is refused with torch’s message, before anything moves', () => {
    const a = tensor([1, 2], { dtype: 'float64' }).setRequiresGrad();
    const b = tensor([3, 4], { dtype: 'float64' }).setRequiresGrad();
    const opt = new SparseAdam([a, b]);
    a.grad = sparse([2], { indices: [0], values: [1] });
    b.grad = tensor([1, 1], { dtype: 'float64' });
    expect(() => opt.step()).toThrow(new ValueError('SparseAdam does not support dense gradients, please consider Adam instead'));
    expect(Array.from(a.data)).toEqual([1, 2]);
    expect(opt.stateDict().state).toEqual({});
  });
});

describe('sparse moments (m, v only for indices ever touched)', () => {
  const h = { lr: 0.01, betas: [0.9, 0.999] as const, eps: 1e-8 };
  const steps = [
    { indices: [2, 7], values: [1, -1] },
    { indices: [], values: [] },
    { indices: [0, 7, 9], values: [0.5, 0.25, -2] },
    { indices: [2], values: [0] },
  ];

  test('same trajectory as dense moments, bitwise; the state holds only the touched entries', () => {
    const p0 = Array.from({ length: 10 }, (_, i) => i / 3);
    const dense = train(p0, steps, h);
    const compact = train(p0, steps, { ...h, sparseMoments: true });
    assertClose(compact.param, dense.param, 'bitwise');
    const touched = Array.from((compact.state!.touched as Tensor).data);
    expect(touched).toEqual([0, 2, 7, 9]);
    for (const key of ['exp_avg', 'exp_avg_sq']) {
      const full = (dense.state![key] as Tensor).data;
      expect(Array.from((compact.state![key] as Tensor).data)).toEqual(touched.map((i) => full[i]));
    }
  });

  test('loading checks the compact layout', () => {
    const { opt } = train([0, 0, 0, 0], [{ indices: [1, 3], values: [1, 1] }], { ...h, sparseMoments: true });
    const sd = opt.stateDict();
    const broken: OptimizerStateDict = { ...sd, state: { '0': { ...sd.state['0']!, touched: tensor([3, 1], { dtype: 'int32' }) } } };
    expect(() => opt.loadStateDict(broken)).toThrow(/touched indices must be strictly increasing in \[0, 4\) \(index 1: 1\)/);
    const short: OptimizerStateDict = { ...sd, state: { '0': { ...sd.state['0']!, exp_avg: tensor([1], { dtype: 'float64' }) } } };
    expect(() => opt.loadStateDict(short)).toThrow(/one exp_avg and exp_avg_sq per touched index \(2 touched, 1 and 2 moments\)/);
    const dense = new SparseAdam([tensor([0, 0, 0, 0], { dtype: 'float64' }).setRequiresGrad()], h);
    expect(() => dense.loadStateDict(sd)).not.toThrow(); // the saved hyper-parameters (sparseMoments) come with the state
  });
});
