/**
 * Tokenizers for the models we load: BERT WordPiece and LLaMA SentencePiece-BPE, read
 * from Hugging Face files (`vocab.txt`, `tokenizer.json`) and giving HF's ids.
 */
import { FormatError } from '../../base/errors.ts';
import { BertTokenizer } from './bert-wordpiece.ts';
import { LlamaTokenizer } from './llama-spm.ts';
import type { TokenizerJson } from './tokenizer-json.ts';

export { BertTokenizer, type BertTokenizerOptions, type DecodeOptions } from './bert-wordpiece.ts';
export { LlamaTokenizer, type LlamaEncodeOptions } from './llama-spm.ts';
export type { EncodeOptions, Encoding, Padding, Truncation } from './encoding.ts';
export type { TokenizerJson } from './tokenizer-json.ts';
export { Vocabulary } from './vocab.ts';

/** The tokenizer a parsed `tokenizer.json` describes, chosen by its `model.type`. */
export function fromTokenizerJson(json: TokenizerJson): BertTokenizer | LlamaTokenizer {
  switch (json.model?.type) {
    case 'WordPiece':
      return new BertTokenizer(json);
    case 'BPE':
      return new LlamaTokenizer(json);
    default:
      throw new FormatError(`fromTokenizerJson: model.type '${json.model?.type}' is not supported (WordPiece or byte-fallback BPE)`);
  }
}
