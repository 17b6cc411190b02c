/**
 * The scalar math behind every elementwise kernel, one table entry per op with its
 * derivative right beside it. Backends (reference, cpu, gpu.js) share this table, so
 * an op's meaning is defined exactly once.
 */
import { erf, expNegSquare } from './erf.ts';

/** f(x; p, q) and f'(x; p, q) — p and q are the op's scalar parameters (pow exponent, clamp bounds). */
export interface UnaryEntry {
  f(x: number, p: number, q: number): number;
  df(x: number, p: number, q: number): number;
  /** Ops that are defined only for floats (exp of an int32 is not an int32). */
  floatOnly: boolean;
}

export const SQRT1_2 = Math.SQRT1_2;
export const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)
const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const GELU_TANH_C = 0.7978845608028654; // √(2/π)

function sigmoid(x: number): number {
  // Two forms so that exp never overflows: e^x for x < 0, e^−x for x ≥ 0.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function tanhGelu(x: number): number {
  return Math.tanh(GELU_TANH_C * (x + 0.044715 * x * x * x));
}

// The activations of transformer MLPs, as named functions: the fast CPU kernels call them
// from loops of their own (a call site with one target, which V8 inlines), so their meaning
// is still defined only here.

/** GELU, exact form: x·Φ(x) with Φ the normal CDF. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}
/** GELU's derivative: Φ(x) + x·φ(x), with φ(x) = e^(−z²)/√(2π) at z = x/√2 taken from erf's table. */
export function geluGrad(x: number): number {
  const z = x * SQRT1_2;
  return 0.5 * (1 + erf(z)) + x * INV_SQRT_2PI * expNegSquare(z);
}
/** GELU, tanh approximation (GPT-2's "gelu_new"). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + tanhGelu(x));
}
export function geluTanhGrad(x: number): number {
  const t = tanhGelu(x);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_TANH_C * (1 + 3 * 0.044715 * x * x);
}
/** SiLU (swish): x·σ(x). */
export function silu(x: number): number {
  return x * sigmoid(x);
}
export function siluGrad(x: number): number {
  const s = sigmoid(x);
  return s * (1 + x * (1 - s));
}

export const UNARY = {
  neg: { f: (x) => -x, df: () => -1, floatOnly: false },
  abs: { f: (x) => Math.abs(x), df: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), floatOnly: false },
  sign: { f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x), df: () => 0, floatOnly: false },
  exp: { f: (x) => Math.exp(x), df: (x) => Math.exp(x), floatOnly: true },
  log: { f: (x) => Math.log(x), df: (x) => 1 / x, floatOnly: true },
  sqrt: { f: (x) => Math.sqrt(x), df: (x) => 0.5 / Math.sqrt(x), floatOnly: true },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), df: (x) => -0.5 / (x * Math.sqrt(x)), floatOnly: true },
  sin: { f: (x) => Math.sin(x), df: (x) => Math.cos(x), floatOnly: true },
  cos: { f: (x) => Math.cos(x), df: (x) => -Math.sin(x), floatOnly: true },
  tanh: { f: (x) => Math.tanh(x), df: (x) => 1 - Math.tanh(x) ** 2, floatOnly: true },
  sigmoid: { f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)), floatOnly: true },
  // relu keeps NaN (x < 0 is false for NaN) and, like torch, has derivative 0 at 0.
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0), floatOnly: true },
  erf: { f: erf, df: (x) => TWO_OVER_SQRT_PI * Math.exp(-x * x), floatOnly: true },
  // GELU (exact and tanh forms) and SiLU: the named functions above.
  gelu: { f: gelu, df: geluGrad, floatOnly: true },
  geluTanh: { f: geluTanh, df: geluTanhGrad, floatOnly: true },
  silu: { f: silu, df: siluGrad, floatOnly: true },
  // x^p for a scalar p; torch defines d/dx x^0 = 0 everywhere (also at x = 0).
  powScalar: { f: (x, p) => x ** p, df: (x, p) => (p === 0 ? 0 : p * x ** (p - 1)), floatOnly: true },
  // clamp(x, lo, hi); the gradient passes where lo ≤ x ≤ hi, as in torch.
  clamp: {
    f: (x, lo, hi) => (x < lo ? lo : Math.min(x, hi)),
    df: (x, lo, hi) => (x >= lo && x <= hi ? 1 : 0),
    floatOnly: false,
  },
} satisfies Record<string, UnaryEntry>;

export type UnaryOp = keyof typeof UNARY;

/** Binary maps; comparisons return 0/1 and produce bool tensors. */
export const BINARY = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
  pow: (a: number, b: number) => a ** b,
  // Math.max/min propagate NaN, which is what torch.maximum/minimum do.
  maximum: (a: number, b: number) => Math.max(a, b),
  minimum: (a: number, b: number) => Math.min(a, b),
  eq: (a: number, b: number) => (a === b ? 1 : 0),
  ne: (a: number, b: number) => (a !== b ? 1 : 0),
  lt: (a: number, b: number) => (a < b ? 1 : 0),
  le: (a: number, b: number) => (a <= b ? 1 : 0),
  gt: (a: number, b: number) => (a > b ? 1 : 0),
  ge: (a: number, b: number) => (a >= b ? 1 : 0),
  logicalAnd: (a: number, b: number) => (a !== 0 && b !== 0 ? 1 : 0),
  logicalOr: (a: number, b: number) => (a !== 0 || b !== 0 ? 1 : 0),
} satisfies Record<string, (a: number, b: number) => number>;

export type BinaryOp = keyof typeof BINARY;

export const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr']);

/** Reductions: an initial value and a combine step. max/min let NaN win, as torch does. */
export const REDUCE = {
  sum: { init: 0, combine: (acc: number, x: number) => acc + x },
  // biome-ignore lint/suspicious/noSelfCompare: x !== x is the NaN test, without a call in the hot loop
  max: { init: -Infinity, combine: (acc: number, x: number) => (x > acc || x !== x ? x : acc) },
  // biome-ignore lint/suspicious/noSelfCompare: as above
  min: { init: Infinity, combine: (acc: number, x: number) => (x < acc || x !== x ? x : acc) },
} satisfies Record<string, { init: number; combine(acc: number, x: number): number }>;

export type ReduceOp = keyof typeof REDUCE;

/**
 * v rounded to a float dtype as storing it there rounds it: Math.fround when `single`
 * (float32), unchanged for float64. Fused kernels use it to round each intermediate where the
 * unfused ops would have stored it. A flag rather than a variable holding Math.fround or an
 * identity: V8 inlines this function and the Math.fround in it, but not a call through such a
 * variable (4× slower in the norms' backward).
 */
export const roundTo = (v: number, single: boolean): number => (single ? Math.fround(v) : v);
