/**
 * The generic op suite: every entry of the op table is checked for
 *  1. gradients: float64 central-difference gradcheck (full Jacobian);
 *  2. forward: equal to an independent naive implementation, where one is given;
 *  3. views: the same result when every input is a non-contiguous view;
 *  4. backends: the fast CPU backend equals the reference backend (forward and gradients);
 *  5. float32: within T32 of the float64 result.
 * A final test fails if an op exported from core/ops has no table entry.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { grad, noGrad, ShapeError, Tensor, withBackend } from '../index.ts';
import { assertClose, gradcheck, T32, type Bound } from './kit/index.ts';
import * as naive from './naive.ts';
import { ALIASES, EXEMPT, NAIVE_EXEMPT, OPS, type OpCase } from './ops.table.ts';
import * as elementwise from '../core/ops/elementwise.ts';
import * as reduce from '../core/ops/reduce.ts';
import * as movement from '../core/ops/movement.ts';
import * as linalg from '../core/ops/linalg.ts';
import * as indexing from '../core/ops/indexing.ts';
import * as nn from '../core/ops/nn.ts';

const RUNS = 100;
const TIGHT = { atol: 1e-12, rtol: 1e-10 };

/**
 * Two float64 evaluations of one formula that sum in different orders (the engine vs its
 * naive reference, a view vs a contiguous input) differ by rounding alone: about n·2⁻⁵³
 * of the sum of |terms| (docs/TESTING.md §1), so ≈ 1e-12 relative to the terms, not T64
 * (a finite-difference bound, 1e8 times looser). The terms of these ops are products of
 * at most two input values, or exponentials normalised to ≤ 1, so S·M bounds each output's
 * Σ|terms|, with S = Σ|every input value| and M = max(1, max|input value|):
 * |a − r| ≤ 1e-12·(1 + S·M) + 1e-10·|r| (the relative part covers pointwise functions).
 */
function sums(inputs: readonly Tensor[]): Bound {
  const terms = termsBound(inputs);
  return { name: `sums (S·M = ${terms.toPrecision(3)})`, atol: 1e-12 * (1 + terms), rtol: 1e-10 };
}

/** S·M: Σ|every input value| × max(1, max|input value|), a bound on each output's Σ|terms|. */
function termsBound(inputs: readonly Tensor[]): number {
  let s = 0;
  let m = 1;
  for (const x of inputs) {
    if (x.dtype !== 'float64' && x.dtype !== 'float32') continue;
    for (const v of Array.from(x.toTypedArray() as ArrayLike<number>)) {
      s += Math.abs(v);
      m = Math.max(m, Math.abs(v));
    }
  }
  return s * m;
}

/**
 * T32 for ops whose outputs are sums that may cancel (a matmul's dot products, LayerNorm's
 * w·x̂ + b): float32 errs by a few ulps of the terms, not of the result, so T32's absolute
 * part (1e-5 of the largest result) is taken of the larger of max|r| and the terms' bound
 * S·M of sums() above.
 */
function t32Terms(inputs: readonly Tensor[], reference: Tensor): Bound {
  const { atol } = sums(inputs);
  const terms = atol / 1e-12 - 1;
  // Non-finite results (the mean of nothing is NaN) compare by identity, whatever the bound.
  const maxR = Array.from(reference.toTypedArray() as ArrayLike<number>, Math.abs).reduce((m, v) => (Number.isFinite(v) ? Math.max(m, v) : m), 0);
  return { name: `T32 of the terms (S·M = ${terms.toPrecision(3)})`, atol: 1e-5 * Math.max(maxR, terms), rtol: 1e-4 };
}

const differentiable = (c: OpCase) => c.inputs.map((_, i) => i).filter((i) => !c.nondifferentiable?.includes(i));

/** The same values as x, stored transposed: a non-contiguous view of x's shape. */
function asView(x: Tensor): Tensor {
  if (x.rank < 2) {
    // rank 0/1: every other element of a buffer twice as long
    const wide = noGrad(() =>
      x
        .reshape([...x.shape, 1])
        .expand([...x.shape, 2])
        .contiguous(),
    );
    return wide
      .reshape([...x.shape, 2])
      .slice(-1, 0, 1)
      .squeeze(-1);
  }
  const reversed = x.shape.map((_, i) => x.rank - 1 - i);
  return noGrad(() => x.permute(reversed).contiguous()).permute(reversed);
}

function flushTiny(x: Tensor): Tensor {
  return Tensor.fromStorage(
    Float64Array.from(x.toTypedArray() as Float64Array, (v) => (Math.abs(v) < 1e-6 ? 0 : v)),
    x.shape,
  );
}

function gradsOf(c: OpCase, inputs: Tensor[]): Tensor[] {
  const leaves = inputs.map((x, i) => (c.nondifferentiable?.includes(i) ? x : x.detach().setRequiresGrad()));
  const out = c.run(...leaves);
  if (!out.requiresGrad) return [];
  const v = noGrad(() => out.mul(0).add(1).mul(out.sin().add(2))); // a non-uniform gradOutput
  return grad(
    out,
    differentiable(c).map((i) => leaves[i]!),
    { gradOutputs: [v], allowUnused: true },
  ).map((g, k) => (g === null ? inputs[differentiable(c)[k]!]!.zerosLike() : (g as Tensor)));
}

describe.each(OPS.map((op) => [op.name, op] as const))('%s', (_, op) => {
  test('gradcheck (float64, central differences)', () => {
    fc.assert(
      fc.property(op.cases, (c) => {
        gradcheck(c.run, c.inputs, { nondifferentiable: c.nondifferentiable, allowUnused: true });
      }),
      { numRuns: RUNS },
    );
  });

  // Every case of an entry has a naive forward, or the entry is in NAIVE_EXEMPT with its reason.
  test.skipIf(op.name in NAIVE_EXEMPT)('forward equals the naive reference', () => {
    fc.assert(
      fc.property(op.cases, (c) => {
        if (!c.naive) throw new Error(`${op.name}: a case without a naive forward (add one, or list the op in NAIVE_EXEMPT with the reason)`);
        const expected = c.naive(...c.inputs.map(naive.dense));
        const actual = c.run(...c.inputs);
        const reference = Tensor.fromStorage(Float64Array.from(expected.values), expected.shape);
        assertClose(actual, reference, c.approximate ? sums(c.inputs) : TIGHT, { ignoreDType: true, label: op.name });
      }),
      { numRuns: RUNS },
    );
  });

  test('non-contiguous inputs give the same result and gradients', () => {
    fc.assert(
      fc.property(op.cases, (c) => {
        const views = c.inputs.map((x, i) => (c.nondifferentiable?.includes(i) ? x : asView(x)));
        if (c.contiguousOnly && views.some((v) => !v.isContiguous())) {
          expect(() => c.run(...views)).toThrow(ShapeError);
          return;
        }
        assertClose(c.run(...views), c.run(...c.inputs), c.approximate ? sums(c.inputs) : 'bitwise', op.name);
        // The same gradient formula read through other strides: rounding only (gradOutput ≤ 3 scales the terms).
        const bound = sums([...c.inputs, ...c.inputs, ...c.inputs]);
        gradsOf(c, views).forEach((g, i) => assertClose(g, gradsOf(c, c.inputs)[i]!, bound, `${op.name} grad ${i}`));
      }),
      { numRuns: RUNS },
    );
  });

  test('cpu backend equals the reference backend', () => {
    fc.assert(
      fc.property(op.cases, (c) => {
        const ref = withBackend('reference', () => ({ out: c.run(...c.inputs), grads: gradsOf(c, c.inputs) }));
        const fast = withBackend('cpu', () => ({ out: c.run(...c.inputs), grads: gradsOf(c, c.inputs) }));
        assertClose(fast.out, ref.out, c.approximate ? TIGHT : 'bitwise', op.name);
        fast.grads.forEach((g, i) => assertClose(g, ref.grads[i]!, TIGHT, `${op.name} grad ${i}`));
      }),
      { numRuns: RUNS },
    );
  });

  test('float32 is within T32 of float64', () => {
    fc.assert(
      fc.property(op.cases, (c) => {
        // Both runs see the same float32-representable inputs, so only the op's own rounding is measured;
        // tiny magnitudes are flushed to 0 first, since float32 underflows where float64 does not.
        const singles = c.inputs.map((x, i) => (c.nondifferentiable?.includes(i) ? x : flushTiny(x).float()));
        const doubles = singles.map((x, i) => (c.nondifferentiable?.includes(i) ? x : x.double()));
        const reference = c.run(...doubles);
        assertClose(c.run(...singles), reference, c.approximate ? t32Terms(doubles, reference) : T32, { ignoreDType: true, label: op.name });
      }),
      { numRuns: RUNS },
    );
  });
});

test('the naive-forward exemptions are exactly the entries without a naive forward', () => {
  const names = OPS.map((o) => o.name);
  expect(
    Object.keys(NAIVE_EXEMPT).filter((n) => !names.includes(n)),
    'NAIVE_EXEMPT names no table entry',
  ).toEqual([]);
  for (const op of OPS) {
    // A few drawn cases per entry: all have a naive forward, or (exempt) none has.
    const withNaive = fc.sample(op.cases, { numRuns: 20, seed: 42 }).map((c) => c.naive !== undefined);
    expect(new Set(withNaive), op.name).toEqual(new Set([!(op.name in NAIVE_EXEMPT)]));
    if (op.name in NAIVE_EXEMPT) expect(NAIVE_EXEMPT[op.name]!.length, `${op.name}: the reason`).toBeGreaterThan(20);
  }
});

test('every op exported from core/ops has a table entry or a reasoned exemption', () => {
  const names = new Set(OPS.map((o) => o.name));
  const exported = [elementwise, reduce, movement, linalg, indexing, nn].flatMap((m) => Object.keys(m));
  const missing = exported.filter((n) => !names.has(ALIASES[n] ?? n) && !(n in EXEMPT));
  expect(missing).toEqual([]);
});

test('cast: the gradient of a dtype conversion is the upstream gradient converted back', () => {
  const x = Tensor.fromStorage(Float64Array.from([1.5, -2.25, 3]), [3]).setRequiresGrad();
  const y = x
    .float()
    .mul(Tensor.fromStorage(Float32Array.from([2, 3, 4]), [3]))
    .sum();
  const [g] = grad(y, [x]);
  expect((g as Tensor).dtype).toBe('float64');
  expect(Array.from((g as Tensor).toTypedArray())).toEqual([2, 3, 4]);
});
