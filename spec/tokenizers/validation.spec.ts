/**
 * tokenizer.json and vocab.txt are checked against what the loaders support (issue 13,
 * finding 4): a bad file is a FormatError naming the field when it is loaded — never a
 * TypeError (`merges.forEach is not a function`), a stack overflow, wrong ids from an id
 * written as "5" or 1.5, a silently ignored normalizer, or an id the model cannot embed.
 */
import { describe, expect, test } from 'vitest';
import { FormatError, ValueError } from '../../index.ts';
import { tokenizerFromFiles } from '../../models/index.ts';
import { BertTokenizer, fromTokenizerJson, type LlamaTokenizer, MAX_COMPONENT_DEPTH, parseTokenizerJson } from '../../models/tokenizers/index.ts';
import { bpeJson, VOCAB_TXT, wordPieceJson } from './tiny.ts';

// biome-ignore lint/suspicious/noExplicitAny: mutated tokenizer.json trees of any shape
type Json = Record<string, any>;
const edited = (base: () => Json, edit: (j: Json) => void) => {
  const json = base();
  edit(json);
  return json;
};
const refuse = (json: unknown, message: RegExp) => expect(() => fromTokenizerJson(json)).toThrow(message);

describe('the tiny files load and tokenize', () => {
  test('WordPiece, BPE in both layouts', () => {
    expect((fromTokenizerJson(wordPieceJson()) as BertTokenizer).encode('The cats sat.').inputIds).toEqual([2, 5, 6, 10, 7, 11, 3]);
    const legacy = fromTokenizerJson(bpeJson()) as LlamaTokenizer;
    expect(legacy.tokenize('ab abc')).toEqual(['▁ab', '▁ab', 'c']);
    expect(legacy.decode(legacy.encode('ab abc'), { skipSpecialTokens: true })).toBe('ab abc');
    expect((fromTokenizerJson(bpeJson('metaspace')) as LlamaTokenizer).tokenize('ab')).toEqual(['▁ab']);
  });
});

describe('ids, merges and added tokens have the types and ranges the readers assume', () => {
  test('ids must be 0..n−1, each once: "5", 1.5, [], −1, 2^40 and duplicates are refused, naming the token', () => {
    for (const id of ['5', 1.5, [], -1, 2 ** 53, null, true]) {
      refuse(
        edited(wordPieceJson, (j) => (j.model.vocab.cat = id)),
        /tokenizer\.json: model\.vocab\["cat"\] must be a non-negative integer id/,
      );
    }
    refuse(
      edited(wordPieceJson, (j) => (j.model.vocab.cat = 15)),
      /model\.vocab\["cat"\] is 15, but the ids of 15 tokens must be 0\.\.14/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.model.vocab.cat = 2 ** 40)),
      /model\.vocab\["cat"\] is 1099511627776, but the ids of 15 tokens must be 0\.\.14/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.model.vocab.cat = 5)),
      /model\.vocab gives id 5 to both "the" and "cat"/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.model.vocab = [])),
      /model\.vocab must map tokens to ids/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.model.vocab = {})),
      /model\.vocab is empty/,
    );
  });

  test('merges must be an array of "a b" strings or [a, b] pairs (not the TypeError merges.forEach is not a function)', () => {
    refuse(
      edited(bpeJson, (j) => (j.model.merges = { 0: '▁ a' })),
      /model\.merges must be an array/,
    );
    for (const m of [5, 'ab', 'a  b', 'a b c', ['a'], ['a', 5], ['', 'b'], null]) {
      refuse(
        edited(bpeJson, (j) => (j.model.merges = [m])),
        /model\.merges\[0\] must be "left right"/,
      );
    }
    refuse(
      edited(bpeJson, (j) => (j.model.merges = ['a z'])),
      /BPE: merge 0 'a z' names a token that is not in the vocabulary/,
    );
    expect(
      (
        fromTokenizerJson(
          edited(
            bpeJson,
            (j) =>
              (j.model.merges = [
                ['▁', 'a'],
                ['a', 'b'],
              ]),
          ),
        ) as LlamaTokenizer
      ).tokenize('ab'),
    ).toEqual(['▁a', 'b']);
  });

  test('added tokens must name a vocabulary token by its own id', () => {
    refuse(
      edited(wordPieceJson, (j) => (j.added_tokens[0].id = 3)),
      /added_tokens\[0\] "\[PAD\]" has id 3, but the vocabulary gives it id 0/,
    );
    refuse(
      edited(bpeJson, (j) => j.added_tokens.push({ id: 300, content: '<pad>', special: true })),
      /"<pad>" has id 300, but the vocabulary does not hold it/,
    );
    refuse(
      edited(bpeJson, (j) => (j.added_tokens[1].content = '')),
      /added_tokens\[1\]\.content must be a non-empty string/,
    );
    refuse(
      edited(bpeJson, (j) => (j.added_tokens = 'x')),
      /added_tokens must be an array/,
    );
  });

  test('fields the readers use have their types; features that change the result are refused, not ignored', () => {
    refuse(
      edited(wordPieceJson, (j) => (j.model.max_input_chars_per_word = '100')),
      /max_input_chars_per_word must be a positive integer/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.model.unk_token = 7)),
      /model\.unk_token must be a string or null/,
    );
    refuse(
      edited(bpeJson, (j) => (j.model.byte_fallback = 'yes')),
      /model\.byte_fallback must be true or false/,
    );
    refuse(
      edited(bpeJson, (j) => (j.model.dropout = 0.1)),
      /BPE dropout is not supported/,
    );
    refuse(
      edited(bpeJson, (j) => (j.model.ignore_merges = true)),
      /ignore_merges/,
    );
    refuse(
      edited(bpeJson, (j) => (j.model.end_of_word_suffix = '</w>')),
      /end_of_word_suffix "<\/w>" is not supported/,
    );
    refuse(
      edited(bpeJson, (j) => (j.model.type = 'Unigram')),
      /model\.type "Unigram" is not supported/,
    );
    refuse(null, /tokenizer\.json: the file must hold a JSON object, got null/);
    refuse({ model: null }, /model must be an object/);
  });
});

describe('normalizers and pre-tokenizers: only what the readers implement, nesting bounded', () => {
  test('an unsupported Replace pattern (a regex, another string) or normalizer is a FormatError, not silently skipped', () => {
    const replace = (pattern: unknown) => edited(bpeJson, (j) => (j.normalizer.normalizers[1].pattern = pattern));
    refuse(replace({ Regex: ' +' }), /unsupported Replace \(pattern \{"Regex":" \+"\} → "▁"\)/);
    refuse(replace({ String: '\t' }), /unsupported Replace/);
    refuse(replace({ String: ' ', Regex: 'x' }), /unsupported Replace/);
    refuse(
      edited(bpeJson, (j) => j.normalizer.normalizers.push({ type: 'NFKC' })),
      /unsupported normalizer NFKC/,
    );
    refuse(
      edited(bpeJson, (j) => (j.normalizer.normalizers[0].prepend = '_')),
      /unsupported normalizer Prepend of "_"/,
    );
    refuse(
      edited(
        () => bpeJson('metaspace'),
        (j) => (j.pre_tokenizer.prepend_scheme = 'sometimes'),
      ),
      /unknown Metaspace prepend_scheme "sometimes"/,
    );
    refuse(
      edited(
        () => bpeJson('metaspace'),
        (j) => (j.pre_tokenizer = { type: 'Sequence', pretokenizers: [j.pre_tokenizer, { type: 'Digits' }] }),
      ),
      /pre-tokenizers Metaspace \+ Digits/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }] })),
      /normalizer must be one BertNormalizer, got NFD \+ Lowercase/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.pre_tokenizer = null)),
      /pre_tokenizer must be one BertPreTokenizer, got nothing/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.normalizer.clean_text = false)),
      /clean_text false is not supported/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.normalizer.lowercase = 'no')),
      /BertNormalizer\.lowercase must be true or false/,
    );
    refuse(
      edited(wordPieceJson, (j) => (j.normalizer = 'BertNormalizer')),
      /normalizer must be null or an object with a string "type"/,
    );
  });

  test('Sequences nested 10,000 deep: a FormatError from the text and from the object, never a stack overflow', () => {
    let normalizer: Json = { type: 'BertNormalizer' };
    for (let i = 0; i < 10_000; i++) normalizer = { type: 'Sequence', normalizers: [normalizer] };
    const json = edited(wordPieceJson, (j) => (j.normalizer = normalizer));
    refuse(json, new RegExp(`nests Sequences more than ${MAX_COMPONENT_DEPTH} deep`));
    const text = JSON.stringify(edited(wordPieceJson, (j) => (j.normalizer = '@'))).replace(
      '"@"',
      `${'{"type":"Sequence","normalizers":['.repeat(10_000)}{"type":"BertNormalizer"}${']}'.repeat(10_000)}`,
    );
    expect(() => parseTokenizerJson(text)).toThrow(/tokenizer\.json: JSON nested 20002 levels deep, more than the 127/);
  });
});

describe('paired with a model: ids past vocab_size are refused at load time', () => {
  test('tokenizer.json and vocab.txt, naming the largest id and the vocab_size', () => {
    expect(() => tokenizerFromFiles({ tokenizerJson: JSON.stringify(bpeJson()) }, { vocabSize: 100, source: 'llama' })).toThrow(
      /^llama\/tokenizer\.json has token ids up to 266 \('bc'\), but the model's vocab_size is 100/,
    );
    expect(() => tokenizerFromFiles({ vocabTxt: VOCAB_TXT }, { vocabSize: 10 })).toThrow(ValueError);
    expect(tokenizerFromFiles({ vocabTxt: new TextEncoder().encode(VOCAB_TXT) }, { vocabSize: 15 })).toBeInstanceOf(BertTokenizer);
    expect(tokenizerFromFiles({})).toBeNull();
  });

  test('vocab.txt: not UTF-8, missing special tokens, or not text are FormatErrors; tokenizer_config.json is checked', () => {
    expect(() => tokenizerFromFiles({ vocabTxt: new Uint8Array([0x5b, 0xff, 0x5d]) })).toThrow(/vocab\.txt is not valid UTF-8/);
    expect(() => tokenizerFromFiles({ vocabTxt: 'the\ncat\n' })).toThrow(/BertTokenizer: the vocabulary has no '\[PAD\]' token/);
    expect(() => new BertTokenizer(5 as never)).toThrow(FormatError);
    expect(() => tokenizerFromFiles({ vocabTxt: VOCAB_TXT, tokenizerConfig: '{"do_lower_case": "yes"}' })).toThrow(/do_lower_case must be true or false/);
    expect((tokenizerFromFiles({ vocabTxt: VOCAB_TXT, tokenizerConfig: '{"do_lower_case": false}' }) as BertTokenizer).tokenize('The')).toEqual(['[UNK]']);
  });
});
