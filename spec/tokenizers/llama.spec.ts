/**
 * LLaMA-2 SentencePiece-BPE against Hugging Face: known ids (llama-tokenizer-js's
 * README and tests, transformers' integration test), and thousands of real texts
 * against llama-tokenizer-js, an independent port of the same rank-ordered merges
 * (its own code: a linked list and a priority queue), checked by its author against HF.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FormatError } from '../../base/errors.ts';
import { fromTokenizerJson, LlamaTokenizer, type TokenizerJson } from '../../models/tokenizers/index.ts';
import { disagreements, emailBodies, imdbReviews } from './corpus.ts';
import { llamaReference, llamaTokenizerJson } from './vocab-fixtures.ts';

const json = llamaTokenizerJson();
const llama = new LlamaTokenizer(json);
/** The newer layout transformers writes: no normalizer, a Metaspace pre-tokenizer that prepends only at the start. */
const metaspace = (o: { prepend_scheme?: string; split: boolean }) =>
  new LlamaTokenizer({ ...json, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', ...o } });
const imdb = imdbReviews();
const emails = emailBodies();
/** Our ids for each corpus text, computed once for the agreement and round-trip tests. */
const encoded = new Map([...imdb, ...emails].map((t) => [t, llama.encode(t)]));

/** transformers' shared tokenizer test input. */
const HF_INPUT =
  'This is a test 😊\nI was born in 92000, and this is falsé.\n生活的真谛是\nHi  Hello\nHi   Hello\n\n \n  \n Hello\n<s>\nhi<s>there\nThe following string should be properly encoded: Hello.\nBut ird and ปี   ird   ด\nHey how are you doing';

describe('known answers', () => {
  test('the README sentence, with <s>', () => {
    expect(llama.encode('Hello world! The quick brown fox.')).toEqual([1, 15043, 3186, 29991, 450, 4996, 17354, 1701, 29916, 29889]);
  });

  test('spaces, byte fallback for characters outside the vocabulary, equal-rank merges left to right', () => {
    expect(llama.encode(' grabbed')).toEqual([1, 29871, 2646, 1327, 287]);
    expect(llama.encode('           grabbed')).toEqual([1, 9651, 2646, 1327, 287]);
    expect(llama.encode(' \n')).toEqual([1, 259, 13]);
    expect(llama.encode('🦙Ꙋ')).toEqual([1, 29871, 243, 162, 169, 156, 237, 156, 141]);
    expect(llama.encode('ax\n####\nboo')).toEqual([1, 4853, 13, 4136, 13, 833, 29877]);
    expect(llama.encode('', { addEos: true })).toEqual([1, 2]);
  });

  test("transformers' integration ids (Metaspace layout: '<s>' in the text is the special token, no ▁ after it)", () => {
    const expected = [
      910, 338, 263, 1243, 29871, 243, 162, 155, 141, 13, 29902, 471, 6345, 297, 29871, 29929, 29906, 29900, 29900, 29900, 29892, 322, 445, 338, 285, 1338,
      29948, 29889, 13, 30486, 31704, 30210, 30848, 235, 179, 158, 30392, 13, 18567, 29871, 15043, 13, 18567, 259, 15043, 13, 13, 29871, 13, 259, 13, 15043, 13,
      1, 13, 2918, 1, 12711, 13, 1576, 1494, 1347, 881, 367, 6284, 18511, 29901, 15043, 29889, 13, 6246, 29871, 1823, 322, 29871, 31010, 30691, 1678, 1823,
      1678, 30718, 13, 29950, 1032, 920, 526, 366, 2599,
    ];
    const tokenizer = metaspace({ prepend_scheme: 'first', split: false });
    expect(tokenizer.encode(HF_INPUT, { addBos: false })).toEqual(expected);
    expect(tokenizer.decode(expected)).toBe(HF_INPUT);
  });

  test("Meta's legacy layout prepends ▁ to the text after each special token", () => {
    const [before, afterFirst, afterSecond] = HF_INPUT.split('<s>');
    const piece = (s: string) => llamaReference.encode(s, false, true);
    expect(llama.encode(HF_INPUT, { addBos: false })).toEqual([...piece(before!), 1, ...piece(afterFirst!), 1, ...piece(afterSecond!)]);
  });

  test("Metaspace with split cuts words before each ▁; 'never' prepends nothing", () => {
    const split = metaspace({ prepend_scheme: 'always', split: true });
    expect(split.tokenize('a  bc d')).toEqual([...llama.tokenize('a'), '▁', ...llama.tokenize('bc'), ...llama.tokenize('d')]);
    expect(metaspace({ prepend_scheme: 'never', split: false }).tokenize('Hello')).toEqual(['Hello']);
  });
});

describe('agreement with llama-tokenizer-js on real text', () => {
  test(`${imdb.length} IMDB reviews and ${emails.length} SpamAssassin email bodies give identical ids`, () => {
    const ours = (t: string) => encoded.get(t)!;
    const reference = (t: string) => llamaReference.encode(t);
    expect(disagreements('LLaMA vs llama-tokenizer-js, IMDB', imdb, ours, reference).slice(0, 3)).toEqual([]);
    expect(disagreements('LLaMA vs llama-tokenizer-js, SpamAssassin', emails, ours, reference).slice(0, 3)).toEqual([]);
  });

  test('decode(encode(text)) gives every text back', () => {
    expect([...encoded].filter(([text, ids]) => llama.decode(ids, { skipSpecialTokens: true }) !== text)).toEqual([]);
  });
});

describe('decoding', () => {
  test('byte pieces are reassembled into UTF-8; an invalid run becomes one U+FFFD per byte', () => {
    expect(llama.decode([1, 29871, 243, 162, 169, 156])).toBe('<s> 🦙');
    expect(llama.decode([1, 29871, 243, 162, 169, 156], { skipSpecialTokens: true })).toBe('🦙');
    expect(llama.decode([15043, 243, 162, 3186])).toBe('Hello\uFFFD\uFFFD world');
  });
});

describe('loading', () => {
  test('fromTokenizerJson picks LlamaTokenizer for byte-fallback BPE and rejects what it cannot read', () => {
    expect(fromTokenizerJson(json)).toBeInstanceOf(LlamaTokenizer);
    const broken: TokenizerJson[] = [
      { ...json, model: { ...json.model, type: 'Unigram' } },
      { ...json, model: { ...json.model, byte_fallback: false } },
      { ...json, normalizer: null },
      { ...json, model: { ...json.model, merges: ['▁ zzzz'] } },
    ];
    for (const b of broken) expect(() => fromTokenizerJson(b)).toThrow(FormatError);
  });
});

describe('properties', () => {
  const noSpecials = (s: string) => !/<\/?s>|<unk>/.test(s);

  test('any string (lone surrogates included) encodes to ids inside the vocabulary, and decodes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        const ids = llama.encode(s);
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < llama.vocab.size)).toBe(true);
        expect(typeof llama.decode(ids)).toBe('string');
      }),
    );
  });

  test('well-formed unicode matches llama-tokenizer-js and, without a literal ▁ (decoded as a space), round-trips', () => {
    const text = fc
      .oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: fc.constantFrom(...'ab ▁\n\t🦙Ꙋ镇é'), maxLength: 40 }))
      .filter((s) => s !== '' && noSpecials(s));
    fc.assert(
      fc.property(text, (s) => {
        const ids = llama.encode(s);
        expect(ids).toEqual(llamaReference.encode(s));
        if (!s.includes('▁')) expect(llama.decode(ids, { skipSpecialTokens: true })).toBe(s);
      }),
    );
  });
});
