/**
 * The op table: one entry per differentiable op, each a fast-check arbitrary of cases
 * (float64 inputs + how to call the op + optionally a naive forward). The generic
 * suite in ops.spec.ts runs every entry through gradcheck, the naive forward, the
 * view-equivalence check and the reference backend. An op exported from core/ops
 * without an entry here (or a reasoned exemption) fails ops.spec.ts.
 */
import fc from 'fast-check';
import * as sg from '../index.ts';
import { noGrad, Tensor, tensor } from '../index.ts';
import { arbAxis, arbBroadcastPair, arbMatmulShapes, arbShape, arbTensor } from './kit/index.ts';
import * as naive from './naive.ts';
import { erf } from '../kernels/erf.ts';
import { scatterAddToZeros } from '../core/ops/indexing.ts';

export interface OpCase {
  /** float64 tensors; those listed in `nondifferentiable` may be any dtype. */
  inputs: Tensor[];
  run: (...xs: Tensor[]) => Tensor;
  /** Independent forward, when the op has a simple one. */
  naive?: (...xs: naive.Dense[]) => naive.Dense;
  nondifferentiable?: number[];
  /** The op refuses non-contiguous inputs with a ShapeError (view). */
  contiguousOnly?: boolean;
  /**
   * The op sums in another order than its naive reference (or the view / backend twin):
   * compared within a bound of ≈ 1e-12 scaled by the size of the terms (ops.spec.ts, sums()),
   * not to the last bit.
   */
  approximate?: boolean;
}

export interface OpEntry {
  name: string;
  cases: fc.Arbitrary<OpCase>;
}

// ---- input shaping --------------------------------------------------------------------

/** Values at least 0.1 away from 0, for ops with a kink or pole there (abs, sign, relu, div). */
const awayFromZero = (t: Tensor) => noGrad(() => sg.where(t.ge(0), t.add(0.1), t.sub(0.1)));
/** Distinct values (ties make max/min's numerical derivative differ from torch's even split). */
const distinct = (t: Tensor) => noGrad(() => t.add(sg.arange(t.numel, undefined, 1, { dtype: 'float64' }).mul(1e-3).reshape(t.shape)));
/** Values rounded to a 0.1 grid (a) or to that grid shifted by 0.05 (b): never tied, at least 0.05 apart. */
const gridded = (shift: number) => (t: Tensor) =>
  Tensor.fromStorage(
    Float64Array.from(t.toTypedArray() as Float64Array, (v) => Math.round(v * 10) / 10 + shift),
    t.shape,
  );
/** A ramp 0, 1, 2, … in `shape` with `like`'s dtype: multiplying by it makes every position's gradient distinct. */
const ramp = (shape: readonly number[], like: Tensor) =>
  sg
    .arange(
      shape.reduce((p, d) => p * d, 1),
      undefined,
      1,
      { dtype: like.dtype },
    )
    .reshape(shape);
/** The same ramp as plain values, for the naive forwards. */
const rampDense = (shape: readonly number[]): naive.Dense => ({
  shape: [...shape],
  values: Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => i),
});
const positive = (shape = arbShape()) => arbTensor({ shape, min: 0.1, max: 2 });
const any = (shape: fc.Arbitrary<readonly number[]> | readonly number[] = arbShape()) => arbTensor({ shape });
const nonEmpty = arbShape({ minRank: 1, minDim: 1, maxDim: 4 });

const withAxis = (shape: fc.Arbitrary<readonly number[]>) => shape.chain((s) => fc.record({ x: any(s), axis: arbAxis(s.length), keepdim: fc.boolean() }));

// ---- families --------------------------------------------------------------------------

function unary(name: string, f: (x: number) => number, op: (x: Tensor) => Tensor, domain: 'any' | 'positive' | 'kink' = 'any'): OpEntry {
  const input = domain === 'positive' ? positive() : domain === 'kink' ? any().map(awayFromZero) : any();
  return { name, cases: input.map((x) => ({ inputs: [x], run: op, naive: (d) => naive.map(d, f) })) };
}

/** Binary ops over broadcast pairs, in both orders, and with a JS-number operand. */
function binary(
  name: string,
  f: (a: number, b: number) => number,
  op: (a: Tensor | number, b: Tensor | number) => Tensor,
  prep: { a?: (t: Tensor) => Tensor; b?: (t: Tensor) => Tensor; scalar?: (s: number) => number; low?: number } = {},
): OpEntry {
  const pa = prep.a ?? ((t) => t);
  const pb = prep.b ?? ((t) => t);
  const low = prep.low ?? -2;
  const tensors = arbBroadcastPair().chain(([sa, sb]) => fc.tuple(arbTensor({ shape: sa, min: low }), arbTensor({ shape: sb, min: low })));
  const tensorCase = tensors.map(([a, b]): OpCase => ({ inputs: [pa(a), pb(b)], run: (x, y) => op(x!, y!), naive: (x, y) => naive.zip(x!, y!, f) }));
  // float32-representable scalars, so the float32 run and the float64 run see the same operand
  const scalar = fc
    .double({ min: 0.5, max: 2, noNaN: true })
    .map(prep.scalar ?? ((v) => v))
    .map(Math.fround);
  const scalarCase = fc
    .tuple(arbTensor({ min: low }), scalar, fc.boolean())
    .map(
      ([a, s, left]): OpCase =>
        left
          ? { inputs: [pb(a)], run: (x) => op(s, x!), naive: (x) => naive.map(x!, (v) => f(s, v)) }
          : { inputs: [pa(a)], run: (x) => op(x!, s), naive: (x) => naive.map(x!, (v) => f(v, s)) },
    );
  return { name, cases: fc.oneof(tensorCase, scalarCase) };
}

/** Reductions over a random subset of axes (undefined: all of them), with and without keepdim. */
function reduction(
  name: string,
  op: (x: Tensor, axes: number[] | undefined, keepdim: boolean) => Tensor,
  f: (vs: number[]) => number,
  options: { shape?: fc.Arbitrary<number[]>; minAxes?: number } = {},
): OpEntry {
  const shape = options.shape ?? arbShape({ maxDim: 4 });
  const cases = shape
    .chain((s) => {
      const subset = fc.subarray(
        s.map((_, i) => i),
        { minLength: Math.min(options.minAxes ?? 0, s.length) },
      );
      return fc.record({ x: any(s), axes: options.minAxes ? subset : fc.option(subset, { nil: undefined }), keepdim: fc.boolean() });
    })
    .map(
      ({ x, axes, keepdim }): OpCase => ({
        inputs: [x],
        run: (t) => op(t!, axes, keepdim),
        naive: (d) => naive.reduce(d!, axes ?? d!.shape.map((_, i) => i), keepdim, f),
        approximate: true,
      }),
    );
  return { name, cases };
}

const sumOf = (vs: number[]) => vs.reduce((p, v) => p + v, 0);
const meanOf = (vs: number[]) => sumOf(vs) / vs.length;

// ---- the table ---------------------------------------------------------------------------

export const OPS: OpEntry[] = [
  unary(
    'neg',
    (v) => -v,
    (x) => x.neg(),
  ),
  unary('abs', Math.abs, (x) => x.abs(), 'kink'),
  unary('sign', Math.sign, (x) => x.sign(), 'kink'),
  unary('exp', Math.exp, (x) => x.exp()),
  unary('log', Math.log, (x) => x.log(), 'positive'),
  unary('sqrt', Math.sqrt, (x) => x.sqrt(), 'positive'),
  unary(
    'rsqrt',
    (v) => 1 / Math.sqrt(v),
    (x) => x.rsqrt(),
    'positive',
  ),
  unary('sin', Math.sin, (x) => x.sin()),
  unary('cos', Math.cos, (x) => x.cos()),
  unary('tanh', Math.tanh, (x) => x.tanh()),
  unary(
    'sigmoid',
    (v) => 1 / (1 + Math.exp(-v)),
    (x) => x.sigmoid(),
  ),
  unary(
    'relu',
    (v) => Math.max(v, 0),
    (x) => x.relu(),
    'kink',
  ),
  unary('erf', erf, (x) => x.erf()),
  unary(
    'gelu',
    (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
    (x) => x.gelu(),
  ),
  unary(
    'geluTanh',
    (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    (x) => x.gelu('tanh'),
  ),
  unary(
    'silu',
    (v) => v / (1 + Math.exp(-v)),
    (x) => x.silu(),
  ),
  {
    name: 'clamp',
    cases: fc.tuple(any().map(awayFromZero), fc.boolean()).map(([x, open]) => ({
      inputs: [x],
      // bounds ±0.05 sit inside the gap awayFromZero leaves, so no value lies on a bound
      run: (t: Tensor) => (open ? t.clamp(-0.05) : t.clamp(-0.05, 0.05)),
      naive: (d: naive.Dense) => naive.map(d, (v) => Math.min(Math.max(v, -0.05), open ? Infinity : 0.05)),
    })),
  },
  {
    name: 'powScalar',
    cases: fc
      .tuple(positive(), fc.constantFrom(0, 1, 2, 0.5, -1.5, 3))
      .map(([x, p]) => ({ inputs: [x], run: (t: Tensor) => t.pow(p), naive: (d: naive.Dense) => naive.map(d, (v) => v ** p) })),
  },

  binary('add', (a, b) => a + b, sg.add),
  binary('sub', (a, b) => a - b, sg.sub),
  binary('mul', (a, b) => a * b, sg.mul),
  binary('div', (a, b) => a / b, sg.div, { b: awayFromZero }),
  binary('pow', (a, b) => a ** b, sg.pow, { low: 0.1 }),
  binary('maximum', Math.max, sg.maximum, { a: gridded(0), b: gridded(0.05), scalar: (v) => Math.round(v * 10) / 10 + 0.025 }),
  binary('minimum', Math.min, sg.minimum, { a: gridded(0), b: gridded(0.05), scalar: (v) => Math.round(v * 10) / 10 + 0.025 }),
  {
    name: 'where',
    cases: arbBroadcastPair()
      .chain(([sa, sb]) => fc.tuple(any(sa), any(sb), any(naive.broadcastShape(sa, sb))))
      .map(([a, b, c]) => ({
        inputs: [a, b, c.gt(0)],
        nondifferentiable: [2],
        run: (x: Tensor, y: Tensor, cond: Tensor) => sg.where(cond, x, y),
        naive: (x: naive.Dense, y: naive.Dense, cond: naive.Dense) => {
          const shape = naive.broadcastShape(naive.broadcastShape(x.shape, y.shape), cond.shape);
          return { shape, values: naive.indices(shape).map((i) => (naive.atBroadcast(cond, i) ? naive.atBroadcast(x, i) : naive.atBroadcast(y, i))) };
        },
      })),
  },

  reduction('sum', (x, axes, k) => x.sum(axes, k), sumOf),
  reduction('mean', (x, axes, k) => x.mean(axes, k), meanOf, { shape: arbShape({ minDim: 1, maxDim: 4 }) }),
  // unbiased variance needs ≥ 2 elements per group: rank ≥ 1, dims ≥ 2, at least one axis
  reduction(
    'var',
    (x, axes, k) => x.var(axes, { keepdim: k, unbiased: true }),
    (vs) => sumOf(vs.map((v) => (v - meanOf(vs)) ** 2)) / (vs.length - 1),
    { shape: arbShape({ minRank: 1, minDim: 2, maxDim: 4 }), minAxes: 1 },
  ),
  reduction(
    'varBiased',
    (x, axes, k) => x.var(axes, { keepdim: k, unbiased: false }),
    (vs) => sumOf(vs.map((v) => (v - meanOf(vs)) ** 2)) / vs.length,
    { shape: arbShape({ minDim: 1, maxDim: 4 }) },
  ),
  reduction(
    'logsumexp',
    (x, axes, k) => x.logsumexp(axes ?? x.shape.map((_, i) => i), k),
    (vs) => Math.log(sumOf(vs.map(Math.exp))),
    { shape: arbShape({ minDim: 1, maxDim: 4 }) },
  ),
  {
    name: 'max',
    cases: any(nonEmpty)
      .map(distinct)
      .map((x) => ({ inputs: [x], run: (t: Tensor) => t.max(), naive: (d: naive.Dense) => ({ shape: [], values: [Math.max(...d.values)] }) })),
  },
  {
    name: 'min',
    cases: any(nonEmpty)
      .map(distinct)
      .map((x) => ({ inputs: [x], run: (t: Tensor) => t.min(), naive: (d: naive.Dense) => ({ shape: [], values: [Math.min(...d.values)] }) })),
  },
  {
    name: 'maxAlong',
    cases: withAxis(nonEmpty).map(({ x, axis, keepdim }) => ({
      inputs: [distinct(x)],
      run: (t: Tensor) => t.max(axis, keepdim).values,
      naive: (d: naive.Dense) => naive.reduce(d, [naive.axisOf(axis, d.shape.length)], keepdim, (vs) => Math.max(...vs)),
    })),
  },
  {
    name: 'minAlong',
    cases: withAxis(nonEmpty).map(({ x, axis, keepdim }) => ({
      inputs: [distinct(x)],
      run: (t: Tensor) => t.min(axis, keepdim).values,
      naive: (d: naive.Dense) => naive.reduce(d, [naive.axisOf(axis, d.shape.length)], keepdim, (vs) => Math.min(...vs)),
    })),
  },

  {
    name: 'reshape',
    cases: any().map((x) => ({
      inputs: [x],
      run: (t: Tensor) => t.reshape([-1]).reshape([...x.shape].reverse()),
      naive: (d: naive.Dense) => ({ shape: [...d.shape].reverse(), values: d.values }),
    })),
  },
  {
    name: 'view',
    cases: any().map((x) => ({
      inputs: [x],
      run: (t: Tensor) => t.view([x.numel]),
      contiguousOnly: true,
      naive: (d: naive.Dense) => ({ shape: [d.values.length], values: d.values }),
    })),
  },
  {
    name: 'flatten',
    cases: any(arbShape({ minRank: 1 })).map((x) => ({
      inputs: [x],
      run: (t: Tensor) => t.flatten(),
      naive: (d: naive.Dense) => ({ shape: [d.values.length], values: d.values }),
    })),
  },
  {
    name: 'permute',
    cases: arbShape()
      .chain((s) =>
        fc.tuple(
          any(s),
          fc.shuffledSubarray(
            s.map((_, i) => i),
            { minLength: s.length, maxLength: s.length },
          ),
        ),
      )
      .map(([x, order]) => ({
        inputs: [x],
        // a reduction after the permute makes the gradient non-uniform in position
        run: (t: Tensor) =>
          t.permute(order).mul(
            ramp(
              order.map((a) => x.shape[a]!),
              t,
            ),
          ),
        naive: (d: naive.Dense) => naive.zip(naive.permute(d, order), rampDense(order.map((a) => x.shape[a]!)), (u, v) => u * v),
      })),
  },
  {
    name: 'transpose',
    cases: withAxis(arbShape({ minRank: 2 })).chain(({ x, axis }) =>
      arbAxis(x.rank).map((b) => ({
        inputs: [x],
        run: (t: Tensor) => t.transpose(axis, b).exp(),
        naive: (d: naive.Dense) => naive.map(naive.transpose(d, axis, b), Math.exp),
      })),
    ),
  },
  {
    name: 'expand',
    cases: arbBroadcastPair()
      .map(([a, b]) => [a, naive.broadcastShape(a, b)] as const)
      .chain(([a, target]) =>
        any(a).map((x) => ({
          inputs: [x],
          run: (t: Tensor) => t.expand(target).mul(ramp(target, t)),
          naive: (d: naive.Dense) => naive.zip(naive.expand(d, target), rampDense(target), (u, v) => u * v),
        })),
      ),
  },
  {
    name: 'squeeze',
    cases: any(arbShape({ maxDim: 2 })).map((x) => ({
      inputs: [x],
      run: (t: Tensor) => t.squeeze().exp(),
      naive: (d: naive.Dense) =>
        naive.map(
          naive.withShape(
            d,
            d.shape.filter((s) => s !== 1),
          ),
          Math.exp,
        ),
    })),
  },
  {
    name: 'unsqueeze',
    cases: arbShape()
      .chain((s) => fc.tuple(any(s), fc.integer({ min: -s.length - 1, max: s.length })))
      .map(([x, axis]) => ({
        inputs: [x],
        run: (t: Tensor) => t.unsqueeze(axis).exp(),
        naive: (d: naive.Dense) => {
          const at = axis < 0 ? axis + d.shape.length + 1 : axis;
          return naive.map(naive.withShape(d, [...d.shape.slice(0, at), 1, ...d.shape.slice(at)]), Math.exp);
        },
      })),
  },
  {
    name: 'slice',
    cases: withAxis(nonEmpty).chain(({ x, axis }) =>
      fc.tuple(fc.integer({ min: -6, max: 6 }), fc.integer({ min: -6, max: 6 }), fc.integer({ min: 1, max: 3 })).map(([s, e, step]) => ({
        inputs: [x],
        run: (t: Tensor) => t.slice(axis, s, e, step).exp(),
        naive: (d: naive.Dense) => naive.map(naive.slice(d, axis, s, e, step), Math.exp),
      })),
    ),
  },
  {
    name: 'narrow',
    cases: withAxis(nonEmpty).chain(({ x, axis }) => {
      const n = x.shape[naive.axisOf(axis, x.rank)]!;
      return fc.integer({ min: 0, max: n }).chain((start) =>
        fc.integer({ min: 0, max: n - start }).map((len) => ({
          inputs: [x],
          run: (t: Tensor) => t.narrow(axis, start, len).exp(),
          naive: (d: naive.Dense) =>
            naive.map(
              naive.indexSelect(
                d,
                axis,
                Array.from({ length: len }, (_, i) => start + i),
              ),
              Math.exp,
            ),
        })),
      );
    }),
  },
  {
    name: 'cat',
    cases: fc.tuple(arbShape({ minRank: 1 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).chain(([s, n1, n2]) => {
      const axis = s.length - 1;
      const other = (n: number) => s.map((d, i) => (i === axis ? n : d));
      return fc.tuple(any(s), any(other(n1)), any(other(n2))).map((xs) => ({
        inputs: xs,
        run: (...ts: Tensor[]) => sg.cat(ts, axis).exp(),
        naive: (...ds: naive.Dense[]) => naive.map(naive.cat(ds, axis), Math.exp),
      }));
    }),
  },
  {
    name: 'stack',
    cases: arbShape()
      .chain((s) => fc.tuple(any(s), any(s), arbAxis(s.length + 1)))
      .map(([a, b, axis]) => ({
        inputs: [a, b],
        run: (x: Tensor, y: Tensor) => sg.stack([x, y], axis).exp(),
        naive: (x: naive.Dense, y: naive.Dense) => naive.map(naive.stack([x, y], axis), Math.exp),
      })),
  },
  {
    name: 'split',
    cases: withAxis(nonEmpty).chain(({ x, axis }) =>
      fc.integer({ min: 1, max: 4 }).map((size) => ({
        inputs: [x],
        run: (t: Tensor) =>
          sg.cat(
            t.split(size, axis).map((p, i) => p.mul(i + 1)),
            axis,
          ),
        naive: (d: naive.Dense) => naive.alongAxis(d, axis, (line) => line.map((v, p) => v * (Math.floor(p / size) + 1))),
      })),
    ),
  },
  {
    name: 'chunk',
    cases: withAxis(nonEmpty).chain(({ x, axis }) =>
      fc.integer({ min: 1, max: 4 }).map((n) => ({
        inputs: [x],
        run: (t: Tensor) =>
          sg.cat(
            t.chunk(n, axis).map((p, i) => p.mul(i + 1)),
            axis,
          ),
        // torch's rule: chunks of ceil(length / n) (fewer chunks when that does not divide evenly)
        naive: (d: naive.Dense) => naive.alongAxis(d, axis, (line) => line.map((v, p) => v * (Math.floor(p / Math.ceil(line.length / n)) + 1))),
      })),
    ),
  },
  { name: 'clone', cases: any().map((x) => ({ inputs: [x], run: (t: Tensor) => t.clone(), naive: (d: naive.Dense) => d })) },

  {
    name: 'matmul',
    cases: arbMatmulShapes()
      .chain(([sa, sb]) => fc.tuple(any(sa), any(sb)))
      .map(([a, b]) => ({
        inputs: [a, b],
        run: (x: Tensor, y: Tensor) => x.matmul(y),
        naive: (x: naive.Dense, y: naive.Dense) => naive.matmul(x, y),
        approximate: true,
      })),
  },

  {
    name: 'gather',
    cases: withAxis(nonEmpty).chain(({ x, axis }) => {
      const a = naive.axisOf(axis, x.rank);
      const idxShape = x.shape.map((d, i) => (i === a ? 3 : d));
      return fc
        .array(fc.integer({ min: 0, max: x.shape[a]! - 1 }), { minLength: idxShape.reduce((p, d) => p * d, 1), maxLength: idxShape.reduce((p, d) => p * d, 1) })
        .map((ids) => ({
          inputs: [x, tensor(Int32Array.from(ids), { shape: idxShape })],
          nondifferentiable: [1],
          run: (t: Tensor, i: Tensor) => t.gather(a, i),
          naive: (d: naive.Dense, i: naive.Dense) => naive.gather(d, a, i),
        }));
    }),
  },
  {
    name: 'indexSelect',
    cases: withAxis(nonEmpty).chain(({ x, axis }) => {
      const n = x.shape[naive.axisOf(axis, x.rank)]!;
      return fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 5 }).map((ids) => ({
        inputs: [x, tensor(Int32Array.from(ids))],
        nondifferentiable: [1],
        run: (t: Tensor, i: Tensor) => t.indexSelect(axis, i),
        naive: (d: naive.Dense) => naive.indexSelect(d, axis, ids),
      }));
    }),
  },
  {
    name: 'scatterAdd',
    cases: withAxis(nonEmpty).chain(({ x, axis }) => {
      const a = naive.axisOf(axis, x.rank);
      const idxShape = x.shape.map((d, i) => (i === a ? 4 : d));
      const count = idxShape.reduce((p, d) => p * d, 1);
      return fc.tuple(fc.array(fc.integer({ min: 0, max: x.shape[a]! - 1 }), { minLength: count, maxLength: count }), any(idxShape)).map(([ids, src]) => ({
        inputs: [x, src, tensor(Int32Array.from(ids), { shape: idxShape })],
        nondifferentiable: [2],
        run: (t: Tensor, s: Tensor, i: Tensor) => t.scatterAdd(a, i, s),
        naive: (d: naive.Dense, s: naive.Dense, i: naive.Dense) => naive.scatterAdd(d, a, i, s),
        approximate: true, // duplicate indices add in another order
      }));
    }),
  },
  {
    // Zeros shaped like x (its values are not read) with src scattered in: gather's and max's gradient.
    name: 'scatterAddToZeros',
    cases: withAxis(nonEmpty).chain(({ x, axis }) => {
      const a = naive.axisOf(axis, x.rank);
      const idxShape = x.shape.map((d, i) => (i === a ? 4 : d));
      const count = idxShape.reduce((p, d) => p * d, 1);
      return fc.tuple(fc.array(fc.integer({ min: 0, max: x.shape[a]! - 1 }), { minLength: count, maxLength: count }), any(idxShape)).map(([ids, src]) => ({
        inputs: [x, src, tensor(Int32Array.from(ids), { shape: idxShape })],
        nondifferentiable: [0, 2],
        run: (t: Tensor, s: Tensor, i: Tensor) => scatterAddToZeros(t, a, i, s),
        naive: (d: naive.Dense, s: naive.Dense, i: naive.Dense) => naive.scatterAdd({ shape: d.shape, values: d.values.map(() => 0) }, a, i, s),
        approximate: true, // duplicate indices add in another order
      }));
    }),
  },
  {
    name: 'maskedFill',
    cases: arbBroadcastPair()
      .chain(([s, m]) => fc.tuple(any(naive.broadcastShape(s, m)), any(m)))
      .map(([x, m]) => ({
        inputs: [x, m.gt(0)],
        nondifferentiable: [1],
        run: (t: Tensor, mask: Tensor) => t.maskedFill(mask, -3),
        naive: (d: naive.Dense, mask: naive.Dense) => naive.maskedFill(d, mask, -3),
      })),
  },
  {
    name: 'tril',
    cases: fc
      .tuple(any(arbShape({ minRank: 2 })), fc.integer({ min: -2, max: 2 }))
      .map(([x, k]) => ({ inputs: [x], run: (t: Tensor) => t.tril(k), naive: (d: naive.Dense) => naive.triangle(d, k, true) })),
  },
  {
    name: 'triu',
    cases: fc
      .tuple(any(arbShape({ minRank: 2 })), fc.integer({ min: -2, max: 2 }))
      .map(([x, k]) => ({ inputs: [x], run: (t: Tensor) => t.triu(k), naive: (d: naive.Dense) => naive.triangle(d, k, false) })),
  },

  {
    name: 'softmax',
    cases: withAxis(arbShape()).map(({ x, axis }) => ({
      inputs: [x],
      run: (t: Tensor) => t.softmax(axis),
      naive: (d: naive.Dense) => naive.softmax(d, axis),
      approximate: true,
    })),
  },
  {
    name: 'logSoftmax',
    cases: withAxis(arbShape()).map(({ x, axis }) => ({
      inputs: [x],
      run: (t: Tensor) => t.logSoftmax(axis),
      naive: (d: naive.Dense) => naive.logSoftmax(d, axis),
      approximate: true,
    })),
  },
  {
    name: 'layerNorm',
    cases: arbShape({ minRank: 1, minDim: 2, maxDim: 4 }).chain((s) => {
      const normalized = s.slice(-1);
      return fc.tuple(any(s), any(normalized), any(normalized)).map(([x, w, b]) => ({
        inputs: [x, w, b],
        run: (t: Tensor, weight: Tensor, bias: Tensor) => sg.layerNorm(t, normalized, weight, bias, 1e-5),
        naive: (d: naive.Dense, w: naive.Dense, b: naive.Dense) => naive.normalizeLast(d, w, b, 1e-5),
        approximate: true,
      }));
    }),
  },
  {
    name: 'rmsNorm',
    cases: arbShape({ minRank: 1, minDim: 1, maxDim: 4 })
      .chain((s) => fc.tuple(any(s), any(s.slice(-1))))
      .map(([x, w]) => ({
        inputs: [x, w],
        run: (t: Tensor, weight: Tensor) => sg.rmsNorm(t, weight, 1e-6),
        naive: (d: naive.Dense, w: naive.Dense) => naive.normalizeLast(d, w, null, 1e-6),
        approximate: true,
      })),
  },
  {
    name: 'dropout',
    cases: fc.tuple(any(), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0, 0.3, 0.5)).map(([x, seed, p]) => ({
      inputs: [x],
      // the same seed inside fn: every evaluation draws the same mask
      run: (t: Tensor) => sg.dropout(t, p, { generator: new sg.Generator(seed) }),
    })),
  },
  {
    name: 'embedding',
    cases: fc.tuple(any(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 3 }))), arbShape({ maxRank: 2 })).chain(([w, idShape]) => {
      const n = idShape.reduce((p, d) => p * d, 1);
      return fc.array(fc.integer({ min: 0, max: w.shape[0]! - 1 }), { minLength: n, maxLength: n }).map((ids) => ({
        inputs: [w, tensor(Int32Array.from(ids), { shape: idShape })],
        nondifferentiable: [1],
        run: (weight: Tensor, i: Tensor) => sg.embedding(weight, i),
        naive: (w: naive.Dense, i: naive.Dense) => naive.embedding(w, i),
      }));
    }),
  },
  {
    name: 'crossEntropy',
    cases: fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'))
      .chain(([n, c, reduction]) =>
        fc
          .tuple(any([n, c]), fc.array(fc.oneof(fc.integer({ min: 0, max: c - 1 }), fc.constant(-100)), { minLength: n, maxLength: n }))
          .map(([logits, targets]) => ({
            inputs: [logits, tensor(Int32Array.from(targets.every((t) => t === -100) ? [0, ...targets.slice(1)] : targets))],
            nondifferentiable: [1],
            run: (l: Tensor, t: Tensor) => sg.crossEntropy(l, t, { reduction }),
            naive: (l: naive.Dense, t: naive.Dense) => naive.crossEntropy(l, t, reduction),
            approximate: true,
          })),
      ),
  },
  {
    name: 'mseLoss',
    cases: arbShape()
      .chain((s) => fc.tuple(any(s), any(s), fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none')))
      .map(([a, b, reduction]) => ({
        inputs: [a, b],
        run: (x: Tensor, y: Tensor) => sg.mseLoss(x, y, { reduction }),
        naive: (x: naive.Dense, y: naive.Dense) => naive.mseLoss(x, y, reduction),
        approximate: true,
      })),
  },
];

/**
 * Exports of core/ops that need no gradcheck, each with the reason. Any other export
 * of those modules must appear in OPS (by name, or by the alias listed in ALIASES).
 */
export const EXEMPT: Record<string, string> = {
  compare: 'comparisons return bool tensors: no gradient',
  argmax: 'returns int32 indices: no gradient',
  argmin: 'returns int32 indices: no gradient',
  oneHot: 'returns an integer encoding: no gradient',
  full_: 'an internal constant fill, no inputs that require grad',
  cast: 'finite differences cannot see float32 rounding; its VJP (the cast-back gradient) is tested in ops.spec.ts',
};

/**
 * Table entries without a naive forward, each with the reason. ops.spec.ts checks that
 * this list is exactly the entries whose cases have no `naive`, so no op skips the
 * forward property silently.
 */
export const NAIVE_EXEMPT: Record<string, string> = {
  dropout:
    "its mask is the seeded generator's draw, which a naive forward would only copy; p = 0 is the identity, and the keep rate and the 1/(1 − p) scale are measured in spec/nn/layers.spec.ts",
};

/** Exported names whose table entry has another name. */
export const ALIASES: Record<string, string> = {
  variance: 'var',
  amax: 'max',
  amin: 'min',
};
