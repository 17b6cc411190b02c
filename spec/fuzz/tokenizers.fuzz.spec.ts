/**
 * Fuzz: mutated tokenizer.json (WordPiece, BPE in both layouts) and vocab.txt, through the
 * bytes API (spec/fuzz/harness.ts states the law). JSON files are mutated as trees
 * (wrong types, fractional and huge ids, renamed keys, Sequences nested thousands deep)
 * and as bytes; vocab.txt as bytes.
 *
 * An accepted tokenizer must behave: encoding any text gives ids inside its vocabulary
 * (and below the paired model's vocab_size), decoding them does not throw, and encoding
 * is deterministic.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { tokenizerFromFiles, type AnyTokenizer } from '../../models/index.ts';
import { fromTokenizerJson } from '../../models/tokenizers/index.ts';
import { bpeJson, VOCAB_TXT, wordPieceJson } from '../tokenizers/tiny.ts';
import { applyByteEdits, applyJsonEdits, arbByteEdits, arbJsonEdits, describeCase, jsonText, params, Tally } from './harness.ts';

const BASES = { wordpiece: wordPieceJson(), legacy: bpeJson('legacy'), metaspace: bpeJson('metaspace') };
const NAMES = Object.keys(BASES) as (keyof typeof BASES)[];
const TEXTS = ['The cats sat on a mat.', 'ab abc', ' a\tb  c ', '[CLS] <s> ▁ \u{1F600} é', ''];
/** The vocab_size of the model the tokenizer is paired with: large enough for every base. */
const VOCAB_SIZE = 300;

function expectBehaves(tokenizer: AnyTokenizer, text: string): void {
  const size = tokenizer.vocab.tokens.length;
  expect(size).toBeLessThanOrEqual(VOCAB_SIZE);
  for (const t of [...TEXTS, text]) {
    const ids = 'clsId' in tokenizer ? tokenizer.encode(t).inputIds : tokenizer.encode(t);
    for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < size, `id ${id} of ${JSON.stringify(t)}`).toBe(true);
    expect(typeof tokenizer.decode(ids)).toBe('string');
    expect('clsId' in tokenizer ? tokenizer.encode(t).inputIds : tokenizer.encode(t)).toEqual(ids);
  }
}

const tallies: Tally[] = [];
afterAll(() => {
  for (const t of tallies) console.log(t.summary());
});

describe('fuzz: tokenizer.json and vocab.txt', () => {
  test('tokenizer.json trees: a documented error, or a tokenizer that behaves', () => {
    const tally = new Tally('tokenizer.json trees');
    tallies.push(tally);
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), arbJsonEdits, fc.string({ maxLength: 12 }), (name, edits, text) => {
        const json = applyJsonEdits(BASES[name], edits);
        // Through the object API (any depth) and, when it can be written, through the bytes API.
        const tokenizer = tally.run(
          () => describeCase(name, edits),
          () => fromTokenizerJson(json),
        );
        if (tokenizer) expectBehaves(tokenizer, text);
        const written = jsonText(json);
        if (written !== null) {
          const fromBytes = tally.run(
            () => describeCase(`${name} as bytes`, edits),
            () => tokenizerFromFiles({ tokenizerJson: new TextEncoder().encode(written) }, { vocabSize: VOCAB_SIZE }),
          );
          if (fromBytes) expectBehaves(fromBytes, text);
        }
      }),
      params(1401, 700),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });

  test('tokenizer.json bytes: a documented error, or a tokenizer that behaves', () => {
    const tally = new Tally('tokenizer.json bytes');
    tallies.push(tally);
    const texts = Object.fromEntries(NAMES.map((n) => [n, new TextEncoder().encode(JSON.stringify(BASES[n]))]));
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), arbByteEdits, (name, edits) => {
        const tokenizer = tally.run(
          () => describeCase(name, edits),
          () => tokenizerFromFiles({ tokenizerJson: applyByteEdits(texts[name]!, edits) }, { vocabSize: VOCAB_SIZE }),
        );
        if (tokenizer) expectBehaves(tokenizer, '');
      }),
      params(1402, 400),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });

  test('vocab.txt bytes (with and without tokenizer_config.json): a documented error, or a tokenizer that behaves', () => {
    const tally = new Tally('vocab.txt bytes');
    tallies.push(tally);
    const vocab = new TextEncoder().encode(VOCAB_TXT);
    // Half the cases spare the five special tokens (whose loss is always the same FormatError).
    const specials = VOCAB_TXT.indexOf('the');
    fc.assert(
      fc.property(
        arbByteEdits,
        fc.boolean(),
        fc.constantFrom(undefined, '{"do_lower_case": false}', '{"do_lower_case": 1}'),
        fc.string({ maxLength: 12 }),
        (edits, spare, config, text) => {
          const bytes = applyByteEdits(vocab, edits, spare ? specials : 0);
          const tokenizer = tally.run(
            () => describeCase(`vocab.txt (from byte ${spare ? specials : 0}), config ${config}`, edits),
            () => tokenizerFromFiles({ vocabTxt: bytes, tokenizerConfig: config }, { vocabSize: VOCAB_SIZE }),
          );
          if (tokenizer) expectBehaves(tokenizer, text);
        },
      ),
      params(1403, 500),
    );
    expect(tally.ok).toBeGreaterThan(0);
  });
});
