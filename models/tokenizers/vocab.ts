/** A token ↔ id table, with the errors both tokenizers raise for names and ids it lacks. */
import { FormatError, IndexError } from '../../base/errors.ts';

export class Vocabulary {
  /** Token of each id. */
  readonly tokens: readonly string[];

  /** `owner` names the tokenizer in error messages. */
  constructor(
    readonly ids: ReadonlyMap<string, number>,
    private readonly owner: string,
  ) {
    const tokens: string[] = [];
    for (const [token, id] of ids) tokens[id] = token;
    this.tokens = tokens;
  }

  get size(): number {
    return this.ids.size;
  }

  /** Id of a token the tokenizer needs (a special token, a byte piece): a file without it is malformed. */
  id(token: string): number {
    const id = this.ids.get(token);
    if (id === undefined) throw new FormatError(`${this.owner}: the vocabulary has no '${token}' token`);
    return id;
  }

  token(id: number): string {
    const token = this.tokens[id];
    if (token === undefined) throw new IndexError(`${this.owner}: id ${id} is not in the vocabulary of ${this.size} tokens`);
    return token;
  }
}
