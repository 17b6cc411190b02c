/**
 * fast-check arbitraries for tensor properties (docs/TESTING.md §2–§3).
 *
 * The default domains are the project's: values in [−2, 2], rank 0–4, dims 0–5
 * (empty tensors included). Every arbitrary is built from fast-check's own
 * combinators with `map`, never `filter`, so that a failing case shrinks to a small
 * one: fewer axes, smaller dims, no broadcasting, values near 0.
 */
import type FC from 'fast-check';
import { fc } from './fast-check.ts';
import { Tensor, type FloatDType } from '../../index.ts';

/** Bounds for generated shapes; defaults rank 0–4, dims 0–5. */
export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  minDim?: number;
  maxDim?: number;
}

/** A shape: `minRank..maxRank` dims, each in `minDim..maxDim`. */
export function arbShape({ minRank = 0, maxRank = 4, minDim = 0, maxDim = 5 }: ShapeOptions = {}): FC.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * Two shapes that broadcast under NumPy's rule (align right; each pair of sizes equal
 * or one of them 1; ranks may differ), each of rank `minRank..maxRank`.
 *
 * Built as one common shape plus, per axis, whether each side has a 1 there, and how
 * many leading axes each side drops. Each part shrinks on its own: towards equal
 * ranks, no 1s, small dims. A broadcast axis is 1 even when `minDim` > 1.
 */
export function arbBroadcastPair({ minRank = 0, maxRank = 4, minDim = 0, maxDim = 5 }: ShapeOptions = {}): FC.Arbitrary<[number[], number[]]> {
  const axis = fc.record({ size: fc.integer({ min: minDim, max: maxDim }), oneInA: fc.boolean(), oneInB: fc.boolean() });
  return fc
    .record({
      axes: fc.array(axis, { minLength: minRank, maxLength: maxRank }),
      dropA: fc.nat({ max: maxRank }),
      dropB: fc.nat({ max: maxRank }),
    })
    .map(({ axes, dropA, dropB }) => {
      const side = (drop: number, isOne: (a: (typeof axes)[number]) => boolean) =>
        axes.slice(Math.min(drop, axes.length - minRank)).map((a) => (isOne(a) ? 1 : a.size));
      return [side(dropA, (a) => a.oneInA), side(dropB, (a) => a.oneInB)];
    });
}

/** A floating dtype; shrinks to float64, the reference dtype. */
export function arbDType(): FC.Arbitrary<FloatDType> {
  return fc.constantFrom<FloatDType>('float64', 'float32');
}

/** Options of `arbTensor`: a fixed shape or a shape arbitrary (default `arbShape()`), dtype and value range. */
export interface TensorOptions {
  shape?: readonly number[] | FC.Arbitrary<readonly number[]>;
  dtype?: FloatDType;
  /** Inclusive value bounds; default [−2, 2]. NaN is never generated. */
  min?: number;
  max?: number;
  /** Make the generated tensor a leaf that requires grad. */
  requiresGrad?: boolean;
}

/**
 * A contiguous tensor with values in [min, max]. float64 values come from `fc.double`,
 * float32 values from `fc.float` with float32 bounds (`Math.fround`), so each value is
 * stored exactly.
 */
export function arbTensor({ shape = arbShape(), dtype = 'float64', min = -2, max = 2, requiresGrad = false }: TensorOptions = {}): FC.Arbitrary<Tensor> {
  const value = dtype === 'float64' ? fc.double({ min, max, noNaN: true }) : fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true });
  const ofShape = (s: readonly number[]) => {
    const n = s.reduce((p, d) => p * d, 1);
    return fc.array(value, { minLength: n, maxLength: n }).map((values) => {
      const t = Tensor.fromStorage(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), s);
      return requiresGrad ? t.setRequiresGrad() : t;
    });
  };
  return shape instanceof fc.Arbitrary ? shape.chain(ofShape) : ofShape(shape);
}

/** A tensor with values in [0.1, 2]: inside the domain of log, sqrt and pow. */
export function arbPositiveTensor(options: Omit<TensorOptions, 'min' | 'max'> = {}): FC.Arbitrary<Tensor> {
  return arbTensor({ ...options, min: 0.1, max: 2 });
}

/**
 * An unsigned 32-bit seed for `new Generator(seed)`. Properties draw their randomness
 * from it (never from Math.random), so a failure replays from fast-check's seed.
 */
export function arbSeed(): FC.Arbitrary<number> {
  return fc.integer({ min: 0, max: 0xffffffff });
}

/** Bounds for `arbMatmulShapes`: batch rank 0–2, dims 0–4. */
export interface MatmulShapeOptions {
  maxBatchRank?: number;
  minDim?: number;
  maxDim?: number;
}

/**
 * Shapes `[a, b]` that `a.matmul(b)` accepts (torch.matmul's rules): `[..., m, k] @
 * [..., k, n]` with batch dims that broadcast (ranks may differ), and either side may
 * instead be a 1-D `[k]` (a vector: `[k] @ [k]` is a dot product).
 */
export function arbMatmulShapes({ maxBatchRank = 2, minDim = 0, maxDim = 4 }: MatmulShapeOptions = {}): FC.Arbitrary<[number[], number[]]> {
  const size = fc.integer({ min: minDim, max: maxDim });
  return fc
    .record({
      batch: arbBroadcastPair({ minRank: 0, maxRank: maxBatchRank, minDim, maxDim }),
      m: size,
      k: size,
      n: size,
      aIsVector: fc.boolean(),
      bIsVector: fc.boolean(),
    })
    .map(({ batch: [batchA, batchB], m, k, n, aIsVector, bIsVector }) => [aIsVector ? [k] : [...batchA, m, k], bIsVector ? [k] : [...batchB, k, n]]);
}

/**
 * A valid axis for a tensor of rank `rank`, in [−rank, rank − 1] (negative counts from
 * the end). A scalar accepts −1 and 0, as in torch.
 */
export function arbAxis(rank: number): FC.Arbitrary<number> {
  const r = Math.max(rank, 1);
  return fc.integer({ min: -r, max: r - 1 });
}
