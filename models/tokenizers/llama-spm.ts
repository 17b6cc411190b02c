/**
 * LLaMA (1 and 2) SentencePiece-BPE, id for id with HF's LlamaTokenizerFast: spaces
 * become `▁` and a `▁` is prepended, each character is a piece or, when the vocabulary
 * lacks it, its UTF-8 bytes as `<0xNN>` pieces, then pieces merge by rank (bpe.ts).
 * HF ranks the merges from SentencePiece's scores, so merging by rank reproduces
 * SentencePiece. Both `tokenizer.json` layouts are read: Meta's ("legacy": normalizers
 * Prepend + Replace, a `▁` before every stretch of text between special tokens) and
 * the newer Metaspace pre-tokenizer (`prepend_scheme: "first"`: only at the very start).
 */
import { FormatError } from '../../base/errors.ts';
import { BpeMerges } from './bpe.ts';
import { specialTokenSplitter } from './special-tokens.ts';
import { isRecord, show } from '../json.ts';
import { checkTokenizerJson, describeComponents, flattenComponents, type TokenizerJson } from './tokenizer-json.ts';
import { Vocabulary } from './vocab.ts';

export interface LlamaEncodeOptions {
  /** Prepend `<s>` (default true, as HF). */
  addBos?: boolean;
  /** Append `</s>` (default false, as HF). */
  addEos?: boolean;
}

const SPACE = '▁';
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/i;

export class LlamaTokenizer {
  readonly vocab: Vocabulary;
  readonly bosId: number;
  readonly eosId: number;
  private readonly merges: BpeMerges;
  /** Id of `<0xNN>` for each byte value. */
  private readonly byteIds: number[];
  private readonly specialIds: ReadonlySet<number>;
  private readonly splitSpecials: (text: string) => string[];
  private readonly layout: Layout;

  /** `json`: a parsed `tokenizer.json` with a byte-fallback BPE model and the SentencePiece normalizer. */
  constructor(json: TokenizerJson) {
    const { model } = checkTokenizerJson(json);
    if (model.type !== 'BPE' || !model.byte_fallback)
      throw new FormatError(
        `LlamaTokenizer: tokenizer.json needs a BPE model with byte_fallback, got ${model.type}${model.byte_fallback ? '' : ' without byte_fallback'}`,
      );
    this.layout = readLayout(json);
    this.vocab = new Vocabulary(new Map(Object.entries(model.vocab)), 'LlamaTokenizer');
    this.merges = new BpeMerges(this.vocab.ids, model.merges ?? []);
    this.byteIds = Array.from({ length: 256 }, (_, b) => this.vocab.id(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
    [this.bosId, this.eosId] = [this.vocab.id('<s>'), this.vocab.id('</s>')];
    const added = json.added_tokens ?? [];
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    this.splitSpecials = specialTokenSplitter(added.map((t) => t.content));
  }

  /** Pieces of `text`, without `<s>`/`</s>`. */
  tokenize(text: string): string[] {
    return this.ids(text).map((id) => this.vocab.token(id));
  }

  encode(text: string, { addBos = true, addEos = false }: LlamaEncodeOptions = {}): number[] {
    const ids = this.ids(text);
    return [...(addBos ? [this.bosId] : []), ...ids, ...(addEos ? [this.eosId] : [])];
  }

  /** Text of `ids`: `▁` back to spaces, runs of byte pieces decoded as UTF-8 (U+FFFD per byte when invalid). */
  decode(ids: readonly number[], { skipSpecialTokens = false }: { skipSpecialTokens?: boolean } = {}): string {
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) text += utf8OrReplacement(bytes);
      bytes = [];
    };
    for (const id of ids) {
      if (skipSpecialTokens && this.specialIds.has(id)) continue;
      const piece = this.vocab.token(id);
      const byte = BYTE_PIECE.exec(piece);
      if (byte) bytes.push(parseInt(byte[1]!, 16));
      else {
        flush();
        text += piece.replaceAll(SPACE, ' ');
      }
    }
    flush();
    return this.layout.prepends && text.startsWith(' ') ? text.slice(1) : text;
  }

  private ids(text: string): number[] {
    return this.splitSpecials(text).flatMap((segment, i) => {
      if (i % 2 === 1) return [this.vocab.id(segment)];
      if (segment === '') return [];
      const spm = this.layout.prefix(segment.replaceAll(' ', SPACE), i === 0);
      return (this.layout.split ? spm.split(BEFORE_SPACE) : [spm]).flatMap((word) => this.merges.merge(this.symbols(word)));
    });
  }

  /** One symbol per character, or one per UTF-8 byte for characters outside the vocabulary. */
  private symbols(word: string): number[] {
    const out: number[] = [];
    for (const ch of word) {
      const id = this.vocab.ids.get(ch);
      if (id !== undefined) out.push(id);
      else for (const b of ENCODER.encode(ch)) out.push(this.byteIds[b]!);
    }
    return out;
  }
}

/** Where the Metaspace pre-tokenizer cuts words when `split` is on: before each `▁`, which opens the next word. */
const BEFORE_SPACE = /(?=▁)/;

interface Layout {
  /** Adds the leading `▁` (`text` has its spaces already replaced; `atStart`: no special token precedes it). */
  prefix: (text: string, atStart: boolean) => string;
  /** Whether any `▁` is prepended, so that `decode` strips one leading space again. */
  prepends: boolean;
  split: boolean;
}

/**
 * The SentencePiece normalisation a `tokenizer.json` describes, in either of HF's two
 * layouts. Every component must be one we implement exactly: a Replace with another
 * pattern (a regex, another string), another normalizer or a pre-tokenizer option we do
 * not know is a FormatError, never silently skipped.
 */
function readLayout(json: TokenizerJson): Layout {
  const norms = flattenComponents(json.normalizer);
  const pre = flattenComponents(json.pre_tokenizer);
  const fail = (detail: string): never => {
    throw new FormatError(
      `LlamaTokenizer: tokenizer.json ${detail}; expected normalizers Prepend '${SPACE}' + Replace ' ' → '${SPACE}', or a Metaspace pre-tokenizer`,
    );
  };
  if (pre.length === 0) {
    // Meta's layout: the Prepend normalizer adds `▁` to every non-empty stretch, whatever it starts with.
    for (const c of norms) {
      if (c.type === 'Prepend' && c.prepend === SPACE) continue;
      if (c.type === 'Replace' && isRecord(c.pattern) && Object.keys(c.pattern).join() === 'String' && c.pattern.String === ' ' && c.content === SPACE)
        continue;
      if (c.type === 'Replace') fail(`has an unsupported Replace (pattern ${show(c.pattern)} → ${show(c.content)})`);
      fail(`has an unsupported normalizer ${c.type}${c.type === 'Prepend' ? ` of ${show(c.prepend)}` : ''}`);
    }
    if (!norms.some((c) => c.type === 'Replace')) fail(`has normalizers ${describeComponents(norms)} and no pre-tokenizer`);
    const prepends = norms.some((c) => c.type === 'Prepend');
    return { prefix: (text) => (prepends ? SPACE + text : text), prepends, split: false };
  }
  const meta = pre[0]!;
  if (norms.length > 0 || pre.length !== 1 || meta.type !== 'Metaspace')
    fail(`has normalizers ${describeComponents(norms)} and pre-tokenizers ${describeComponents(pre)}`);
  if (meta.replacement !== SPACE) fail(`has a Metaspace replacement ${show(meta.replacement)}, not '${SPACE}'`);
  const scheme = meta.prepend_scheme;
  if (scheme !== undefined && scheme !== 'first' && scheme !== 'always' && scheme !== 'never') fail(`has an unknown Metaspace prepend_scheme ${show(scheme)}`);
  for (const field of ['split', 'add_prefix_space']) {
    if (meta[field] !== undefined && typeof meta[field] !== 'boolean') fail(`has a Metaspace ${field} that is not true or false: ${show(meta[field])}`);
  }
  // Older files say add_prefix_space instead of prepend_scheme; `split` defaults to on.
  const resolved = (scheme as string | undefined) ?? (meta.add_prefix_space === false ? 'never' : 'always');
  const prefix = (text: string, atStart: boolean) =>
    (resolved === 'always' || (resolved === 'first' && atStart)) && !text.startsWith(SPACE) ? SPACE + text : text;
  return { prefix, prepends: resolved !== 'never', split: meta.split !== false };
}

const ENCODER = new TextEncoder();
const STRICT = new TextDecoder('utf-8', { fatal: true });

/** HF's ByteFallback decoder: a run of bytes that is not valid UTF-8 becomes one U+FFFD per byte. */
function utf8OrReplacement(bytes: number[]): string {
  try {
    return STRICT.decode(Uint8Array.from(bytes));
  } catch {
    return '\uFFFD'.repeat(bytes.length);
  }
}
