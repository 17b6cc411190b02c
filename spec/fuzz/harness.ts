/**
 * The fuzz suite's shared parts (issue 13): case counts, the law every loader must obey,
 * a tally of outcomes, and mutators for bytes and for JSON trees.
 *
 * The law: on any input, a loader either throws one of the documented error classes
 * (FormatError, ValueError, IndexError — see docs/LOADING.md) or returns a result that
 * the test then checks exactly. Anything else — a TypeError or RangeError (a stack
 * overflow is a RangeError), a plain Error — fails the property, and fast-check shrinks
 * it to a small counterexample with its seed. Hangs are bounded by size, not by a clock:
 * every input is a few kilobytes, so a loop that does not end (or an allocation that is
 * not bounded by the input) runs into vitest's per-test timeout.
 *
 * Case counts are fixed and seeded, so CI runs the same cases every time;
 * `SPARSEGRAD_FUZZ=long` multiplies them by 20 (a different stretch of the same seeds).
 */
import type fc from 'fast-check';
import { expect } from 'vitest';
import { FormatError, IndexError, type SparsegradError, ValueError } from '../../index.ts';

export const LONG = process.env.SPARSEGRAD_FUZZ === 'long';

/** Cases for a property: `n` in CI, 20·n with SPARSEGRAD_FUZZ=long. */
export function runs(n: number): number {
  return LONG ? 20 * n : n;
}

/** fast-check parameters: a fixed seed per property, the case count above. */
export function params(seed: number, n: number): fc.Parameters<unknown> {
  return { seed, numRuns: runs(n), endOnFailure: true };
}

const DOCUMENTED = [FormatError, ValueError, IndexError];

/**
 * Outcomes of one fuzz target: 'ok', or the error class (and, for FormatErrors that name
 * one, the safetensors kind: `FormatError/InvalidOffset`).
 */
export class Tally {
  private readonly counts = new Map<string, number>();

  constructor(readonly target: string) {}

  /**
   * Run `load` under the law: a documented error is counted and returns undefined; a
   * result is counted as 'ok' and returned for the caller's exact checks; anything else
   * fails with the input's description.
   */
  run<T>(what: () => string, load: () => T): T | undefined {
    try {
      const result = load();
      this.count('ok');
      return result;
    } catch (e) {
      if (!DOCUMENTED.some((c) => e instanceof c)) {
        expect.fail(`${this.target}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n(not a documented error class) for ${what()}`);
      }
      const kind = /^([A-Z][A-Za-z]+): /.exec((e as SparsegradError).message)?.[1];
      this.count(kind && e instanceof FormatError ? `FormatError/${kind}` : (e as Error).name);
      return undefined;
    }
  }

  private count(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  get ok(): number {
    return this.counts.get('ok') ?? 0;
  }

  /** One line for the test log: total cases and each outcome class with its count. */
  summary(): string {
    const parts = [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    return `fuzz ${this.target}: ${this.total} cases: ${parts.join(', ')}`;
  }
}

export * from './mutate.ts';
