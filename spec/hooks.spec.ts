/**
 * Gradient hooks (docs/TESTING.md §4 "Hooks"; PyTorch's register_hook /
 * register_post_accumulate_grad_hook semantics): identity changes nothing, scaling
 * scales, registration order, before accumulation, sparse replacements and the
 * accumulation rules of core/sparse.ts, remove(), post-accumulate hooks.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AutogradError, Generator, grad, randn, SparseCoo, Tensor, tensor, topK, type Grad } from '../index.ts';
import { arbSeed, assertClose } from './kit/index.ts';
import { read } from './read.ts';

// ---- helpers ------------------------------------------------------------------------

function dense(g: Grad | null | undefined): Tensor {
  if (g === null || g === undefined) throw new Error('expected a gradient, got none');
  return g instanceof SparseCoo ? g.toDense() : g;
}

const values = (g: Grad | null | undefined) => read(dense(g));

function f64(v: readonly number[], shape: readonly number[] = [v.length], requiresGrad = false): Tensor {
  return tensor(Float64Array.from(v), { shape, requiresGrad });
}

function expectBitwise(actual: readonly number[], expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!Object.is(a, expected[i])) throw new Error(`element ${i}: ${a} is not bitwise ${expected[i]}`);
  });
}

function expectStrictlyIncreasing(indices: Int32Array): void {
  for (let i = 1; i < indices.length; i++) expect(indices[i]!).toBeGreaterThan(indices[i - 1]!);
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 });

/** x, a non-leaf h = sin(x)·a, loss = Σ h² + Σ z² with an independent leaf z. */
function model(seed: number, shape: readonly number[]) {
  const g = new Generator(seed);
  const x = randn(shape, { generator: g, dtype: 'float64', requiresGrad: true });
  const z = randn(shape, { generator: g, dtype: 'float64', requiresGrad: true });
  const a = randn(shape, { generator: g, dtype: 'float64' });
  const run = (onH?: (h: Tensor) => void) => {
    const h = x.sin().mul(a);
    onH?.(h);
    h.mul(h).sum().add(z.mul(z).sum()).backward();
  };
  return { x, z, run };
}

// ---- identity and scaling ----------------------------------------------------------------

describe('registerHook: identity and scaling', () => {
  test('identity hooks (returning g or nothing) change nothing, on leaves and non-leaves', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const plain = model(seed, shape);
        plain.run();
        const hooked = model(seed, shape);
        hooked.x.registerHook((g) => g);
        hooked.z.registerHook(() => undefined);
        hooked.run((h) => {
          h.registerHook((g) => g);
          h.registerHook(() => {});
        });
        expectBitwise(values(hooked.x.grad), values(plain.x.grad));
        expectBitwise(values(hooked.z.grad), values(plain.z.grad));
      }),
      { numRuns: 50 },
    );
  });

  test('a scaling hook on a leaf scales its .grad and nothing else', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), fc.double({ min: -4, max: 4, noNaN: true }), (shape, seed, c) => {
        const plain = model(seed, shape);
        plain.run();
        const hooked = model(seed, shape);
        hooked.x.registerHook((g) => (g as Tensor).mul(c));
        hooked.run();
        expectBitwise(
          values(hooked.x.grad),
          values(plain.x.grad).map((v) => v * c),
        );
        expectBitwise(values(hooked.z.grad), values(plain.z.grad));
      }),
      { numRuns: 50 },
    );
  });

  test('a scaling hook on a non-leaf scales everything upstream of it, and only that', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), fc.integer({ min: -3, max: 3 }), (shape, seed, p) => {
        const c = 2 ** p; // a power of two: scaling commutes exactly with the upstream products
        const plain = model(seed, shape);
        plain.run();
        const hooked = model(seed, shape);
        hooked.run((h) => h.registerHook((g) => (g as Tensor).mul(c)));
        expectBitwise(
          values(hooked.x.grad),
          values(plain.x.grad).map((v) => v * c),
        );
        expectBitwise(values(hooked.z.grad), values(plain.z.grad));
      }),
      { numRuns: 50 },
    );
  });

  test('a non-leaf hook with a general factor scales the upstream gradient (up to rounding)', () => {
    const plain = model(11, [4]);
    plain.run();
    const hooked = model(11, [4]);
    hooked.run((h) => h.registerHook((g) => (g as Tensor).mul(0.3)));
    // 0.3·(a·b) against (0.3·a)·b: a few ulps of the value, nothing more (not T64, a finite-difference bound).
    assertClose(
      dense(hooked.x.grad),
      f64(
        values(plain.x.grad).map((v) => 0.3 * v),
        [4],
      ),
      { name: 'rounding', atol: 1e-15, rtol: 1e-12 },
      'scaled upstream',
    );
  });
});

// ---- order and timing -----------------------------------------------------------------------

describe('registerHook: order and timing', () => {
  test('hooks run in registration order, each on the previous hook’s result', () => {
    const calls: string[] = [];
    const x = f64([1, 2], [2], true);
    x.registerHook((g) => {
      calls.push('first');
      return (g as Tensor).mul(2);
    });
    x.registerHook((g) => {
      calls.push('second');
      return (g as Tensor).add(1);
    });
    x.mul(f64([3, 5]))
      .sum()
      .backward();
    expect(calls).toEqual(['first', 'second']);
    expectBitwise(values(x.grad), [2 * 3 + 1, 2 * 5 + 1]);

    const y = f64([1, 2], [2], true);
    y.registerHook((g) => (g as Tensor).add(1));
    y.registerHook((g) => (g as Tensor).mul(2));
    y.mul(f64([3, 5]))
      .sum()
      .backward();
    expectBitwise(values(y.grad), [(3 + 1) * 2, (5 + 1) * 2]);
  });

  test('hooks run before accumulation: they see the incoming gradient, not .grad', () => {
    const x = f64([1, 2], [2], true);
    const seen: { incoming: number[]; gradAtHook: number[] | null }[] = [];
    x.registerHook((g) => {
      seen.push({ incoming: values(g), gradAtHook: x.grad === null ? null : values(x.grad) });
    });
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    expect(seen).toEqual([
      { incoming: [3, 3], gradAtHook: null },
      { incoming: [3, 3], gradAtHook: [3, 3] },
    ]);
    expectBitwise(values(x.grad), [6, 6]);
  });

  test('a leaf used on several paths runs its hook once, on the summed gradient', () => {
    const x = f64([1, 2], [2], true);
    const seen: number[][] = [];
    x.registerHook((g) => {
      seen.push(values(g));
    });
    x.mul(x).add(x.mul(4)).sum().backward(); // 2x + 4
    expect(seen).toEqual([[6, 8]]);
  });

  test('hooks also run in functional grad(), whose result is the hooked gradient', () => {
    const x = f64([1, 2], [2], true);
    x.registerHook((g) => (g as Tensor).mul(10));
    const [g] = grad(x.mul(3).sum(), [x]);
    expectBitwise(values(g), [30, 30]);
    expect(x.grad).toBeNull();
  });
});

// ---- sparse replacements ------------------------------------------------------------------------

describe('registerHook: sparse gradients', () => {
  test('a hook may return a SparseCoo, which becomes the leaf’s .grad', () => {
    const x = f64([1, 2, 3, 4], [2, 2], true);
    x.registerHook((g) => topK(g as Tensor, 2, 'exact'));
    x.mul(f64([1, -5, 2, 7], [2, 2]))
      .sum()
      .backward();
    expect(x.grad).toBeInstanceOf(SparseCoo);
    const g = x.grad as SparseCoo;
    expect(g.shape).toEqual([2, 2]);
    expect(Array.from(g.indices)).toEqual([1, 3]);
    expect(Array.from(g.values)).toEqual([-5, 7]);
  });

  test('sparse + sparse across two backwards coalesces (unique sorted indices, summed values)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), arbSeed(), (n, k1, k2, seed) => {
        const g = new Generator(seed);
        const x = randn([n], { generator: g, dtype: 'float64', requiresGrad: true });
        const w1 = randn([n], { generator: g, dtype: 'float64' });
        const w2 = randn([n], { generator: g, dtype: 'float64' });
        let k = k1;
        x.registerHook((gr) => topK(gr as Tensor, k));
        x.mul(w1).sum().backward();
        k = k2;
        x.mul(w2).sum().backward();
        expect(x.grad).toBeInstanceOf(SparseCoo);
        const acc = x.grad as SparseCoo;
        expectStrictlyIncreasing(acc.indices);
        const s1 = topK(w1, k1).toDense();
        const s2 = topK(w2, k2).toDense();
        const expected = read(s1).map((v, i) => v + read(s2)[i]!);
        expectBitwise(
          read(acc.toDense()),
          expected.map((v) => v + 0),
        ); // −0 from an empty sum prints as +0
        // every index of either pattern is present (entries summing to 0 stay present)
        const present = new Set(acc.indices);
        for (const s of [topK(w1, k1), topK(w2, k2)]) for (const i of s.indices) expect(present.has(i)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('sparse then dense densifies; dense then sparse too', () => {
    const x = f64([1, 2, 3], [3], true);
    const handle = x.registerHook((g) => SparseCoo.fromDense((g as Tensor).mul(f64([1, 0, 1]))));
    x.mul(f64([2, 3, 4]))
      .sum()
      .backward();
    expect(x.grad).toBeInstanceOf(SparseCoo);
    handle.remove();
    x.mul(f64([10, 20, 30]))
      .sum()
      .backward();
    expect(x.grad).toBeInstanceOf(Tensor);
    expectBitwise(values(x.grad), [12, 20, 34]);

    const y = f64([1, 2, 3], [3], true);
    y.mul(f64([10, 20, 30]))
      .sum()
      .backward();
    y.registerHook((g) => SparseCoo.fromDense((g as Tensor).mul(f64([0, 1, 0]))));
    y.mul(f64([2, 3, 4]))
      .sum()
      .backward();
    expect(y.grad).toBeInstanceOf(Tensor);
    expectBitwise(values(y.grad), [10, 23, 30]);
  });

  test('a non-leaf hook may return a SparseCoo: upstream receives it densified', () => {
    const x = f64([1, 2, 3, 4], [4], true);
    const h = x.mul(2);
    h.registerHook((g) => topK((g as Tensor).mul(f64([1, 4, 2, 3])), 2, 'exact'));
    h.sum().backward();
    expect(x.grad).toBeInstanceOf(Tensor);
    expectBitwise(values(x.grad), [0, 8, 0, 6]);
  });

  test('a hook that returns a gradient of the wrong shape is rejected', () => {
    const x = f64([1, 2], [2], true);
    x.registerHook(() => f64([1, 2, 3]));
    expect(() => x.mul(2).sum().backward()).toThrow(AutogradError);
    const y = f64([1, 2], [2], true);
    y.registerHook(() => new SparseCoo([3], Int32Array.of(0), Float64Array.of(1)));
    expect(() => y.mul(2).sum().backward()).toThrow(AutogradError);
  });
});

// ---- remove() and misuse ---------------------------------------------------------------------------

describe('hook handles and misuse', () => {
  test('remove() stops a hook; other hooks keep running; removing twice is harmless', () => {
    const x = f64([1, 2], [2], true);
    const calls: string[] = [];
    const a = x.registerHook((g) => {
      calls.push('a');
      return (g as Tensor).mul(100);
    });
    x.registerHook(() => {
      calls.push('b');
    });
    a.remove();
    a.remove();
    x.mul(3).sum().backward();
    expect(calls).toEqual(['b']);
    expectBitwise(values(x.grad), [3, 3]);
  });

  test('registering a hook on a tensor that does not require grad throws', () => {
    expect(() => f64([1, 2]).registerHook((g) => g)).toThrow(AutogradError);
    expect(() => f64([1, 2]).registerHook((g) => g)).toThrow(/doesn't require gradient/);
    expect(() => f64([1, 2]).registerPostAccumulateGradHook(() => {})).toThrow(AutogradError);
  });
});

// ---- post-accumulate hooks ------------------------------------------------------------------------

describe('registerPostAccumulateGradHook', () => {
  test('sees the final .grad after accumulation, once per backward', () => {
    fc.assert(
      fc.property(shapeArb, arbSeed(), (shape, seed) => {
        const g = new Generator(seed);
        const x = randn(shape, { generator: g, dtype: 'float64', requiresGrad: true });
        const w = randn(shape, { generator: g, dtype: 'float64' });
        const seen: number[][] = [];
        x.registerPostAccumulateGradHook((t) => {
          expect(t).toBe(x);
          seen.push(values(t.grad));
        });
        x.mul(w).sum().add(x.mul(w).sum()).backward(); // two paths, one accumulation
        x.mul(w).sum().backward();
        const wv = read(w);
        expect(seen.length).toBe(2);
        expectBitwise(
          seen[0]!,
          wv.map((v) => v + v),
        );
        expectBitwise(
          seen[1]!,
          wv.map((v) => v + v + v),
        );
      }),
      { numRuns: 40 },
    );
  });

  test('runs after the (replacing) grad hooks and sees their result', () => {
    const x = f64([1, 2], [2], true);
    x.registerHook((g) => (g as Tensor).mul(-1));
    let seen: Grad | null = null;
    x.registerPostAccumulateGradHook((t) => {
      seen = t.grad;
    });
    x.mul(3).sum().backward();
    expectBitwise(values(seen), [-3, -3]);
  });

  test('only on leaves: registering on a non-leaf throws; retained non-leaf grads do not trigger hooks', () => {
    const x = f64([1, 2], [2], true);
    const h = x.mul(2);
    expect(() => h.registerPostAccumulateGradHook(() => {})).toThrow(AutogradError);
    h.retainGrad();
    let calls = 0;
    x.registerPostAccumulateGradHook(() => calls++);
    h.sum().backward();
    expect(calls).toBe(1);
    expectBitwise(values(h.grad), [1, 1]);
  });

  test('remove() stops a post-accumulate hook; it is not run by grad()', () => {
    const x = f64([1, 2], [2], true);
    let calls = 0;
    const handle = x.registerPostAccumulateGradHook(() => calls++);
    grad(x.mul(2).sum(), [x]);
    expect(calls).toBe(0);
    x.mul(2).sum().backward();
    expect(calls).toBe(1);
    handle.remove();
    x.mul(2).sum().backward();
    expect(calls).toBe(1);
  });
});
