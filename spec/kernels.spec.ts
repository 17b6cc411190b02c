/**
 * Kernels: every method of the cpu backend equals the reference backend (docs/TESTING.md §4).
 *
 * The Backend methods are called directly on views built here, each input in a random
 * layout — contiguous, transposed, sliced with steps and an offset, broadcast (stride 0),
 * `x[..., i]` of a `shape+(2,)` buffer, or all of these mixed — so every fast path of
 * kernels/cpu (collapsed runs, the arithmetic loops, row-accumulating reductions, the
 * packed/transposed matmul operands) is reached. Storage that a view does not cover
 * holds a sentinel (NaN for floats), so a kernel that reads outside its view fails.
 *
 * Comparison (docs/TESTING.md §1): elementwise maps share the scalar table, so they must
 * agree bitwise (`Object.is`). Reductions, softmax and matmul may sum in a different
 * order: float32 results are checked within T32 of the reference run in float64 on the
 * same values, float64 results within F64 (below), integer results exactly. scatterAdd
 * adds duplicates in the reference's order (kernels/cpu/indexing.ts), so it is bitwise.
 * Non-finite values compare by identity only (NaN equals only NaN).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, dtypeOf, type DType, type FloatStorage, type Storage } from '../base/dtype.ts';
import { broadcastShapes, broadcastStrides, contiguousStrides, numel, type Shape } from '../base/shape.ts';
import type { Backend } from '../kernels/backend.ts';
import { cpuBackend } from '../kernels/cpu/index.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import { BINARY, COMPARISONS, REDUCE, UNARY, type BinaryOp, type ReduceOp, type UnaryOp } from '../kernels/scalar.ts';
import { forEachOffset, type View } from '../kernels/view.ts';
import { arbBroadcastPair, arbShape } from './kit/arbitraries.ts';
import { compare, T32, type Tolerance } from './kit/close.ts';

const cpu: Backend = cpuBackend;
const ref: Backend = referenceBackend;
const RUNS = 100;
const TIMEOUT = 60_000;

/** float64 results where the summation order may differ: |a − r| ≤ 1e-12·max|r| + 1e-12·|r|. */
const F64 = Object.freeze({ name: 'F64', atol: 1e-12, rtol: 1e-12, atolRelativeToMax: true });
/** Integer results: equal (−0 = +0). */
const EXACT = Object.freeze({ name: 'exact', atol: 0, rtol: 0 });

function toleranceFor(data: Storage): Tolerance {
  if (data instanceof Float32Array) return T32;
  if (data instanceof Float64Array) return F64;
  return EXACT;
}

/** Throw compare()'s message (op, index, both values, bound) unless `actual` matches. */
function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: string): void {
  const { ok, message } = compare(actual, expected, tol, { label });
  if (!ok) throw new Error(message);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---- layouts ------------------------------------------------------------------------

/**
 * Where a view's elements live in its buffer. Logical axis i has `steps[i]` between
 * elements, starts `starts[i]` elements into its (padded) extent, and is read with
 * stride 0 when `broadcast[i]`; `perm` is the order of the axes in memory, outermost
 * first; `pair` ≥ 0 reads `x[..., pair]` of a buffer with an extra trailing axis of 2.
 */
interface Layout {
  readonly kind: string;
  readonly perm: readonly number[];
  readonly steps: readonly number[];
  readonly starts: readonly number[];
  readonly broadcast: readonly boolean[];
  readonly pair: number;
  readonly base: number;
}

const plain = (rank: number): Layout => ({
  kind: 'contiguous',
  perm: range(rank),
  steps: range(rank).map(() => 1),
  starts: range(rank).map(() => 0),
  broadcast: range(rank).map(() => false),
  pair: -1,
  base: 0,
});

/** Each named layout on its own, and all of them mixed. Shrinks towards contiguous. */
function arbLayout(rank: number): fc.Arbitrary<Layout> {
  const perAxis = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: rank, maxLength: rank });
  // A random permutation: the axes sorted by random keys (all-equal keys give the identity).
  const perm = perAxis(fc.nat({ max: 7 })).map((keys) => range(rank).sort((a, b) => keys[a]! - keys[b]! || a - b));
  const steps = perAxis(fc.integer({ min: 1, max: 3 }));
  const starts = perAxis(fc.integer({ min: 0, max: 2 }));
  const flags = perAxis(fc.boolean());
  const base = fc.integer({ min: 1, max: 3 });
  const p = plain(rank);
  return fc.oneof(
    fc.constant(p),
    perm.map((q) => ({ ...p, kind: 'transposed', perm: q })),
    fc.record({ steps, starts, base }).map((s) => ({ ...p, kind: 'sliced', ...s })),
    flags.map((b) => ({ ...p, kind: 'broadcast', broadcast: b })),
    fc.integer({ min: 0, max: 1 }).map((pair) => ({ ...p, kind: 'pair', pair })),
    fc.record({ perm, steps, starts, broadcast: flags, pair: fc.integer({ min: -1, max: 1 }), base }).map((m) => ({ ...p, kind: 'mixed', ...m })),
  );
}

const SENTINEL: Record<DType, number> = { float32: NaN, float64: NaN, int32: 0x7eadbeef, bool: 0xab };

/** The view of `shape` in `layout`, reading `values` in row-major order (on a broadcast axis, the last write wins). */
function materialize(shape: Shape, layout: Layout, dtype: DType, values: readonly number[]): View {
  const rank = shape.length;
  const extent = shape.map((d, i) => (layout.broadcast[i] ? 1 : d * layout.steps[i]! + layout.starts[i]!));
  const physical = [...layout.perm.map((i) => extent[i]!), ...(layout.pair >= 0 ? [2] : [])];
  const physicalStrides = contiguousStrides(physical);
  const strideOf = new Array<number>(rank);
  layout.perm.forEach((axis, position) => (strideOf[axis] = physicalStrides[position]!));
  const strides = shape.map((_, i) => (layout.broadcast[i] ? 0 : strideOf[i]! * layout.steps[i]!));
  const offset = layout.base + Math.max(layout.pair, 0) + shape.reduce((s, _, i) => s + (layout.broadcast[i] ? 0 : layout.starts[i]! * strideOf[i]!), 0);
  const data = allocate(dtype, layout.base + numel(physical)).fill(SENTINEL[dtype]);
  const view: View = { data, shape, strides, offset };
  let k = 0;
  forEachOffset(shape, [view], ([o]) => (data[o!] = values[k++]!));
  return view;
}

// ---- values ------------------------------------------------------------------------

type Domain = 'real' | 'positive';
const SPECIALS = [NaN, Infinity, -Infinity, -0, 0];

/**
 * Values of a dtype: floats in [−2, 2] (or [0.1, 2]) exactly representable, with NaN,
 * ±Inf and ±0 now and then (`specials`). `flushTiny` maps |v| < 1e-6 to 0: a float32
 * result compared with a float64 oracle cannot match products that underflow float32
 * (subnormal·subnormal is 0 in float32, 2e-90 in float64), which is no kernel's fault.
 */
function arbValue(dtype: DType, domain: Domain = 'real', { specials = true, flushTiny = false } = {}): fc.Arbitrary<number> {
  if (dtype === 'int32') return fc.integer({ min: -5, max: 5 });
  if (dtype === 'bool') return fc.integer({ min: 0, max: 1 });
  const [min, max] = domain === 'positive' ? [0.1, 2] : [-2, 2];
  const drawn = dtype === 'float64' ? fc.double({ min, max, noNaN: true }) : fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true });
  const finite = flushTiny ? drawn.map((v) => (Math.abs(v) < 1e-6 ? 0 : v)) : drawn;
  return specials ? fc.oneof({ weight: 12, arbitrary: finite }, { weight: 1, arbitrary: fc.constantFrom(...SPECIALS) }) : finite;
}

/** Values for results compared with the float64 oracle. */
const oracleValue = (dtype: DType) => arbValue(dtype, 'real', { flushTiny: true });
const finiteOracleValue = (dtype: DType) => arbValue(dtype, 'real', { specials: false, flushTiny: true });

/** A view of a fixed shape with random layout and values. */
function arbView(shape: Shape, dtype: DType, value: fc.Arbitrary<number> = arbValue(dtype)): fc.Arbitrary<View> {
  const n = numel(shape);
  return fc
    .tuple(arbLayout(shape.length), fc.array(value, { minLength: n, maxLength: n }))
    .map(([layout, values]) => materialize(shape, layout, dtype, values));
}

/** The view read as `shape` (stride 0 on new and size-1 axes): how ops hand broadcast operands to kernels. */
function broadcastTo(v: View, shape: Shape): View {
  return { ...v, shape, strides: broadcastStrides(v.shape, v.strides, shape) };
}

/** The same view over float64 storage: the oracle's input for float32 results. */
function widened<S extends Storage>(v: View<S>): View<Float64Array> {
  return { ...v, data: Float64Array.from(v.data) };
}

const FLOATS: readonly DType[] = ['float32', 'float64'];
const arbFloat = fc.constantFrom<DType>(...FLOATS);

/** Run a kernel on both backends into fresh outputs: [cpu's, reference's]. */
function both(make: () => Storage, kernel: (be: Backend, out: Storage) => void): [Storage, Storage] {
  const mine = make();
  const theirs = make();
  kernel(cpu, mine);
  kernel(ref, theirs);
  return [mine, theirs];
}

/**
 * Where a kernel may reorder sums: cpu on the inputs vs the reference on the same values
 * in float64 (float32 results, T32), or on the same inputs (float64: F64; integers: exact).
 */
function againstOracle(inputs: View[], out: Storage, kernel: (be: Backend, inputs: View[], out: Storage) => void, label: string, byTerms = false): void {
  kernel(cpu, inputs, out);
  const single = out instanceof Float32Array;
  const expected = allocate(single ? 'float64' : dtypeOf(out), out.length);
  kernel(ref, single ? inputs.map(widened) : inputs, expected);
  if (!byTerms) return assertSame(out, expected, toleranceFor(out), label);
  // The same kernel on |inputs| gives each output's Σ|terms| (Σ|a||b| for a matmul, + |bias| for linear).
  const terms = new Float64Array(out.length);
  kernel(
    ref,
    inputs.map((v) => ({ ...v, data: Float64Array.from(v.data, Math.abs) })),
    terms,
  );
  assertWithinTerms(out, expected, terms, label);
}

/**
 * For sums the kernels may reorder (matmul, linear, sum reductions): the error of a
 * cancelling sum is bounded by the size of its terms, not of its result (docs/TESTING.md
 * §1; a bound scaled by |result| failed a generated case by 0.02 %). Per output i:
 * |a − r| ≤ c·Σ|terms_i| + rtol·|r|, c = 1e-5 and rtol = 1e-4 for float32 results (T32's
 * constants; the worst case of a length-k float32 sum is k·2⁻²⁴·Σ|terms|, 2.4e-6 for the
 * k ≤ 40 drawn here), 1e-12 for float64 results (k·2⁻⁵³ ≈ 4.4e-15 at k = 40).
 * Non-finite values must be identical.
 */
function assertWithinTerms(actual: Storage, expected: ArrayLike<number>, terms: Float64Array, label: string): void {
  const [c, rtol] = actual instanceof Float32Array ? [1e-5, 1e-4] : [1e-12, 1e-12];
  for (let i = 0; i < actual.length; i++) {
    const [a, r] = [actual[i]!, expected[i]!];
    const ok = Number.isFinite(a) && Number.isFinite(r) ? Math.abs(a - r) <= c * terms[i]! + rtol * Math.abs(r) : Object.is(a, r);
    if (!ok)
      throw new Error(
        `${label}: element ${i}: actual ${a}, expected ${r}, |a − r| = ${Math.abs(a - r)} > bound ${c * terms[i]! + rtol * Math.abs(r)} (${c}·Σ|terms| with Σ|terms| = ${terms[i]} + ${rtol}·|r|)`,
      );
  }
}

const describeView = (v: View) => `shape [${v.shape}] strides [${v.strides}] offset ${v.offset} ${dtypeOf(v.data)}[${v.data.length}]`;

// ---- elementwise maps: bitwise ------------------------------------------------------

const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
const POSITIVE_ONLY: ReadonlySet<UnaryOp> = new Set(['log', 'sqrt', 'rsqrt', 'powScalar']);

/** The op's scalar parameters: exponents for powScalar (integer, fractional, negative, 0), bounds for clamp. */
function arbParams(op: UnaryOp): fc.Arbitrary<[number, number]> {
  if (op === 'powScalar') return fc.tuple(fc.oneof(fc.constantFrom(0, 1, 2, 3, 0.5, -1, -0.5), fc.double({ min: -3, max: 3, noNaN: true })), fc.constant(0));
  if (op === 'clamp') {
    return fc
      .tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }))
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
  }
  return fc.tuple(fc.double({ noNaN: true }), fc.double({ noNaN: true }));
}

function unaryCase(op: UnaryOp, withGrad: boolean) {
  const dtypes = UNARY[op].floatOnly || withGrad ? FLOATS : [...FLOATS, 'int32' as DType];
  const domain: Domain = POSITIVE_ONLY.has(op) ? 'positive' : 'real';
  return fc
    .record({ shape: arbShape(), dtype: fc.constantFrom(...dtypes), params: arbParams(op) })
    .chain(({ shape, dtype, params }) =>
      fc.record({ x: arbView(shape, dtype, arbValue(dtype, domain)), g: arbView(shape, dtype), params: fc.constant(params) }),
    );
}

describe.each([
  ['unary', false],
  ['unaryBackward', true],
] as const)('%s: cpu equals reference bitwise', (kernel, withGrad) => {
  it.each(UNARY_OPS)(
    '%s',
    (op) => {
      fc.assert(
        fc.property(unaryCase(op, withGrad), ({ x, g, params: [p, q] }) => {
          const [mine, theirs] = both(
            () => allocate(dtypeOf(x.data), numel(x.shape)),
            (be, out) => (withGrad ? be.unaryBackward(op, x, g, out, p, q) : be.unary(op, x, out, p, q)),
          );
          assertSame(mine, theirs, 'bitwise', `${kernel} ${op} of ${describeView(x)}${withGrad ? `, g ${describeView(g)}` : ''}, p ${p}, q ${q}`);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

const BINARY_OPS = Object.keys(BINARY) as BinaryOp[];
/** Ops the op layer runs on integer tensors too (div and pow insist on floats). */
const INTEGER_OK: ReadonlySet<BinaryOp> = new Set([...COMPARISONS, 'add', 'sub', 'mul', 'maximum', 'minimum']);

/** Two operands of broadcasting shapes, each in its own layout, read as the broadcast shape. */
function arbOperands(dtypes: readonly DType[]) {
  return fc.record({ shapes: arbBroadcastPair(), dtype: fc.constantFrom(...dtypes) }).chain(({ shapes: [sa, sb], dtype }) => {
    const shape = broadcastShapes(sa, sb);
    return fc.tuple(arbView(sa, dtype), arbView(sb, dtype)).map(([a, b]) => ({ shape, a: broadcastTo(a, shape), b: broadcastTo(b, shape) }));
  });
}

describe('binary: cpu equals reference bitwise', () => {
  it.each(BINARY_OPS)(
    '%s',
    (op) => {
      const dtypes: DType[] = [...FLOATS, ...(INTEGER_OK.has(op) ? ['int32' as DType] : []), ...(COMPARISONS.has(op) ? ['bool' as DType] : [])];
      fc.assert(
        fc.property(arbOperands(dtypes), ({ shape, a, b }) => {
          const outDType = COMPARISONS.has(op) ? 'bool' : dtypeOf(a.data);
          const [mine, theirs] = both(
            () => allocate(outDType, numel(shape)),
            (be, out) => be.binary(op, a, b, out),
          );
          assertSame(mine, theirs, 'bitwise', `binary ${op} of a ${describeView(a)}, b ${describeView(b)}`);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('where, copy, gather, argReduce: cpu equals reference bitwise', () => {
  it(
    'where (bool condition, all three broadcast)',
    () => {
      const arb = fc.record({ shapes: arbBroadcastPair(), dtype: fc.constantFrom<DType>(...FLOATS, 'int32') }).chain(({ shapes: [sa, sb], dtype }) => {
        const shape = broadcastShapes(sa, sb);
        return fc
          .record({ cond: arbView(sa, 'bool'), a: arbView(sb, dtype), b: arbView(shape, dtype) })
          .map(({ cond, a, b }) => ({ shape, cond: broadcastTo(cond, shape), a: broadcastTo(a, shape), b }));
      });
      fc.assert(
        fc.property(arb, ({ shape, cond, a, b }) => {
          const [mine, theirs] = both(
            () => allocate(dtypeOf(a.data), numel(shape)),
            (be, out) => be.where(cond, a, b, out),
          );
          assertSame(mine, theirs, 'bitwise', `where(${describeView(cond)}, ${describeView(a)}, ${describeView(b)})`);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );

  it(
    'copy, with every dtype conversion',
    () => {
      const ALL: DType[] = ['float32', 'float64', 'int32', 'bool'];
      const arb = fc
        .record({ shape: arbShape(), from: fc.constantFrom(...ALL), to: fc.constantFrom(...ALL) })
        .chain(({ shape, from, to }) => arbView(shape, from).map((x) => ({ x, to })));
      fc.assert(
        fc.property(arb, ({ x, to }) => {
          const [mine, theirs] = both(
            () => allocate(to, numel(x.shape)),
            (be, out) => be.copy(x, out),
          );
          assertSame(mine, theirs, 'bitwise', `copy ${describeView(x)} to ${to}`);
        }),
        { numRuns: RUNS * 3 },
      );
    },
    TIMEOUT,
  );

  it(
    'copy of large transposed matrices (the tiled path), with every dtype conversion',
    () => {
      // arbShape's dimensions stay small; a matrix with ≥ 32×32 elements whose last two axes
      // are swapped in memory (and sometimes sliced or batched) takes copy's tiled loop.
      const ALL: DType[] = ['float32', 'float64', 'int32', 'bool'];
      const dim = fc.integer({ min: 20, max: 75 });
      const arb = fc
        .record({
          batch: fc.constantFrom([], [2], [1, 3]),
          rows: dim,
          cols: dim,
          from: fc.constantFrom(...ALL),
          to: fc.constantFrom(...ALL),
          steps: fc.constantFrom(1, 2),
          seed: fc.integer(),
        })
        .map(({ batch, rows, cols, from, to, steps, seed }) => {
          const shape = [...batch, rows, cols];
          const r = shape.length;
          const perm = [...range(r - 2), r - 1, r - 2]; // the last two axes swapped in memory
          const layout: Layout = { ...plain(r), kind: 'transposed', perm, steps: shape.map((_, i) => (i === r - 1 ? steps : 1)) };
          const values = filled('float64', [numel(shape)], seed).data as Float64Array;
          const cast = Array.from(values, (v) => (from === 'int32' ? Math.round(v * 2) : from === 'bool' ? Number(v > 0) : v));
          return { x: materialize(shape, layout, from, cast), to };
        });
      fc.assert(
        fc.property(arb, ({ x, to }) => {
          const [mine, theirs] = both(
            () => allocate(to, numel(x.shape)),
            (be, out) => be.copy(x, out),
          );
          assertSame(mine, theirs, 'bitwise', `copy ${describeView(x)} to ${to}`);
        }),
        { numRuns: 40 },
      );
    },
    TIMEOUT,
  );

  it(
    'gather along a random axis',
    () => {
      const arb = indexedCase(FLOATS.concat('int32')).chain(({ shape, dtype, axis, indexShape, indices }) =>
        arbView(shape, dtype).map((x) => ({ x, axis, indexShape, indices })),
      );
      fc.assert(
        fc.property(arb, ({ x, axis, indexShape, indices }) => {
          const [mine, theirs] = both(
            () => allocate(dtypeOf(x.data), numel(indexShape)),
            (be, out) => be.gather(x, axis, indices, out),
          );
          assertSame(mine, theirs, 'bitwise', `gather axis ${axis} of ${describeView(x)}, index ${describeView(indices)}`);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );

  it(
    'argReduce (max, min) along a random axis, NaN winning',
    () => {
      const arb = fc
        .record({
          shape: arbShape({ minRank: 1 }),
          dtype: fc.constantFrom<DType>(...FLOATS, 'int32'),
          op: fc.constantFrom<'max' | 'min'>('max', 'min'),
          axis: fc.nat(),
        })
        .chain(({ shape, dtype, op, axis }) => arbView(shape, dtype).map((x) => ({ x, op, axis: axis % shape.length })));
      fc.assert(
        fc.property(arb, ({ x, op, axis }) => {
          const rows = numel(x.shape.filter((_, i) => i !== axis));
          const dtype = dtypeOf(x.data);
          const results = [cpu, ref].map((be) => {
            const values = allocate(dtype, rows);
            const indices = new Int32Array(rows);
            be.argReduce(op, x, axis, values, indices);
            return { values, indices };
          });
          assertSame(results[0]!.values, results[1]!.values, 'bitwise', `argReduce ${op} values, axis ${axis} of ${describeView(x)}`);
          assertSame(results[0]!.indices, results[1]!.indices, 'bitwise', `argReduce ${op} indices, axis ${axis} of ${describeView(x)}`);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});

/**
 * A data shape, an axis, and an index view for gather/scatterAdd: index.shape[d] ≤
 * shape[d] off the axis, any size 0–5 along it, values in [0, shape[axis]) — small
 * ranges, so indices repeat.
 */
function indexedCase(dtypes: readonly DType[]) {
  return fc
    .record({
      shape: arbShape({ minRank: 1 }),
      dtype: fc.constantFrom(...dtypes),
      axis: fc.nat(),
      fractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
      along: fc.integer({ min: 0, max: 5 }),
    })
    .chain(({ shape, dtype, axis: a, fractions, along }) => {
      const axis = a % shape.length;
      const size = shape[axis]!;
      const indexShape = shape.map((d, i) => (i === axis ? (size > 0 ? along : 0) : Math.round(d * fractions[i]!)));
      const indexValue = fc.integer({ min: 0, max: Math.max(size - 1, 0) });
      return arbView(indexShape, 'int32', indexValue).map((indices) => ({ shape, dtype, axis, indexShape, indices: indices as View<Int32Array> }));
    });
}

// ---- reductions, scatterAdd, softmax, matmul: within tolerance ----------------------

const REDUCE_OPS = Object.keys(REDUCE) as ReduceOp[];

/** A view and a random (sorted) subset of its axes; none, one, several or all. */
function arbReduction(value: (dtype: DType) => fc.Arbitrary<number> = oracleValue) {
  return fc.record({ shape: arbShape(), dtype: fc.constantFrom<DType>(...FLOATS, 'int32') }).chain(({ shape, dtype }) =>
    fc.record({
      x: arbView(shape, dtype, value(dtype)),
      axes: fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }).map((keep) => range(shape.length).filter((i) => keep[i])),
    }),
  );
}

const reducedSize = (x: View, axes: readonly number[]) => numel(x.shape.filter((_, i) => !axes.includes(i)));

describe('reduce: cpu equals reference (T32 / F64 / exact)', () => {
  it.each(REDUCE_OPS)(
    '%s over random axes',
    (op) => {
      fc.assert(
        fc.property(arbReduction(), ({ x, axes }) => {
          const out = allocate(dtypeOf(x.data), reducedSize(x, axes));
          // A sum's error scales with Σ|x| (cancellation); max and min round nothing.
          againstOracle(
            [x],
            out,
            (be, [v], o) => be.reduce(op, v!, axes, o),
            `reduce ${op} axes [${axes}] of ${describeView(x)}`,
            op === 'sum' && !(out instanceof Int32Array),
          );
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );

  it(
    'max and min are NaN exactly where a NaN was reduced',
    () => {
      const finiteOrNaN = (dtype: DType) =>
        dtype === 'int32' ? arbValue(dtype) : fc.oneof({ weight: 4, arbitrary: finiteOracleValue(dtype) }, { weight: 1, arbitrary: fc.constant(NaN) });
      fc.assert(
        fc.property(arbReduction(finiteOrNaN), ({ x, axes }) => {
          const n = reducedSize(x, axes);
          const sums = new Float64Array(n);
          ref.reduce('sum', widened(x), axes, sums); // finite values: the sum is NaN iff a NaN was summed
          for (const op of ['max', 'min'] as const) {
            const out = allocate(dtypeOf(x.data), n);
            cpu.reduce(op, x, axes, out);
            out.forEach((v, i) => expect(Number.isNaN(v), `${op} output ${i} of ${describeView(x)} axes [${axes}]`).toBe(Number.isNaN(sums[i]!)));
          }
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});

describe('scatterAdd: cpu equals reference bitwise', () => {
  it(
    'with duplicate indices (added in the same order), broadcast and strided sources',
    () => {
      const arb = indexedCase(FLOATS).chain(({ shape, dtype, axis, indexShape, indices }) =>
        fc
          .record({
            src: arbView(indexShape, dtype),
            initial: fc.array(arbValue(dtype, 'real', { specials: false }), { minLength: numel(shape), maxLength: numel(shape) }),
          })
          .map(({ src, initial }) => ({ shape, dtype, axis, indices, src, initial })),
      );
      fc.assert(
        fc.property(arb, ({ shape, dtype, axis, indices, src, initial }) => {
          const [mine, theirs] = both(
            () => {
              const t = allocate(dtype, numel(shape));
              t.set(initial);
              return t;
            },
            (be, target) => be.scatterAdd(target, shape, axis, indices, src),
          );
          assertSame(mine, theirs, 'bitwise', `scatterAdd axis ${axis} into [${shape}], index ${describeView(indices)}, src ${describeView(src)}`);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});

/** A softmax row: plain values in [−20, 20], masked (−1e4), fully masked (−Inf), partly −Inf, or holding NaN / +Inf. */
type RowKind = 'plain' | 'masked' | 'dead' | 'partlyDead' | 'nan' | 'inf';
function shapeRow(kind: RowKind, row: number[]): number[] {
  switch (kind) {
    case 'plain':
      return row;
    case 'masked':
      return row.map(() => -1e4);
    case 'dead':
      return row.map(() => -Infinity);
    case 'partlyDead':
      return row.map((v, j) => (j % 2 === 0 ? -Infinity : v));
    case 'nan':
      return row.map((v, j) => (j === row.length - 1 ? NaN : v));
    case 'inf':
      return row.map((v, j) => (j === 0 ? Infinity : v));
  }
}

function arbSoftmaxInput() {
  return fc.record({ shape: arbShape({ minRank: 1 }), dtype: arbFloat }).chain(({ shape, dtype }) => {
    const len = shape[shape.length - 1]!;
    const rows = len === 0 ? 0 : numel(shape) / len;
    const value = dtype === 'float64' ? fc.double({ min: -20, max: 20, noNaN: true }) : fc.float({ min: -20, max: 20, noNaN: true });
    const kind = fc.oneof(
      { weight: 6, arbitrary: fc.constant<RowKind>('plain') },
      { weight: 1, arbitrary: fc.constantFrom<RowKind>('masked', 'dead', 'partlyDead', 'nan', 'inf') },
    );
    return fc
      .record({
        layout: arbLayout(shape.length),
        values: fc.array(value, { minLength: numel(shape), maxLength: numel(shape) }),
        kinds: fc.array(kind, { minLength: rows, maxLength: rows }),
      })
      .map(
        ({ layout, values, kinds }) =>
          materialize(
            shape,
            layout,
            dtype,
            kinds.flatMap((k, r) => shapeRow(k, values.slice(r * len, (r + 1) * len))),
          ) as View<FloatStorage>,
      );
  });
}

describe('softmax: cpu equals reference (T32 / F64)', () => {
  it.each([false, true])(
    'log = %s, with masked, fully masked, NaN and Inf rows',
    (log) => {
      fc.assert(
        fc.property(arbSoftmaxInput(), (x) => {
          const out = allocate(dtypeOf(x.data), numel(x.shape)) as FloatStorage;
          againstOracle(
            [x],
            out,
            (be, [v], o) => be.softmax(v as View<FloatStorage>, o as FloatStorage, log),
            `${log ? 'logSoftmax' : 'softmax'} of ${describeView(x)}`,
          );
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );

  it.each(FLOATS)('documented rows (%s): −1e4 is uniform, fully −Infinity is NaN on both backends', (dtype) => {
    const rows = [
      [-1e4, -1e4, -1e4, -1e4],
      [-Infinity, -Infinity, -Infinity, -Infinity],
      [0, 1, 2, 3],
    ];
    const x = materialize([3, 4], plain(2), dtype, rows.flat());
    for (const be of [cpu, ref]) {
      const p = allocate(dtype, 12) as FloatStorage;
      const lp = allocate(dtype, 12) as FloatStorage;
      be.softmax(x as View<FloatStorage>, p, false);
      be.softmax(x as View<FloatStorage>, lp, true);
      assertSame(p.subarray(0, 4), [0.25, 0.25, 0.25, 0.25], T32, `${be.name} softmax of a −1e4 row`);
      assertSame(lp.subarray(0, 4), [-Math.log(4), -Math.log(4), -Math.log(4), -Math.log(4)], T32, `${be.name} logSoftmax of a −1e4 row`);
      assertSame(p.subarray(4, 8), [NaN, NaN, NaN, NaN], 'bitwise', `${be.name} softmax of a fully −Infinity row`);
      assertSame(lp.subarray(4, 8), [NaN, NaN, NaN, NaN], 'bitwise', `${be.name} logSoftmax of a fully −Infinity row`);
      expect(Array.from(p.subarray(8)).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    }
  });
});

/** a [...batchA, m, k] and b [...batchB, k, n], each in its own layout, batch axes broadcast (stride 0). */
function arbMatmul(maxDim: number, dtype: fc.Arbitrary<DType> = arbFloat) {
  const size = fc.integer({ min: 0, max: maxDim });
  return fc.record({ batch: arbBroadcastPair({ maxRank: 2, maxDim: 3 }), m: size, k: size, n: size, dtype }).chain(({ batch: [ba, bb], m, k, n, dtype }) => {
    const batch = broadcastShapes(ba, bb);
    return fc.tuple(arbView([...ba, m, k], dtype, finiteOracleValue(dtype)), arbView([...bb, k, n], dtype, finiteOracleValue(dtype))).map(([a, b]) => ({
      a: broadcastTo(a, [...batch, m, k]) as View<FloatStorage>,
      b: broadcastTo(b, [...batch, k, n]) as View<FloatStorage>,
      outSize: numel([...batch, m, n]),
    }));
  });
}

describe('matmul through the backend: cpu equals reference (T32 / F64)', () => {
  const check = ({ a, b, outSize }: { a: View<FloatStorage>; b: View<FloatStorage>; outSize: number }) => {
    const out = allocate(dtypeOf(a.data), outSize);
    againstOracle(
      [a, b],
      out,
      (be, [x, y], o) => be.matmul(x as View<FloatStorage>, y as View<FloatStorage>, o as FloatStorage),
      `matmul a ${describeView(a)} · b ${describeView(b)}`,
      true,
    );
  };

  it(
    'small: batched, broadcast batch, transposed, sliced and packed operands, empty dims',
    () => {
      fc.assert(fc.property(arbMatmul(5), check), { numRuns: RUNS * 3 });
    },
    TIMEOUT,
  );

  it(
    'large enough for the blocked/SIMD path (m·n·k up to 40³)',
    () => {
      fc.assert(fc.property(arbMatmul(40), check), { numRuns: 40 });
    },
    TIMEOUT,
  );
});

// ---- linear: x·Wᵀ + b with the bias fused into the GEMM ------------------------------

describe('linear (cpu only): equals the reference matmul then add (T32 / F64), and cpu matmul then add bitwise', () => {
  const transposed = (w: View<FloatStorage>): View<FloatStorage> => ({
    data: w.data,
    shape: [w.shape[1]!, w.shape[0]!],
    strides: [w.strides[1]!, w.strides[0]!],
    offset: w.offset,
  });
  /** matmul into a scratch output, then add the bias broadcast over rows: the composed form. */
  const composed = (be: Backend, [x, w, b]: View[], out: Storage) => {
    const [m, n] = [x!.shape[0]!, w!.shape[0]!];
    if (!b) return be.matmul(x as View<FloatStorage>, transposed(w as View<FloatStorage>), out as FloatStorage);
    const xw = allocate(dtypeOf(out), m * n) as FloatStorage;
    be.matmul(x as View<FloatStorage>, transposed(w as View<FloatStorage>), xw);
    be.binary('add', { data: xw, shape: [m, n], strides: [n, 1], offset: 0 }, { ...b, shape: [m, n], strides: [0, b.strides[0]!] }, out);
  };
  const arb = (max: number) =>
    fc
      .record({
        m: fc.integer({ min: 0, max }),
        n: fc.integer({ min: 0, max }),
        k: fc.integer({ min: 0, max }),
        dtype: fc.constantFrom(...FLOATS),
        withBias: fc.boolean(),
      })
      .chain(({ m, n, k, dtype, withBias }) =>
        fc.record({
          x: arbView([m, k], dtype, finiteOracleValue(dtype)),
          w: arbView([n, k], dtype, finiteOracleValue(dtype)),
          b: withBias ? arbView([n], dtype, finiteOracleValue(dtype)) : fc.constant(null),
        }),
      );
  const check = ({ x, w, b }: { x: View; w: View; b: View | null }) => {
    const size = x.shape[0]! * w.shape[0]!;
    const label = `linear x ${describeView(x)}, W ${describeView(w)}${b ? `, b ${describeView(b)}` : ''}`;
    const inputs = b ? [x, w, b] : [x, w];
    againstOracle(
      inputs,
      allocate(dtypeOf(x.data), size),
      (be, [xi, wi, bi], out) => {
        if (be === cpu) cpu.linear!(xi as View<FloatStorage>, wi as View<FloatStorage>, (bi ?? null) as View<FloatStorage> | null, out as FloatStorage);
        else composed(be, [xi!, wi!, bi!], out);
      },
      label,
      true,
    );
    const [mine, theirs] = both(
      () => allocate(dtypeOf(x.data), size),
      (be, out) =>
        be === cpu
          ? cpu.linear!(x as View<FloatStorage>, w as View<FloatStorage>, b as View<FloatStorage> | null, out as FloatStorage)
          : composed(cpu, inputs, out),
    );
    assertSame(mine, theirs, 'bitwise', `${label}: fused vs cpu matmul then add`);
  };
  it(
    'small, every layout (transposed and sliced operands, strided bias, empty dims)',
    () => {
      fc.assert(fc.property(arb(6), check), { numRuns: RUNS * 2 });
    },
    TIMEOUT,
  );
  it(
    'large enough for the SIMD path (up to 40³)',
    () => {
      fc.assert(fc.property(arb(40), check), { numRuns: 40 });
    },
    TIMEOUT,
  );
});

// ---- regressions --------------------------------------------------------------------

/** Deterministic values in [−2, 2] (a linear congruential generator): no Math.random in tests. */
function filled(dtype: DType, shape: Shape, seed: number): View {
  const values: number[] = [];
  let s = seed;
  for (let i = 0; i < numel(shape); i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values.push(Math.fround((s / 2 ** 32) * 4 - 2));
  }
  return materialize(shape, plain(shape.length), dtype, values);
}

describe('regressions', () => {
  it.each(FLOATS)('a reduction of length 1500 (%s), NaN past index 1000 included', (dtype) => {
    for (const [shape, axes] of [
      [[3, 1500], [1]],
      [[1500, 3], [0]],
      [[1500], [0]],
    ] as [number[], number[]][]) {
      const x = filled(dtype, shape, 7);
      for (const op of REDUCE_OPS) {
        const out = allocate(dtype, reducedSize(x, axes));
        againstOracle([x], out, (be, [v], o) => be.reduce(op, v!, axes, o), `reduce ${op} of [${shape}] over [${axes}]`);
      }
      const withNaN = { ...x, data: x.data.slice() };
      withNaN.data[shape[0] === 1500 ? 1200 * (shape[1] ?? 1) : 1200] = NaN; // element (1200, 0), (0, 1200) or (1200)
      for (const op of ['max', 'min'] as const) {
        const out = allocate(dtype, reducedSize(x, axes));
        cpu.reduce(op, withNaN, axes, out);
        expect(
          out.some((v) => Number.isNaN(v)),
          `${op} of [${shape}] with a NaN at 1200`,
        ).toBe(true);
      }
    }
  });

  it.each(FLOATS)('outputs larger than 16384 elements (%s)', (dtype) => {
    const x = filled(dtype, [2, 8300], 1);
    const y = filled(dtype, [2, 8300], 2);
    const n = 2 * 8300;
    let [mine, theirs] = both(
      () => allocate(dtype, n),
      (be, out) => be.unary('gelu', x, out, 0, 0),
    );
    assertSame(mine, theirs, 'bitwise', 'gelu of [2, 8300]');
    [mine, theirs] = both(
      () => allocate(dtype, n),
      (be, out) => be.binary('add', x, broadcastTo({ ...y, shape: [8300], strides: [1] }, [2, 8300]), out),
    );
    assertSame(mine, theirs, 'bitwise', 'add of [2, 8300] + [8300]');
    [mine, theirs] = both(
      () => allocate(dtype, n),
      (be, out) => be.copy({ ...x, shape: [8300, 2], strides: [1, 8300] }, out),
    );
    assertSame(mine, theirs, 'bitwise', 'copy of a transposed [8300, 2]');
    againstOracle([filled(dtype, [3, 17000], 3)], allocate(dtype, 17000), (be, [v], o) => be.reduce('sum', v!, [0], o), 'sum over axis 0 of [3, 17000]', true);
    // Past 64 Ki outputs the cpu reduction allocates its float64 accumulators per call.
    againstOracle([filled(dtype, [2, 70000], 6)], allocate(dtype, 70000), (be, [v], o) => be.reduce('max', v!, [0], o), 'max over axis 0 of [2, 70000]');
    againstOracle([x], allocate(dtype, n), (be, [v], o) => be.softmax(v as View<FloatStorage>, o as FloatStorage, false), 'softmax of [2, 8300]');
    const a = filled(dtype, [130, 8], 4);
    const b = filled(dtype, [8, 130], 5);
    againstOracle(
      [a, b],
      allocate(dtype, 130 * 130),
      (be, [p, q], o) => be.matmul(p as View<FloatStorage>, q as View<FloatStorage>, o as FloatStorage),
      'matmul [130, 8]·[8, 130]',
      true,
    );
  });
});

// ---- fused row normalisation (LayerNorm / RMSNorm): within tolerance -----------------

describe('normalize: cpu equals reference (T32 / F64)', () => {
  const arbRows = fc
    .record({ shape: arbShape({ minRank: 1 }), dtype: arbFloat, centered: fc.boolean(), eps: fc.constantFrom(1e-12, 1e-6, 1e-5) })
    .chain(({ shape, dtype, centered, eps }) => arbView(shape, dtype, finiteOracleValue(dtype)).map((x) => ({ x, centered, eps })));

  it(
    'forward: x̂ and 1/σ per row, over every layout',
    () => {
      fc.assert(
        fc.property(arbRows, ({ x, centered, eps }) => {
          const rows = numel(x.shape) / Math.max(1, x.shape[x.shape.length - 1]!);
          const [mine, theirs] = [cpu, ref].map((be) => {
            const single = be === cpu || !(x.data instanceof Float32Array);
            const out = allocate(single ? dtypeOf(x.data) : 'float64', numel(x.shape)) as FloatStorage;
            const rstd = allocate(single ? dtypeOf(x.data) : 'float64', rows) as FloatStorage;
            be.normalize((single ? x : widened(x)) as View<FloatStorage>, eps, centered, out, rstd);
            return [out, rstd] as const;
          });
          // x − mean cancels to ~0 on constant rows and is then scaled by 1/σ (up to 1/√eps):
          // bound x̂'s error by the size of the terms, max|x|·max(1/σ), not by the result.
          let maxX = 0;
          forEachOffset(x.shape, [x], ([o]) => (maxX = Math.max(maxX, Math.abs(x.data[o!]!))));
          const single = mine![0] instanceof Float32Array;
          const atol = (single ? 1e-5 : 1e-12) * maxX * Math.max(0, ...theirs![1]);
          assertSame(mine![0], theirs![0], { atol, rtol: single ? 1e-4 : 1e-12 }, `normalize x̂ of ${describeView(x)}`);
          assertSame(mine![1], theirs![1], toleranceFor(mine![1]), `normalize 1/σ of ${describeView(x)}`);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
  // The norms' backward is tensor ops in core/ops/nn.ts, one definition for every backend:
  // gradchecked (and compared across backends) in spec/ops.spec.ts. Its last step is combine.
});

describe('combine (a·x + b·y + c): cpu equals reference bitwise', () => {
  it(
    'over every layout, the coefficients broadcast as the norms pass them (one per row) or anyhow',
    () => {
      // Same operations in the same order (a·x, + b·y, + c, in doubles, one rounding at the store): bitwise.
      const arbCase = fc.record({ shape: arbShape({ minRank: 1 }), dtype: arbFloat, perRow: fc.boolean() }).chain(({ shape, dtype, perRow }) => {
        const coefficient = perRow ? [...shape.slice(0, -1), 1] : shape.map((d) => Math.max(d, 1));
        const side = (s: Shape) => arbView(s, dtype).map((v) => broadcastTo(v, shape));
        return fc.tuple(
          fc.constant(shape),
          arbView(shape, dtype),
          arbView(shape, dtype),
          side(coefficient),
          side(coefficient),
          side(perRow ? [] : coefficient),
        );
      });
      fc.assert(
        fc.property(arbCase, ([shape, x, y, a, b, c]) => {
          const [mine, theirs] = both(
            () => allocate(dtypeOf(x.data), numel(shape)),
            (be, out) =>
              be.combine(
                x as View<FloatStorage>,
                y as View<FloatStorage>,
                a as View<FloatStorage>,
                b as View<FloatStorage>,
                c as View<FloatStorage>,
                out as FloatStorage,
              ),
          );
          assertSame(
            mine,
            theirs,
            'bitwise',
            `combine of x ${describeView(x)}, y ${describeView(y)}, a ${describeView(a)}, b ${describeView(b)}, c ${describeView(c)}`,
          );
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});
