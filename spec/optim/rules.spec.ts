/**
 * The dense rules against naive float64 references written here line by line from the
 * sources they follow (torch 2.x `_single_tensor_sgd`, `_single_tensor_adam`/`adamw`;
 * transformers 4.30 `AdamW.step`), in torch's own operation order. float64 rules agree to
 * ~1e-12 (a tight bound, so that a misplaced ε — worth ~ε relative — is caught: the
 * hyper-parameters include ε = 0.1); float32 rules within T32.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { allocate, type FloatDType, type FloatStorage } from '../../base/dtype.ts';
import { adam, adamW, adamWHf, sgd, type AdamHyper, type Rule, type RuleState, type SgdHyper } from '../../optim/index.ts';
import { assertClose, T32, type Bound } from '../kit/index.ts';

const TIGHT: Bound = { name: 'tight', atol: 1e-12, rtol: 1e-9 };

/** torch's SGD on plain numbers. */
function sgdReference(p: number[], grads: number[][], h: SgdHyper): number[] {
  p = [...p];
  let buf: number[] | null = null;
  for (const grad of grads) {
    let d = grad.map((g, i) => (h.weightDecay !== 0 ? g + h.weightDecay * p[i]! : g));
    if (h.momentum !== 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => b * h.momentum + (1 - h.dampening) * d[i]!);
      d = h.nesterov ? d.map((di, i) => di + h.momentum * buf![i]!) : buf;
    }
    p = p.map((pi, i) => pi - h.lr * d[i]!);
  }
  return p;
}

/** torch's Adam / AdamW and HF's AdamW on plain numbers. */
function adamReference(variant: 'adam' | 'adamw' | 'adamw_hf', p: number[], grads: number[][], h: AdamHyper): number[] {
  p = [...p];
  const [b1, b2] = h.betas;
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  grads.forEach((grad, t) => {
    const step = t + 1;
    const g = variant === 'adam' ? grad.map((gi, i) => gi + h.weightDecay * p[i]!) : grad;
    if (variant === 'adamw') p = p.map((pi) => pi * (1 - h.lr * h.weightDecay));
    m = m.map((mi, i) => mi * b1 + (1 - b1) * g[i]!);
    v = v.map((vi, i) => vi * b2 + (1 - b2) * g[i]! * g[i]!);
    const bc1 = 1 - b1 ** step;
    const bc2 = 1 - b2 ** step;
    if (variant === 'adamw_hf') {
      const stepSize = (h.lr * Math.sqrt(bc2)) / bc1;
      p = p.map((pi, i) => pi - stepSize * (m[i]! / (Math.sqrt(v[i]!) + h.eps)));
      if (h.weightDecay > 0) p = p.map((pi) => pi + pi * (-h.lr * h.weightDecay));
    } else {
      p = p.map((pi, i) => pi - (h.lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps)));
    }
  });
  return p;
}

function runRule<H extends AdamHyper | SgdHyper, S extends RuleState>(
  rule: Rule<H, S>,
  h: H,
  p0: number[],
  grads: number[][],
  dtype: FloatDType,
): FloatStorage {
  const floats = (xs: number[]) => {
    const out = allocate(dtype, xs.length) as FloatStorage;
    out.set(xs);
    return out;
  };
  const p = floats(p0);
  const state = rule.init(p.length, dtype, h);
  grads.forEach((g, t) => rule.dense!(p, floats(g), state, h, t + 1));
  return p;
}

/** Values in [−2, 2]: any double for float64; multiples of 2⁻¹⁹ for float32 (exact there, and clear of its subnormals). */
const problem = (dtype: FloatDType) => {
  const value = dtype === 'float64' ? fc.double({ min: -2, max: 2, noNaN: true }) : fc.integer({ min: -(2 ** 20), max: 2 ** 20 }).map((k) => k / 2 ** 19);
  return fc
    .integer({ min: 1, max: 6 })
    .chain((n) =>
      fc.tuple(fc.array(value, { minLength: n, maxLength: n }), fc.array(fc.array(value, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 8 })),
    );
};
const adamHyper: fc.Arbitrary<AdamHyper> = fc.record({
  lr: fc.double({ min: 1e-4, max: 0.1, noNaN: true }),
  betas: fc.tuple(fc.constantFrom(0, 0.5, 0.9), fc.constantFrom(0.5, 0.9, 0.999)),
  eps: fc.constantFrom(1e-8, 0.1),
  weightDecay: fc.constantFrom(0, 0.01, 0.5),
});
const sgdHyper: fc.Arbitrary<SgdHyper> = fc
  .record({
    lr: fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
    momentum: fc.constantFrom(0, 0.5, 0.9),
    dampening: fc.constantFrom(0, 0.3),
    nesterov: fc.boolean(),
    weightDecay: fc.constantFrom(0, 0.1),
  })
  .map((h) => ({ ...h, nesterov: h.nesterov && h.momentum > 0 && h.dampening === 0 }));

describe.each([
  ['adam', adam],
  ['adamw', adamW],
  ['adamw_hf', adamWHf],
] as const)('%s equals its float64 reference', (variant, rule) => {
  test('float64, tight', () => {
    fc.assert(
      fc.property(problem('float64'), adamHyper, ([p, grads], h) =>
        assertClose(runRule(rule, h, p, grads, 'float64'), adamReference(variant, p, grads, h), TIGHT),
      ),
      { numRuns: 300 },
    );
  });
  test('float32 within T32', () => {
    fc.assert(
      fc.property(problem('float32'), adamHyper, ([p, grads], h) =>
        assertClose(runRule(rule, h, p, grads, 'float32'), adamReference(variant, p, grads, h), T32, { ignoreDType: true }),
      ),
      { numRuns: 100 },
    );
  });
});

describe('sgd equals its float64 reference', () => {
  test('float64, tight', () => {
    fc.assert(
      fc.property(problem('float64'), sgdHyper, ([p, grads], h) => assertClose(runRule(sgd, h, p, grads, 'float64'), sgdReference(p, grads, h), TIGHT)),
      { numRuns: 300 },
    );
  });
  test('float32 within T32', () => {
    fc.assert(
      fc.property(problem('float32'), sgdHyper, ([p, grads], h) =>
        assertClose(runRule(sgd, h, p, grads, 'float32'), sgdReference(p, grads, h), T32, { ignoreDType: true }),
      ),
      { numRuns: 100 },
    );
  });
});

describe('the ε forms differ as documented', () => {
  // One step of g on a fresh state: torch's form moves by lr·g/(|g| + ε), HF's by lr·g/(|g| + ε/√(1−β2)).
  const h: AdamHyper = { lr: 0.1, betas: [0.9, 0.999], eps: 0.1, weightDecay: 0 };
  test.each([
    ['adamw', adamW, 0.1 / (1 + 0.1)],
    ['adamw_hf', adamWHf, 0.1 / (1 + 0.1 / Math.sqrt(0.001))],
  ] as const)('%s', (_, rule, move) => {
    expect(runRule(rule, h, [0], [[1]], 'float64')[0]).toBeCloseTo(-move, 14);
  });
  test('AdamW decays before the step, adamw_hf after', () => {
    const wd: AdamHyper = { ...h, weightDecay: 0.5 };
    // A zero gradient leaves only the decay: p·(1 − lr·wd) first (torch), p + p·(−lr·wd) after (HF).
    expect(runRule(adamW, wd, [1], [[0]], 'float64')[0]).toBe(1 - 0.1 * 0.5);
    expect(runRule(adamWHf, wd, [1], [[0]], 'float64')[0]).toBe(1 + 1 * (-0.1 * 0.5));
    // Adam's L2 decay is a gradient wd·p = 0.5, normalised like any other: a first step of lr·g/(|g| + ε).
    expect(runRule(adam, wd, [1], [[0]], 'float64')[0]).toBeCloseTo(1 - (0.1 * 0.5) / (0.5 + 0.1), 14);
  });
});

test('SGD starts its momentum buffer at the first gradient, undampened (torch)', () => {
  const h: SgdHyper = { lr: 1, momentum: 0.9, dampening: 0.5, nesterov: false, weightDecay: 0 };
  expect(Array.from(runRule(sgd, h, [0], [[1]], 'float64'))).toEqual([-1]);
  expect(Array.from(runRule(sgd, h, [0], [[1], [1]], 'float64'))).toEqual([-1 - (0.9 + 0.5)]);
});
