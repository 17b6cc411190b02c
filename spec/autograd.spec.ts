/**
 * Graph semantics of the autograd engine (docs/TESTING.md §4 "Graph", "Views",
 * "Broadcasting"): accumulation, diamonds, grad modes, functional grad(), graph
 * freeing, deep graphs, retainGrad/detach, in-place detection, customVjp, views.
 *
 * Values are read through shape/strides/offset by `read` below (not toTypedArray),
 * so these properties depend only on the engine's autograd, not on its readers.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  AutogradError,
  customVjp,
  enableGrad,
  Generator,
  grad,
  isGradEnabled,
  noGrad,
  randn,
  SparseCoo,
  Tensor,
  tensor,
  uniform,
  type Grad,
} from '../index.ts';
import { arbBroadcastPair, arbSeed, assertClose, type Bound } from './kit/index.ts';
import { read } from './read.ts';

/**
 * The engine and a hand-written formula compute the same float64 value in other orders:
 * they differ by rounding only, ≈ 1e-12 relative to the size of the terms (docs/TESTING.md
 * §1), not T64 (a finite-difference bound, 1e8 times looser). `terms`: an upper bound on
 * Σ|terms| of any one value compared.
 */
const rounding = (terms: number): Bound => ({ name: `rounding (Σ|terms| ≤ ${terms.toPrecision(3)})`, atol: 1e-12 * Math.max(1, terms), rtol: 1e-12 });
const maxAbs = (xs: readonly number[]) => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

// ---- helpers ------------------------------------------------------------------------

/** A gradient as a dense tensor (fails the test if it is missing). */
function dense(g: Grad | null | undefined): Tensor {
  if (g === null || g === undefined) throw new Error('expected a gradient, got none');
  return g instanceof SparseCoo ? g.toDense() : g;
}

function gradValues(g: Grad | null | undefined): number[] {
  return read(dense(g));
}

function f64(values: readonly number[], shape: readonly number[] = [values.length], requiresGrad = false): Tensor {
  return tensor(Float64Array.from(values), { shape, requiresGrad });
}

function leaf(shape: readonly number[], seed: number): Tensor {
  return randn(shape, { generator: new Generator(seed), dtype: 'float64', requiresGrad: true });
}

function expectBitwise(actual: readonly number[], expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!Object.is(a, expected[i])) throw new Error(`element ${i}: ${a} is not bitwise ${expected[i]}`);
  });
}

const numel = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** Flat index into `shape` (right-aligned, size-1 axes broadcast) of flat index `flat` of `outShape`. */
function sourceIndex(flat: number, outShape: readonly number[], shape: readonly number[]): number {
  const lead = outShape.length - shape.length;
  const idx = new Array<number>(outShape.length);
  for (let a = outShape.length - 1; a >= 0; a--) {
    idx[a] = flat % outShape[a]!;
    flat = Math.floor(flat / outShape[a]!);
  }
  let target = 0;
  for (let a = 0; a < shape.length; a++) target = target * shape[a]! + (shape[a] === 1 ? 0 : idx[a + lead]!);
  return target;
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 });

// ---- accumulation -------------------------------------------------------------------

describe('accumulation into .grad', () => {
  const f = (x: Tensor) => x.tanh().mul(x).sum();

  test('two backwards without zeroGrad give 2× (retainGraph)', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const x = leaf(shape, seed);
        const y = f(x);
        y.backward(undefined, { retainGraph: true });
        const once = gradValues(x.grad);
        y.backward();
        expectBitwise(
          gradValues(x.grad),
          once.map((v) => 2 * v),
        );
      }),
      { numRuns: 60 },
    );
  });

  test('two backwards without zeroGrad give 2× (graph built twice)', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const x = leaf(shape, seed);
        f(x).backward();
        const once = gradValues(x.grad);
        f(x).backward();
        expectBitwise(
          gradValues(x.grad),
          once.map((v) => 2 * v),
        );
      }),
      { numRuns: 60 },
    );
  });

  test('zeroGrad resets: the next backward gives the single gradient again', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const x = leaf(shape, seed);
        f(x).backward();
        const once = gradValues(x.grad);
        f(x).backward();
        x.zeroGrad();
        expect(x.grad).toBeNull();
        f(x).backward();
        expectBitwise(gradValues(x.grad), once);
        // setToNone = false keeps a zero tensor of the same shape and dtype.
        x.zeroGrad(false);
        const zeroed = dense(x.grad);
        expect(zeroed.shape).toEqual(shape);
        expect(zeroed.dtype).toBe('float64');
        expect(read(zeroed).every((v) => v === 0)).toBe(true);
        f(x).backward();
        expectBitwise(gradValues(x.grad), once);
      }),
      { numRuns: 40 },
    );
  });

  test('a leaf used twice gets the sum of both paths', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const g = new Generator(seed);
        const x = randn(shape, { generator: g, dtype: 'float64', requiresGrad: true });
        const a = randn(shape, { generator: g, dtype: 'float64' });
        const b = randn(shape, { generator: g, dtype: 'float64' });
        x.mul(a).sum().add(x.mul(b).sum()).backward();
        const av = read(a);
        const bv = read(b);
        expectBitwise(
          gradValues(x.grad),
          av.map((v, i) => v + bv[i]!),
        );
        // x·x: both inputs of one node are the same leaf → 2x.
        const z = leaf(shape, seed + 1);
        z.mul(z).sum().backward();
        expectBitwise(
          gradValues(z.grad),
          read(z).map((v) => 2 * v),
        );
      }),
      { numRuns: 60 },
    );
  });

  test('diamond: x → (2x, eˣ) → product has gradient 2eˣ + 2x·eˣ', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const x = leaf(shape, seed);
        x.mul(2).mul(x.exp()).sum().backward();
        const expected = read(x).map((v) => 2 * Math.exp(v) + 2 * v * Math.exp(v));
        assertClose(dense(x.grad), f64(expected, shape), rounding(maxAbs(read(x).map((v) => 2 * Math.exp(v) * (1 + Math.abs(v))))), 'diamond');
      }),
      { numRuns: 60 },
    );
  });

  test('a reused non-leaf node: h = sin x, y = h·h + h gives (2h + 1)·cos x', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const x = leaf(shape, seed);
        const h = x.sin();
        h.mul(h).add(h).sum().backward();
        const expected = read(x).map((v) => (2 * Math.sin(v) + 1) * Math.cos(v));
        assertClose(dense(x.grad), f64(expected, shape), rounding(3), 'reused non-leaf'); // |2h·cos x| + |cos x| ≤ 3
      }),
      { numRuns: 60 },
    );
  });

  test('a ladder of diamonds z ← z + z (every node reused) gives exactly 2ⁿ', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), arbSeed(), (n, seed) => {
        const x = leaf([3], seed);
        let z = x;
        for (let i = 0; i < n; i++) z = z.add(z);
        z.sum().backward();
        expectBitwise(gradValues(x.grad), [2 ** n, 2 ** n, 2 ** n]);
      }),
      { numRuns: 30 },
    );
  });

  test('a non-leaf consumed by many nodes receives the sum of all of them', () => {
    const x = f64([0.5, -1.25], [2], true);
    const h = x.mul(3);
    let y = h.mul(0);
    for (let k = 1; k <= 50; k++) y = y.add(h.mul(k));
    y.sum().backward();
    // d/dx Σ k·3x = 3·Σk = 3·1275
    expectBitwise(gradValues(x.grad), [3825, 3825]);
  });

  test('backward on a leaf itself gives ones', () => {
    const x = f64([3], [], true);
    x.backward();
    expectBitwise(gradValues(x.grad), [1]);
  });
});

// ---- grad mode ------------------------------------------------------------------------

describe('noGrad / enableGrad', () => {
  test('noGrad records nothing', () => {
    const x = f64([1, 2, 3], [3], true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2).exp().sum();
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(y.isLeaf).toBe(true);
    expect(() => y.backward()).toThrow(AutogradError);
  });

  test('enableGrad inside noGrad re-enables recording, and both restore the mode', () => {
    const x = f64([1, 2, 3], [3], true);
    const y = noGrad(() =>
      enableGrad(() => {
        expect(isGradEnabled()).toBe(true);
        return x.mul(2).sum();
      }),
    );
    expect(y.requiresGrad).toBe(true);
    expect(y.gradFn).not.toBeNull();
    y.backward();
    expectBitwise(gradValues(x.grad), [2, 2, 2]);
    // Modes are restored even when the body throws.
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(() =>
        enableGrad(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(isGradEnabled()).toBe(false);
    });
  });
});

// ---- functional grad() ------------------------------------------------------------------

describe('grad()', () => {
  const graph = (x: Tensor, w: Tensor) => x.matmul(w).tanh().mul(x.sum()).sum().add(w.mul(w).sum());

  test('grad() equals .backward() bitwise', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), arbSeed(), (m, k, n, seed) => {
        const x = leaf([m, k], seed);
        const w = leaf([k, n], seed + 1);
        const [gx, gw] = grad(graph(x, w), [x, w]);
        expect(x.grad).toBeNull();
        expect(w.grad).toBeNull();
        graph(x, w).backward();
        expectBitwise(gradValues(gx), gradValues(x.grad));
        expectBitwise(gradValues(gw), gradValues(w.grad));
      }),
      { numRuns: 60 },
    );
  });

  test('grad() does not touch .grad', () => {
    const x = f64([1, 2], [2], true);
    x.mul(x).sum().backward();
    const before = x.grad;
    const beforeValues = gradValues(before);
    const [g] = grad(x.mul(x).mul(x).sum(), [x]);
    expect(x.grad).toBe(before);
    expectBitwise(gradValues(x.grad), beforeValues);
    expectBitwise(gradValues(g), [3, 12]);
    // retained non-leaf grads are not written either
    const h = x.mul(2).retainGrad();
    grad(h.sum(), [x]);
    expect(h.grad).toBeNull();
  });

  test('grad() with respect to a non-leaf and with explicit gradOutputs', () => {
    const x = f64([0.5, -1], [2], true);
    const h = x.exp();
    const y = h.mul(h);
    const v = f64([3, -2]);
    const [gh, gx] = grad(y, [h, x], { gradOutputs: [v] });
    const hv = read(h);
    assertClose(dense(gh), f64([3 * 2 * hv[0]!, -2 * 2 * hv[1]!]), rounding(6 * maxAbs(hv)), 'dy/dh');
    assertClose(dense(gx), f64([3 * 2 * hv[0]! * hv[0]!, -2 * 2 * hv[1]! * hv[1]!]), rounding(6 * maxAbs(hv) ** 2), 'dy/dx');
  });

  test('allowUnused returns null for an unused input; otherwise grad() throws', () => {
    const x = f64([1, 2], [2], true);
    const unused = f64([1, 2], [2], true);
    const [gx, gu] = grad(x.mul(2).sum(), [x, unused], { allowUnused: true });
    expectBitwise(gradValues(gx), [2, 2]);
    expect(gu).toBeNull();
    expect(() => grad(x.mul(2).sum(), [x, unused])).toThrow(AutogradError);
    expect(() => grad(x.mul(2).sum(), [x, unused])).toThrow(/input 1 appears to not have been used in the graph/);
  });
});

// ---- freeing and retaining the graph ---------------------------------------------------------

describe('retainGraph', () => {
  test('retainGraph allows a second walk; without it the second walk throws', () => {
    const x = f64([1, 2], [2], true);
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expectBitwise(gradValues(x.grad), [6, 12]);
    expect(() => y.backward()).toThrow(AutogradError);
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });

  test('grad() frees the graph too unless retainGraph is set', () => {
    const x = f64([1, 2], [2], true);
    const y = x.exp().sum();
    const [g1] = grad(y, [x], { retainGraph: true });
    const [g2] = grad(y, [x]);
    expectBitwise(gradValues(g1), gradValues(g2));
    expect(() => grad(y, [x])).toThrow(/backward through the graph a second time/);
  });
});

// ---- deep graphs --------------------------------------------------------------------------

describe('deep graphs (iterative traversal)', () => {
  test('20000 chained adds: backward does not overflow the stack', () => {
    const x = f64([1, 2], [2], true);
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.add(1);
    y.sum().backward();
    expectBitwise(gradValues(x.grad), [1, 1]);
  });

  test('20000 chained ops through grad(), with a diamond every step', () => {
    const x = f64([1.5], [1], true);
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.mul(0.5).add(y.mul(0.5)); // y stays x, every node reused twice
    const [g] = grad(y.sum(), [x]);
    expectBitwise(gradValues(g), [1]);
  });
});

// ---- retainGrad / detach ----------------------------------------------------------------------

describe('retainGrad and detach', () => {
  test('retainGrad keeps a non-leaf grad; without it a non-leaf has none', () => {
    const x = f64([1, 2, 3], [3], true);
    const kept = x.mul(2).retainGrad();
    const dropped = x.mul(3);
    kept.mul(kept).sum().add(dropped.sum()).backward();
    expectBitwise(gradValues(kept.grad), [4, 8, 12]);
    expect(dropped.grad).toBeNull();
    expectBitwise(gradValues(x.grad), [8 + 3, 16 + 3, 24 + 3]);
    expect(() => f64([1]).retainGrad()).toThrow(AutogradError);
  });

  test('detach cuts the graph and shares storage', () => {
    const x = f64([1, 2, 3], [3], true);
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    x.mul(d).sum().backward(); // d is a constant: grad = d, not 4x
    expectBitwise(gradValues(x.grad), [2, 4, 6]);
    const view = x.detach();
    expect(view.storage).toBe(x.storage);
    expect(view.requiresGrad).toBe(false);
  });
});

// ---- in-place safety ---------------------------------------------------------------------------

describe('in-place operations', () => {
  test('modifying a saved tensor in place makes backward throw', () => {
    const w = f64([1, 2], [2], true);
    const a = f64([3, 4]);
    const y = w.mul(a).sum(); // mul saves a
    a.add_(1);
    expect(() => y.backward()).toThrow(AutogradError);
    const y2 = w.mul(a).sum();
    a.mul_(2);
    expect(() => y2.backward()).toThrow(/modified by an inplace operation/);
  });

  test('a write through another view of the saved storage is caught too', () => {
    const x = f64([1, 2, 3, 4], [2, 2], true);
    const y = x.mul(x).sum(); // saves x
    noGrad(() => x.detach().T.slice(0, 1).fill_(0));
    expect(() => y.backward()).toThrow(/modified by an inplace operation/);
  });

  test('in-place on a leaf that requires grad throws; under noGrad it is allowed', () => {
    const x = f64([1, 2], [2], true);
    expect(() => x.add_(1)).toThrow(AutogradError);
    expect(() => x.mul_(2)).toThrow(/leaf Variable that requires grad/);
    expect(read(x)).toEqual([1, 2]);
    noGrad(() => x.add_(1));
    expect(read(x)).toEqual([2, 3]);
  });
});

// ---- customVjp ------------------------------------------------------------------------------------

describe('customVjp', () => {
  test('a custom square matches the built-in one, and backward sees gradOutput and saved', () => {
    const seen: { g: number[]; saved: number[] }[] = [];
    const square = customVjp(
      'Square',
      (x) => ({ output: x.mul(x), saved: x }),
      (g, saved) => {
        seen.push({ g: read(g), saved: read(saved) });
        return [g.mul(saved).mul(2)];
      },
    );
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        seen.length = 0;
        const x = leaf(shape, seed);
        const y = square(x);
        expect(y.gradFn?.name).toBe('Square');
        const w = randn(shape, { generator: new Generator(seed + 7), dtype: 'float64' });
        y.mul(w).sum().backward();
        const custom = gradValues(x.grad);
        x.zeroGrad();
        x.mul(x).mul(w).sum().backward();
        assertClose(f64(custom, shape), dense(x.grad), rounding(2 * maxAbs(read(x)) * maxAbs(read(w))), 'custom square');
        expect(seen.length).toBe(1);
        expectBitwise(seen[0]!.g, read(w));
        expectBitwise(seen[0]!.saved, read(x));
      }),
      { numRuns: 40 },
    );
  });

  test('backward may return a SparseCoo: the leaf .grad is that sparse value', () => {
    const sparse = new SparseCoo([2, 3], Int32Array.of(1, 4), Float64Array.of(5, -7));
    const op = customVjp(
      'SparseOp',
      (x) => ({ output: x.mul(2), saved: null }),
      () => [sparse],
    );
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3], true);
    op(x).sum().backward();
    expect(x.grad).toBeInstanceOf(SparseCoo);
    const g = x.grad as SparseCoo;
    expect(g.shape).toEqual([2, 3]);
    expect(Array.from(g.indices)).toEqual([1, 4]);
    expect(Array.from(g.values)).toEqual([5, -7]);
  });

  test('a sparse gradient into a non-leaf is densified for the ops upstream', () => {
    const op = customVjp(
      'SparseOp',
      (h) => ({ output: h.mul(1), saved: null }),
      (g) => [SparseCoo.fromDense(g.mul(f64([0, 1, 0, 2])))],
    );
    const x = f64([1, 2, 3, 4], [4], true);
    op(x.mul(3)).sum().backward();
    expect(x.grad).toBeInstanceOf(Tensor);
    expectBitwise(gradValues(x.grad), [0, 3, 0, 6]);
  });

  test('a wrong number or shape of gradients is an AutogradError', () => {
    const x = f64([1, 2], [2], true);
    const tooMany = customVjp(
      'TooMany',
      (t) => ({ output: t.mul(2), saved: null }),
      (g) => [g, g],
    );
    expect(() => tooMany(x).sum().backward()).toThrow(/incorrect number of gradients/);
    const badShape = customVjp(
      'BadShape',
      (t) => ({ output: t.mul(2), saved: null }),
      (g) => [g.sum()],
    );
    expect(() => badShape(x).sum().backward()).toThrow(AutogradError);
  });

  test('a forward that returns its input unchanged leaves the input a leaf and its gradient flows', () => {
    // A straight-through estimator: identity forward, scaled backward.
    const ste = customVjp(
      'StraightThrough',
      (t) => ({ output: t, saved: null }),
      (g) => [g.mul(3)],
    );
    const x = f64([1, 2], [2], true);
    const y = ste(x);
    y.mul(2).sum().backward();
    expect(x.isLeaf).toBe(true);
    expectBitwise(gradValues(x.grad), [6, 6]);
  });
});

// ---- views -------------------------------------------------------------------------------------------

describe('gradients flow through views to the base', () => {
  test('reshape, transpose, slice with step, expand (known values)', () => {
    const x = f64([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4], true);
    // columns 0 and 2 → [3, 2] → transpose [2, 3] → reshape [6]
    x.slice(1, 0, 4, 2)
      .T.reshape(6)
      .mul(f64([1, 2, 3, 4, 5, 6]))
      .sum()
      .backward();
    expectBitwise(gradValues(x.grad), [1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6, 0]);

    const c = f64([1, 2], [2, 1], true);
    c.expand(2, 3)
      .mul(f64([1, 2, 3, 4, 5, 6], [2, 3]))
      .sum()
      .backward();
    expectBitwise(gradValues(c.grad), [6, 15]);

    const r = f64([1, 2, 3, 4, 5, 6], [6], true);
    r.reshape(2, 3).slice(1, 2, 3).sum().backward(); // elements 2 and 5
    expectBitwise(gradValues(r.grad), [0, 0, 1, 0, 0, 1]);
  });

  type ViewOp =
    | { kind: 'transpose' }
    | { kind: 'reshape' }
    | { kind: 'slice'; axis: number; start: number; len: number; step: number }
    | { kind: 'expand'; times: number };
  const viewOp: fc.Arbitrary<ViewOp> = fc.oneof(
    fc.constant<ViewOp>({ kind: 'transpose' }),
    fc.constant<ViewOp>({ kind: 'reshape' }),
    fc.record({ kind: fc.constant('slice' as const), axis: fc.nat(3), start: fc.nat(4), len: fc.nat(5), step: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant('expand' as const), times: fc.integer({ min: 1, max: 3 }) }),
  );

  test('any chain of views: the base gradient is the weights scattered through the strides', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.array(viewOp, { maxLength: 6 }), arbSeed(), (n0, n1, ops, seed) => {
        const x = leaf([n0, n1], seed);
        let v = x;
        for (const op of ops) {
          if (op.kind === 'transpose' && v.rank >= 2) v = v.transpose(0, v.rank - 1);
          else if (op.kind === 'reshape' && v.isContiguous())
            v = v.reshape(v.numel); // a view only when contiguous
          else if (op.kind === 'slice' && v.rank > 0) {
            const axis = op.axis % v.rank;
            v = v.slice(axis, op.start, op.start + op.len, op.step);
          } else if (op.kind === 'expand' && v.rank < 4) v = v.unsqueeze(0).expand(op.times, ...v.shape);
        }
        expect(v.storage).toBe(x.storage); // every step was a view of x
        const w = randn(v.shape, { generator: new Generator(seed + 1), dtype: 'float64' });
        v.mul(w).sum().backward();
        // Oracle: element j of v lives at storage offset off(j); its weight lands there.
        const expected = new Array<number>(x.numel).fill(0);
        const wv = read(w);
        const idx = new Array<number>(v.rank).fill(0);
        const terms = new Array<number>(x.numel).fill(0); // Σ|w| landing on each offset: the size of its sum's terms
        for (let j = 0; j < v.numel; j++) {
          let off = v.offset;
          for (let a = 0; a < v.rank; a++) off += idx[a]! * v.strides[a]!;
          expected[off]! += wv[j]!;
          terms[off]! += Math.abs(wv[j]!);
          for (let a = v.rank - 1; a >= 0; a--) {
            if (++idx[a]! < v.shape[a]!) break;
            idx[a] = 0;
          }
        }
        if (v.numel === 0) {
          expect(x.grad === null || read(dense(x.grad)).every((g) => g === 0)).toBe(true);
        } else {
          assertClose(dense(x.grad), f64(expected, [n0, n1]), rounding(maxAbs(terms)), 'view chain');
        }
      }),
      { numRuns: 100 },
    );
  });
});

// ---- broadcasting --------------------------------------------------------------------------------------

describe('broadcast gradients', () => {
  const ops: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
    add: (a, b) => a.add(b),
    sub: (a, b) => a.sub(b),
    mul: (a, b) => a.mul(b),
    div: (a, b) => a.div(b),
    maximum: (a, b) => a.maximum(b),
  };

  test('the gradient of a broadcast input equals the expanded input’s gradient summed over broadcast axes', () => {
    fc.assert(
      fc.property(arbBroadcastPair({ maxRank: 4, maxDim: 4 }), fc.constantFrom(...Object.keys(ops)), arbSeed(), ([sa, sb], name, seed) => {
        const op = ops[name]!;
        const outShape = broadcastShape(sa, sb);
        const g = new Generator(seed);
        const a = uniform(sa, -2, 2, { generator: g, dtype: 'float64', requiresGrad: true });
        const b = uniform(sb, 0.5, 2, { generator: g, dtype: 'float64', requiresGrad: true });
        const w = randn(outShape, { generator: g, dtype: 'float64' });
        op(a, b).mul(w).sum().backward();

        // The same computation on explicitly expanded (materialised) inputs.
        const expandValues = (t: Tensor, shape: readonly number[]) => {
          const v = read(t);
          return Array.from({ length: numel(outShape) }, (_, i) => v[sourceIndex(i, outShape, shape)]!);
        };
        const ae = f64(expandValues(a, sa), outShape, true);
        const be = f64(expandValues(b, sb), outShape, true);
        op(ae, be).mul(w).sum().backward();
        const reduce = (g2: Grad | null, shape: readonly number[]) => {
          const out = new Array<number>(numel(shape)).fill(0);
          const v = g2 === null ? new Array<number>(numel(outShape)).fill(0) : gradValues(g2);
          v.forEach((x, i) => (out[sourceIndex(i, outShape, shape)]! += x));
          return f64(out, shape);
        };
        for (const [t, e, shape, label] of [
          [a, ae, sa, 'a'],
          [b, be, sb, 'b'],
        ] as const) {
          const expected = reduce(e.grad, shape);
          const actual = t.grad === null ? f64(new Array<number>(numel(shape)).fill(0), shape) : dense(t.grad);
          expect(actual.shape).toEqual(shape);
          // Both sides sum the expanded gradient over the broadcast axes, in other orders: bounded by Σ|terms|.
          const terms = e.grad === null ? [0] : read(reduce(f64(gradValues(e.grad).map(Math.abs), outShape), shape));
          assertClose(actual, expected, rounding(maxAbs(terms)), `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)} grad ${label}`);
        }
      }),
      { numRuns: 100 },
    );
  });

  function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => {
      const da = a[a.length - n + i] ?? 1;
      const db = b[b.length - n + i] ?? 1;
      return da === 1 ? db : da;
    });
  }
});
