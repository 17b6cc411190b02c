/**
 * The error function to full double precision, fast.
 *
 * Math has no erf, and the usual 7-digit approximation is not enough: a float64
 * gradcheck differentiates GELU numerically with ε = 1e-6, so erf's error must be
 * smooth and ~1e-16. Accurate series cost ~20 divisions per call, which made GELU the
 * slowest kernel, so erf is tabulated once:
 *
 * - At load, for grid points x₀ = i/64 on [−6, 6], we compute erf(x₀) accurately (below)
 *   and the Taylor coefficients of erf around x₀. They come from Hermite polynomials:
 *   erf⁽ⁿ⁺¹⁾(x) = 2/√π · (−1)ⁿ Hₙ(x) e^(−x²), with H₀ = 1, H₁ = 2x, Hₙ₊₁ = 2x·Hₙ − 2n·Hₙ₋₁.
 * - A call picks the nearest grid point (|h| ≤ 1/128) and evaluates a degree-7 polynomial
 *   in h by Horner's rule: seven multiply-adds, no division, no exp. The truncation error
 *   is below |c₈|·h⁸ ≤ 0.01 · 128⁻⁸ ≈ 1.4e-19. (The grid was 1/32 with degree 10: the same
 *   accuracy for three more multiply-adds per call, ten more in GELU's backward pass.)
 *
 * Why the grid covers negative x too, although erf is odd: folding x to |x| and flipping
 * the sign back is a branch on the sign, which random activations mispredict half the
 * time — it cost a third of each call (≈ 19 → 10 ns). The negative half's coefficients
 * are exactly the positive half's with alternating signs (negation is exact), so erf
 * stays odd (bitwise, except where x + 6 rounds onto a cell boundary and ±x pick mirror
 * cells that differ: then both polynomials are accurate and the two results differ by an
 * ulp at most). The Horner chain is written out for speed too: no loop counter, one
 * straight dependency chain.
 *
 * The same table gives e^(−x²) = (√π/2)·erf′(x) from the polynomial's derivative, which
 * spares GELU's backward pass a call of Math.exp (≈ 12 ns each) on the grid. Each row keeps
 * the derivative's coefficients n·cₙ too (the products a call would form, stored once).
 */
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;
const SQRT_PI_OVER_2 = 0.886226925452758; // √π/2
const STEPS_PER_UNIT = 64;
const LIMIT = 6; // erfc(6) ≈ 2e-17: erf is ±1 to double precision beyond
const DEGREE = 7;
const SLOPE_AT = DEGREE; // a row's n·cₙ for n = 1…7 sit at SLOPE_AT + n, after c₀…c₇
const STRIDE = 2 * DEGREE + 1;

const table = buildTable();

/**
 * The grid and its coefficients, for the WebAssembly GELU kernels (kernels/cpu/gelu-kernels.ts),
 * which must compute exactly what erf and expNegSquare below compute.
 */
export const ERF_GRID = {
  table,
  stepsPerUnit: STEPS_PER_UNIT,
  limit: LIMIT,
  degree: DEGREE,
  slopeAt: SLOPE_AT,
  stride: STRIDE,
  sqrtPiOver2: SQRT_PI_OVER_2,
} as const;

/** The grid cell of x (|x| < LIMIT): the nearest of the points −6, −6 + 1/64, …, 6. */
function cellOf(x: number): number {
  return ((x + LIMIT) * STEPS_PER_UNIT + 0.5) | 0; // x + 6 > 0, so | 0 floors
}
/** x minus its cell's grid point: exact (both are near each other, the point a multiple of 1/64). */
function offsetIn(x: number, cell: number): number {
  return x - (cell / STEPS_PER_UNIT - LIMIT);
}

export function erf(x: number): number {
  if (!(Math.abs(x) < LIMIT)) return Number.isNaN(x) ? NaN : Math.sign(x);
  const cell = cellOf(x);
  const h = offsetIn(x, cell);
  const t = table;
  const b = cell * STRIDE;
  // biome-ignore format: Horner's rule, c₇ down to c₀
  return (((((((t[b + 7]! * h + t[b + 6]!) * h + t[b + 5]!) * h + t[b + 4]!) * h + t[b + 3]!) * h + t[b + 2]!) * h + t[b + 1]!) * h + t[b]!);
}

/** e^(−x²), as (√π/2)·erf′(x) on the grid (the derivative of erf's polynomial), Math.exp beyond it. */
export function expNegSquare(x: number): number {
  if (!(Math.abs(x) < LIMIT)) return Math.exp(-x * x);
  const cell = cellOf(x);
  const h = offsetIn(x, cell);
  const t = table;
  const b = cell * STRIDE;
  const d = b + SLOPE_AT;
  // biome-ignore format: Horner's rule on Σ n·cₙ·hⁿ⁻¹, n = 7 down to 1
  const slope = ((((((t[d + 7]! * h + t[d + 6]!) * h + t[d + 5]!) * h + t[d + 4]!) * h + t[d + 3]!) * h + t[d + 2]!) * h + t[d + 1]!);
  return SQRT_PI_OVER_2 * slope;
}

/**
 * Row i holds the Taylor coefficients c₀…c₇ of erf around −6 + i/64, then n·cₙ for n = 1…7.
 * The rows from 0 on are computed; erf is odd, so the row of −x₀ is the row of x₀ with cₙ
 * negated for even n (negation is exact: these are the values the formulas give at −x₀, bit
 * for bit).
 */
function buildTable(): Float64Array {
  const center = LIMIT * STEPS_PER_UNIT; // the row of x₀ = 0
  const out = new Float64Array((2 * center + 1) * STRIDE);
  for (let i = center; i <= 2 * center; i++) {
    const x0 = i / STEPS_PER_UNIT - LIMIT;
    const scale = TWO_OVER_SQRT_PI * Math.exp(-x0 * x0);
    out[i * STRIDE] = accurateErf(x0);
    // c_{n+1} = 2/√π · e^(−x₀²) · (−1)ⁿ Hₙ(x₀) / (n+1)!
    let [hPrev, h] = [0, 1]; // H₋₁ (unused), H₀
    let factorial = 1;
    for (let n = 0; n < DEGREE; n++) {
      factorial *= n + 1;
      out[i * STRIDE + n + 1] = (scale * (n % 2 === 0 ? h : -h)) / factorial;
      [hPrev, h] = [h, 2 * x0 * h - 2 * n * hPrev];
    }
    const mirror = 2 * center - i;
    if (mirror === i) continue; // x₀ = 0 is its own mirror
    for (let n = 0; n <= DEGREE; n++) out[mirror * STRIDE + n] = n % 2 === 0 ? -out[i * STRIDE + n]! : out[i * STRIDE + n]!;
  }
  for (let row = 0; row < out.length; row += STRIDE) for (let n = 1; n <= DEGREE; n++) out[row + SLOPE_AT + n] = n * out[row + n]!;
  return out;
}

/**
 * erf at a grid point to within an ulp: by its series below 1/2, by Laplace's continued
 * fraction for erfc from 1/2 on. The series' terms are all positive, but each is the last
 * one times a factor, so rounding compounds: near x = 3 it was 8 ulps off, and cells that
 * disagree by that much leave a seam a gradcheck can see. The fraction, evaluated from
 * the bottom up, is stable and converges slower as x shrinks: 60 + 300/x² levels keep it
 * within an ulp down to x = 1/2 (checked against 50-digit values at every grid point, where
 * 60 levels alone were 58 ulps off at x = 1.5); ≈ 58,000 divisions once, at load (the positive half; the negative half mirrors it).
 */
function accurateErf(x: number): number {
  if (x < 0.5) {
    // erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): all terms positive, no cancellation.
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated bottom-up.
  let tail = x;
  for (let n = 60 + Math.ceil(300 / (x * x)); n >= 1; n--) tail = x + n / 2 / tail;
  return 1 - (INV_SQRT_PI * Math.exp(-x * x)) / tail;
}
