/**
 * Sparse gradient values (core/sparse.ts) and top-k selection (core/topk.ts):
 * docs/TESTING.md §4 "Sparse values" and the accumulation rules documented in sparse.ts,
 * checked against naive references written here.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { addGrads, DTypeError, Generator, randn, SparseCoo, ShapeError, Tensor, tensor, topK, ValueError, type TopKMode } from '../index.ts';
import { addGradInto } from '../core/sparse.ts';
import { kthLargest } from '../core/topk.ts';
import { read } from './read.ts';

// ---- helpers ------------------------------------------------------------------------

const numel = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

function make(values: readonly number[], shape: readonly number[], dtype: 'float32' | 'float64'): Tensor {
  return tensor(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), { shape });
}

function expectBitwise(actual: readonly number[], expected: readonly number[], label = ''): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!Object.is(a, expected[i])) throw new Error(`${label} element ${i}: ${a} is not bitwise ${expected[i]}`);
  });
}

function expectStrictlyIncreasing(indices: ArrayLike<number>): void {
  for (let i = 1; i < indices.length; i++) {
    if (!(indices[i]! > indices[i - 1]!)) throw new Error(`indices not strictly increasing at ${i}: ${indices[i - 1]} then ${indices[i]}`);
  }
}

const toPositiveZero = (v: number) => (v === 0 ? 0 : v);

const dtypeArb = fc.constantFrom<'float32' | 'float64'>('float64', 'float32');
const shapeArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 });

/** A value that is often exactly zero (either sign), float32-representable. */
const sparseValue = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(0, -0) },
  { weight: 3, arbitrary: fc.float({ min: Math.fround(-2), max: Math.fround(2), noNaN: true }) },
);

/** A dense gradient of some shape and dtype with many zeros. */
const denseArb = fc
  .record({ shape: shapeArb, dtype: dtypeArb })
  .chain(({ shape, dtype }) => fc.array(sparseValue, { minLength: numel(shape), maxLength: numel(shape) }).map((values) => ({ shape, dtype, values })));

/** Unsorted COO entries, with duplicates, for a shape of `size` elements (values are small integers: sums are exact). */
const cooArb = fc.integer({ min: 1, max: 40 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    entries: fc.array(fc.record({ index: fc.nat(size - 1), value: fc.integer({ min: -5, max: 5 }) }), { maxLength: 60 }),
  }),
);

// ---- SparseCoo ---------------------------------------------------------------------------

describe('SparseCoo.fromDense / toDense', () => {
  test('toDense(fromDense(g, 0)) = g (−0 becomes +0), dtype and shape kept', () => {
    fc.assert(
      fc.property(denseArb, ({ shape, dtype, values }) => {
        const g = make(values, shape, dtype);
        const s = SparseCoo.fromDense(g, 0);
        expect(s.shape).toEqual(shape);
        expect(s.dtype).toBe(dtype);
        expectStrictlyIncreasing(s.indices);
        expect(Array.from(s.values).every((v) => v !== 0)).toBe(true);
        const back = s.toDense();
        expect(back.shape).toEqual(shape);
        expect(back.dtype).toBe(dtype);
        expectBitwise(read(back), read(g).map(toPositiveZero));
      }),
      { numRuns: 100 },
    );
  });

  test('fromDense(g, t) keeps exactly the entries with |g| > t', () => {
    fc.assert(
      fc.property(denseArb, fc.float({ min: 0, max: Math.fround(2), noNaN: true }), ({ shape, dtype, values }, threshold) => {
        const g = make(values, shape, dtype);
        const s = SparseCoo.fromDense(g, threshold);
        const gv = read(g);
        const expected = gv.flatMap((v, i) => (Math.abs(v) > threshold ? [i] : []));
        expect(Array.from(s.indices)).toEqual(expected);
        expectBitwise(
          Array.from(s.values),
          expected.map((i) => gv[i]!),
        );
      }),
      { numRuns: 100 },
    );
  });

  test('fromDense of a non-contiguous view reads its logical (row-major) order', () => {
    const base = tensor(Float64Array.of(0, 1, 2, 0, 4, 5), { shape: [2, 3] });
    const s = SparseCoo.fromDense(base.T); // [[0, 0], [1, 4], [2, 5]]
    expect(s.shape).toEqual([3, 2]);
    expect(Array.from(s.indices)).toEqual([2, 3, 4, 5]);
    expect(Array.from(s.values)).toEqual([1, 4, 2, 5]);
  });

  test('fromDense keeps non-finite entries (NaN and ±Inf are non-zero)', () => {
    const g = tensor(Float64Array.of(Number.NaN, 0, 1, Infinity, -Infinity));
    const s = SparseCoo.fromDense(g);
    expect(Array.from(s.indices)).toEqual([0, 2, 3, 4]);
    expectBitwise(read(s.toDense()), [Number.NaN, 0, 1, Infinity, -Infinity]);
  });

  test('toDense(sparse) = mask ⊙ dense', () => {
    fc.assert(
      fc.property(
        denseArb.chain((d) => fc.array(fc.boolean(), { minLength: numel(d.shape), maxLength: numel(d.shape) }).map((mask) => ({ ...d, mask }))),
        ({ shape, dtype, values, mask }) => {
          const g = make(values, shape, dtype);
          const indices = Int32Array.from(mask.flatMap((m, i) => (m ? [i] : [])));
          const s = SparseCoo.gather(shape, g.contiguous().data as Float64Array | Float32Array, indices);
          const masked = g.mul(tensor(mask, { shape }).to(dtype));
          const got = read(s.toDense());
          const want = read(masked);
          got.forEach((v, i) => expect(v === want[i]).toBe(true)); // −0 = +0 here
          expect(s.nnz).toBe(indices.length);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('SparseCoo constructor invariants', () => {
  test('rejects unsorted, duplicate and out-of-range indices, and a length mismatch', () => {
    const v2 = Float64Array.of(1, 2);
    expect(() => new SparseCoo([4], Int32Array.of(2, 1), v2)).toThrow(ValueError);
    expect(() => new SparseCoo([4], Int32Array.of(2, 1), v2)).toThrow(/strictly increasing/);
    expect(() => new SparseCoo([4], Int32Array.of(1, 1), v2)).toThrow(/strictly increasing/);
    expect(() => new SparseCoo([4], Int32Array.of(1, 4), v2)).toThrow(ValueError);
    expect(() => new SparseCoo([4], Int32Array.of(1, 4), v2)).toThrow(/out of range/);
    expect(() => new SparseCoo([2, 2], Int32Array.of(-1, 0), v2)).toThrow(/out of range/);
    expect(() => new SparseCoo([0], Int32Array.of(0), Float64Array.of(1))).toThrow(/out of range/);
    expect(() => new SparseCoo([4], Int32Array.of(1, 2, 3), v2)).toThrow(ShapeError);
    expect(new SparseCoo([4], new Int32Array(0), new Float32Array(0)).nnz).toBe(0);
  });

  test('any strictly increasing in-range index list is accepted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.nat(n - 1)))),
        ([n, idx]) => {
          const sorted = Int32Array.from(idx.sort((a, b) => a - b));
          const s = new SparseCoo([n], sorted, new Float64Array(sorted.length).fill(1));
          expect(s.nnz).toBe(idx.length);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('SparseCoo.coalesce', () => {
  const naive = (size: number, entries: readonly { index: number; value: number }[]) => {
    const sums = new Map<number, number>();
    for (const { index, value } of entries) sums.set(index, (sums.get(index) ?? 0) + value);
    const indices = [...sums.keys()].sort((a, b) => a - b);
    return { indices, values: indices.map((i) => sums.get(i)!), dense: Array.from({ length: size }, (_, i) => sums.get(i) ?? 0) };
  };

  test('strictly increasing unique indices; duplicates summed; entries summing to 0 stay', () => {
    fc.assert(
      fc.property(cooArb, dtypeArb, ({ size, entries }, dtype) => {
        const values = dtype === 'float64' ? Float64Array.from(entries, (e) => e.value) : Float32Array.from(entries, (e) => e.value);
        const c = SparseCoo.coalesce(
          [size],
          entries.map((e) => e.index),
          values,
        );
        const ref = naive(size, entries);
        expectStrictlyIncreasing(c.indices);
        expect(Array.from(c.indices)).toEqual(ref.indices);
        expectBitwise(Array.from(c.values).map(toPositiveZero), ref.values.map(toPositiveZero));
        expect(c.dtype).toBe(dtype);
      }),
      { numRuns: 100 },
    );
  });

  test('idempotent and sum-preserving', () => {
    fc.assert(
      fc.property(cooArb, ({ size, entries }) => {
        const once = SparseCoo.coalesce(
          [size],
          entries.map((e) => e.index),
          Float64Array.from(entries, (e) => e.value),
        );
        const twice = SparseCoo.coalesce(once.shape, once.indices, once.values);
        expect(Array.from(twice.indices)).toEqual(Array.from(once.indices));
        expectBitwise(Array.from(twice.values), Array.from(once.values));
        const total = (xs: ArrayLike<number>) => Array.from(xs).reduce((p, q) => p + q, 0);
        expect(total(once.values)).toBe(entries.reduce((p, e) => p + e.value, 0));
        expectBitwise(read(once.toDense()).map(toPositiveZero), naive(size, entries).dense.map(toPositiveZero));
      }),
      { numRuns: 100 },
    );
  });

  test('coalesce of real-valued duplicates matches a naive scatter-add (1e-12)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.nat(19), fc.double({ min: -2, max: 2, noNaN: true })), { maxLength: 50 }),
        (size, raw) => {
          const entries = raw.map(([i, v]) => ({ index: i % size, value: v }));
          const c = SparseCoo.coalesce(
            [size],
            entries.map((e) => e.index),
            Float64Array.from(entries, (e) => e.value),
          );
          const ref = naive(size, entries).dense;
          read(c.toDense()).forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1e-12));
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('addGrads: accumulation rules', () => {
  /** Two random sparse values and dense tensors of one shape. */
  const pairArb = fc.integer({ min: 1, max: 30 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      a: fc.uniqueArray(fc.nat(n - 1), { maxLength: n }),
      b: fc.uniqueArray(fc.nat(n - 1), { maxLength: n }),
      seed: fc.integer({ min: 0, max: 0xffffffff }),
    }),
  );
  const build = (n: number, idx: number[], g: Generator) => {
    const sorted = Int32Array.from([...idx].sort((x, y) => x - y));
    return new SparseCoo(
      [n],
      sorted,
      Float64Array.from(sorted, () => g.normal()),
    );
  };
  const denseOf = (n: number, g: Generator) => tensor(Float64Array.from({ length: n }, () => g.normal()));

  test('sparse + sparse: a coalesced SparseCoo whose dense form is the sum', () => {
    fc.assert(
      fc.property(pairArb, ({ n, a, b, seed }) => {
        const g = new Generator(seed);
        const sa = build(n, a, g);
        const sb = build(n, b, g);
        const saCopy = [Array.from(sa.indices), Array.from(sa.values)];
        const sum = addGrads(sa, sb);
        expect(sum).toBeInstanceOf(SparseCoo);
        const s = sum as SparseCoo;
        expectStrictlyIncreasing(s.indices);
        expect(Array.from(s.indices)).toEqual([...new Set([...a, ...b])].sort((x, y) => x - y));
        const da = read(sa.toDense());
        const db = read(sb.toDense());
        expectBitwise(
          read(s.toDense()),
          da.map((v, i) => v + db[i]!),
        );
        expect([Array.from(sa.indices), Array.from(sa.values)]).toEqual(saCopy); // inputs untouched
      }),
      { numRuns: 100 },
    );
  });

  test('sparse + dense and dense + sparse: a dense Tensor (scatter-add), inputs untouched', () => {
    fc.assert(
      fc.property(pairArb, ({ n, a, seed }) => {
        const g = new Generator(seed);
        const s = build(n, a, g);
        const d = denseOf(n, g);
        const before = read(d);
        const expected = read(s.toDense()).map((v, i) => before[i]! + v);
        for (const sum of [addGrads(s, d), addGrads(d, s)]) {
          expect(sum).toBeInstanceOf(Tensor);
          expect((sum as Tensor).shape).toEqual([n]);
          expectBitwise(read(sum as Tensor), expected);
        }
        expectBitwise(read(d), before);
      }),
      { numRuns: 100 },
    );
  });

  test('dense + dense: the elementwise sum; shape mismatch is a ShapeError', () => {
    const g = new Generator(3);
    const a = denseOf(5, g);
    const b = denseOf(5, g);
    expectBitwise(
      read(addGrads(a, b) as Tensor),
      read(a).map((v, i) => v + read(b)[i]!),
    );
    expect(() => addGrads(a, denseOf(4, g))).toThrow(ShapeError);
    expect(() => addGrads(new SparseCoo([5], new Int32Array(0), new Float64Array(0)), new SparseCoo([6], new Int32Array(0), new Float64Array(0)))).toThrow(
      ShapeError,
    );
  });
});

describe('addGradInto: the in-place sum the backward walk uses', () => {
  // Large enough for the WebAssembly kernels (kernels/cpu/wasm-map.ts: 16,384 elements and up),
  // which copy the operands in and the sum out while the sum's storage is also an operand.
  for (const n of [7, 20_000, 100_003]) {
    test(`${n} elements: a + b in place, bitwise addGrads, dense and sparse`, () => {
      const g = new Generator(n);
      for (const dtype of ['float32', 'float64'] as const) {
        const a = randn([n], { generator: g, dtype });
        const dense = randn([n], { generator: g, dtype });
        const indices = Int32Array.from({ length: Math.ceil(n / 3) }, (_, i) => 3 * i);
        const draw = () => g.normal();
        const values = dtype === 'float32' ? Float32Array.from(indices, draw) : Float64Array.from(indices, draw);
        const sparse = new SparseCoo([n], indices, values);
        for (const b of [dense, sparse]) {
          const expected = read(addGrads(a, b) as Tensor);
          const into = a.clone();
          const version = into.storage.version;
          expect(addGradInto(into, b)).toBe(true);
          expectBitwise(read(into), expected, `${dtype} ${b instanceof SparseCoo ? 'sparse' : 'dense'}`);
          expect(into.storage.version).toBe(version + 1);
        }
      }
    });
  }

  test('refuses another dtype (nothing written) and another shape (ShapeError)', () => {
    const a = tensor([1, 2, 3]);
    expect(addGradInto(a, tensor([1, 1, 1], { dtype: 'float64' }))).toBe(false);
    expect(read(a)).toEqual([1, 2, 3]);
    expect(() => addGradInto(a, tensor([1, 1]))).toThrow(ShapeError);
  });
});

// ---- topK ----------------------------------------------------------------------------------------

/** The naive reference: sort by magnitude (descending), ties by index. */
function naiveTopK(values: readonly number[], k: number, mode: TopKMode): number[] {
  const n = values.length;
  if (n === 0) return [];
  const mags = values.map(Math.abs).sort((a, b) => b - a);
  if (mode === 'threshold') {
    const thr = mags[Math.min(k, n) - 1]!;
    return values.flatMap((v, i) => (v !== 0 && Math.abs(v) >= thr ? [i] : []));
  }
  const order = values
    .map((v, i) => ({ v, i }))
    .filter(({ v }) => v !== 0)
    .sort((p, q) => Math.abs(q.v) - Math.abs(p.v) || p.i - q.i);
  return order
    .slice(0, k)
    .map(({ i }) => i)
    .sort((p, q) => p - q);
}

const modeArb = fc.constantFrom<TopKMode>('threshold', 'exact');

/** Values with many zeros and many ties (small integers, random signs). */
const tiedArb = fc.array(fc.oneof(fc.constantFrom(0, -0), fc.integer({ min: -4, max: 4 })), { minLength: 1, maxLength: 60 });

/** Values with distinct non-zero magnitudes (no ties), random signs, some zeros, shuffled. */
const distinctArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 0, maxLength: 40 })
  .chain((mags) =>
    fc.record({
      mags: fc.constant(mags),
      negative: fc.array(fc.boolean(), { minLength: mags.length, maxLength: mags.length }),
      zeros: fc.nat(20),
      perm: fc.array(fc.nat(), { minLength: mags.length + 20, maxLength: mags.length + 20 }),
    }),
  )
  .map(({ mags, negative, zeros, perm }) => {
    const all = [...mags.map((m, i) => (negative[i] ? -m : m)), ...new Array<number>(zeros).fill(0)];
    // deterministic shuffle driven by `perm`
    for (let i = all.length - 1; i > 0; i--) {
      const j = perm[i]! % (i + 1);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all.length === 0 ? [0] : all;
  });

describe('topK', () => {
  test('both modes equal the naive sort-based selection (indices and values)', () => {
    fc.assert(
      fc.property(fc.oneof(tiedArb, distinctArb), fc.integer({ min: 1, max: 70 }), modeArb, dtypeArb, (values, k, mode, dtype) => {
        const g = make(values, [values.length], dtype);
        const s = topK(g, k, mode);
        const expected = naiveTopK(values, k, mode);
        expect(Array.from(s.indices)).toEqual(expected);
        expectBitwise(
          Array.from(s.values),
          expected.map((i) => values[i]!),
        );
        expect(s.dtype).toBe(dtype);
        expect(s.shape).toEqual([values.length]);
      }),
      { numRuns: 100 },
    );
  });

  test('count is min(k, nnz) without ties (threshold mode) and always (exact mode)', () => {
    fc.assert(
      fc.property(distinctArb, tiedArb, fc.integer({ min: 1, max: 70 }), (distinct, tied, k) => {
        const nnz = (v: number[]) => v.filter((x) => x !== 0).length;
        expect(topK(make(distinct, [distinct.length], 'float64'), k, 'threshold').nnz).toBe(Math.min(k, nnz(distinct)));
        expect(topK(make(distinct, [distinct.length], 'float64'), k, 'exact').nnz).toBe(Math.min(k, nnz(distinct)));
        expect(topK(make(tied, [tied.length], 'float64'), k, 'exact').nnz).toBe(Math.min(k, nnz(tied)));
      }),
      { numRuns: 100 },
    );
  });

  test('kept ⊇ larger: every kept |g| ≥ every dropped non-zero |g|; no zeros; indices increasing', () => {
    fc.assert(
      fc.property(fc.oneof(tiedArb, distinctArb), fc.integer({ min: 1, max: 70 }), modeArb, (values, k, mode) => {
        const s = topK(make(values, [values.length], 'float64'), k, mode);
        expectStrictlyIncreasing(s.indices);
        const kept = new Set(s.indices);
        const keptMags = Array.from(s.values, Math.abs);
        expect(keptMags.every((m) => m > 0)).toBe(true);
        const minKept = Math.min(...keptMags);
        values.forEach((v, i) => {
          if (!kept.has(i) && v !== 0) expect(Math.abs(v)).toBeLessThanOrEqual(minKept);
        });
      }),
      { numRuns: 100 },
    );
  });

  test('count is monotone in k', () => {
    fc.assert(
      fc.property(fc.oneof(tiedArb, distinctArb), modeArb, (values, mode) => {
        const g = make(values, [values.length], 'float64');
        let previous = 0;
        for (let k = 1; k <= values.length + 1; k++) {
          const count = topK(g, k, mode).nnz;
          expect(count).toBeGreaterThanOrEqual(previous);
          previous = count;
        }
      }),
      { numRuns: 60 },
    );
  });

  test('threshold mode keeps every tie; exact mode breaks ties by lower index', () => {
    fc.assert(
      fc.property(tiedArb, fc.integer({ min: 1, max: 60 }), (values, k) => {
        const g = make(values, [values.length], 'float64');
        const thr = topK(g, k, 'threshold');
        const ex = topK(g, k, 'exact');
        if (thr.nnz === 0) return;
        const cut = Math.min(...Array.from(thr.values, Math.abs));
        // threshold: all entries at the cut magnitude are in
        values.forEach((v, i) => {
          if (v !== 0 && Math.abs(v) === cut) expect(thr.indices.includes(i)).toBe(true);
        });
        // exact: a subset of threshold's choice; the tied ones it keeps are the lowest indices
        for (const i of ex.indices) expect(thr.indices.includes(i)).toBe(true);
        const exCut = Math.min(...Array.from(ex.values, Math.abs));
        const tied = values.flatMap((v, i) => (v !== 0 && Math.abs(v) === exCut ? [i] : []));
        const keptTied = Array.from(ex.indices).filter((i) => Math.abs(values[i]!) === exCut);
        expect(keptTied).toEqual(tied.slice(0, keptTied.length));
      }),
      { numRuns: 100 },
    );
  });

  // From 4,096 entries on, the k-th magnitude comes from a histogram of the magnitudes'
  // leading bits and a quickselect on one bucket (core/topk.ts): inputs on both sides of that
  // size, whose values crowd into few buckets (ties, zeros, one binade), spread over many
  // (wide exponents), use every mantissa bit (× π), or sit at float32's extremes (subnormals,
  // near the largest float), must select exactly what sorting selects.
  test('large inputs of every spread equal the naive selection, both dtypes', () => {
    const magnitude = fc.oneof(
      fc.constantFrom(0, -0, 1, -1, 2.5, 1e-45, 3e38),
      fc.double({ min: -4, max: 4, noNaN: true }),
      fc.double({ min: -8, max: 8, noNaN: true }).map((v) => v * Math.PI),
      fc.double({ min: -3e38, max: 3e38, noNaN: true }),
      fc.integer({ min: -3, max: 3 }),
    );
    fc.assert(
      fc.property(
        fc.array(magnitude, { minLength: 2000, maxLength: 8000, size: 'max' }),
        fc.integer({ min: 1, max: 8100 }),
        modeArb,
        dtypeArb,
        (raw, k, mode, dtype) => {
          const values = Array.from(dtype === 'float32' ? Float32Array.from(raw) : Float64Array.from(raw));
          const s = topK(make(values, [values.length], dtype), k, mode);
          expect(Array.from(s.indices)).toEqual(naiveTopK(values, k, mode));
        },
      ),
      { numRuns: 60, endOnFailure: true }, // shrinking thousands of entries would take minutes
    );
  });

  test('known ties', () => {
    const g = tensor(Float64Array.of(0, 3, -3, 1, 3, 2));
    expect(Array.from(topK(g, 2, 'threshold').indices)).toEqual([1, 2, 4]);
    expect(Array.from(topK(g, 2, 'exact').indices)).toEqual([1, 2]);
    expect(Array.from(topK(g, 10, 'exact').indices)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(topK(tensor(Float64Array.of(0, 0, -0)), 2).indices)).toEqual([]);
  });

  test('a non-contiguous input selects in its logical order', () => {
    const base = tensor(Float64Array.of(1, -9, 3, 8, 0, 2), { shape: [2, 3] });
    const s = topK(base.T, 2, 'exact'); // T = [[1, 8], [-9, 0], [3, 2]]
    expect(s.shape).toEqual([3, 2]);
    expect(Array.from(s.indices)).toEqual([1, 2]);
    expect(Array.from(s.values)).toEqual([8, -9]);
  });

  test('non-finite input throws ValueError; bad k and integer tensors are rejected', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const g = tensor(Float64Array.of(1, bad, 2));
      expect(() => topK(g, 1)).toThrow(ValueError);
      expect(() => topK(g, 1, 'exact')).toThrow(new RegExp(`entry 1 is ${bad}; a non-finite`));
      expect(() => topK(g, 5)).toThrow(ValueError); // k ≥ n too
    }
    const ok = tensor(Float64Array.of(1, 2, 3));
    expect(() => topK(ok, 0)).toThrow(ValueError);
    expect(() => topK(ok, 1.5)).toThrow(ValueError);
    expect(() => topK(tensor([1, 2], { dtype: 'int32' }), 1)).toThrow(DTypeError);
  });

  // No wall-time assertion (CI shares its cores): the guard against a quadratic path (all
  // equal, sorted) is the test's timeout, which such a path would miss by hours at n = 1e6.
  test('large inputs (1e6 entries, 90% zeros; all equal; sorted) give exact counts', () => {
    const n = 1_000_000;
    const gen = new Generator(123);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = gen.uniform() < 0.1 ? gen.normal() : 0;
    const nnz = data.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);
    const g = tensor(data);
    const k = 10_000;
    const thr = topK(g, k);
    const ex = topK(g, k, 'exact');
    const big = topK(g, 500_000, 'threshold'); // k beyond nnz: all non-zeros
    expect(ex.nnz).toBe(k);
    expect(thr.nnz).toBeGreaterThanOrEqual(k);
    expect(big.nnz).toBe(nnz);

    const equal = tensor(new Float32Array(n).fill(1));
    const sorted = tensor(Float64Array.from({ length: n }, (_, i) => i + 1));
    expect(topK(equal, 10, 'exact').nnz).toBe(10);
    expect(topK(equal, 10, 'threshold').nnz).toBe(n);
    expect(Array.from(topK(sorted, 3).indices)).toEqual([n - 3, n - 2, n - 1]);
  }, 60_000);
});

describe('kthLargest', () => {
  test('equals sorting (descending) and keeps the multiset of values', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })), { minLength: 1, maxLength: 80 })
          .chain((v) => fc.tuple(fc.constant(v), fc.integer({ min: 1, max: v.length }))),
        ([values, k]) => {
          const arr = Float64Array.from(values);
          // a total order (−0 after +0), so that the multiset comparison below is exact
          const desc = (a: number, b: number) => b - a || Number(Object.is(a, -0)) - Number(Object.is(b, -0));
          const sorted = [...arr].sort(desc);
          const got = kthLargest(arr, k);
          expect(got === sorted[k - 1]).toBe(true);
          expect([...arr].sort(desc)).toEqual(sorted); // reordered, not changed
        },
      ),
      { numRuns: 100 },
    );
  });

  test('handles many duplicates and sorted inputs', () => {
    const zeros = new Float64Array(1001);
    zeros[500] = 7;
    expect(kthLargest(zeros.slice(), 1)).toBe(7);
    expect(kthLargest(zeros.slice(), 2)).toBe(0);
    const asc = Float64Array.from({ length: 1000 }, (_, i) => i);
    expect(kthLargest(asc.slice(), 1)).toBe(999);
    expect(kthLargest(asc.slice(), 1000)).toBe(0);
    expect(kthLargest(asc.slice().reverse(), 250)).toBe(750);
    // k outside [1, n] is an error, not an endless partition loop
    for (const k of [0, 1001, 1.5]) expect(() => kthLargest(asc.slice(), k)).toThrow(/kthLargest\(\): k must be an integer in \[1, 1000\]/);
    expect(() => kthLargest(new Float64Array(0), 1)).toThrow(ValueError);
  });
});
