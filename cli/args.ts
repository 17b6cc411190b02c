/**
 * Flag parsing for the `sparsegrad` command, with validation whose errors name the flag,
 * the bad value and the valid choices or range.
 *
 * A command declares its flags as a spec keyed by camelCase name; on the command line
 * each is kebab-case (`maxTrain` ↔ `--max-train`). Accepted forms: `--flag value`,
 * `--flag=value`, `--flag` / `--no-flag` for booleans, `-h` / `--help`. Every problem is
 * a `CliError` (exit status 2), which main.ts prints without a stack trace.
 */

/** A usage error: printed as `error: <message>` with exit status 2 (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** An argument as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command line the user can paste to run this CLI again with `args` (e.g. the resume
 * hint): `npm start -- …` when this run came from `npm start` (npm sets
 * npm_lifecycle_event), else `npx sparsegrad …`, which works both in a checkout (the
 * workspace links the bin) and where the package is installed. A bare `sparsegrad …` is
 * on the PATH only after a global install.
 */
export function commandLine(args: readonly string[], env: Record<string, string | undefined> = process.env): string {
  const quoted = args.map(shellQuote).join(' ');
  return env.npm_lifecycle_event === 'start' ? `npm start -- ${quoted}` : `npx sparsegrad ${quoted}`;
}

/**
 * `argv` without the flag `--name` (its `--name=value` or `--name value` form), for
 * printing a command back: e.g. the test hook --stop-after must not be in a resume hint.
 */
export function withoutFlag(argv: readonly string[], name: string, takesValue = true): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith(`--${name}=`)) continue;
    if (a === `--${name}`) {
      if (takesValue) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

interface Base {
  help: string;
  /** Shown in help instead of the type name, e.g. 'DIR'. */
  placeholder?: string;
  /** Not listed in --help (test hooks). */
  hidden?: boolean;
}
export interface IntFlag extends Base {
  type: 'int';
  default?: number;
  min?: number;
  max?: number;
}
export interface NumberFlag extends Base {
  type: 'number';
  default?: number;
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
}
export interface StringFlag extends Base {
  type: 'string';
  default?: string;
}
export interface BooleanFlag extends Base {
  type: 'boolean';
  default?: boolean;
}
export interface ChoiceFlag extends Base {
  type: 'choice';
  choices: readonly string[];
  default?: string;
}
/** Comma-separated values, each one of `choices` when given. */
export interface ListFlag extends Base {
  type: 'list';
  choices?: readonly string[];
  default?: readonly string[];
}
/** Comma-separated integers. */
export interface IntListFlag extends Base {
  type: 'ints';
  default?: readonly number[];
  min?: number;
}

export type FlagSpec = IntFlag | NumberFlag | StringFlag | BooleanFlag | ChoiceFlag | ListFlag | IntListFlag;
export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<F extends FlagSpec> = F extends IntFlag | NumberFlag
  ? number
  : F extends BooleanFlag
    ? boolean
    : F extends ListFlag
      ? string[]
      : F extends IntListFlag
        ? number[]
        : string;
type HasDefault<F> = F extends { default: unknown } ? true : F extends BooleanFlag ? true : false;

/** Parsed values: flags with a default (and booleans) are always present, others may be undefined. */
export type Flags<S extends FlagSpecs> = { -readonly [K in keyof S]: HasDefault<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined };

export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within a small edit distance, as a " (did you mean …?)" suffix. */
export function suggest(word: string, candidates: readonly string[], prefix = ''): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean '${prefix}${best}'?)` : '';
}

/** Check a value against a list of choices; the error lists them all. */
export function checkChoice(what: string, value: string, choices: readonly string[]): string {
  if (!choices.includes(value)) throw new CliError(`unknown ${what} '${value}'${suggest(value, choices)}; valid: ${choices.join(', ')}`);
  return value;
}

function parseValue(flag: string, spec: FlagSpec, raw: string): unknown {
  const bad = (why: string): never => {
    throw new CliError(`--${flag}: ${why}`);
  };
  switch (spec.type) {
    case 'int':
    case 'number': {
      const trimmed = raw.trim();
      const n = Number(trimmed);
      if (trimmed === '' || !Number.isFinite(n)) bad(`expected a ${spec.type === 'int' ? 'whole number' : 'number'}, got '${raw}'`);
      if (spec.type === 'int' && !Number.isInteger(n)) bad(`expected a whole number, got '${raw}'`);
      if (spec.min !== undefined && (n < spec.min || (spec.type === 'number' && spec.exclusiveMin && n === spec.min))) {
        bad(`must be ${spec.type === 'number' && spec.exclusiveMin ? '>' : '≥'} ${spec.min}, got ${raw}`);
      }
      if (spec.max !== undefined && n > spec.max) bad(`must be ≤ ${spec.max}, got ${raw}`);
      return n;
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return bad(`expected true or false, got '${raw}'`);
    }
    case 'choice':
      if (!spec.choices.includes(raw)) bad(`unknown value '${raw}'${suggest(raw, spec.choices)}; valid: ${spec.choices.join(', ')}`);
      return raw;
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (items.length === 0) bad('expected a comma-separated list, got nothing');
      if (spec.choices)
        for (const item of items)
          if (!spec.choices.includes(item)) bad(`unknown value '${item}'${suggest(item, spec.choices)}; valid: ${spec.choices.join(', ')}`);
      if (new Set(items).size !== items.length) bad(`a value is listed twice in '${raw}'`);
      return items;
    }
    case 'ints': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (items.length === 0) bad('expected comma-separated whole numbers, got nothing');
      return items.map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n)) bad(`expected comma-separated whole numbers, got '${s}'`);
        if (spec.min !== undefined && n < spec.min) bad(`each value must be ≥ ${spec.min}, got ${s}`);
        return n;
      });
    }
    case 'string':
      if (raw === '') bad('expected a value, got an empty string');
      return raw;
  }
}

export interface Parsed<S extends FlagSpecs> {
  flags: Flags<S>;
  /** Which flags were given explicitly (camelCase). */
  given: Set<string>;
  positional: string[];
  help: boolean;
}

/** Parse `argv` (the arguments after the command name) against `specs`. */
export function parseFlags<S extends FlagSpecs>(argv: readonly string[], specs: S, command: string, options: { positional?: number } = {}): Parsed<S> {
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const positional: string[] = [];
  let help = false;
  const names = Object.keys(specs).map(kebab);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new CliError(`${command}: unknown option '${arg}' (flags are written --name; see 'sparsegrad ${command} --help')`);
    const eq = arg.indexOf('=');
    let name = arg.slice(2, eq < 0 ? undefined : eq);
    let inline = eq < 0 ? undefined : arg.slice(eq + 1);
    let key = camel(name);
    let spec = specs[key];
    if (!spec && name.startsWith('no-') && specs[camel(name.slice(3))]?.type === 'boolean' && inline === undefined) {
      name = name.slice(3);
      key = camel(name);
      spec = specs[key];
      inline = 'false';
    }
    if (!spec) {
      const visible = Object.entries(specs)
        .filter(([, s]) => !s.hidden)
        .map(([k]) => kebab(k));
      throw new CliError(`${command}: unknown flag --${name}${suggest(name, names, '--')}; valid flags: ${visible.map((n) => `--${n}`).join(', ')}`);
    }
    let raw = inline;
    if (raw === undefined) {
      if (spec.type === 'boolean') raw = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && next.length > 2)) {
          const hint = spec.type === 'choice' ? ` (one of: ${spec.choices.join(', ')})` : '';
          throw new CliError(`--${name}: missing value${hint}`);
        }
        raw = next;
        i++;
      }
    }
    if (given.has(key)) throw new CliError(`--${name} is given twice`);
    given.add(key);
    values[key] = parseValue(name, spec, raw);
  }
  const maxPositional = options.positional ?? 0;
  if (positional.length > maxPositional) {
    throw new CliError(
      `${command}: unexpected argument${positional.length - maxPositional > 1 ? 's' : ''} ${positional
        .slice(maxPositional)
        .map((p) => `'${p}'`)
        .join(' ')}${maxPositional === 0 ? ' (this command takes flags only)' : ''}`,
    );
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (!(key in values)) {
      if (spec.default !== undefined) values[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
      else if (spec.type === 'boolean') values[key] = false;
    }
  }
  return { flags: values as Flags<S>, given, positional, help };
}

/** Help text: usage, description and one line per visible flag with its type and default. */
export function formatHelp(command: string, summary: string, specs: FlagSpecs, usage?: string): string {
  const rows = Object.entries(specs)
    .filter(([, s]) => !s.hidden)
    .map(([key, s]) => {
      const placeholder =
        s.placeholder ??
        (s.type === 'choice'
          ? s.choices.join('|')
          : s.type === 'list'
            ? s.choices
              ? `${s.choices.join(',')}`
              : 'A,B'
            : s.type === 'ints'
              ? 'N,N'
              : s.type === 'boolean'
                ? ''
                : s.type === 'int'
                  ? 'N'
                  : s.type === 'number'
                    ? 'X'
                    : 'VALUE');
      const left = `  --${kebab(key)}${placeholder ? ` ${placeholder}` : ''}`;
      const def = s.default === undefined ? '' : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
      return [left, `${s.help}${def}`] as const;
    });
  const width = Math.min(40, Math.max(...rows.map(([l]) => l.length), 0) + 2);
  const lines = [`usage: ${usage ?? `sparsegrad ${command} [flags]`}`, '', summary, '', 'flags:'];
  for (const [left, right] of rows) lines.push(left.length >= width ? `${left}\n${' '.repeat(width)}${right}` : `${left.padEnd(width)}${right}`);
  lines.push(`${`  -h, --help`.padEnd(width)}show this help`);
  return lines.join('\n');
}
