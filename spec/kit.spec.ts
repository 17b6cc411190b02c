/**
 * Tests of the property-test kit itself: a kit that cannot fail proves nothing, so each
 * helper is shown to pass where it should and to fail where it should.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { customVjp, DTypeError, type Tensor, tensor } from '../index.ts';
import {
  arbAxis,
  arbBroadcastPair,
  arbDType,
  arbMatmulShapes,
  arbPositiveTensor,
  arbSeed,
  arbShape,
  arbTensor,
  asValues,
  assertClose,
  compare,
  gradcheck,
  T32,
  T64,
  type Tolerance,
} from './kit/index.ts';

const f64 = (values: number[], shape?: number[]) => tensor(Float64Array.from(values), shape ? { shape } : {});
const f32 = (values: number[], shape?: number[]) => tensor(Float32Array.from(values), shape ? { shape } : {});
const ok = (a: number[], e: number[], tol: Tolerance) => compare(a, e, tol).ok;
const bounds: Tolerance[] = [T64, T32, { atol: 1e-3, rtol: 0 }];

describe('closeTo: compare and assertClose', () => {
  it('non-finite values compare by identity only', () => {
    for (const tol of [...bounds, 'bitwise' as const]) {
      expect(ok([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity], tol)).toBe(true);
      expect(ok([NaN], [Infinity], tol)).toBe(false);
      expect(ok([Infinity], [NaN], tol)).toBe(false);
      expect(ok([Infinity], [-Infinity], tol)).toBe(false);
      expect(ok([-Infinity], [Infinity], tol)).toBe(false);
      expect(ok([1e308], [Infinity], tol)).toBe(false);
      expect(ok([Infinity], [1e308], tol)).toBe(false);
      expect(ok([0], [NaN], tol)).toBe(false);
      expect(ok([NaN], [0], tol)).toBe(false);
    }
  });

  it('−0 equals +0 except bitwise', () => {
    for (const tol of bounds) {
      expect(ok([-0], [0], tol)).toBe(true);
      expect(ok([0], [-0], tol)).toBe(true);
    }
    expect(ok([-0], [0], 'bitwise')).toBe(false);
    expect(ok([0], [-0], 'bitwise')).toBe(false);
    expect(ok([-0, 1.5], [-0, 1.5], 'bitwise')).toBe(true);
  });

  it('bitwise rejects the smallest difference', () => {
    expect(ok([1 + Number.EPSILON], [1], 'bitwise')).toBe(false);
    expect(ok([1 + Number.EPSILON], [1], T64)).toBe(true);
  });

  it('checks shape before values', () => {
    const { ok: same, message } = compare(f64([1, 2, 3, 4, 5, 6], [2, 3]), f64([1, 2, 3, 4, 5, 6], [3, 2]), T64, { label: 'reshape' });
    expect(same).toBe(false);
    expect(message).toMatch(/reshape: shape mismatch: actual \[2, 3\], expected \[3, 2\]/);
    expect(ok([1], [1, 1], T64)).toBe(false);
    expect(compare(f64([1], []), f64([1], [1]), T64).ok).toBe(false);
  });

  it('checks dtype unless told not to; plain numbers carry no dtype', () => {
    const { ok: same, message } = compare(f32([1, 2]), f64([1, 2]), T32);
    expect(same).toBe(false);
    expect(message).toMatch(/dtype mismatch: actual float32, expected float64/);
    expect(compare(f32([1, 2]), f64([1, 2]), T32, { ignoreDType: true }).ok).toBe(true);
    expect(compare(f32([1, 2]), [1, 2], T32).ok).toBe(true);
    expect(compare(f64([2.5], []), 2.5, 'bitwise').ok).toBe(true);
  });

  it('T64 is elementwise: |a − r| ≤ 1e-5 + 1e-3·|r|', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (r) => {
        const bound = 1e-5 + 1e-3 * Math.abs(r);
        expect(ok([r + 0.9 * bound], [r], T64)).toBe(true);
        expect(ok([r - 1.1 * bound], [r], T64)).toBe(false);
      }),
    );
  });

  it('T32 scales atol by max|r| over the whole expected tensor', () => {
    // 0.001 + 0.005 is far outside an elementwise bound on 0.001, but within 1e-5·1000.
    expect(ok([1000, 0.006], [1000, 0.001], T32)).toBe(true);
    expect(ok([1000, 0.006], [1000, 0.001], T64)).toBe(false);
    expect(ok([1000, 0.006], [1000, 0.001], { atol: 1e-5, rtol: 1e-4 })).toBe(false);
    // Without the large element the same pair fails.
    expect(ok([0.006], [0.001], T32)).toBe(false);
    // Non-finite expected values do not inflate max|r|.
    expect(ok([Infinity, 0.006], [Infinity, 0.001], T32)).toBe(false);
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e6, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), (big, r) => {
        const bound = 1e-5 * big + 1e-4 * Math.abs(r);
        expect(ok([big, r + 0.9 * bound], [big, r], T32)).toBe(true);
        expect(ok([big, r + 1.1 * bound], [big, r], T32)).toBe(false);
      }),
    );
  });

  it('assertClose names label, flat index, multi-index, values and bound', () => {
    const expected = f64([0, 1, 2, 3, 4, 5], [2, 3]);
    const actual = f64([0, 1, 2, 3, 4.5, 5], [2, 3]);
    expect(() => assertClose(actual, expected, T64, 'myop')).toThrow(
      /^myop: element 4 \[1, 1\] differs: actual 4\.5, expected 4; \|a − r\| = 0\.5 > bound 0\.00401 \(T64: .*\); 1 of 6 elements differ$/,
    );
    expect(() => assertClose([-0], [0], 'bitwise')).toThrow(/assertClose: element 0 \[0\] differs: actual -0, expected 0; tolerance bitwise/);
    expect(() => assertClose(expected, expected, T64)).not.toThrow();
    expect(compare(expected, expected, T64)).toEqual({ ok: true, message: '' });
  });

  it('reads views in row-major order', () => {
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(asValues(x.T).values)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(asValues(x.slice(0, 1)).values)).toEqual([4, 5, 6]);
    expect(Array.from(asValues(x.slice(1, 1)).values)).toEqual([2, 3, 5, 6]);
    assertClose(x.slice(0, 1), f64([4, 5, 6], [1, 3]), 'bitwise');
  });

  it('rejects a malformed tolerance', () => {
    expect(() => compare([1], [1], { atol: -1, rtol: 0 })).toThrow(RangeError);
    expect(() => compare([1], [1], { atol: 0, rtol: NaN })).toThrow(RangeError);
  });
});

/** NumPy's broadcasting rule, written here independently of the engine and the kit. */
function numpyBroadcasts(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 1; i <= Math.max(a.length, b.length); i++) {
    const x = a[a.length - i] ?? 1;
    const y = b[b.length - i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}

/** torch.matmul's shape rule: vectors or matrices with matching inner dims and broadcastable batch dims. */
function matmulValid(a: readonly number[], b: readonly number[]): boolean {
  if (a.length === 0 || b.length === 0) return false;
  const k = a.length === 1 ? a[0] : a[a.length - 1];
  const kb = b.length === 1 ? b[0] : b[b.length - 2];
  return k === kb && numpyBroadcasts(a.slice(0, -2), b.slice(0, -2));
}

const inRange = (shape: readonly number[], minRank: number, maxRank: number, minDim: number, maxDim: number) =>
  shape.length >= minRank && shape.length <= maxRank && shape.every((d) => Number.isInteger(d) && d >= minDim && d <= maxDim);

describe('arbitraries', () => {
  it('the independent NumPy rule agrees with known pairs', () => {
    expect(numpyBroadcasts([2, 3], [4])).toBe(false);
    expect(numpyBroadcasts([3, 1, 2], [1, 3, 2])).toBe(true);
    expect(numpyBroadcasts([1, 0], [5, 1])).toBe(true);
    expect(numpyBroadcasts([2, 1], [3, 2, 2])).toBe(true);
    expect(numpyBroadcasts([2, 2], [3, 1])).toBe(false);
  });

  it('arbShape stays within its bounds', () => {
    fc.assert(fc.property(arbShape(), (s) => inRange(s, 0, 4, 0, 5)));
    fc.assert(fc.property(arbShape({ minRank: 2, maxRank: 3, minDim: 1, maxDim: 2 }), (s) => inRange(s, 2, 3, 1, 2)));
  });

  it('arbBroadcastPair gives pairs that broadcast, with ranks and dims in bounds', () => {
    fc.assert(
      fc.property(arbBroadcastPair({ minRank: 1, maxRank: 3, maxDim: 4 }), ([a, b]) => {
        expect(numpyBroadcasts(a, b)).toBe(true);
        expect(inRange(a, 1, 3, 0, 4) && inRange(b, 1, 3, 0, 4)).toBe(true);
      }),
    );
  });

  it('arbBroadcastPair covers differing ranks and real broadcasting', () => {
    const pairs = fc.sample(arbBroadcastPair(), { numRuns: 300, seed: 1 });
    expect(pairs.every(([a, b]) => numpyBroadcasts(a, b))).toBe(true);
    expect(pairs.some(([a, b]) => a.length !== b.length)).toBe(true);
    expect(pairs.some(([a, b]) => a.some((d, i) => d === 1 && (b[b.length - a.length + i] ?? 1) > 1))).toBe(true);
    expect(pairs.some(([a, b]) => b.some((d, i) => d === 1 && (a[a.length - b.length + i] ?? 1) > 1))).toBe(true);
  });

  it('arbBroadcastPair shrinks to a minimal pair', () => {
    const result = fc.check(
      fc.property(arbBroadcastPair(), ([a, b]) => a.length === b.length && a.every((d, i) => d === b[i])),
      { seed: 7 },
    );
    expect(result.failed).toBe(true);
    const [[a, b]] = result.counterexample!;
    expect(a.length + b.length).toBeLessThanOrEqual(2);
    expect([...a, ...b].every((d) => d <= 1)).toBe(true);
  });

  it('arbDType gives both float dtypes only', () => {
    const dtypes = new Set(fc.sample(arbDType(), { numRuns: 50, seed: 1 }));
    expect([...dtypes].sort()).toEqual(['float32', 'float64']);
  });

  it('arbTensor honours shape, dtype, range and requiresGrad', () => {
    fc.assert(
      fc.property(arbTensor(), (t) => {
        expect(t.dtype).toBe('float64');
        expect(inRange(t.shape, 0, 4, 0, 5)).toBe(true);
        expect(Array.from(t.toTypedArray()).every((x) => x >= -2 && x <= 2)).toBe(true);
        expect(t.requiresGrad).toBe(false);
      }),
    );
    fc.assert(
      fc.property(arbTensor({ shape: [2, 3], dtype: 'float32', min: -0.3, max: 0.7, requiresGrad: true }), (t) => {
        expect(t.shape).toEqual([2, 3]);
        expect(t.dtype).toBe('float32');
        expect(t.requiresGrad && t.isLeaf).toBe(true);
        expect(Array.from(t.toTypedArray()).every((x) => x >= Math.fround(-0.3) && x <= Math.fround(0.7))).toBe(true);
      }),
    );
    fc.assert(fc.property(arbTensor({ shape: arbShape({ minRank: 3, maxRank: 3, maxDim: 2 }) }), (t) => inRange(t.shape, 3, 3, 0, 2)));
  });

  it('arbPositiveTensor stays in [0.1, 2]', () => {
    fc.assert(
      fc.property(
        arbDType().chain((dtype) => arbPositiveTensor({ dtype })),
        (t) => Array.from(t.toTypedArray()).every((x) => x >= 0.1 && x <= 2),
      ),
    );
  });

  it('arbSeed gives unsigned 32-bit integers', () => {
    fc.assert(fc.property(arbSeed(), (s) => Number.isInteger(s) && s >= 0 && s <= 0xffffffff));
  });

  it('arbMatmulShapes gives shapes torch.matmul accepts, vectors and batch broadcasting included', () => {
    fc.assert(fc.property(arbMatmulShapes(), ([a, b]) => matmulValid(a, b)));
    const pairs = fc.sample(arbMatmulShapes(), { numRuns: 300, seed: 1 });
    expect(pairs.some(([a]) => a.length === 1)).toBe(true);
    expect(pairs.some(([, b]) => b.length === 1)).toBe(true);
    expect(pairs.some(([a, b]) => a.length > 2 && b.length > 2 && a.length !== b.length)).toBe(true);
  });

  it('arbAxis gives every valid axis, negative ones included', () => {
    for (const rank of [0, 1, 3]) {
      const r = Math.max(rank, 1);
      const axes = new Set(fc.sample(arbAxis(rank), { numRuns: 200, seed: 1 }));
      expect([...axes].sort((x, y) => x - y)).toEqual(Array.from({ length: 2 * r }, (_, i) => i - r));
    }
  });
});

/** A "square" whose backward forgets the factor 2. */
const wrongSquare = customVjp(
  'wrongSquare',
  (x: Tensor) => ({ output: x.mul(x), saved: x }),
  (g, x) => [g.mul(x)],
);
/** `square` with a chosen backward, for the checks besides the Jacobian. */
const squareWith = (backward: (g: Tensor, x: Tensor) => Tensor) =>
  customVjp(
    'square',
    (x: Tensor) => ({ output: x.mul(x), saved: x }),
    (g, x) => [backward(g, x)],
  );

const small = arbShape({ maxRank: 3, maxDim: 3 });

describe('gradcheck', () => {
  it('passes on correct ops, full and fast', () => {
    fc.assert(
      fc.property(arbTensor({ shape: small }), arbSeed(), (x, seed) => {
        gradcheck((x) => x.mul(x).sum(), [x]);
        gradcheck((x) => x.exp(), [x]);
        gradcheck((x) => x.exp(), [x], { mode: 'fast', seed });
      }),
      { numRuns: 100 },
    );
  });

  it('passes on matmul, batched and with vectors', () => {
    const operands = arbMatmulShapes({ maxBatchRank: 2, maxDim: 3 }).chain(([a, b]) => fc.tuple(arbTensor({ shape: a }), arbTensor({ shape: b })));
    fc.assert(
      fc.property(operands, arbSeed(), ([a, b], seed) => {
        gradcheck((a, b) => a.matmul(b), [a, b]);
        gradcheck((a, b) => a.matmul(b), [a, b], { mode: 'fast', seed });
      }),
      { numRuns: 100 },
    );
  });

  it('returns the Jacobians it compared', () => {
    const x = f64([1, -2, 3]);
    const { numericJacobian, analyticJacobian } = gradcheck((x) => x.mul(x).sum(), [x]);
    expect(analyticJacobian[0]!.shape).toEqual([1, 3]);
    assertClose(analyticJacobian[0]!, f64([2, -4, 6], [1, 3]), 'bitwise');
    assertClose(numericJacobian[0]!, f64([2, -4, 6], [1, 3]), T64);
    const fast = gradcheck((x) => x.exp(), [x], { mode: 'fast', seed: 3 });
    assertClose(fast.analytic, fast.numeric, T64);
  });

  it('leaves its inputs untouched', () => {
    const x = f64([0.5, 1.5]);
    gradcheck((x) => x.exp(), [x]);
    expect(x.requiresGrad).toBe(false);
    expect(Array.from(x.toTypedArray())).toEqual([0.5, 1.5]);
  });

  it('fails on a wrong custom VJP in full mode', () => {
    expect(() => gradcheck((x) => wrongSquare(x).sum(), [f64([1, 2, 3])])).toThrow(
      /^Jacobian mismatch for output 0 with respect to input 0 .*element 0 \[0, 0\] differs: actual 1, expected 2\.0/,
    );
    fc.assert(
      fc.property(arbTensor({ shape: arbShape({ maxRank: 3, minDim: 1, maxDim: 3 }), min: 0.5, max: 2 }), (x) => {
        expect(() => gradcheck((x) => wrongSquare(x), [x])).toThrow(/Jacobian mismatch for output 0 with respect to input 0/);
      }),
      { numRuns: 30 },
    );
  });

  it('fails on a wrong custom VJP in fast mode', () => {
    expect(() => gradcheck((x) => wrongSquare(x), [f64([1, 2, 3])], { mode: 'fast' })).toThrow(/Directional derivative mismatch/);
    // With one element, u and v are ±1, so the error is |x| ≥ 0.5 whatever the seed.
    fc.assert(
      fc.property(arbTensor({ shape: arbShape({ maxRank: 2, minDim: 1, maxDim: 1 }), min: 0.5, max: 2 }), arbSeed(), (x, seed) => {
        expect(() => gradcheck((x) => wrongSquare(x), [x], { mode: 'fast', seed })).toThrow(/Directional derivative mismatch/);
      }),
      { numRuns: 30 },
    );
  });

  it('names the input whose Jacobian is wrong', () => {
    const a = f64([1, 2]);
    const b = f64([3, 4]);
    expect(() => gradcheck((a, b) => a.add(wrongSquare(b)), [a, b])).toThrow(/with respect to input 1/);
    expect(gradcheck((a, b) => a.add(wrongSquare(b)), [a, b], { nondifferentiable: [1] }).analyticJacobian[1]).toBeNull();
  });

  it('rejects inputs that are not float64, unless nondifferentiable', () => {
    expect(() => gradcheck((x) => x.exp(), [f32([1])])).toThrow(DTypeError);
    expect(() => gradcheck((x) => x.exp(), [f32([1])])).toThrow(/input 0 has dtype float32.*float64/);
    const mask = tensor([1, 0], { dtype: 'float32' });
    gradcheck((x, m) => x.mul(m.double()), [f64([1, 2]), mask], { nondifferentiable: [1] });
  });

  it('rejects unused inputs unless allowUnused', () => {
    const fn = (x: Tensor, _y: Tensor) => x.exp();
    expect(() => gradcheck(fn, [f64([1]), f64([2])])).toThrow(/input 1 was not used/);
    const { analyticJacobian } = gradcheck(fn, [f64([1]), f64([2])], { allowUnused: true });
    assertClose(analyticJacobian[1]!, f64([0], [1, 1]), 'bitwise');
  });

  it('detects a gradient of the wrong dtype', () => {
    const op = squareWith((g, x) => g.mul(x).mul(2).float());
    expect(() => gradcheck((x) => op(x), [f64([1, 2])])).toThrow(/gradient for input 0 has shape \[2\] and dtype float32/);
    gradcheck((x) => op(x), [f64([1, 2])], { checkGradShapes: false });
  });

  it('detects a backward that is not reentrant', () => {
    let calls = 0;
    const op = squareWith((g, x) => g.mul(x).mul(2 + 1e-12 * calls++));
    expect(() => gradcheck((x) => op(x), [f64([1, 2])])).toThrow(/not reentrant/);
    gradcheck((x) => op(x), [f64([1, 2])], { checkReentrant: false });
  });

  it('detects a non-zero gradient for a zero gradOutput', () => {
    const op = squareWith((g, x) => g.mul(x).mul(2).add(1e-300));
    expect(() => gradcheck((x) => op(x), [f64([1, 2])])).toThrow(/zero gradOutput gave a non-zero gradient/);
    gradcheck((x) => op(x), [f64([1, 2])], { checkZeroGradOutput: false });
  });

  it('detects a backward that is not linear in gradOutput', () => {
    const op = squareWith((g, x) => g.mul(x).mul(2).add(g.mul(g).mul(1e-12)));
    gradcheck((x) => op(x), [f64([1, 2, 3])]); // below T64
    const bad = squareWith((g, x) => g.mul(x).mul(2).add(g.mul(g)));
    expect(() => gradcheck((x) => bad(x), [f64([1, 2, 3])])).toThrow(/not linear in gradOutput/);
  });

  it('detects an output shape that depends on the values', () => {
    const fn = (x: Tensor) => (x.sum().item() > 1 ? x.mul(x).expand([2]) : x.mul(x));
    expect(() => gradcheck(fn, [f64([1])])).toThrow(/output shape changed from \[1\] to \[2\]/);
  });
});
