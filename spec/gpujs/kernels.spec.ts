/**
 * Kernel parity: every Backend method of the gpu.js backend equals the reference kernel
 * (run in float64 on the same values) within T32, in every gpu.js mode available here
 * (docs/TESTING.md §4 "Kernels (gpu.js vs CPU)"). Integer and bool results must be equal.
 *
 * Inputs come in random layouts (transposed, sliced with steps and an offset, broadcast
 * with stride 0, mixed) over fast-check shapes with odd sizes and size-1 axes, and in GL
 * modes each input is either a host array or already resident in a texture, so both ways
 * a kernel receives data are covered. Values are finite (GLSL leaves NaN/Inf unspecified;
 * see README "GPU backend (gpu.js)"). numRuns is small: each new shape compiles a new
 * kernel (20–100 ms on llvmpipe).
 *
 * Regressions: a reduction of length 1500 (gpu.js caps argument-bounded loops at 1000),
 * and outputs with a dimension > 16384 (WebGL's texture limit).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { allocate, type DType, type Storage } from '../../base/dtype.ts';
import { broadcastShapes, broadcastStrides, contiguousStrides, numel, type Shape } from '../../base/shape.ts';
import type { Backend } from '../../kernels/backend.ts';
import type { GpujsBackend } from '../../kernels/gpujs/index.ts';
import { referenceBackend } from '../../kernels/reference/index.ts';
import { BINARY, REDUCE, UNARY, type BinaryOp, type ReduceOp, type UnaryOp } from '../../kernels/scalar.ts';
import { forEachOffset, type View } from '../../kernels/view.ts';
import { arbBroadcastPair, arbShape } from '../kit/arbitraries.ts';
import { compare, T32, type Tolerance } from '../kit/close.ts';
import { glAvailableTest, loadGl, loadMode, outputFor, resident, skipWithoutGpujs } from './harness.ts';

const ref: Backend = referenceBackend;
const EXACT: Tolerance = Object.freeze({ name: 'exact', atol: 0, rtol: 0 });
const RUNS = Number(process.env.GPUJS_RUNS ?? 12);
const TIMEOUT = 240_000;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---- layouts and values -----------------------------------------------------------

interface Layout {
  perm: number[];
  steps: number[];
  starts: number[];
  broadcast: boolean[];
  base: number;
}

function arbLayout(rank: number, allowBroadcast = true): fc.Arbitrary<Layout> {
  const per = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: rank, maxLength: rank });
  const plain: Layout = {
    perm: range(rank),
    steps: range(rank).map(() => 1),
    starts: range(rank).map(() => 0),
    broadcast: range(rank).map(() => false),
    base: 0,
  };
  const perm = per(fc.nat({ max: 7 })).map((keys) => range(rank).sort((a, b) => keys[a]! - keys[b]! || a - b));
  return fc.oneof(
    fc.constant(plain),
    perm.map((p) => ({ ...plain, perm: p })),
    fc
      .record({ steps: per(fc.integer({ min: 1, max: 3 })), starts: per(fc.integer({ min: 0, max: 2 })), base: fc.integer({ min: 1, max: 3 }) })
      .map((s) => ({ ...plain, ...s })),
    ...(allowBroadcast ? [per(fc.boolean()).map((b) => ({ ...plain, broadcast: b }))] : []),
    fc
      .record({ perm, steps: per(fc.integer({ min: 1, max: 2 })), starts: per(fc.integer({ min: 0, max: 1 })), base: fc.integer({ min: 0, max: 2 }) })
      .map((m) => ({ ...plain, ...m })),
  );
}

/** A view of `shape` in `layout` over a padded buffer (padding holds a sentinel), reading `values` row-major. */
function materialize(shape: Shape, layout: Layout, dtype: DType, values: readonly number[]): View {
  const extent = shape.map((d, i) => (layout.broadcast[i] ? 1 : d * layout.steps[i]! + layout.starts[i]!));
  const physical = layout.perm.map((i) => extent[i]!);
  const ps = contiguousStrides(physical);
  const strideOf = new Array<number>(shape.length);
  layout.perm.forEach((axis, pos) => (strideOf[axis] = ps[pos]!));
  const strides = shape.map((_, i) => (layout.broadcast[i] ? 0 : strideOf[i]! * layout.steps[i]!));
  const offset = layout.base + shape.reduce((s, _, i) => s + (layout.broadcast[i] ? 0 : layout.starts[i]! * strideOf[i]!), 0);
  const data = allocate(dtype, layout.base + numel(physical)).fill(dtype === 'float32' ? 7777 : 77);
  const view: View = { data, shape, strides, offset };
  let k = 0;
  forEachOffset(shape, [view], ([o]) => (data[o!] = values[k++]!));
  return view;
}

type Domain = 'real' | 'positive' | 'int' | 'bool';
function arbValue(domain: Domain): fc.Arbitrary<number> {
  if (domain === 'int') return fc.integer({ min: -5, max: 5 });
  if (domain === 'bool') return fc.integer({ min: 0, max: 1 });
  const [min, max] = domain === 'positive' ? [0.1, 2] : [-2, 2];
  return fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true, noDefaultInfinity: true }).map((v) => (Math.abs(v) < 1e-6 ? 0 : v));
}

const dtypeOfDomain = (d: Domain): DType => (d === 'int' ? 'int32' : d === 'bool' ? 'bool' : 'float32');

/** A view of `shape`, random layout and values. */
function arbView(shape: Shape, domain: Domain = 'real', allowBroadcast = true): fc.Arbitrary<View> {
  const n = numel(shape);
  return fc
    .tuple(arbLayout(shape.length, allowBroadcast), fc.array(arbValue(domain), { minLength: n, maxLength: n }))
    .map(([l, v]) => materialize(shape, l, dtypeOfDomain(domain), v));
}

/** The same view over float64 data (the oracle's input). */
function as64(v: View): View {
  return v.data instanceof Float32Array ? { ...v, data: Float64Array.from(v.data) } : { ...v, data: v.data.slice() };
}

function broadcastTo(v: View, shape: Shape): View {
  return { ...v, shape, strides: broadcastStrides(v.shape, v.strides, shape) };
}

/**
 * T32 for float results (exact for int/bool). `scale`, when given, replaces max|r| in T32's
 * absolute term when it is larger: for results that are differences of much larger terms
 * (a matmul's sums, combine's a·x + b·y + c), float32 arithmetic errs relative to the terms,
 * not to the result (README "GPU backend (gpu.js)", precision).
 */
function check(actual: Storage, expected: Storage, label: string, scale = 0): void {
  const maxR = Array.from(expected).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const tol: Tolerance = !(expected instanceof Float64Array)
    ? EXACT
    : scale > maxR
      ? { name: `T32 (terms of magnitude ${scale.toPrecision(3)})`, atol: 1e-5 * scale, rtol: 1e-4 }
      : T32;
  const { ok, message } = compare(Array.from(actual), Array.from(expected), tol, { label });
  if (!ok) throw new Error(message);
}

const outDType = (expected: DType) => (expected === 'float64' ? 'float32' : expected);

// ---- the suite, per mode ------------------------------------------------------------------

const MODES = ['headlessgl', 'webasm', 'cpu'] as const;

describe.skipIf(skipWithoutGpujs('gpu.js kernels')).each(MODES)('gpu.js %s kernels equal the reference (T32)', (mode) => {
  let be: GpujsBackend | null = null;
  beforeAll(async () => {
    be = mode === 'headlessgl' ? await loadGl(`kernels ${mode}`) : (await loadMode(mode)).backend;
    if (!be && mode !== 'headlessgl') throw new Error(`gpu.js mode ${mode} should always load: ${(await loadMode(mode)).reason}`);
  }, TIMEOUT);

  it('is available here (headlessgl: required when REQUIRE_GL=1)', ({ skip }) =>
    mode === 'headlessgl' ? glAvailableTest(be, skip) : expect(be).not.toBeNull());

  /** Run `kernel` on gpu.js (inputs host or resident) and on the reference in float64, then compare. */
  function parity(
    label: string,
    dtype: DType,
    length: number,
    inputs: View[],
    residentFlags: boolean[],
    kernel: (b: Backend, views: View[], out: Storage) => void,
    scale = 0,
  ): void {
    const gpu = be!;
    const views = inputs.map((v, i) => (residentFlags[i] ? resident(gpu, v) : v));
    const { out, read } = outputFor(gpu, outDType(dtype), length);
    kernel(gpu, views, out);
    const expected = allocate(dtype, length);
    kernel(ref, inputs.map(as64), expected);
    check(read(), expected, `${mode} ${label}`, scale);
  }
  const flags = (n: number) => fc.array(fc.boolean(), { minLength: n, maxLength: n });
  const prop = (name: string, p: fc.IPropertyWithHooks<never> | fc.IAsyncPropertyWithHooks<never>) =>
    it(
      name,
      ({ skip }) => {
        if (!be) return skip();
        fc.assert(p as fc.IProperty<never>, { numRuns: RUNS });
      },
      TIMEOUT,
    );

  const POSITIVE: readonly UnaryOp[] = ['log', 'sqrt', 'rsqrt', 'powScalar'];
  const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
  const arbParams = (op: UnaryOp) =>
    op === 'powScalar'
      ? fc.tuple(fc.constantFrom(0, 1, 2, 3, 0.5, -1, 1.5), fc.constant(0))
      : op === 'clamp'
        ? fc.tuple(fc.constantFrom(-Infinity, -1, -0.5), fc.constantFrom(Infinity, 0.5, 1))
        : fc.constant([0, 0] as [number, number]);

  prop(
    'unary: every op of the scalar table',
    fc.property(
      fc.constantFrom(...UNARY_OPS).chain((op) =>
        fc.tuple(
          fc.constant(op),
          arbParams(op),
          arbShape({ maxRank: 3, minDim: 1 }).chain((s) => arbView(s, POSITIVE.includes(op) ? 'positive' : 'real')),
          flags(1),
        ),
      ),
      ([op, [p, q], x, r]) => parity(`unary ${op}`, 'float64', numel(x.shape), [x], r, (b, [v], out) => b.unary(op, v!, out, p, q)),
    ) as never,
  );

  prop(
    'unaryBackward: g · f′(x) for every op',
    fc.property(
      fc.constantFrom(...UNARY_OPS).chain((op) =>
        fc.tuple(
          fc.constant(op),
          arbParams(op),
          arbShape({ maxRank: 3, minDim: 1 }).chain((s) => fc.tuple(arbView(s, POSITIVE.includes(op) ? 'positive' : 'real'), arbView(s))),
          flags(2),
        ),
      ),
      ([op, [p, q], [x, g], r]) =>
        parity(`unaryBackward ${op}`, 'float64', numel(x.shape), [x, g], r, (b, [vx, vg], out) => b.unaryBackward(op, vx!, vg!, out, p, q)),
    ) as never,
  );

  prop(
    'binary: every op, broadcast pairs in both orders',
    fc.property(
      fc.constantFrom(...(Object.keys(BINARY) as BinaryOp[])).chain((op) => {
        const [da, db]: [Domain, Domain] =
          op === 'pow' ? ['positive', 'real'] : op === 'div' ? ['real', 'positive'] : op.startsWith('logical') ? ['bool', 'bool'] : ['real', 'real'];
        return fc.tuple(
          fc.constant(op),
          arbBroadcastPair({ maxRank: 3, minDim: 1 }).chain(([sa, sb]) => fc.tuple(arbView(sa, da), arbView(sb, db))),
          flags(2),
        );
      }),
      ([op, [a, b], r]) => {
        const shape = broadcastShapes(a.shape, b.shape);
        const isCmp = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'].includes(op);
        const dtype: DType = isCmp ? 'bool' : 'float64';
        parity(`binary ${op}`, dtype, numel(shape), [a, b], r, (be2, [va, vb], out) => be2.binary(op, broadcastTo(va!, shape), broadcastTo(vb!, shape), out));
      },
    ) as never,
  );

  prop(
    'where: cond ? a : b, all broadcast',
    fc.property(
      arbBroadcastPair({ maxRank: 3, minDim: 1 }).chain(([sa, sb]) => fc.tuple(arbView(broadcastShapes(sa, sb), 'bool'), arbView(sa), arbView(sb))),
      flags(3),
      ([c, a, b], r) => {
        const shape = broadcastShapes(c.shape, broadcastShapes(a.shape, b.shape));
        parity('where', 'float64', numel(shape), [c, a, b], r, (be2, [vc, va, vb], out) =>
          be2.where(broadcastTo(vc!, shape), broadcastTo(va!, shape), broadcastTo(vb!, shape), out),
        );
      },
    ) as never,
  );

  prop(
    'reduce: sum/max/min over any axes',
    fc.property(
      fc.constantFrom(...(Object.keys(REDUCE) as ReduceOp[])),
      arbShape({ maxRank: 4, minDim: 1, maxDim: 6 }).chain((s) => fc.tuple(arbView(s), fc.subarray(range(s.length)))),
      flags(1),
      (op, [x, axes], r) => {
        const outShape = x.shape.filter((_, i) => !axes.includes(i));
        // float32 sums err relative to their terms (max|x|), not to a result that cancelled.
        let terms = 0;
        forEachOffset(x.shape, [x], ([o]) => (terms = Math.max(terms, Math.abs(x.data[o!]!))));
        parity(`reduce ${op} [${axes}]`, 'float64', numel(outShape), [x], r, (b, [v], out) => b.reduce(op, v!, axes, out), op === 'sum' ? terms : 0);
      },
    ) as never,
  );

  prop(
    'argReduce: value and first index of max/min',
    fc.property(
      fc.constantFrom<'max' | 'min'>('max', 'min'),
      arbShape({ minRank: 1, maxRank: 3, minDim: 1 }).chain((s) => fc.tuple(arbView(s), fc.nat({ max: s.length - 1 }))),
      flags(1),
      (op, [x, axis], r) => {
        const n = numel(x.shape) / x.shape[axis]!;
        parity(`argReduce ${op} values`, 'float64', n, [x], r, (b, [v], out) => b.argReduce(op, v!, axis, out, new Int32Array(n)));
        parity(`argReduce ${op} indices`, 'int32', n, [x], r, (b, [v], out) => b.argReduce(op, v!, axis, allocate('float32', n), out as Int32Array));
      },
    ) as never,
  );

  prop(
    'matmul: batch broadcast, transposed and strided operands',
    fc.property(
      fc
        .record({
          batch: arbBroadcastPair({ maxRank: 2, minDim: 1, maxDim: 3 }),
          m: fc.integer({ min: 1, max: 7 }),
          k: fc.integer({ min: 0, max: 9 }),
          n: fc.integer({ min: 1, max: 7 }),
        })
        .chain(({ batch: [ba, bb], m, k, n }) => fc.tuple(arbView([...ba, m, k], 'real', false), arbView([...bb, k, n], 'real', false))),
      flags(2),
      ([a, b], r) => {
        const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
        const [m, k] = a.shape.slice(-2) as [number, number];
        const n = b.shape[b.shape.length - 1]!;
        const maxAbs = (v: View) => {
          let x = 0;
          forEachOffset(v.shape, [v], ([o]) => (x = Math.max(x, Math.abs(v.data[o!]!))));
          return x;
        };
        parity(
          'matmul',
          'float64',
          numel([...batch, m, n]),
          [a, b],
          r,
          (be2, [va, vb], out) => be2.matmul(broadcastTo(va!, [...batch, m, k]) as never, broadcastTo(vb!, [...batch, k, n]) as never, out as never),
          maxAbs(a) * maxAbs(b),
        );
      },
    ) as never,
  );

  prop(
    'copy: strided, with dtype conversion',
    fc.property(
      fc.constantFrom<[Domain, DType]>(['real', 'float64'], ['real', 'int32'], ['int', 'float64'], ['bool', 'float64'], ['int', 'int32']),
      arbShape({ maxRank: 3, minDim: 1 }),
      flags(1),
      ([from, to], s, r) =>
        fc.assert(
          fc.property(arbView(s, from), (x) => parity(`copy ${from}→${to}`, to, numel(s), [x], r, (b, [v], out) => b.copy(v!, out))),
          { numRuns: 1 },
        ),
    ) as never,
  );

  prop(
    'gather and scatterAdd along an axis',
    fc.property(
      arbShape({ minRank: 1, maxRank: 3, minDim: 1 }).chain((s) =>
        fc.nat({ max: s.length - 1 }).chain((axis) => {
          const ishape = s.map((d, i) => (i === axis ? d + 2 : Math.max(1, d - 1)));
          const index = fc
            .array(fc.nat({ max: s[axis]! - 1 }), { minLength: numel(ishape), maxLength: numel(ishape) })
            .map((v) => ({ data: Int32Array.from(v), shape: ishape, strides: contiguousStrides(ishape), offset: 0 }) as View);
          const start = fc.array(arbValue('real'), { minLength: numel(s), maxLength: numel(s) });
          return fc.tuple(fc.constant(axis), arbView(s), index, arbView(ishape, 'real', false), start);
        }),
      ),
      flags(4),
      ([axis, x, index, src, start], r) => {
        parity(`gather axis ${axis}`, 'float64', numel(index.shape), [x, index], r, (b, [vx, vi], out) => b.gather(vx!, axis, vi as never, out));
        const shape = x.shape;
        // scatterAdd adds into a contiguous target holding `start` (on the device when r[3]).
        // A slot's sum may cancel: float32 errs relative to its terms, which are at most
        // max|start| + Σ|src| in size, not relative to the result.
        let terms = start.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        forEachOffset(src.shape, [src], ([o]) => (terms += Math.abs(src.data[o!]!)));
        parity(
          `scatterAdd axis ${axis}`,
          'float64',
          start.length,
          [index, src],
          [r[1]!, r[2]!],
          (b, [vi, vs], out) => {
            if (b !== ref && r[3] && be!.onDevice) be!.copy({ data: Float32Array.from(start), shape: [start.length], strides: [1], offset: 0 }, out);
            else out.set(start);
            b.scatterAdd(out, shape, axis, vi as never, vs!);
          },
          terms,
        );
      },
    ) as never,
  );

  prop(
    'softmax and log-softmax along the last axis',
    fc.property(
      fc.boolean(),
      arbShape({ minRank: 1, maxRank: 3, minDim: 1, maxDim: 7 }).chain((s) => arbView(s)),
      flags(1),
      (log, x, r) => parity(`softmax log=${log}`, 'float64', numel(x.shape), [x], r, (b, [v], out) => b.softmax(v as never, out as never, log)),
    ) as never,
  );

  prop(
    "combine: a·x + b·y + c, the coefficients one per row (as the norms' VJP passes them)",
    fc.property(
      fc
        .integer({ min: 1, max: 6 })
        .chain((rows) =>
          fc
            .integer({ min: 1, max: 9 })
            .chain((len) => fc.tuple(arbView([rows, len]), arbView([rows, len]), arbView([rows, 1]), arbView([rows, 1]), arbView([rows, 1]))),
        ),
      flags(5),
      (views, r) => {
        const shape = views[0].shape;
        const [x, y, a, b, c] = views.map((v) => broadcastTo(v, shape));
        // a·x + b·y + c may cancel: float32 errs relative to the terms' size, not the result's.
        const maxAbs = (v: View) => {
          let m = 0;
          forEachOffset(v.shape, [v], ([o]) => (m = Math.max(m, Math.abs(v.data[o!]!))));
          return m;
        };
        const terms = maxAbs(a!) * maxAbs(x!) + maxAbs(b!) * maxAbs(y!) + maxAbs(c!);
        parity(
          'combine',
          'float64',
          numel(shape),
          [x!, y!, a!, b!, c!],
          r,
          (bk, [vx, vy, va, vb, vc], out) => bk.combine(vx as never, vy as never, va as never, vb as never, vc as never, out as never),
          terms,
        );
      },
    ) as never,
  );

  // The norms' backward is tensor ops in core/ops/nn.ts (one definition for every backend).
  prop(
    'normalize (LayerNorm and RMSNorm forward)',
    fc.property(
      fc.boolean(),
      fc.integer({ min: 1, max: 6 }).chain((rows) => fc.integer({ min: 2, max: 9 }).chain((len) => arbView([rows, len], 'real', false))),
      flags(1),
      (centered, x, r) => {
        const [rows, len] = x.shape as [number, number];
        const eps = 1e-5;
        // A nearly constant row cancels in x − mean and in the variance: float32 then errs
        // relative to the terms, not the result. Per row, the output's terms are
        // |x| / √(var + ε), and the variance errs by ≈ u·max x², which moves 1/√(var + ε) by
        // ≈ ½·u·max x²/(var + ε) relatively: the scales below bound both (u = 2⁻²⁴, with a
        // margin of about 300 against T32's 1e-5).
        let outTerms = 0;
        let rstdTerms = 0;
        for (let i = 0; i < rows; i++) {
          const row = Array.from({ length: len }, (_, j) => x.data[x.offset + i * x.strides[0]! + j * x.strides[1]!]!);
          const mean = centered ? row.reduce((a, v) => a + v, 0) / len : 0;
          const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / len;
          const maxAbs = Math.max(...row.map(Math.abs));
          outTerms = Math.max(outTerms, maxAbs / Math.sqrt(variance + eps));
          rstdTerms = Math.max(rstdTerms, maxAbs ** 2 / (variance + eps) / Math.sqrt(variance + eps));
        }
        parity(
          `normalize centered=${centered}`,
          'float64',
          rows * len,
          [x],
          r,
          (b, [v], out) => b.normalize(v as never, eps, centered, out as never, allocate(b === ref ? 'float64' : 'float32', rows) as never),
          outTerms,
        );
        parity(
          `normalize rstd centered=${centered}`,
          'float64',
          rows,
          [x],
          r,
          (b, [v], out) => b.normalize(v as never, eps, centered, allocate(b === ref ? 'float64' : 'float32', rows * len) as never, out as never),
          rstdTerms,
        );
      },
    ) as never,
  );

  it(
    'a reduction of length 1500 sums all 1500 terms (no 1000-iteration cap)',
    ({ skip }) => {
      if (!be) return skip();
      const n = 1500;
      const x: View = { data: Float32Array.from({ length: n }, (_, i) => 1 + (i % 7) / 8), shape: [n], strides: [1], offset: 0 };
      const { out, read } = outputFor(be, 'float32', 1);
      be.reduce('sum', x, [0], out);
      const expected = Array.from(x.data).reduce((s, v) => s + v, 0);
      check(read(), Float64Array.of(expected), 'sum of 1500');
      const soft = outputFor(be, 'float32', n);
      be.softmax(x as never, soft.out as never, false);
      expect(Array.from(soft.read()).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    },
    TIMEOUT,
  );

  it(
    'outputs with a dimension over 16384 are computed, not refused',
    ({ skip }) => {
      if (!be) return skip();
      const [rows, cols] = [2, 20000];
      const a = Float32Array.from({ length: rows * cols }, (_, i) => (i % 101) / 50 - 1);
      const x: View = { data: a, shape: [rows, cols], strides: [cols, 1], offset: 0 };
      // transposed read, output [20000, 2]
      const t: View = { data: a, shape: [cols, rows], strides: [1, cols], offset: 0 };
      const { out, read } = outputFor(be, 'float32', rows * cols);
      be.unary('neg', t, out, 0, 0);
      const got = read();
      for (const i of [0, 1, 2, 19999 * 2, 19999 * 2 + 1, 12345 * 2 + 1]) expect(got[i]).toBe(-a[(i % 2) * cols + Math.floor(i / 2)]!);
      // a matmul whose output is [2, 20000] and a softmax over 20000 logits
      const w: View = { data: Float32Array.from({ length: 3 * cols }, (_, i) => ((i * 7) % 13) / 13), shape: [3, cols], strides: [cols, 1], offset: 0 };
      const lhs: View = { data: Float32Array.of(1, 0, 2, 0, 1, 1), shape: [2, 3], strides: [3, 1], offset: 0 };
      const mm = outputFor(be, 'float32', rows * cols);
      be.matmul(lhs as never, w as never, mm.out as never);
      const expectedMm = new Float64Array(rows * cols);
      ref.matmul(as64(lhs) as never, as64(w) as never, expectedMm);
      check(mm.read(), expectedMm, 'matmul [2,3]@[3,20000]');
      const sm = outputFor(be, 'float32', rows * cols);
      be.softmax(x as never, sm.out as never, true);
      const expectedSm = new Float64Array(rows * cols);
      ref.softmax(as64(x) as never, expectedSm, true);
      check(sm.read(), expectedSm, 'logSoftmax over 20000');
    },
    TIMEOUT,
  );

  it("reports its mode and 'single' precision", ({ skip }) => {
    if (!be) return skip();
    expect(be.mode).toBe(mode);
    expect(be.precision).toBe('single');
    expect(be.onDevice).toBe(mode === 'headlessgl');
  });
});
