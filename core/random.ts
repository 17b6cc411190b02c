/**
 * A seeded generator that yields the same numbers on every JavaScript engine.
 *
 * Why not Math.random: it cannot be seeded. Why not Math.log/Math.cos for normals:
 * engines may round transcendental functions differently, so we draw normals with
 * the Marsaglia polar method and a logarithm built only from + − × ÷ (IEEE 754
 * rounds those identically everywhere).
 */
import { ValueError } from '../base/errors.ts';

/**
 * xoshiro128** (Blackman & Vigna): four 32-bit words of state, integer ops only.
 *
 * @example
 * ```ts
 * import { Generator, randn } from 'sparsegrad';
 * const a = randn([3], { generator: new Generator(42) });
 * const b = randn([3], { generator: new Generator(42) });
 * a.sub(b).abs().max().item(); // => 0
 * new Generator(7).integer(0, 10) < 10; // => true
 * ```
 */
export class Generator {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Re-seed; seeds are expanded with splitmix32 so that 0, 1, 2 give unrelated streams. */
  manualSeed(seed: number): this {
    if (!Number.isInteger(seed)) throw new ValueError(`manualSeed(): seed must be an integer, got ${seed}`);
    // Low and high 32-bit words both count, so −1 and 0 (or 2³² and 0) give different streams.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1; // the all-zero state is a fixed point
    this.spareNormal = null;
    return this;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Fills `out` with the next `out.length` values of uniform(), exactly as that many calls
   * would (the same stream, the same state after), about 4× faster: the state stays in
   * locals instead of going through the typed array twice per number. Dropout's masks and
   * rand() draw through it (core/creation.ts).
   *
   * @example
   * ```ts
   * import { Generator } from 'sparsegrad';
   * const block = new Float64Array(3);
   * new Generator(7).uniforms(block);
   * const one = new Generator(7);
   * const three = [one.uniform(), one.uniform(), one.uniform()];
   * block[2] === three[2]; // => true
   * ```
   */
  uniforms(out: Float64Array): void {
    const s = this.s;
    // Int32 locals: the same bits as the Uint32Array words, which store them modulo 2³².
    let s0 = s[0]! | 0,
      s1 = s[1]! | 0,
      s2 = s[2]! | 0,
      s3 = s[3]! | 0;
    for (let i = 0; i < out.length; i++) {
      // nextUint32() twice, written out (see above): 27 high bits, then 26 low bits. Twice
      // in full, not a loop over the two words: the loop measured 2× slower (3.9 vs 8.8 ms per 1 M).
      let r = Math.imul(s1, 5);
      const hi = Math.imul((r << 7) | (r >>> 25), 9) >>> 5;
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      r = Math.imul(s1, 5);
      const lo = Math.imul((r << 7) | (r >>> 25), 9) >>> 6;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = (hi * 67108864 + lo) / 9007199254740992;
    }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
  }

  /** Standard normal (polar method; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s === 0 || s >= 1) continue;
      const f = Math.sqrt((-2 * portableLog(s)) / s); // sqrt is correctly rounded by IEEE 754
      this.spareNormal = v * f;
      return u * f;
    }
  }

  /** Uniform integer in [low, high), without modulo bias (rejection sampling). */
  integer(low: number, high: number): number {
    const range = high - low;
    if (!(range > 0) || range > 2 ** 32) throw new ValueError(`randint(): expected low < high with a range ≤ 2^32, got [${low}, ${high})`);
    const limit = 2 ** 32 - (2 ** 32 % range);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return low + (x % range);
    }
  }

  /** The full state, for checkpoints: restoring it replays the same stream. */
  getState(): number[] {
    return [...this.s, this.spareNormal === null ? NaN : this.spareNormal];
  }

  setState(state: readonly number[]): this {
    if (state.length !== 5) throw new ValueError(`Generator.setState(): expected 5 numbers, got ${state.length}`);
    for (let i = 0; i < 4; i++) this.s[i] = state[i]!;
    this.spareNormal = Number.isNaN(state[4]) ? null : state[4]!;
    return this;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const LN2 = Math.LN2;

/**
 * ln(x) for x in (0, 1], identical on every engine: scale x into [√½, √2) by exact
 * powers of two, then ln(m) = 2·atanh((m−1)/(m+1)) by its odd series (|f| ≤ 0.172, so
 * 13 terms reach full double precision).
 */
export function portableLog(x: number): number {
  let e = 0;
  while (x < Math.SQRT1_2) {
    x *= 2;
    e--;
  }
  const f = (x - 1) / (x + 1);
  const f2 = f * f;
  let term = f;
  let sum = 0;
  for (let n = 1; n <= 25; n += 2) {
    sum += term / n;
    term *= f2;
  }
  return 2 * sum + e * LN2;
}

/**
 * The generator used when an op is given none, as torch's default generator.
 *
 * @example
 * ```ts
 * import { defaultGenerator, manualSeed } from 'sparsegrad';
 * manualSeed(1);
 * const first = defaultGenerator.uniform();
 * manualSeed(1);
 * defaultGenerator.uniform() === first; // => true
 * ```
 */
export const defaultGenerator = new Generator(0);

/**
 * Seed the default generator (torch.manual_seed).
 *
 * @example
 * ```ts
 * import { manualSeed, rand } from 'sparsegrad';
 * manualSeed(3);
 * const a = rand([2]);
 * manualSeed(3);
 * rand([2]).sub(a).abs().max().item(); // => 0
 * ```
 */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
