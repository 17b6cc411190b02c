/**
 * The order in which a run reads its training examples: epoch e is a Fisher–Yates
 * shuffle from a generator seeded by (seed, e).
 *
 * Why not one shuffled list kept in memory: with the order a function of (seed, epoch),
 * the batch of step s depends on s alone, so a run resumed from a checkpoint at step s
 * reads exactly the batches an uninterrupted run would have read.
 */
import { Generator } from '../../core/random.ts';

/** A 32-bit mix of integers, for derived seeds. */
export function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h ^= Math.imul((x >>> 0) ^ 0x85ebca6b, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

/** The example order: epoch e is a seeded shuffle, so step s's batch depends on (seed, s) only. */
export class Stream {
  private readonly cache = new Map<number, Int32Array>();
  constructor(
    readonly size: number,
    readonly seed: number,
  ) {}

  private order(epoch: number): Int32Array {
    let perm = this.cache.get(epoch);
    if (!perm) {
      const g = new Generator(mixSeed(this.seed, epoch, 0x5eed));
      perm = Int32Array.from({ length: this.size }, (_, i) => i);
      for (let i = this.size - 1; i > 0; i--) {
        const j = g.integer(0, i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      this.cache.clear();
      this.cache.set(epoch, perm);
    }
    return perm;
  }

  /** Example indices of step `step` for batches of `batchSize`. */
  batch(step: number, batchSize: number): number[] {
    const out: number[] = [];
    for (let p = step * batchSize; p < (step + 1) * batchSize; p++) out.push(this.order(Math.floor(p / this.size))[p % this.size]!);
    return out;
  }

  position(step: number, batchSize: number): { epoch: number; cursor: number } {
    const p = step * batchSize;
    return { epoch: Math.floor(p / this.size), cursor: p % this.size };
  }
}
