/**
 * Making tensors (core/creation.ts), the seeded generator (core/random.ts), printing
 * (core/format.ts, PyTorch's format), reading values (toArray/item) and views.
 *
 * The known-answer tests pin the generator's exact output: any change to the
 * algorithm, the seeding or the float conversion fails them. That is the
 * cross-platform determinism guarantee (only integer ops, + − × ÷ and sqrt are used).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  arange,
  defaultGenerator,
  eye,
  full,
  Generator,
  linspace,
  manualSeed,
  ones,
  rand,
  randint,
  randn,
  ShapeError,
  tensor,
  uniform,
  ValueError,
  zeros,
} from '../index.ts';
import { dropoutMask } from '../core/creation.ts';
import { portableLog } from '../core/random.ts';
import { read } from './read.ts';

// ---- helpers ------------------------------------------------------------------------

function expectBitwise(actual: readonly number[], expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!Object.is(a, expected[i])) throw new Error(`element ${i}: ${a} is not bitwise ${expected[i]}`);
  });
}

const seedArb = fc.integer({ min: 0, max: 0xffffffff });

// ---- tensor() ---------------------------------------------------------------------------

describe('tensor()', () => {
  test('nested arrays: shape inferred, float32 by default, values round-trip through toArray', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(tensor([0.1]).toArray()).toEqual([Math.fround(0.1)]);
    expect(tensor([[]]).shape).toEqual([1, 0]);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([1, 2], { dtype: 'float64' }).data).toBeInstanceOf(Float64Array);
    expect(tensor([1, 2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  test('any rectangular nested array round-trips (float64)', () => {
    const nestedArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }).chain((shape) => {
      const n = shape.reduce((p, d) => p * d, 1);
      return fc.array(fc.double({ noNaN: true }), { minLength: n, maxLength: n }).map((flat) => ({ shape, flat }));
    });
    fc.assert(
      fc.property(nestedArb, ({ shape, flat }) => {
        const build = (axis: number, start: number): unknown => {
          if (axis === shape.length) return flat[start];
          const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
          return Array.from({ length: shape[axis]! }, (_, i) => build(axis + 1, start + i * inner));
        };
        const nested = build(0, 0);
        const t = tensor(nested as number, { dtype: 'float64' });
        // An empty axis hides the sizes below it: torch infers [.., 0] too.
        const zeroAt = shape.indexOf(0);
        expect(t.shape).toEqual(zeroAt >= 0 ? shape.slice(0, zeroAt + 1) : shape);
        if (zeroAt < 0) expectBitwise(read(t), flat);
        expect(t.toArray()).toEqual(nested);
      }),
      { numRuns: 100 },
    );
  });

  test('typed arrays keep their dtype and are copied; shape and dtype options apply', () => {
    const src = Float64Array.of(1, 2, 3, 4, 5, 6);
    const t = tensor(src, { shape: [2, 3] });
    expect(t.dtype).toBe('float64');
    expect(t.shape).toEqual([2, 3]);
    src[0] = 99;
    expect(read(t)[0]).toBe(1);
    expect(tensor(Int32Array.of(1, -2)).dtype).toBe('int32');
    expect(tensor(Float32Array.of(1.5)).dtype).toBe('float32');
    expect(tensor(Uint8Array.of(1, 0)).dtype).toBe('bool');
    const converted = tensor(Float64Array.of(0.1), { dtype: 'float32' });
    expect(converted.dtype).toBe('float32');
    expect(read(converted)).toEqual([Math.fround(0.1)]);
    expect(() => tensor(Float64Array.of(1, 2, 3), { shape: [2, 2] })).toThrow(ShapeError);
  });

  test('booleans and scalars', () => {
    const b = tensor([true, false, true]);
    expect(b.dtype).toBe('bool');
    expect(read(b)).toEqual([1, 0, 1]);
    expect(b.toArray()).toEqual([true, false, true]);
    const s = tensor(3);
    expect(s.shape).toEqual([]);
    expect(s.dtype).toBe('float32');
    expect(s.item()).toBe(3);
    expect(s.toArray()).toBe(3);
    expect(tensor(true).dtype).toBe('bool');
    expect(tensor(true).toArray()).toBe(true);
    expect(tensor(2.5, { dtype: 'float64' }).item()).toBe(2.5);
  });

  test('ragged input is a ShapeError', () => {
    expect(() => tensor([[1, 2], [3]] as unknown as number[][])).toThrow(ShapeError);
    expect(() => tensor([[1, 2], 3] as unknown as number[][])).toThrow(/expected sequence of length 2 at dim 1/);
    expect(() => tensor([1, [2, 3]] as unknown as number[])).toThrow(ShapeError);
    expect(() =>
      tensor([
        [[1], [2]],
        [[3], [4, 5]],
      ]),
    ).toThrow(ShapeError);
  });
});

// ---- constant fills and ranges ------------------------------------------------------------------

describe('zeros / ones / full / arange / linspace / eye', () => {
  test('zeros, ones, full: values and dtypes', () => {
    expect(zeros([2, 3]).dtype).toBe('float32');
    expect(read(zeros([2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(read(ones([3], { dtype: 'float64' }))).toEqual([1, 1, 1]);
    expect(ones([3], { dtype: 'float64' }).dtype).toBe('float64');
    expect(ones([2], { dtype: 'int32' }).data).toBeInstanceOf(Int32Array);
    expect(ones([2], { dtype: 'bool' }).toArray()).toEqual([true, true]);
    expect(read(full([2, 2], 7.5))).toEqual([7.5, 7.5, 7.5, 7.5]);
    expect(full([], 3).shape).toEqual([]);
    expect(full([], 3).item()).toBe(3);
    expect(zeros([0, 4]).numel).toBe(0);
    expect(zeros([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  test('arange: integer arguments give int32, others float32; count = ceil((end − start) / step)', () => {
    expect(arange(5).dtype).toBe('int32');
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(2, 8, 3).toArray()).toEqual([2, 5]);
    expect(arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(arange(0).shape).toEqual([0]);
    expect(arange(3, 1).shape).toEqual([0]);
    const f = arange(0, 1, 0.25);
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(3, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
    expect(() => arange(0, 5, 0)).toThrow(ValueError);
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: -7, max: 7 }).filter((s) => s !== 0),
        (start, end, step) => {
          const t = arange(start, end, step);
          const expected: number[] = [];
          for (let v = start; step > 0 ? v < end : v > end; v += step) expected.push(v);
          expect(read(t)).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('linspace: evenly spaced, both ends exact', () => {
    expect(linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linspace(0, 1, 5).dtype).toBe('float32');
    expect(linspace(-1, 1, 3, { dtype: 'float64' }).toArray()).toEqual([-1, 0, 1]);
    expect(linspace(2, 3, 1).toArray()).toEqual([2]);
    expect(linspace(2, 3, 0).shape).toEqual([0]);
    expect(() => linspace(0, 1, -1)).toThrow(ValueError);
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.integer({ min: 2, max: 50 }),
        (a, b, n) => {
          const v = read(linspace(a, b, n, { dtype: 'float64' }));
          expect(v.length).toBe(n);
          expect(v[0]).toBe(a);
          expect(v[n - 1]).toBe(b);
          const step = (b - a) / (n - 1);
          v.forEach((x, i) => expect(Math.abs(x - (a + i * step))).toBeLessThanOrEqual(1e-9 * (Math.abs(a) + Math.abs(b) + 1)));
        },
      ),
      { numRuns: 100 },
    );
  });

  test('eye: identity (n × m), dtype', () => {
    expect(eye(3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(eye(3).dtype).toBe('float32');
    expect(eye(2, 3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(eye(3, 2, { dtype: 'float64' }).toArray()).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(eye(3, 2, { dtype: 'float64' }).dtype).toBe('float64');
    expect(eye(2, 2, { requiresGrad: true }).requiresGrad).toBe(true);
    expect(eye(0).shape).toEqual([0, 0]);
  });
});

// ---- random ---------------------------------------------------------------------------------------

/** xoshiro128** written independently with BigInt (Blackman & Vigna's reference C). */
function referenceXoshiro(state: readonly number[]): () => number {
  const M = 0xffffffffn;
  const s = state.slice(0, 4).map((w) => BigInt(w >>> 0));
  const rotl = (x: bigint, k: number) => ((x << BigInt(k)) | (x >> BigInt(32 - k))) & M;
  return () => {
    const result = (rotl((s[1]! * 5n) & M, 7) * 9n) & M;
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return Number(result);
  };
}

describe('Generator: known answers (cross-platform determinism)', () => {
  test('new Generator(0): first raw words, uniforms and normals', () => {
    const g = new Generator(0);
    expect([0, 1, 2, 3, 4, 5].map(() => g.nextUint32())).toEqual([3809008728, 1133695204, 53579671, 2891528803, 139681546, 2203266335]);
    const u = new Generator(0);
    expectBitwise(
      [0, 1, 2, 3].map(() => u.uniform()),
      [0.8868539502021594, 0.012474988946590604, 0.032522145755498943, 0.024408060085556516],
    );
    const n = new Generator(0);
    expectBitwise(
      [0, 1, 2, 3].map(() => n.normal()),
      [0.12177618600477014, 0.49342493394909925, -0.5381877552332646, 1.6753298369058043],
    );
    expect(new Generator(0).getState()).toEqual([2462723854, 1020716019, 454327756, 1275600319, Number.NaN]);
  });

  test('randn([4], { generator: new Generator(42) }) and friends', () => {
    expectBitwise(read(randn([4], { generator: new Generator(42) })), [0.3187578618526459, -0.7706159949302673, 0.15178267657756805, -0.12624146044254303]);
    expectBitwise(
      read(randn([4], { generator: new Generator(42), dtype: 'float64' })),
      [0.31875784963858494, -0.7706160167419408, 0.15178267621950975, -0.12624145471928355],
    );
    expectBitwise(read(rand([3], { generator: new Generator(7), dtype: 'float64' })), [0.2338277214186818, 0.44891458133395923, 0.5656696667785289]);
    expect(read(randint(0, 10, [8], { generator: new Generator(1) }))).toEqual([8, 1, 1, 9, 6, 8, 0, 9]);
  });

  test('nextUint32 is xoshiro128** (checked against an independent BigInt implementation)', () => {
    fc.assert(
      fc.property(fc.tuple(seedArb, seedArb, seedArb, seedArb), (words) => {
        const g = new Generator().setState([...words, Number.NaN]);
        const ref = referenceXoshiro(words);
        for (let i = 0; i < 8; i++) expect(g.nextUint32()).toBe(ref());
      }),
      { numRuns: 100 },
    );
  });

  test('uniform() = (27 high bits · 2²⁶ + 26 bits) / 2⁵³ of two consecutive words', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const g = new Generator(seed);
        const ref = referenceXoshiro(g.getState());
        for (let i = 0; i < 4; i++) {
          const hi = ref() >>> 5;
          const lo = ref() >>> 6;
          expect(g.uniform()).toBe((hi * 2 ** 26 + lo) / 2 ** 53);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('Generator.uniforms and the block-drawn creations', () => {
  // Lengths around the 4096-number blocks of core/creation.ts, and 0.
  const lengthArb = fc.constantFrom(0, 1, 2, 7, 4095, 4096, 4097, 9000);

  test('uniforms(out) is out.length calls of uniform(), and leaves the same state', () => {
    fc.assert(
      fc.property(seedArb, lengthArb, (seed, n) => {
        const [block, one] = [new Generator(seed), new Generator(seed)];
        one.normal(); // a spare normal is kept: uniforms() must not touch it
        block.normal();
        const out = new Float64Array(n);
        block.uniforms(out);
        expectBitwise(
          [...out],
          Array.from({ length: n }, () => one.uniform()),
        );
        expect(block.getState()).toEqual(one.getState());
        expect(block.normal()).toBe(one.normal());
      }),
      { numRuns: 40 },
    );
  });

  test('rand, uniform and dropout masks draw the same numbers as one uniform() per element', () => {
    fc.assert(
      fc.property(
        seedArb,
        lengthArb,
        fc.constantFrom('float32' as const, 'float64' as const),
        fc.double({ min: 0, max: 0.95, noNaN: true }),
        (seed, n, dtype, p) => {
          const expected = (map: (u: number) => number) => {
            const g = new Generator(seed);
            const round = dtype === 'float32' ? Math.fround : (x: number) => x;
            return Array.from({ length: n }, () => round(map(g.uniform())));
          };
          expectBitwise(
            read(rand([n], { generator: new Generator(seed), dtype })),
            expected((u) => u),
          );
          expectBitwise(
            read(uniform([n], -3, 5, { generator: new Generator(seed), dtype })),
            expected((u) => -3 + 8 * u),
          );
          const mask = read(dropoutMask([n], p, { generator: new Generator(seed), dtype }));
          const round = dtype === 'float32' ? Math.fround : (x: number) => x;
          expectBitwise(
            mask,
            expected((u) => (round(u) >= p ? 1 / (1 - p) : 0)),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

test('a float32 dropout mask compares the uniform number rounded to float32, as rand(shape) ≥ p would', () => {
  // p = fround(u) for a u that rounds up: kept by the rounded comparison, dropped by an unrounded one.
  const draws = new Float64Array(5000);
  new Generator(11).uniforms(draws);
  const k = draws.findIndex((u) => Math.fround(u) > u && u > 0.05 && u < 0.9);
  const p = Math.fround(draws[k]!);
  const mask = read(dropoutMask([5000], p, { generator: new Generator(11) }));
  expect(mask[k]).toBe(Math.fround(1 / (1 - p)));
  expect(read(rand([5000], { generator: new Generator(11) })).map((u) => (u >= p ? Math.fround(1 / (1 - p)) : 0))).toEqual(mask);
});

describe('Generator: seeding and state', () => {
  test('same seed ⇒ bitwise-same numbers (rand, randn, uniform, randint; float32 and float64)', () => {
    fc.assert(
      fc.property(seedArb, fc.constantFrom<'float32' | 'float64'>('float32', 'float64'), (seed, dtype) => {
        const draw = () => [
          ...read(rand([5], { generator: new Generator(seed), dtype })),
          ...read(randn([7], { generator: new Generator(seed), dtype })),
          ...read(uniform([3], -2, 5, { generator: new Generator(seed), dtype })),
          ...read(randint(-3, 1000, [6], { generator: new Generator(seed) })),
        ];
        expectBitwise(draw(), draw());
      }),
      { numRuns: 60 },
    );
  });

  test('different seeds give different streams', () => {
    fc.assert(
      fc.property(seedArb, seedArb, (a, b) => {
        fc.pre(a !== b);
        const x = read(randn([8], { generator: new Generator(a), dtype: 'float64' }));
        const y = read(randn([8], { generator: new Generator(b), dtype: 'float64' }));
        expect(x).not.toEqual(y);
      }),
      { numRuns: 100 },
    );
  });

  test('negative seeds do not alias non-negative ones', () => {
    // (seed >>> 0) ^ floor(seed / 2³²) maps −1 → 0, −2 → 1, … : torch's manual_seed(-1) ≠ manual_seed(0).
    for (const [a, b] of [
      [-1, 0],
      [-2, 1],
      [-1000, 999],
    ] as const) {
      const x = new Generator(a);
      const y = new Generator(b);
      expect([x.nextUint32(), x.nextUint32()]).not.toEqual([y.nextUint32(), y.nextUint32()]);
    }
  });

  test('getState / setState replays the stream, including a pending spare normal', () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.array(fc.constantFrom('u', 'n', 'i'), { maxLength: 9 }),
        fc.array(fc.constantFrom('u', 'n', 'i'), { minLength: 1, maxLength: 12 }),
        (seed, warmup, plan) => {
          const step = (g: Generator, op: string) => (op === 'u' ? g.uniform() : op === 'n' ? g.normal() : g.integer(-5, 17));
          const g = new Generator(seed);
          for (const op of warmup) step(g, op);
          const state = g.getState();
          const first = plan.map((op) => step(g, op));
          state.push(12345); // the returned array is a copy: editing it changes nothing
          state.pop();
          const replay = new Generator(99).setState(state);
          expectBitwise(
            plan.map((op) => step(replay, op)),
            first,
          );
          g.setState(state);
          expectBitwise(
            plan.map((op) => step(g, op)),
            first,
          );
        },
      ),
      { numRuns: 100 },
    );
    expect(() => new Generator().setState([1, 2, 3])).toThrow(ValueError);
    expect(() => new Generator(1.5)).toThrow(ValueError);
  });

  test('manualSeed seeds the default generator', () => {
    manualSeed(1234);
    const a = read(randn([5], { dtype: 'float64' }));
    expectBitwise(a, read(randn([5], { generator: new Generator(1234), dtype: 'float64' })));
    manualSeed(1234);
    expectBitwise(read(randn([5], { generator: defaultGenerator, dtype: 'float64' })), a);
  });
});

describe('random distributions', () => {
  test('randn over 1e5 samples: mean ≈ 0, variance ≈ 1, symmetric tails', () => {
    const n = 100_000;
    const v = randn([n], { generator: new Generator(2024), dtype: 'float64' }).data as Float64Array;
    let mean = 0;
    for (const x of v) mean += x;
    mean /= n;
    let variance = 0;
    let beyond2 = 0;
    for (const x of v) {
      variance += (x - mean) ** 2;
      if (Math.abs(x) > 2) beyond2++;
    }
    variance /= n - 1;
    expect(Math.abs(mean)).toBeLessThan(0.015); // ~5 standard errors
    expect(Math.abs(variance - 1)).toBeLessThan(0.025);
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.004); // P(|Z| > 2)
  });

  test('rand is in [0, 1) with mean ≈ 1/2', () => {
    const v = rand([100_000], { generator: new Generator(5), dtype: 'float64' }).data as Float64Array;
    let sum = 0;
    let outside = 0;
    for (const x of v) {
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / v.length - 0.5)).toBeLessThan(0.005);
  });

  test('randint is int32 in [low, high) and covers the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 12 }), seedArb, (low, width, seed) => {
        const t = randint(low, low + width, [400], { generator: new Generator(seed) });
        expect(t.dtype).toBe('int32');
        const v = read(t);
        expect(v.every((x) => Number.isInteger(x) && x >= low && x < low + width)).toBe(true);
        expect(new Set(v).size).toBe(width); // 400 draws over ≤ 12 values: all appear
      }),
      { numRuns: 50 },
    );
    expect(() => randint(3, 3, [2])).toThrow(ValueError);
    expect(() => randint(5, 1, [2])).toThrow(ValueError);
  });
});

describe('portableLog', () => {
  const relErr = (x: number) => {
    const r = Math.log(x);
    const a = portableLog(x);
    return r === 0 ? Math.abs(a) : Math.abs(a - r) / Math.abs(r);
  };

  test('within 1e-15 relative of Math.log on (0, 1]', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }), (x) => {
        expect(relErr(x)).toBeLessThanOrEqual(1e-15);
      }),
      { numRuns: 2000 },
    );
    const g = new Generator(77);
    for (let i = 0; i < 50_000; i++) {
      const u = g.uniform();
      const x = i % 2 === 0 ? u || 1 : 1 - u * 2 ** -(i % 60); // also values just below 1
      if (!(relErr(x) <= 1e-15)) throw new Error(`portableLog(${x}) = ${portableLog(x)}, Math.log = ${Math.log(x)}`);
    }
    for (const x of [1, 0.5, Math.SQRT1_2, Math.SQRT1_2 * (1 + 2 ** -52), Math.SQRT1_2 * (1 - 2 ** -52), 1 - 2 ** -53, 2 ** -1022, Number.MIN_VALUE]) {
      expect(relErr(x)).toBeLessThanOrEqual(1e-15);
    }
    expect(portableLog(1)).toBe(0);
  });
});

// ---- printing -------------------------------------------------------------------------------------------

describe('toString (PyTorch format)', () => {
  test('integral floats, 4 decimals, alignment', () => {
    expect(String(tensor([1, 2]))).toBe('tensor([1., 2.])');
    expect(String(tensor([1.5, 2.25]))).toBe('tensor([1.5000, 2.2500])');
    expect(String(tensor([-1, 2]))).toBe('tensor([-1.,  2.])');
    expect(String(tensor([0.12345678, 1.5], { dtype: 'float64' }))).toBe('tensor([0.1235, 1.5000], dtype=torch.float64)');
    expect(
      String(
        tensor(
          [
            [1.5, -2],
            [3, 4],
          ],
          { requiresGrad: true },
        ),
      ),
    ).toBe('tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]], requires_grad=True)');
  });

  test('requires_grad, grad_fn and dtype suffixes', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(String(x)).toBe('tensor([1., 2.], requires_grad=True)');
    expect(String(x.mul(2))).toMatch(/^tensor\(\[2\., 4\.\], grad_fn=<MulBackward\d*>\)$/);
    expect(String(tensor(Float64Array.of(1, 2)))).toBe('tensor([1., 2.], dtype=torch.float64)');
    expect(String(tensor(Float64Array.of(0.5, 1), { requiresGrad: true }))).toBe('tensor([0.5000, 1.0000], dtype=torch.float64, requires_grad=True)');
    expect(String(tensor([1, 2, 3], { dtype: 'int32' }))).toBe('tensor([1, 2, 3], dtype=torch.int32)');
    expect(String(tensor([-1, 10], { dtype: 'int32' }))).toBe('tensor([-1, 10], dtype=torch.int32)');
  });

  test('bool, 0-d, empty and 3-d tensors', () => {
    expect(String(tensor([true, false]))).toBe('tensor([ True, False])');
    expect(String(tensor(true))).toBe('tensor(True)');
    expect(String(tensor(3))).toBe('tensor(3.)');
    expect(String(tensor(0.5))).toBe('tensor(0.5000)');
    expect(String(tensor(2.5, { dtype: 'float64', requiresGrad: true }))).toBe('tensor(2.5000, dtype=torch.float64, requires_grad=True)');
    expect(String(tensor([]))).toBe('tensor([])');
    expect(String(zeros([0, 3]))).toBe('tensor([], size=(0, 3))');
    expect(
      String(
        tensor([
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ]),
      ),
    ).toBe('tensor([[[1., 2.],\n         [3., 4.]],\n\n        [[5., 6.],\n         [7., 8.]]])');
  });

  test('scientific notation for small or wide-ranging values', () => {
    expect(String(tensor([1e-5, 1]))).toBe('tensor([1.0000e-05, 1.0000e+00])');
    expect(String(tensor([1.5, 12345.5], { dtype: 'float64' }))).toBe('tensor([1.5000e+00, 1.2346e+04], dtype=torch.float64)');
  });

  test('integral floats whose magnitudes differ by more than 1000× switch to scientific notation (torch int_mode rule)', () => {
    expect(String(tensor([1, 10000]))).toBe('tensor([1.0000e+00, 1.0000e+04])');
  });

  test('more than 1000 elements are summarised with "..." (torch: " ..." in a vector, "..." between rows)', () => {
    expect(String(zeros([1001]))).toBe('tensor([0., 0., 0.,  ..., 0., 0., 0.])');
    expect(String(arange(1001).to('float32'))).toBe('tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])');
    expect(String(zeros([1001, 2]))).toBe(
      'tensor([[0., 0.],\n        [0., 0.],\n        [0., 0.],\n        ...,\n        [0., 0.],\n        [0., 0.],\n        [0., 0.]])',
    );
  });

  test('long vectors wrap at 80 columns (torch linewidth)', () => {
    expect(String(arange(20).to('float32'))).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19.])',
    );
  });

  test('column width ignores zeros and non-finite values (torch)', () => {
    expect(String(tensor([Number.NaN, 1]))).toBe('tensor([nan, 1.])');
    expect(String(tensor([Infinity, -Infinity, 1]))).toBe('tensor([inf, -inf, 1.])');
  });
});

// ---- reading values and views ------------------------------------------------------------------------------

describe('toArray / item', () => {
  test('toArray gives nested arrays (booleans for bool); item reads one element', () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ]).toArray(),
    ).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(tensor([[true], [false]]).toArray()).toEqual([[true], [false]]);
    expect(tensor([[7]]).item()).toBe(7);
    expect(() => tensor([1, 2]).item()).toThrow(ValueError);
    expect(() => tensor([1, 2]).item()).toThrow(/a Tensor with 2 elements cannot be converted to Scalar/);
  });

  test('toArray, toTypedArray, item and toString of views read the view', () => {
    const base = arange(12).to('float64').reshape(3, 4);
    expect(base.T.toArray()).toEqual([
      [0, 4, 8],
      [1, 5, 9],
      [2, 6, 10],
      [3, 7, 11],
    ]);
    expect(base.slice(1, 1, 4, 2).toArray()).toEqual([
      [1, 3],
      [5, 7],
      [9, 11],
    ]);
    expect(base.slice(0, 2, 3).item).toBeDefined();
    expect(base.slice(0, 1, 2).slice(1, 2, 3).item()).toBe(6);
    // contiguous views with an offset
    expect(base.slice(0, 1).toArray()).toEqual([
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(Array.from(base.slice(0, 2).toTypedArray())).toEqual([8, 9, 10, 11]);
    expect(arange(10).to('float64').slice(0, 5, 8).toArray()).toEqual([5, 6, 7]);
    expect(String(arange(10).to('float64').slice(0, 5, 8))).toBe('tensor([5., 6., 7.], dtype=torch.float64)');
  });

  test('property: toArray of any slice equals the values read through strides', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(6),
        fc.nat(6),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(1),
        (r, c, start, len, step, axis) => {
          const base = arange(r * c)
            .to('float64')
            .reshape(r, c);
          const v = base.slice(axis, start, start + len, step);
          const flat = (v.toArray() as number[][]).flat();
          expect(flat).toEqual(read(v));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('views share storage', () => {
  test('reshape of a contiguous tensor, transpose, slice and expand are views', () => {
    const x = arange(6).to('float64').reshape(2, 3);
    const r = x.reshape(3, 2);
    const t = x.T;
    const s = x.slice(1, 0, 3, 2);
    const e = x.slice(0, 0, 1).expand(4, 3);
    for (const v of [r, t, s, e]) expect(v.storage).toBe(x.storage);
    expect(t.strides).toEqual([1, 3]);
    expect(s.strides).toEqual([3, 2]);
    expect(e.strides).toEqual([0, 1]);
    // a write through one view is seen by the others
    t.slice(0, 1, 2).fill_(-1); // column 1 of x
    expect(read(x)).toEqual([0, -1, 2, 3, -1, 5]);
    expect(read(r)).toEqual([0, -1, 2, 3, -1, 5]);
    expect(read(e)).toEqual([0, -1, 2, 0, -1, 2, 0, -1, 2, 0, -1, 2]);
  });

  test('contiguous() returns the tensor itself when contiguous and copies otherwise', () => {
    const x = arange(6).to('float64').reshape(2, 3);
    expect(x.contiguous()).toBe(x);
    const c = x.T.contiguous();
    expect(c.storage).not.toBe(x.storage);
    expect(c.isContiguous()).toBe(true);
    expect(c.strides).toEqual([2, 1]);
    expect(read(c)).toEqual([0, 3, 1, 4, 2, 5]);
    const r = x.T.reshape(6); // reshape of a non-contiguous tensor copies
    expect(r.storage).not.toBe(x.storage);
    expect(read(r)).toEqual([0, 3, 1, 4, 2, 5]);
    const sliced = x.slice(0, 1).contiguous();
    expect(read(sliced)).toEqual([3, 4, 5]);
    expect(sliced.offset).toBe(0);
  });
});
