/**
 * The parts of a Hugging Face `tokenizer.json` that our tokenizers read. Only the
 * fields we use are typed; everything else in the file is ignored, so files written
 * by any `tokenizers` version load as long as these fields keep their meaning.
 */
export interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

/** A normalizer or pre-tokenizer entry: a `type` and its own fields (see the readers). */
export interface ComponentJson {
  type: string;
  [field: string]: unknown;
}

export interface TokenizerJson {
  model: {
    type: string;
    vocab: Record<string, number>;
    /** BPE only: `"a b"` strings (tokenizers < 0.20) or `["a", "b"]` pairs, highest priority first. */
    merges?: (string | [string, string])[];
    unk_token?: string | null;
    byte_fallback?: boolean;
    continuing_subword_prefix?: string | null;
    max_input_chars_per_word?: number;
  };
  normalizer?: ComponentJson | null;
  pre_tokenizer?: ComponentJson | null;
  added_tokens?: AddedTokenJson[];
}

/** Depth-first list of a component and, for `Sequence`, its members. */
export function flattenComponents(c: ComponentJson | null | undefined): ComponentJson[] {
  if (!c) return [];
  const members = (c['normalizers'] ?? c['pretokenizers']) as ComponentJson[] | undefined;
  return c.type === 'Sequence' && members ? members.flatMap(flattenComponents) : [c];
}
