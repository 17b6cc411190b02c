/**
 * BERT input layout by hand on a toy vocabulary: [CLS]/[SEP] placement, segment ids,
 * the truncation strategies with `tokenizers`' exact lengths, padding and masks.
 */
import { describe, expect, test } from 'vitest';
import { ValueError } from '../../base/errors.ts';
import { BertTokenizer, type EncodeOptions } from '../../models/tokenizers/index.ts';

// ids:                  0        1        2        3        4       5    6    7    8    9   10   11   12
const toy = new BertTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
const [PAD, CLS, SEP] = [0, 2, 3];
const [a, b, c, d, e, f, g, h] = [5, 6, 7, 8, 9, 10, 11, 12];
const ids = (text: string, pair?: string, o?: EncodeOptions) => toy.encode(text, pair, o).inputIds;

describe('layout', () => {
  test('one text: [CLS] text [SEP], all segment 0, all attended', () => {
    expect(toy.encode('a b c')).toEqual({ inputIds: [CLS, a, b, c, SEP], tokenTypeIds: [0, 0, 0, 0, 0], attentionMask: [1, 1, 1, 1, 1] });
  });

  test('a pair: the second text and its [SEP] are segment 1', () => {
    expect(toy.encode('a b', 'c d e')).toEqual({
      inputIds: [CLS, a, b, SEP, c, d, e, SEP],
      tokenTypeIds: [0, 0, 0, 0, 1, 1, 1, 1],
      attentionMask: [1, 1, 1, 1, 1, 1, 1, 1],
    });
  });

  test('without special tokens the pair keeps segment 1 (as tokenizers does)', () => {
    expect(toy.encode('a b', 'c', { addSpecialTokens: false })).toEqual({ inputIds: [a, b, c], tokenTypeIds: [0, 0, 1], attentionMask: [1, 1, 1] });
  });
});

describe('truncation', () => {
  test('off by default: maxLength alone cuts nothing, as in HF', () => {
    expect(ids('a b c d e f', undefined, { maxLength: 4 })).toEqual([CLS, a, b, c, d, e, f, SEP]);
  });

  test('one text is cut to maxLength, special tokens included', () => {
    expect(ids('a b c d e f', undefined, { maxLength: 4, truncation: 'longest_first' })).toEqual([CLS, a, b, SEP]);
  });

  test('longest_first keeps a short second text whole and cuts the long one', () => {
    expect(ids('a b c d e f', 'g h', { maxLength: 8, truncation: 'longest_first' })).toEqual([CLS, a, b, c, SEP, g, h, SEP]);
  });

  test('longest_first splits the budget when both are long, the odd token to the longer', () => {
    expect(ids('a b c d e f', 'a b c d e', { maxLength: 10, truncation: 'longest_first' })).toEqual([CLS, a, b, c, d, SEP, a, b, c, SEP]);
  });

  test('longest_first on equal lengths gives the odd token to the second (tokenizers; Python slow gives it to the first)', () => {
    expect(ids('a b c d', 'e f g h', { maxLength: 8, truncation: 'longest_first' })).toEqual([CLS, a, b, SEP, e, f, g, SEP]);
  });

  test('only_first and only_second cut just that text', () => {
    expect(ids('a b c d e f', 'g h', { maxLength: 7, truncation: 'only_first' })).toEqual([CLS, a, b, SEP, g, h, SEP]);
    expect(ids('a b', 'c d e f g h', { maxLength: 7, truncation: 'only_second' })).toEqual([CLS, a, b, SEP, c, d, SEP]);
  });

  test('a strategy that cannot fit, or has no pair to cut, is a ValueError', () => {
    expect(() => ids('a b c d e f', 'g h', { maxLength: 7, truncation: 'only_second' })).toThrow(ValueError);
    expect(() => ids('a b c', undefined, { maxLength: 3, truncation: 'only_second' })).toThrow(ValueError);
    expect(() => ids('a', 'b', { maxLength: 2, truncation: 'longest_first' })).toThrow(ValueError);
  });
});

describe('padding', () => {
  test("'max_length' pads ids with [PAD], segments and attention with 0", () => {
    expect(toy.encode('a', 'b', { maxLength: 7, padding: 'max_length' })).toEqual({
      inputIds: [CLS, a, SEP, b, SEP, PAD, PAD],
      tokenTypeIds: [0, 0, 0, 1, 1, 0, 0],
      attentionMask: [1, 1, 1, 1, 1, 0, 0],
    });
  });

  test("'max_length' with truncation gives exactly maxLength", () => {
    for (const text of ['a', 'a b c d e f g h']) {
      expect(ids(text, undefined, { maxLength: 5, truncation: 'longest_first', padding: 'max_length' })).toHaveLength(5);
    }
  });

  test("encodeBatch with 'longest' pads every row to the longest", () => {
    const batch = toy.encodeBatch(['a', ['a b', 'c']], { padding: 'longest' });
    expect(batch.map((r) => r.inputIds)).toEqual([
      [CLS, a, SEP, PAD, PAD, PAD],
      [CLS, a, b, SEP, c, SEP],
    ]);
    expect(batch.map((r) => r.attentionMask)).toEqual([
      [1, 1, 1, 0, 0, 0],
      [1, 1, 1, 1, 1, 1],
    ]);
  });
});
