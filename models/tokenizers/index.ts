/**
 * Tokenizers for the models we load: BERT WordPiece and LLaMA SentencePiece-BPE, read
 * from Hugging Face files (`vocab.txt`, `tokenizer.json`) and giving HF's ids.
 */
import { FormatError } from '../../base/errors.ts';
import { BertTokenizer } from './bert-wordpiece.ts';
import { LlamaTokenizer } from './llama-spm.ts';
import { checkTokenizerJson, type TokenizerJson } from './tokenizer-json.ts';

export { BertTokenizer, type BertTokenizerOptions, type DecodeOptions } from './bert-wordpiece.ts';
export { LlamaTokenizer, type LlamaEncodeOptions } from './llama-spm.ts';
export type { EncodeOptions, Encoding, Padding, Truncation } from './encoding.ts';
export { checkTokenizerJson, parseTokenizerJson, MAX_COMPONENT_DEPTH, type TokenizerJson } from './tokenizer-json.ts';
export { Vocabulary } from './vocab.ts';

/**
 * The tokenizer a parsed `tokenizer.json` describes, chosen by its `model.type`. The value
 * may be anything (it is checked: FormatError naming the field); pass `text` or bytes
 * through `parseTokenizerJson` first, which also bounds nesting and checks the encoding.
 */
export function fromTokenizerJson(json: TokenizerJson | unknown, what = 'tokenizer.json'): BertTokenizer | LlamaTokenizer {
  const checked = checkTokenizerJson(json, what);
  switch (checked.model.type) {
    case 'WordPiece':
      return new BertTokenizer(checked);
    case 'BPE':
      return new LlamaTokenizer(checked);
    default:
      throw new FormatError(`${what}: model.type '${checked.model.type}' is not supported (WordPiece or byte-fallback BPE)`);
  }
}
