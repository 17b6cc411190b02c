/**
 * Elementwise ops: each forward is one kernel call; each VJP sits right below it.
 * Binary ops broadcast as NumPy does, and their VJPs sum the gradient back over
 * the broadcast axes (sumToShape).
 */
import { record } from '../autograd.ts';
import { assertFloat, type DType } from '../../base/dtype.ts';
import { broadcastShapes } from '../../base/shape.ts';
import { DTypeError } from '../../base/errors.ts';
import type { Tensor } from '../tensor.ts';
import { COMPARISONS, UNARY, type BinaryOp, type UnaryOp } from '../../kernels/scalar.ts';
import { assertTensor, broadcastView, compute, operands, scalarLike, sumToShape, viewOf, type Operand } from './util.ts';

// ---- unary ---------------------------------------------------------------------------

/** y = f(x); VJP: g·f'(x), one fused kernel pass (the derivative is in kernels/scalar.ts). */
function unary(op: UnaryOp, x: Tensor, p = 0, q = 0): Tensor {
  assertTensor(op, 'input', x);
  if (UNARY[op].floatOnly) assertFloat(op, 'input', x.dtype);
  const y = compute(x.dtype, x.shape, (out, be) => be.unary(op, viewOf(x), out, p, q));
  return record(
    `${op[0]!.toUpperCase()}${op.slice(1)}Backward`,
    y,
    [x],
    (g) => [compute(x.dtype, x.shape, (out, be) => be.unaryBackward(op, viewOf(x), viewOf(g), out, p, q))],
    [x],
  );
}

/**
 * −x.
 *
 * @example
 * ```ts
 * import { neg, tensor } from 'sparsegrad';
 * neg(tensor([1, -2])); // => [-1, 2]
 * ```
 */
export const neg = (x: Tensor) => unary('neg', x);
/**
 * |x|.
 *
 * @example
 * ```ts
 * import { abs, tensor } from 'sparsegrad';
 * abs(tensor([-1.5, 2])); // => [1.5, 2]
 * ```
 */
export const abs = (x: Tensor) => unary('abs', x);
/**
 * −1, 0 or 1; the gradient is zero.
 *
 * @example
 * ```ts
 * import { sign, tensor } from 'sparsegrad';
 * sign(tensor([-3, 0, 2])); // => [-1, 0, 1]
 * ```
 */
export const sign = (x: Tensor) => unary('sign', x);
/**
 * eˣ.
 *
 * @example
 * ```ts
 * import { exp, tensor } from 'sparsegrad';
 * exp(tensor([0, 1])); // => [1, 2.7183]
 * ```
 */
export const exp = (x: Tensor) => unary('exp', x);
/**
 * Natural logarithm.
 *
 * @example
 * ```ts
 * import { log, tensor } from 'sparsegrad';
 * log(tensor([1, Math.E])); // => [0, 1]
 * ```
 */
export const log = (x: Tensor) => unary('log', x);
/**
 * √x.
 *
 * @example
 * ```ts
 * import { sqrt, tensor } from 'sparsegrad';
 * sqrt(tensor([4, 9])); // => [2, 3]
 * ```
 */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/**
 * 1/√x.
 *
 * @example
 * ```ts
 * import { rsqrt, tensor } from 'sparsegrad';
 * rsqrt(tensor([4, 16])); // => [0.5, 0.25]
 * ```
 */
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
/**
 * Sine (radians).
 *
 * @example
 * ```ts
 * import { sin, tensor } from 'sparsegrad';
 * sin(tensor([0, Math.PI / 2])); // => [0, 1]
 * ```
 */
export const sin = (x: Tensor) => unary('sin', x);
/**
 * Cosine (radians).
 *
 * @example
 * ```ts
 * import { cos, tensor } from 'sparsegrad';
 * cos(tensor([0, Math.PI])); // => [1, -1]
 * ```
 */
export const cos = (x: Tensor) => unary('cos', x);
/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * import { tanh, tensor } from 'sparsegrad';
 * tanh(tensor([0, 1])); // => [0, 0.7616]
 * ```
 */
export const tanh = (x: Tensor) => unary('tanh', x);
/**
 * 1 / (1 + e⁻ˣ).
 *
 * @example
 * ```ts
 * import { sigmoid, tensor } from 'sparsegrad';
 * sigmoid(tensor([0, 1])); // => [0.5, 0.7311]
 * ```
 */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/**
 * max(x, 0); the gradient is 0 at x ≤ 0.
 *
 * @example
 * ```ts
 * import { relu, tensor } from 'sparsegrad';
 * relu(tensor([-1, 0, 2])); // => [0, 0, 2]
 * ```
 */
export const relu = (x: Tensor) => unary('relu', x);
/**
 * SiLU (swish): x·sigmoid(x), the activation of LLaMa's MLP.
 *
 * @example
 * ```ts
 * import { silu, tensor } from 'sparsegrad';
 * silu(tensor([0, 1])); // => [0, 0.7311]
 * ```
 */
export const silu = (x: Tensor) => unary('silu', x);
/**
 * The error function.
 *
 * @example
 * ```ts
 * import { erf, tensor } from 'sparsegrad';
 * erf(tensor([0, 1])); // => [0, 0.8427]
 * ```
 */
export const erf = (x: Tensor) => unary('erf', x);
/**
 * GELU: 'none' is the exact x·Φ(x) (BERT, HF "gelu"); 'tanh' the GPT-2 approximation.
 *
 * @example
 * ```ts
 * import { gelu, tensor } from 'sparsegrad';
 * gelu(tensor([0, 1])); // => [0, 0.8413]
 * gelu(tensor([1]), 'tanh'); // => [0.8412]
 * ```
 */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none') => unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
/**
 * clamp(x, min, max); the gradient passes where min ≤ x ≤ max.
 *
 * @example
 * ```ts
 * import { clamp, tensor } from 'sparsegrad';
 * clamp(tensor([-2, 0.5, 3]), 0, 1); // => [0, 0.5, 1]
 * ```
 */
export const clamp = (x: Tensor, min = -Infinity, max = Infinity) => unary('clamp', x, min, max);

// ---- binary --------------------------------------------------------------------------

/** Broadcast both operands and run one binary kernel; returns the tensors it used too. */
function binaryForward(op: BinaryOp, a: Operand, b: Operand, outDType?: DType): [Tensor, Tensor, Tensor] {
  const [ta, tb] = operands(op, a, b);
  const shape = broadcastShapes(ta.shape, tb.shape);
  const dtype = outDType ?? (COMPARISONS.has(op) ? 'bool' : ta.dtype);
  return [compute(dtype, shape, (out, be) => be.binary(op, broadcastView(ta, shape), broadcastView(tb, shape), out)), ta, tb];
}

function arithmetic(op: BinaryOp, a: Operand, b: Operand): [Tensor, Tensor, Tensor] {
  const [y, ta, tb] = binaryForward(op, a, b);
  if (ta.dtype === 'bool') throw new DTypeError(`${op}(): arithmetic on bool tensors is not supported; convert with .to('int32') or .to('float32')`);
  return [y, ta, tb];
}

/**
 * a + b, broadcasting; a number is a scalar.
 *
 * @example
 * ```ts
 * import { add, tensor } from 'sparsegrad';
 * add(tensor([[1, 2], [3, 4]]), tensor([10, 20])); // => [[11, 22], [13, 24]]
 * add(tensor([1, 2]), 1); // => [2, 3]
 * ```
 */
export function add(a: Operand, b: Operand): Tensor {
  const [y, ta, tb] = arithmetic('add', a, b);
  return record('AddBackward', y, [ta, tb], (g) => [sumToShape(g, ta.shape), sumToShape(g, tb.shape)]);
}

/**
 * a − b, broadcasting.
 *
 * @example
 * ```ts
 * import { sub, tensor } from 'sparsegrad';
 * sub(tensor([5, 7]), tensor([1, 2])); // => [4, 5]
 * ```
 */
export function sub(a: Operand, b: Operand): Tensor {
  const [y, ta, tb] = arithmetic('sub', a, b);
  return record('SubBackward', y, [ta, tb], (g) => [sumToShape(g, ta.shape), sumToShape(g.neg(), tb.shape)]);
}

/**
 * a · b elementwise, broadcasting.
 *
 * @example
 * ```ts
 * import { mul, tensor } from 'sparsegrad';
 * mul(tensor([[1, 2], [3, 4]]), tensor([[10], [100]])); // => [[10, 20], [300, 400]]
 * ```
 */
export function mul(a: Operand, b: Operand): Tensor {
  const [y, ta, tb] = arithmetic('mul', a, b);
  return record(
    'MulBackward',
    y,
    [ta, tb],
    (g) => [ta.requiresGrad ? sumToShape(g.mul(tb), ta.shape) : null, tb.requiresGrad ? sumToShape(g.mul(ta), tb.shape) : null],
    [ta, tb],
  );
}

/**
 * a / b elementwise, broadcasting.
 *
 * @example
 * ```ts
 * import { div, tensor } from 'sparsegrad';
 * div(tensor([1, 3]), 2); // => [0.5, 1.5]
 * ```
 */
export function div(a: Operand, b: Operand): Tensor {
  const [ta0] = operands('div', a, b);
  assertFloat('div', 'input', ta0.dtype);
  const [y, ta, tb] = arithmetic('div', a, b);
  // d(a/b)/da = 1/b, d(a/b)/db = −a/b²
  return record(
    'DivBackward',
    y,
    [ta, tb],
    (g) => [ta.requiresGrad ? sumToShape(g.div(tb), ta.shape) : null, tb.requiresGrad ? sumToShape(g.mul(ta).div(tb.mul(tb)).neg(), tb.shape) : null],
    [ta, tb],
  );
}

/**
 * a^b. A scalar exponent is a unary op; a tensor exponent also gets d/db = a^b·ln a.
 *
 * @example
 * ```ts
 * import { pow, tensor } from 'sparsegrad';
 * pow(tensor([2, 3]), 2); // => [4, 9]
 * pow(2, tensor([0, 3])); // => [1, 8]
 * ```
 */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof a !== 'number' && typeof b === 'number') return unary('powScalar', a, b);
  const [ta0] = operands('pow', a, b);
  assertFloat('pow', 'input', ta0.dtype);
  const [y, ta, tb] = arithmetic('pow', a, b);
  return record(
    'PowBackward',
    y,
    [ta, tb],
    (g) => [
      ta.requiresGrad ? sumToShape(g.mul(tb).mul(ta.pow(tb.sub(1))), ta.shape) : null,
      // torch's convention: where a = 0 the exponent's gradient is 0 (not 0·ln 0 = NaN).
      tb.requiresGrad ? sumToShape(where(ta.eq(0), 0, g.mul(y).mul(ta.log())), tb.shape) : null,
    ],
    [ta, tb, y],
  );
}

/** maximum/minimum: the gradient goes to the winner; ties split it evenly (as torch does). */
function extremum(op: 'maximum' | 'minimum', a: Operand, b: Operand): Tensor {
  const [y, ta, tb] = arithmetic(op, a, b);
  return record(
    `${op}Backward`,
    y,
    [ta, tb],
    (g) => {
      const wins = op === 'maximum' ? ta.gt(tb) : ta.lt(tb);
      const shareA = wins.to(g.dtype).add(ta.eq(tb).to(g.dtype).mul(0.5));
      return [sumToShape(g.mul(shareA), ta.shape), sumToShape(g.mul(shareA.neg().add(1)), tb.shape)];
    },
    [ta, tb],
  );
}
/**
 * Elementwise maximum; the gradient goes to the larger operand, ties split it.
 *
 * @example
 * ```ts
 * import { maximum, tensor } from 'sparsegrad';
 * maximum(tensor([1, 5]), tensor([3, 2])); // => [3, 5]
 * ```
 */
export const maximum = (a: Operand, b: Operand) => extremum('maximum', a, b);
/**
 * Elementwise minimum (the gradient rule of maximum above).
 *
 * @example
 * ```ts
 * import { minimum, tensor } from 'sparsegrad';
 * minimum(tensor([1, 5]), tensor([3, 2])); // => [1, 2]
 * ```
 */
export const minimum = (a: Operand, b: Operand) => extremum('minimum', a, b);

/** eq, ne, lt, le, gt, ge, logicalAnd, logicalOr: bool results, no gradient. */
export function compare(op: BinaryOp, a: Operand, b: Operand): Tensor {
  return binaryForward(op, a, b)[0];
}

/**
 * cond ? a : b, broadcasting all three; each branch's gradient is g where it was chosen.
 *
 * @example
 * ```ts
 * import { tensor, where } from 'sparsegrad';
 * const x = tensor([-1, 2, -3]);
 * where(x.gt(0), x, 0); // => [0, 2, 0]
 * ```
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  assertTensor('where', 'condition', cond);
  if (cond.dtype !== 'bool') throw new DTypeError(`where(): expected condition to be a bool tensor, but got ${cond.dtype}`);
  const [ta, tb] = operands('where', a, b);
  const shape = broadcastShapes(cond.shape, broadcastShapes(ta.shape, tb.shape));
  const y = compute(ta.dtype, shape, (out, be) => be.where(broadcastView(cond, shape), broadcastView(ta, shape), broadcastView(tb, shape), out));
  return record(
    'WhereBackward',
    y,
    [ta, tb],
    (g) => {
      const zero = scalarLike('where', 0, g);
      return [ta.requiresGrad ? sumToShape(where(cond, g, zero), ta.shape) : null, tb.requiresGrad ? sumToShape(where(cond, zero, g), tb.shape) : null];
    },
    [cond],
  );
}

/** A tensor of `like`'s shape and dtype filled with `value` (no gradient). */
export function full_(value: number, like: Tensor): Tensor {
  const s = scalarLike('full', value, like);
  return s.expand(like.shape).contiguous();
}
