/**
 * Model inputs for encoder models (ids, segment ids, attention mask) and the
 * truncation and padding rules of HF `tokenizers`, kept apart from any one vocabulary.
 */
import { ValueError } from '../../base/errors.ts';

export interface Encoding {
  inputIds: number[];
  /** Segment of each position: 0 for the first text (and its specials), 1 for the pair. */
  tokenTypeIds: number[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
}

/** Which text loses tokens when the two together exceed `maxLength`. */
export type Truncation = 'longest_first' | 'only_first' | 'only_second' | false;
/** `'longest'` pads a batch to its longest member; `'max_length'` to `maxLength`. */
export type Padding = 'max_length' | 'longest' | false;

export interface EncodeOptions {
  /** Limit for truncation and `padding: 'max_length'`, special tokens included (default: the model's, 512 for BERT). */
  maxLength?: number;
  /** Off by default, as in HF: a long text is only cut when asked. */
  truncation?: Truncation;
  padding?: Padding;
  addSpecialTokens?: boolean;
}

/**
 * Cuts the tails of `a` and `b` so that they fit in `budget` tokens (special tokens
 * already subtracted), with the exact lengths of `tokenizers`' `truncate_encodings`:
 * 'longest_first' keeps the shorter text whole if it fits in half the budget and
 * otherwise splits the budget evenly, the odd token going to the longer text (to the
 * second on a tie; Python's slow tokenizers give it to the first).
 */
export function truncate(a: number[], b: number[] | undefined, budget: number, strategy: Truncation): [number[], number[] | undefined] {
  const excess = a.length + (b?.length ?? 0) - budget;
  if (strategy === false || excess <= 0) return [a, b];
  if (strategy === 'longest_first') {
    if (!b) return [a.slice(0, budget), b];
    const swap = a.length > b.length;
    let short = Math.min(a.length, b.length);
    let long = short > budget ? short : Math.max(short, budget - short);
    if (short + long > budget) {
      short = Math.floor(budget / 2);
      long = short + (budget % 2);
    }
    return swap ? [a.slice(0, long), b.slice(0, short)] : [a.slice(0, short), b.slice(0, long)];
  }
  const target = strategy === 'only_first' ? a : b;
  if (!target) throw new ValueError(`truncate: truncation '${strategy}' needs a pair of texts`);
  if (target.length <= excess) {
    throw new ValueError(
      `truncate: truncation '${strategy}' must remove ${excess} tokens from a text of ${target.length} to fit maxLength; use 'longest_first'`,
    );
  }
  const cut = target.slice(0, target.length - excess);
  return strategy === 'only_first' ? [cut, b] : [a, cut];
}

/** Right-pads to `length` with `padId` (segment 0, attention 0); longer encodings are left as they are. */
export function pad(e: Encoding, length: number, padId: number): Encoding {
  const n = length - e.inputIds.length;
  if (n <= 0) return e;
  const zeros = new Array<number>(n).fill(0);
  return {
    inputIds: [...e.inputIds, ...new Array<number>(n).fill(padId)],
    tokenTypeIds: [...e.tokenTypeIds, ...zeros],
    attentionMask: [...e.attentionMask, ...zeros],
  };
}
