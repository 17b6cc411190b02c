/**
 * Tiny but complete tokenizer files, built in code, for validation and fuzz tests: a
 * WordPiece `tokenizer.json` / `vocab.txt` and a byte-fallback BPE `tokenizer.json` in
 * both of HF's layouts. Small enough that thousands of mutated copies parse in seconds.
 */
import type { TokenizerJson } from '../../models/tokenizers/index.ts';

export const WORDPIECE_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'mat', '##s', '.', ',', 'a', '##t'];

export const VOCAB_TXT = `${WORDPIECE_TOKENS.join('\n')}\n`;

export function wordPieceJson(): TokenizerJson & Record<string, unknown> {
  return {
    version: '1.0',
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(WORDPIECE_TOKENS.map((t, id) => [t, id])),
    },
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({ id: WORDPIECE_TOKENS.indexOf(content), content, special: true })),
  };
}

const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
export const BPE_TOKENS = ['<unk>', '<s>', '</s>', ...BYTES, '▁', 'a', 'b', 'c', '▁a', 'ab', '▁ab', 'bc'];

/** LLaMa-2's layout (normalizers Prepend + Replace), or the newer Metaspace pre-tokenizer. */
export function bpeJson(layout: 'legacy' | 'metaspace' = 'legacy'): TokenizerJson & Record<string, unknown> {
  return {
    version: '1.0',
    model: {
      type: 'BPE',
      byte_fallback: true,
      unk_token: '<unk>',
      vocab: Object.fromEntries(BPE_TOKENS.map((t, id) => [t, id])),
      merges: ['▁ a', 'a b', '▁a b', 'b c'],
    },
    normalizer:
      layout === 'legacy'
        ? {
            type: 'Sequence',
            normalizers: [
              { type: 'Prepend', prepend: '▁' },
              { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
            ],
          }
        : null,
    pre_tokenizer: layout === 'legacy' ? null : { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, special: true })),
  };
}
