/**
 * The comparison's statistics against cases worked out by hand: the paired bootstrap
 * interval for a difference in accuracy (over test examples and seeds).
 */
import { describe, expect, test } from 'vitest';
import { formatDifference, pairedBootstrap } from '../../cli/metrics.ts';

describe('pairedBootstrap', () => {
  test('one seed, d = [1, 0, 0, 0]: Δ* = X/4 with X ~ Binomial(4, 1/4), so the 95 % interval is [0, 0.75]', () => {
    // P(X = 0) = 81/256 ≈ 0.316 ≥ 0.025, so the 2.5 % quantile is 0.
    // P(X ≤ 2) = (81 + 108 + 54)/256 ≈ 0.949 < 0.975 ≤ P(X ≤ 3) = 255/256, so the 97.5 % quantile is 3/4.
    // With 10,000 replicates the empirical CDF at those atoms is within ±0.01 of the exact
    // one (4.5 standard errors), far from the 0.025 / 0.975 cut-offs.
    const r = pairedBootstrap([[1, 1, 0, 1]], [[0, 1, 0, 1]], { seed: 7 });
    expect(r.diff).toBe(0.25);
    expect([r.lo, r.hi]).toEqual([0, 0.75]);
    expect(r).toMatchObject({ seeds: 1, examples: 4, replicates: 10_000, level: 0.95 });
  });

  test('two seeds: seeds are resampled too (seed 1 all +1, seed 2 all 0: Δ* ∈ {0, ½, 1} with P 1/4, 1/2, 1/4)', () => {
    const a = [
      [1, 1, 1],
      [0, 1, 0],
    ];
    const b = [
      [0, 0, 0],
      [0, 1, 0],
    ];
    const r = pairedBootstrap(a, b, { seed: 3 });
    expect(r.diff).toBe(0.5);
    expect([r.lo, r.hi]).toEqual([0, 1]);
  });

  test('identical predictions give the degenerate interval [0, 0]; a constant difference gives [c, c]', () => {
    const same = [[1, 0, 1, 1, 0]];
    expect(pairedBootstrap(same, same)).toMatchObject({ diff: 0, lo: 0, hi: 0 });
    expect(pairedBootstrap([[1, 1, 1]], [[0, 0, 0]])).toMatchObject({ diff: 1, lo: 1, hi: 1 });
  });

  test('pairing matters: the same accuracies, paired differently, give different intervals', () => {
    // Both methods 50 % right on 40 examples. Agreeing on every example: [0, 0]; disagreeing
    // on every example: d = ±1, so the interval is about ±1.96·√(1/40) ≈ ±0.31.
    const a = [Array.from({ length: 40 }, (_, i) => i % 2)];
    const agree = pairedBootstrap(a, a);
    const disagree = pairedBootstrap(a, [a[0]!.map((x) => 1 - x)]);
    expect([agree.lo, agree.hi]).toEqual([0, 0]);
    expect(disagree.lo).toBeLessThan(-0.2);
    expect(disagree.hi).toBeGreaterThan(0.2);
  });

  test('deterministic given the seed; shape mismatches are refused with the shapes', () => {
    const a = [[1, 0, 1, 1, 0, 1, 0, 0, 1, 1]];
    const b = [[0, 0, 1, 0, 1, 1, 0, 1, 1, 0]];
    expect(pairedBootstrap(a, b, { seed: 5 })).toEqual(pairedBootstrap(a, b, { seed: 5 }));
    expect(() => pairedBootstrap(a, [[1, 0]])).toThrow(/1 seeds × 10 examples.*a 10 and b 2/);
    expect(() => pairedBootstrap([], [])).toThrow(/at least one seed/);
    expect(() => pairedBootstrap(a, b, { level: 1 })).toThrow(/level must be in \(0, 1\)/);
  });

  test('real-valued scores (held-out block losses): d = [+0.5, −0.5] gives Δ* ∈ {−½, 0, +½} with P 1/4, 1/2, 1/4, so [−0.5, +0.5]', () => {
    const r = pairedBootstrap([[2.5, 3.0]], [[2.0, 3.5]], { seed: 1 });
    expect(r.diff).toBe(0);
    expect([r.lo, r.hi]).toEqual([-0.5, 0.5]);
  });

  test('formatDifference: signed points and the interval; losses in nats per token with the perplexity ratio', () => {
    const d = { level: 0.95, seeds: 3, examples: 500, replicates: 10_000 };
    expect(formatDifference({ diff: 0.012, lo: -0.004, hi: 0.028, ...d })).toBe('+1.2 points (95 % CI −0.4 to +2.8)');
    expect(formatDifference({ diff: -0.02, lo: -0.031, hi: -0.009, ...d }, 'loss')).toBe(
      `−0.020 nats/token (95 % CI −0.031 to −0.009; perplexity ×${Math.exp(-0.02).toFixed(3)})`,
    );
  });
});
