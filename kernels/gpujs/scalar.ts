/**
 * The scalar op table of kernels/scalar.ts, spelled for gpu.js.
 *
 * gpu.js translates a subset of JavaScript to GLSL (and to WebAssembly or plain JS in its
 * other modes), so an op's formula has to be written in that subset: no closures, no
 * `**`, no typed-array tables (the float64 erf of kernels/erf.ts is a table). This file is
 * therefore a second *spelling*, not a second definition: each entry transcribes the
 * formula of the same-named entry in kernels/scalar.ts, `satisfies Record<UnaryOp, …>`
 * (and `BinaryOp`, `ReduceOp`) makes the op sets identical at compile time, and
 * spec/gpujs/kernels.spec.ts proves every entry equal to the table within T32.
 *
 * Expressions see `x` (and `p`, `q`: the op's scalar parameters) or `a`, `b`. Helpers
 * (`sg_*`) are added to every gpu.js instance by HELPERS below.
 *
 * Where GLSL differs from IEEE JavaScript: gpu.js writes `Infinity` as FLT_MAX, and GLSL
 * leaves NaN and infinities unspecified (real GPUs may flush denormals and approximate
 * division). The formulas avoid producing them on finite inputs (tanh, sigmoid and erf in
 * their overflow-free forms, pow of negative bases by parity), but non-finite *inputs*
 * are propagated on a best-effort basis only. See README "GPU backend (gpu.js)".
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../scalar.ts';

/** f(x) and f'(x) as gpu.js expressions, mirroring UNARY in kernels/scalar.ts. */
export const GPU_UNARY = {
  neg: { f: '-x', df: '-1.0' },
  abs: { f: 'Math.abs(x)', df: '(x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0))' },
  sign: { f: '(x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x))', df: '0.0' },
  exp: { f: 'Math.exp(x)', df: 'Math.exp(x)' },
  log: { f: 'Math.log(x)', df: '1.0 / x' },
  sqrt: { f: 'Math.sqrt(x)', df: '0.5 / Math.sqrt(x)' },
  rsqrt: { f: '1.0 / Math.sqrt(x)', df: '-0.5 / (x * Math.sqrt(x))' },
  sin: { f: 'Math.sin(x)', df: 'Math.cos(x)' },
  cos: { f: 'Math.cos(x)', df: '-Math.sin(x)' },
  tanh: { f: 'sg_tanh(x)', df: '(1.0 - sg_tanh(x) * sg_tanh(x))' },
  sigmoid: { f: 'sg_sigmoid(x)', df: '(sg_sigmoid(x) * (1.0 - sg_sigmoid(x)))' },
  relu: { f: '(x < 0.0 ? 0.0 : x)', df: '(x > 0.0 ? 1.0 : 0.0)' },
  erf: { f: 'sg_erf(x)', df: '(1.1283791670955126 * Math.exp(-x * x))' },
  gelu: {
    f: '(0.5 * x * (1.0 + sg_erf(x * 0.7071067811865476)))',
    df: '(0.5 * (1.0 + sg_erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x))',
  },
  geluTanh: { f: 'sg_geluTanh(x)', df: 'sg_geluTanhGrad(x)' },
  silu: { f: '(x * sg_sigmoid(x))', df: 'sg_siluGrad(x)' },
  powScalar: { f: '(p == 0.0 ? 1.0 : sg_pow(x, p))', df: '(p == 0.0 ? 0.0 : p * sg_pow(x, p - 1.0))' },
  clamp: { f: '(x < p ? p : (x > q ? q : x))', df: '((x >= p && x <= q) ? 1.0 : 0.0)' },
} satisfies Record<UnaryOp, { f: string; df: string }>;

/** a ∘ b as gpu.js expressions, mirroring BINARY. */
export const GPU_BINARY = {
  add: '(a + b)',
  sub: '(a - b)',
  mul: '(a * b)',
  div: '(a / b)',
  pow: 'sg_pow(a, b)',
  maximum: 'sg_max(a, b)',
  minimum: 'sg_min(a, b)',
  eq: '(a == b ? 1.0 : 0.0)',
  ne: '(a != b ? 1.0 : 0.0)',
  lt: '(a < b ? 1.0 : 0.0)',
  le: '(a <= b ? 1.0 : 0.0)',
  gt: '(a > b ? 1.0 : 0.0)',
  ge: '(a >= b ? 1.0 : 0.0)',
  logicalAnd: '((a != 0.0 && b != 0.0) ? 1.0 : 0.0)',
  logicalOr: '((a != 0.0 || b != 0.0) ? 1.0 : 0.0)',
} satisfies Record<BinaryOp, string>;

/** Reductions: `acc` combined with `v`, mirroring REDUCE (sum starts at 0, max/min at the first element). */
export const GPU_REDUCE = {
  sum: 'acc + v',
  max: '(v > acc || v != v) ? v : acc',
  min: '(v < acc || v != v) ? v : acc',
} satisfies Record<ReduceOp, string>;

/**
 * Helper functions, in gpu.js's JavaScript subset (one `function` each, floats only).
 * - sg_tanh: tanh through e^(−2|x|), which never overflows (gpu.js's own GLSL tanh is
 *   (e^2x − 1)/(e^2x + 1): NaN beyond |x| ≈ 44); a Taylor series below 0.1, where that
 *   form would cancel.
 * - sg_sigmoid: the two-sided form of kernels/scalar.ts.
 * - sg_erf: float32-accurate erf (the CPU table is float64 and not expressible here):
 *   Maclaurin series to x¹³ for |x| < 0.5 (relative error < 1e-8), else 1 − erfc with
 *   Numerical Recipes' Chebyshev fit of erfc (fractional error < 1.2e-7).
 * - sg_pow: x^y with JS semantics for negative bases and integer exponents (GLSL's pow is
 *   undefined for x < 0).
 * - sg_max / sg_min: NaN wins, as Math.max/min.
 */
export const HELPERS: readonly string[] = [
  `function sg_tanh(x) {
  if (Math.abs(x) < 0.1) {
    const z = x * x;
    return x * (1.0 + z * (-0.3333333333333333 + z * (0.13333333333333333 + z * (-0.05396825396825397 + z * 0.021869488536155203))));
  }
  const t = Math.exp(-2.0 * Math.abs(x));
  const r = (1.0 - t) / (1.0 + t);
  return x < 0.0 ? -r : r;
}`,
  `function sg_sigmoid(x) {
  if (x >= 0.0) {
    return 1.0 / (1.0 + Math.exp(-x));
  }
  const e = Math.exp(x);
  return e / (1.0 + e);
}`,
  `function sg_erf(x) {
  const ax = Math.abs(x);
  if (ax < 0.5) {
    const z = x * x;
    return 1.1283791670955126 * x * (1.0 + z * (-0.3333333333333333 + z * (0.1 + z * (-0.023809523809523808 + z * (0.004629629629629629 + z * (-0.0007575757575757576 + z * 0.00010683760683760684))))));
  }
  const t = 1.0 / (1.0 + 0.5 * ax);
  const poly = -ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = 1.0 - t * Math.exp(poly);
  return x < 0.0 ? -r : r;
}`,
  `function sg_pow(x, y) {
  if (y == 0.0) {
    return 1.0;
  }
  if (x >= 0.0) {
    return Math.pow(x, y);
  }
  if (Math.floor(y) != y) {
    return (x - x) / (x - x);
  }
  const m = Math.pow(-x, y);
  const half = y * 0.5;
  return Math.floor(half) == half ? m : -m;
}`,
  `function sg_max(a, b) {
  if (a != a) {
    return a;
  }
  if (b != b) {
    return b;
  }
  return a > b ? a : b;
}`,
  `function sg_min(a, b) {
  if (a != a) {
    return a;
  }
  if (b != b) {
    return b;
  }
  return a < b ? a : b;
}`,
  `function sg_geluTanh(x) {
  const t = sg_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
  return 0.5 * x * (1.0 + t);
}`,
  `function sg_geluTanhGrad(x) {
  const t = sg_tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
}`,
  `function sg_siluGrad(x) {
  const s = sg_sigmoid(x);
  return s * (1.0 + x * (1.0 - s));
}`,
];
