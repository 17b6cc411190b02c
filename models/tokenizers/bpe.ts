/**
 * Byte-pair merging exactly as HF `tokenizers` does it (models/bpe/word.rs,
 * `merge_all`): repeatedly merge the adjacent pair with the best (lowest) rank, the
 * leftmost one among equals, using a heap of candidate pairs that are re-checked when
 * popped because earlier merges may have consumed them. O(n log n) in the symbols.
 */
import { FormatError } from '../../base/errors.ts';

/** Heap keys pack (rank, position) in one double: rank · 2³² + position stays exact below 2⁵³. */
const POS = 2 ** 32;

export class BpeMerges {
  /** (left id · base + right id) → rank. */
  private readonly ranks = new Map<number, number>();
  /** Id of the token each rank produces. */
  private readonly merged: number[] = [];
  /** One more than the largest id, so that pair keys are unique. */
  private readonly base: number;

  /** `merges` in priority order, as `tokenizer.json` lists them (`"a b"` or `["a", "b"]`). */
  constructor(vocab: ReadonlyMap<string, number>, merges: readonly (string | readonly [string, string])[]) {
    let base = 0;
    for (const id of vocab.values()) base = Math.max(base, id + 1);
    this.base = base;
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? [m.slice(0, m.indexOf(' ')), m.slice(m.indexOf(' ') + 1)] : m;
      const [left, right, out] = [a, b, a + b].map((t) => vocab.get(t));
      if (left === undefined || right === undefined || out === undefined)
        throw new FormatError(`BPE: merge ${rank} '${a} ${b}' names a token that is not in the vocabulary`);
      // A repeated pair keeps its last rank, as HF's merge map does.
      this.ranks.set(this.key(left, right), rank);
      this.merged[rank] = out;
    });
  }

  /** Merges the symbols `ids` (one word) into vocabulary tokens. */
  merge(ids: readonly number[]): number[] {
    const n = ids.length;
    const sym = Int32Array.from(ids);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new MinHeap();
    const offer = (pos: number) => {
      const rank = this.ranks.get(this.key(sym[pos]!, sym[next[pos]!]!));
      if (rank !== undefined) heap.push(rank * POS + pos);
    };
    for (let i = 0; i + 1 < n; i++) offer(i);
    while (heap.size > 0) {
      const top = heap.pop();
      const pos = top % POS;
      const right = next[pos]!;
      // A stale candidate: its left symbol was absorbed, or its pair has changed since it was offered.
      if (!alive[pos] || right < 0 || this.ranks.get(this.key(sym[pos]!, sym[right]!)) !== Math.floor(top / POS)) continue;
      sym[pos] = this.merged[Math.floor(top / POS)]!;
      alive[right] = 0;
      next[pos] = next[right]!;
      if (next[pos]! >= 0) prev[next[pos]!] = pos;
      if (prev[pos]! >= 0) offer(prev[pos]!);
      if (next[pos]! >= 0) offer(pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]!) out.push(sym[i]!);
    return out;
  }

  private key(left: number, right: number): number {
    return left * this.base + right;
  }
}

/** A binary min-heap of numbers (JS has none built in). */
class MinHeap {
  private readonly a: number[] = [];

  get size(): number {
    return this.a.length;
  }

  push(x: number): void {
    const a = this.a;
    let i = a.push(x) - 1;
    while (i > 0 && a[(i - 1) >> 1]! > x) {
      a[i] = a[(i - 1) >> 1]!;
      i = (i - 1) >> 1;
    }
    a[i] = x;
  }

  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= a.length) break;
      if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
