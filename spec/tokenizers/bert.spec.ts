/**
 * BERT WordPiece against Hugging Face: known ids for bert-base-uncased (HF's docs and
 * its own test suite), HF's BasicTokenizer test cases, and thousands of real texts
 * against an independent plain WordPiece (naive-wordpiece.ts) and, for the WordPiece
 * stage, against bert-tokenizer's own greedy matcher.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BertTokenizer, fromTokenizerJson } from '../../models/tokenizers/index.ts';
import { basicTokenize } from '../../models/tokenizers/bert-basic.ts';
import { disagreements, emailBodies, imdbReviews } from './corpus.ts';
import { naiveBertEncoder } from './naive-wordpiece.ts';
import { bertTokenizerJson, bertVocab } from './vocab-fixtures.ts';

const vocab = bertVocab();
const bert = new BertTokenizer(vocab);
const imdb = imdbReviews();
const emails = emailBodies();
const ids = (text: string) => bert.encode(text).inputIds;

describe('bert-base-uncased known answers', () => {
  test('special tokens and common pieces have their HF ids', () => {
    expect([bert.padId, bert.unkId, bert.clsId, bert.sepId, bert.maskId]).toEqual([0, 100, 101, 102, 103]);
    expect(['the', '##ing'].map((t) => bert.vocab.id(t))).toEqual([1996, 2075]);
  });

  test('sentences from HF docs and tests', () => {
    expect(ids('i like strawberries')).toEqual([101, 1045, 2066, 13137, 20968, 102]);
    expect(ids('Hello, my dog is cute')).toEqual([101, 7592, 1010, 2026, 3899, 2003, 10140, 102]);
    expect(ids('UNwant\u00E9d,running')).toEqual([101, 18162, 1010, 2770, 102]);
    expect(bert.tokenize('A, naïve [MASK] AllenNLP sentence.')).toEqual(['a', ',', 'naive', '[MASK]', 'allen', '##nl', '##p', 'sentence', '.']);
  });

  test("HF's integration text (emoji, CJK, Thai, '<s>') without lower-casing, as transformers' test runs it", () => {
    const input =
      'This is a test 😊\nI was born in 92000, and this is falsé.\n生活的真谛是\nHi  Hello\nHi   Hello\n\n \n  \n Hello\n<s>\nhi<s>there\nThe following string should be properly encoded: Hello.\nBut ird and ปี   ird   ด\nHey how are you doing';
    const expected = [
      100, 2003, 1037, 3231, 100, 100, 2001, 2141, 1999, 6227, 8889, 2692, 1010, 1998, 2023, 2003, 100, 1012, 1910, 100, 1916, 1921, 100, 100, 100, 100, 100,
      100, 100, 1026, 1055, 1028, 7632, 1026, 1055, 1028, 2045, 100, 2206, 5164, 2323, 2022, 7919, 12359, 1024, 100, 1012, 100, 20868, 2094, 1998, 100, 20868,
      2094, 100, 100, 2129, 2024, 2017, 2725,
    ];
    expect(new BertTokenizer(vocab, { doLowerCase: false }).encode(input, undefined, { addSpecialTokens: false }).inputIds).toEqual(expected);
  });

  test('vocab.txt text, a token array and tokenizer.json give the same tokenizer', () => {
    const text = 'Ünïcödé façade — 東京 $5+3=8 <br />';
    const fromTxt = new BertTokenizer(`${vocab.join('\n')}\n`);
    const fromJson = fromTokenizerJson(bertTokenizerJson(vocab));
    expect(fromJson).toBeInstanceOf(BertTokenizer);
    expect(fromTxt.encode(text)).toEqual(bert.encode(text));
    expect((fromJson as BertTokenizer).encode(text)).toEqual(bert.encode(text));
  });

  test('decode joins ## pieces and undoes the spaces before punctuation and contractions', () => {
    expect(bert.decode(ids("Hello, my dog is cute. I don't know!"), { skipSpecialTokens: true })).toBe("hello, my dog is cute. i don't know!");
    expect(bert.decode(ids('strawberries'))).toBe('[CLS] strawberries [SEP]');
    expect(bert.decode(ids('a , b'), { cleanUpSpaces: false })).toBe('[CLS] a , b [SEP]');
  });
});

describe("HF's BasicTokenizer and WordpieceTokenizer test cases", () => {
  const basic = (text: string, lowercase = true, stripAccents = lowercase) => basicTokenize(text, { lowercase, stripAccents, tokenizeChineseChars: true });

  test('lower-casing, accents, whitespace, punctuation, CJK, control characters', () => {
    expect(basic(' \tHeLLo!how  \n Are yoU?  ')).toEqual(['hello', '!', 'how', 'are', 'you', '?']);
    expect(basic('H\u00E9llo')).toEqual(['hello']);
    expect(basic(' \tHäLLo!how  \n Are yoU?  ', true, false)).toEqual(['hällo', '!', 'how', 'are', 'you', '?']);
    expect(basic(' \tHeLLo!how  \n Are yoU?  ', false)).toEqual(['HeLLo', '!', 'how', 'Are', 'yoU', '?']);
    expect(basic(' \tHäLLo!how  \n Are yoU?  ', false, true)).toEqual(['HaLLo', '!', 'how', 'Are', 'yoU', '?']);
    expect(basic("a\n'll !!to?'d of, can't.")).toEqual(['a', "'", 'll', '!', '!', 'to', '?', "'", 'd', 'of', ',', 'can', "'", 't', '.']);
    expect(basic('ah\u535A\u63A8zz')).toEqual(['ah', '\u535A', '\u63A8', 'zz']);
    expect(basic('\u200E\u200F\u00AD')).toEqual([]);
    expect(basic('$-`.~|^')).toEqual(['$', '-', '`', '.', '~', '|', '^']);
  });

  test('greedy longest match with ##, and [UNK] for a word that cannot be covered', () => {
    const toy = new BertTokenizer(['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]', 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing', ',', 'low', 'lowest']);
    expect(toy.tokenize('UNwant\u00E9d,running')).toEqual(['un', '##want', '##ed', ',', 'runn', '##ing']);
    expect(toy.encode('UNwant\u00E9d,running', undefined, { addSpecialTokens: false }).inputIds).toEqual([9, 6, 7, 12, 10, 11]);
    expect(toy.tokenize('unwantedX running')).toEqual(['[UNK]', 'runn', '##ing']);
    expect(['Test', '\xad', 'test'].map((t) => toy.tokenize(t))).toEqual([['[UNK]'], [], ['[UNK]']]);
  });

  test('tokenizeChineseChars: each ideograph a word, or ## pieces of one word when off', () => {
    expect(bert.tokenize('的人有')).toEqual(['的', '人', '有']);
    expect(new BertTokenizer(vocab, { tokenizeChineseChars: false }).tokenize('的人有')).toEqual(['的', '##人', '##有']);
  });

  test('a word over maxInputCharsPerWord is one [UNK]', () => {
    expect(bert.tokenize('a'.repeat(100))).not.toEqual(['[UNK]']);
    expect(bert.tokenize('a'.repeat(101))).toEqual(['[UNK]']);
  });
});

describe('agreement on real text', () => {
  const naive = naiveBertEncoder(vocab);

  test(`${imdb.length} IMDB reviews and ${emails.length} SpamAssassin email bodies match the independent plain WordPiece`, () => {
    expect(disagreements('BERT vs plain WordPiece, IMDB', imdb, ids, naive).slice(0, 3)).toEqual([]);
    expect(disagreements('BERT vs plain WordPiece, SpamAssassin', emails, ids, naive).slice(0, 3)).toEqual([]);
  });

  test("the WordPiece stage matches bert-tokenizer's greedy matcher on every text its NFKC leaves alone", () => {
    // bert-tokenizer prefixes each space-separated word with ▁, NFKC-normalises it and matches it against
    // its ▁-convention vocabulary: fed our basic tokenizer's words, it checks our matcher and the vocabulary conversion.
    const { BertTokenizer: Reference } = createRequire(import.meta.url)('bert-tokenizer');
    const reference = new Reference();
    const words = new Map([...imdb, ...emails].map((t) => [t, basicTokenize(t, { lowercase: true, stripAccents: true, tokenizeChineseChars: true })]));
    const comparable = [...words.keys()].filter((t) => words.get(t)!.every((w) => w.normalize('NFKC') === w && [...w].length <= 100));
    expect(comparable.length).toBeGreaterThan(3900);
    const ours = (t: string) => bert.encode(t, undefined, { addSpecialTokens: false }).inputIds;
    const theirs = (t: string): number[] => (words.get(t)!.length ? reference.tokenizer.tokenize(words.get(t)!.join(' ')) : []);
    expect(disagreements('BERT WordPiece vs bert-tokenizer', comparable, ours, theirs).slice(0, 3)).toEqual([]);
  });
});

describe('properties', () => {
  const text = fc.string({ unit: 'binary', maxLength: 60 });

  test('any string (lone surrogates, controls, any script) encodes and decodes without throwing, ids inside the vocabulary', () => {
    fc.assert(
      fc.property(text, fc.option(text, { nil: undefined }), (a, b) => {
        const e = bert.encode(a, b);
        expect(e.inputIds.every((id) => Number.isInteger(id) && id >= 0 && id < bert.vocab.size)).toBe(true);
        expect(typeof bert.decode(e.inputIds, { skipSpecialTokens: true })).toBe('string');
      }),
    );
  });

  test('with truncation and padding: length is maxLength and the mask counts the real tokens', () => {
    fc.assert(
      fc.property(text, text, fc.integer({ min: 3, max: 40 }), (a, b, maxLength) => {
        const real = bert.encode(a, b).inputIds.length;
        const e = bert.encode(a, b, { maxLength, truncation: 'longest_first', padding: 'max_length' });
        const sum = e.attentionMask.reduce((s, m) => s + m, 0);
        expect([e.inputIds.length, e.tokenTypeIds.length, e.attentionMask.length]).toEqual([maxLength, maxLength, maxLength]);
        expect(sum).toBe(Math.min(real, maxLength));
        expect(e.inputIds.slice(sum).every((id) => id === bert.padId)).toBe(true);
      }),
    );
  });
});
