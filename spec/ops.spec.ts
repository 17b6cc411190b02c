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
import { assertClose, gradcheck, T32, T64 } from './kit/index.ts';
import * as naive from './naive.ts';
import { ALIASES, EXEMPT, OPS, type OpCase } from './ops.table.ts';
import * as elementwise from '../core/ops/elementwise.ts';
import * as reduce from '../core/ops/reduce.ts';
import * as movement from '../core/ops/movement.ts';
import * as linalg from '../core/ops/linalg.ts';
import * as indexing from '../core/ops/indexing.ts';
import * as nn from '../core/ops/nn.ts';

const RUNS = 100;
const TIGHT = { atol: 1e-12, rtol: 1e-10 };

const differentiable = (c: OpCase) => c.inputs.map((_, i) => i).filter((i) => !c.nondifferentiable?.includes(i));

/** The same values as x, stored transposed: a non-contiguous view of x's shape. */
function asView(x: Tensor): Tensor {
  if (x.rank < 2) {
    // rank 0/1: every other element of a buffer twice as long
    const wide = noGrad(() => x.reshape([...x.shape, 1]).expand([...x.shape, 2]).contiguous());
    return wide.reshape([...x.shape, 2]).slice(-1, 0, 1).squeeze(-1);
  }
  const reversed = x.shape.map((_, i) => x.rank - 1 - i);
  return noGrad(() => x.permute(reversed).contiguous()).permute(reversed);
}

function flushTiny(x: Tensor): Tensor {
  return Tensor.fromStorage(Float64Array.from(x.toTypedArray() as Float64Array, (v) => (Math.abs(v) < 1e-6 ? 0 : v)), x.shape);
}

function gradsOf(c: OpCase, inputs: Tensor[]): Tensor[] {
  const leaves = inputs.map((x, i) => (c.nondifferentiable?.includes(i) ? x : x.detach().setRequiresGrad()));
  const out = c.run(...leaves);
  if (!out.requiresGrad) return [];
  const v = noGrad(() => out.mul(0).add(1).mul(out.sin().add(2))); // a non-uniform gradOutput
  return grad(out, differentiable(c).map((i) => leaves[i]!), { gradOutputs: [v], allowUnused: true }).map((g, k) =>
    g === null ? inputs[differentiable(c)[k]!]!.zerosLike() : (g as Tensor),
  );
}

describe.each(OPS.map((op) => [op.name, op] as const))('%s', (_, op) => {
  test('gradcheck (float64, central differences)', () => {
    fc.assert(fc.property(op.cases, (c) => {
      gradcheck(c.run, c.inputs, { nondifferentiable: c.nondifferentiable, allowUnused: true });
    }), { numRuns: RUNS });
  });

  test('forward equals the naive reference', () => {
    fc.assert(fc.property(op.cases, (c) => {
      if (!c.naive) return;
      const expected = c.naive(...c.inputs.map(naive.dense));
      const actual = c.run(...c.inputs);
      const reference = Tensor.fromStorage(Float64Array.from(expected.values), expected.shape);
      assertClose(actual, reference, c.approximate ? T64 : TIGHT, { ignoreDType: true, label: op.name });
    }), { numRuns: RUNS });
  });

  test('non-contiguous inputs give the same result and gradients', () => {
    fc.assert(fc.property(op.cases, (c) => {
      const views = c.inputs.map((x, i) => (c.nondifferentiable?.includes(i) ? x : asView(x)));
      if (c.contiguousOnly && views.some((v) => !v.isContiguous())) {
        expect(() => c.run(...views)).toThrow(ShapeError);
        return;
      }
      assertClose(c.run(...views), c.run(...c.inputs), c.approximate ? T64 : 'bitwise', op.name);
      gradsOf(c, views).forEach((g, i) => assertClose(g, gradsOf(c, c.inputs)[i]!, T64, `${op.name} grad ${i}`));
    }), { numRuns: RUNS });
  });

  test('cpu backend equals the reference backend', () => {
    fc.assert(fc.property(op.cases, (c) => {
      const ref = withBackend('reference', () => ({ out: c.run(...c.inputs), grads: gradsOf(c, c.inputs) }));
      const fast = withBackend('cpu', () => ({ out: c.run(...c.inputs), grads: gradsOf(c, c.inputs) }));
      assertClose(fast.out, ref.out, c.approximate ? TIGHT : 'bitwise', op.name);
      fast.grads.forEach((g, i) => assertClose(g, ref.grads[i]!, TIGHT, `${op.name} grad ${i}`));
    }), { numRuns: RUNS });
  });

  test('float32 is within T32 of float64', () => {
    fc.assert(fc.property(op.cases, (c) => {
      // Both runs see the same float32-representable inputs, so only the op's own rounding is measured;
      // tiny magnitudes are flushed to 0 first, since float32 underflows where float64 does not.
      const singles = c.inputs.map((x, i) => (c.nondifferentiable?.includes(i) ? x : flushTiny(x).float()));
      const doubles = singles.map((x, i) => (c.nondifferentiable?.includes(i) ? x : x.double()));
      assertClose(c.run(...singles), c.run(...doubles), T32, { ignoreDType: true, label: op.name });
    }), { numRuns: RUNS });
  });
});

test('every op exported from core/ops has a table entry or a reasoned exemption', () => {
  const names = new Set(OPS.map((o) => o.name));
  const exported = [elementwise, reduce, movement, linalg, indexing, nn].flatMap((m) => Object.keys(m));
  const missing = exported.filter((n) => !names.has(ALIASES[n] ?? n) && !(n in EXEMPT));
  expect(missing).toEqual([]);
});

test('cast: the gradient of a dtype conversion is the upstream gradient converted back', () => {
  const x = Tensor.fromStorage(Float64Array.from([1.5, -2.25, 3]), [3]).setRequiresGrad();
  const y = x.float().mul(Tensor.fromStorage(Float32Array.from([2, 3, 4]), [3])).sum();
  const [g] = grad(y, [x]);
  expect((g as Tensor).dtype).toBe('float64');
  expect(Array.from((g as Tensor).toTypedArray())).toEqual([2, 3, 4]);
});
