/**
 * The checkpoint format: everything a training run needs to resume, as pure functions
 * between a `Checkpoint` and a map of file name → bytes (`sparsegrad/node` puts the files
 * in a folder, atomically). Three files:
 *
 * - `model.safetensors` — `module.stateDict()` under its Hugging Face names, so the
 *   weights load in transformers too (metadata `format: pt`, weights `[out, in]`);
 * - `optimizer.safetensors` — the optimizer's tensors, named `state.<paramIndex>.<buffer>`;
 * - `trainer_state.json` — format version, step, the optimizer's numbers and param
 *   groups, generator states, data cursor, user config, and the length and CRC-32 of
 *   each other file. It is the commit record: a folder whose tensor files do not match
 *   it holds parts of two checkpoints (or a damaged file) and is refused. It carries a
 *   CRC-32 of its own canonical content (`checksum`), so a flipped bit in a learning
 *   rate, a step count or an RNG state is refused too, and its keys are checked: an
 *   unknown or missing key is a FormatError naming it.
 *
 * Encoding is canonical (sorted tensor names and JSON keys), so save → load → save gives
 * the same bytes. JSON has no NaN, ±Infinity or −0, but generator states hold NaN (no
 * spare normal) and hyper-parameters may be infinite; such numbers are written as
 * `{"$float": "NaN" | "Infinity" | "-Infinity" | "-0"}`, so every number round-trips
 * bitwise. A plain object `{"$float": …}` is therefore reserved.
 */
import { FormatError, ValueError } from '../base/errors.ts';
import { Tensor } from '../core/tensor.ts';
import type { OptimizerStateDict } from '../optim/optimizer.ts';
import { isNat, isRecord, parseJson, show } from './json.ts';
import { parseSafetensors, serializeSafetensors } from './safetensors.ts';

export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

export type { OptimizerStateDict };

const FORMAT = 'sparsegrad-checkpoint';
/** 2 added `checksum`; version 1 files (no checksum) are refused with a message that says so. */
const VERSION = 2;

/** Everything a run needs to resume; each part is what the object's own stateDict/getState returns. */
export interface Checkpoint {
  /** `module.stateDict()`; loading it back goes through `module.loadStateDict()`. */
  model: Record<string, Tensor>;
  /** `optimizer.stateDict()`: buffers (Tensors) go to optimizer.safetensors, everything else to JSON. */
  optimizer?: OptimizerStateDict;
  /** Generator states by a name of your choosing (`Generator.getState()`). */
  rng?: Record<string, readonly number[]>;
  /** Optimizer steps taken so far. */
  step: number;
  /** Where the data loader stands: the epoch, and the next position within it. */
  data?: { epoch: number; cursor: number };
  /** Any plain JSON data (hyper-parameters, model config). */
  config?: unknown;
}

/** Encode a checkpoint; the map lists the tensor files first and `trainer_state.json` last. */
export function encodeCheckpoint(checkpoint: Checkpoint): Map<string, Uint8Array> {
  const { model, optimizer, rng, step, data, config } = checkpoint;
  if (!isNat(step)) throw new ValueError(`encodeCheckpoint(): step must be a non-negative integer, got ${step}`);
  const files = new Map([[MODEL_FILE, serializeSafetensors(model, { metadata: { format: 'pt' } })]]);
  let optimizerNumbers: unknown;
  if (optimizer) {
    const { tensors, numbers } = splitOptimizerState(optimizer.state);
    files.set(OPTIMIZER_FILE, serializeSafetensors(tensors));
    optimizerNumbers = { paramGroups: optimizer.paramGroups, state: numbers };
  }
  const manifest = Object.fromEntries([...files].map(([name, bytes]) => [name, { bytes: bytes.length, crc32: hex(crc32(bytes)) }]));
  const trainerState = { format: FORMAT, version: VERSION, step, files: manifest, optimizer: optimizerNumbers, rng, data, config };
  files.set(TRAINER_STATE_FILE, seal(trainerState));
  return files;
}

/**
 * Re-seal an edited `trainer_state.json`: its parsed JSON (special numbers still written
 * as `{"$float": …}`) → the file's bytes with a fresh checksum. For a deliberate edit by
 * a tool or a test; loading still checks every key and value.
 */
export function sealTrainerState(json: Record<string, unknown>): Uint8Array {
  return seal(decodeSpecialNumbers(json) as Record<string, unknown>);
}

/**
 * The bytes of `trainer_state.json` for a state object (any `checksum` in it replaced):
 * canonical JSON with the CRC-32 of the canonical JSON of everything else under `checksum`.
 */
function seal(state: Record<string, unknown>): Uint8Array {
  const { checksum: _old, ...content } = state;
  return ENCODER.encode(`${JSON.stringify({ ...content, checksum: contentChecksum(content) }, canonical, 2)}\n`);
}

/** `crc32:` + 8 hex digits over the canonical JSON of the state without its checksum. */
function contentChecksum(content: Record<string, unknown>): string {
  return `crc32:${hex(crc32(ENCODER.encode(JSON.stringify(content, canonical, 2))))}`;
}

const ENCODER = new TextEncoder();

export interface DecodeOptions {
  /**
   * Optional parts the caller needs (a resumed run needs its optimizer state): a checkpoint
   * without one is a FormatError naming it, rather than an `undefined` met later.
   */
  require?: readonly ('optimizer' | 'rng' | 'data' | 'config')[];
}

/** Decode a checkpoint, checking every file against `trainer_state.json`; problems are FormatErrors. */
export function decodeCheckpoint(files: ReadonlyMap<string, Uint8Array>, options: DecodeOptions = {}): Checkpoint {
  const raw = files.get(TRAINER_STATE_FILE);
  if (!raw) throw new FormatError(`not a sparsegrad checkpoint: ${TRAINER_STATE_FILE} is missing`);
  const state = readTrainerState(raw);
  const absent = (options.require ?? []).filter((part) => !Object.hasOwn(state, part));
  if (absent.length > 0) throw new FormatError(`${TRAINER_STATE_FILE} has no ${absent.map((p) => `'${p}'`).join(', ')}, which this run needs to resume`);
  for (const { name, matches } of manifest(state)) {
    const bytes = files.get(name);
    if (!bytes) throw new FormatError(`${name} is missing, but ${TRAINER_STATE_FILE} lists it`);
    if (!matches(bytes)) {
      throw new FormatError(
        `${name} does not match ${TRAINER_STATE_FILE} (length or CRC-32 differ): the folder holds parts of two checkpoints, or a damaged file`,
      );
    }
  }
  const checkpoint: Checkpoint = { model: parseSafetensors(files.get(MODEL_FILE)!).tensors, step: state.step as number };
  if (state.optimizer !== undefined) checkpoint.optimizer = joinOptimizerState(state.optimizer, parseSafetensors(files.get(OPTIMIZER_FILE)!).tensors);
  if (state.rng !== undefined) checkpoint.rng = state.rng as Checkpoint['rng'];
  if (state.data !== undefined) checkpoint.data = state.data as Checkpoint['data'];
  if (state.config !== undefined) checkpoint.config = state.config;
  return checkpoint;
}

/**
 * The files a `trainer_state.json` commits to, each with a test that bytes are the ones
 * it committed (so `sparsegrad/node` can find them after a crash interrupted a save).
 */
export function committedFiles(trainerState: Uint8Array): { name: string; matches: (bytes: Uint8Array) => boolean }[] {
  return manifest(readTrainerState(trainerState));
}

function manifest(state: Record<string, unknown>): { name: string; matches: (bytes: Uint8Array) => boolean }[] {
  const files = state.files as Record<string, { bytes: number; crc32: string }>;
  return Object.entries(files).map(([name, want]) => ({
    name,
    matches: (bytes) => bytes.length === want.bytes && hex(crc32(bytes)) === want.crc32,
  }));
}

// ---- optimizer state: tensors to safetensors, the rest to JSON ---------------------------

const STATE_TENSOR = /^state\.(0|[1-9]\d*)\.(.+)$/s;

function splitOptimizerState(state: OptimizerStateDict['state']): { tensors: Record<string, Tensor>; numbers: Record<string, Record<string, unknown>> } {
  const tensors: Record<string, Tensor> = Object.create(null);
  const numbers: Record<string, Record<string, unknown>> = Object.create(null);
  for (const [index, entry] of Object.entries(state)) {
    if (!/^(0|[1-9]\d*)$/.test(index)) throw new ValueError(`encodeCheckpoint(): optimizer state keys must be parameter indices, got '${index}'`);
    numbers[index] = Object.create(null);
    for (const [key, value] of Object.entries(entry)) {
      if (value instanceof Tensor) tensors[`state.${index}.${key}`] = value;
      else numbers[index]![key] = value;
    }
  }
  return { tensors, numbers };
}

function joinOptimizerState(json: unknown, tensors: Record<string, Tensor>): OptimizerStateDict {
  const { state, paramGroups } = json as { state: Record<string, Record<string, unknown>>; paramGroups: OptimizerStateDict['paramGroups'] };
  const buffers = new Map(Object.keys(state).map((index) => [index, [] as [string, Tensor][]]));
  for (const [name, tensor] of Object.entries(tensors)) {
    const [, index, buffer] = STATE_TENSOR.exec(name) ?? [];
    const list = buffers.get(index!);
    if (!list) throw new FormatError(`${OPTIMIZER_FILE}: tensor '${name}' is not 'state.<index>.<buffer>' for a parameter index in ${TRAINER_STATE_FILE}`);
    list.push([buffer!, tensor]);
  }
  // Object.fromEntries defines properties, so a buffer named `__proto__` stays a plain key.
  const joined = Object.fromEntries(
    Object.entries(state).map(([index, numbers]) => [index, Object.fromEntries([...Object.entries(numbers), ...buffers.get(index)!])]),
  );
  return { state: joined as OptimizerStateDict['state'], paramGroups };
}

// ---- trainer_state.json ------------------------------------------------------------

const SPECIAL_NUMBERS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

/** JSON.stringify replacer: sorted keys, tagged special numbers, and nothing but plain data. */
function canonical(key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) return { $float: Object.is(value, -0) ? '-0' : String(value) };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new ValueError(
      `encodeCheckpoint(): '${key}' holds a ${proto?.constructor?.name ?? 'non-plain object'}; checkpoints store plain JSON data (Tensors belong in the model or optimizer state)`,
    );
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 1 && keys[0] === '$float')
    throw new ValueError(`encodeCheckpoint(): '${key}' is an object with the single key '$float', which is reserved for special numbers`);
  return Object.fromEntries(keys.map((k) => [k, (value as Record<string, unknown>)[k]]));
}

/** Keys of `trainer_state.json`, and of its nested records, that a writer produces. */
const REQUIRED_KEYS = ['checksum', 'files', 'format', 'step', 'version'];
const OPTIONAL_KEYS = ['config', 'data', 'optimizer', 'rng'];
const KNOWN_FILES = [MODEL_FILE, OPTIMIZER_FILE];

/**
 * Parse and check `trainer_state.json`; a FormatError names anything a writer would not
 * produce. Order: JSON (nesting bounded, so nothing below recurses past the stack), format
 * and version, the key set (an unknown or missing key is named, so a renamed `optimizer`
 * is reported as such), the checksum, then the type of every value.
 */
function readTrainerState(raw: Uint8Array): Record<string, unknown> {
  const bad = (what: string): never => {
    throw new FormatError(`${TRAINER_STATE_FILE}: ${what}`);
  };
  const parsed = parseJson(raw, TRAINER_STATE_FILE);
  let state: unknown;
  try {
    state = decodeSpecialNumbers(parsed);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (!isRecord(state) || state.format !== FORMAT) return bad(`not a ${FORMAT} file`);
  if (state.version !== VERSION) {
    return bad(
      `format version ${show(state.version)} is not supported (this sparsegrad reads version ${VERSION}${state.version === 1 ? '; version 1 files have no checksum: save the checkpoint again with a current sparsegrad' : ''})`,
    );
  }
  const unknown = Object.keys(state).filter((k) => !REQUIRED_KEYS.includes(k) && !OPTIONAL_KEYS.includes(k));
  if (unknown.length > 0)
    bad(`unknown key(s) ${unknown.map((k) => show(k)).join(', ')} (a checkpoint holds ${[...REQUIRED_KEYS, ...OPTIONAL_KEYS].join(', ')})`);
  const missing = REQUIRED_KEYS.filter((k) => !Object.hasOwn(state as object, k));
  if (missing.length > 0) bad(`missing key(s) ${missing.map((k) => `'${k}'`).join(', ')}`);
  const { checksum, ...content } = state;
  const expected = contentChecksum(content);
  if (checksum !== expected) bad(`checksum ${show(checksum)} does not match the content (${expected}): the file was damaged or edited`);

  if (!isNat(state.step)) bad(`step must be a non-negative integer, got ${show(state.step)}`);
  const files = state.files;
  if (!isRecord(files)) return bad(`files must map file names to {bytes, crc32}, got ${show(files)}`);
  for (const [name, entry] of Object.entries(files)) {
    if (!KNOWN_FILES.includes(name)) bad(`files lists ${show(name)}; a checkpoint has only ${KNOWN_FILES.join(' and ')}`);
    if (
      !isRecord(entry) ||
      !exactKeys(entry, ['bytes', 'crc32']) ||
      !isNat(entry.bytes) ||
      typeof entry.crc32 !== 'string' ||
      !/^[0-9a-f]{8}$/.test(entry.crc32)
    ) {
      bad(`files[${show(name)}] must be {bytes: a length, crc32: 8 hex digits}, got ${show(entry)}`);
    }
  }
  if (!Object.hasOwn(files, MODEL_FILE)) bad(`files must list ${MODEL_FILE}`);
  if (Object.hasOwn(state, 'optimizer')) {
    const optimizer = state.optimizer;
    if (!isRecord(optimizer) || !exactKeys(optimizer, ['paramGroups', 'state'])) return bad(`optimizer must be {paramGroups, state}, got ${show(optimizer)}`);
    const { state: perParam, paramGroups } = optimizer;
    if (!isRecord(perParam) || !Object.entries(perParam).every(([index, s]) => /^(0|[1-9]\d*)$/.test(index) && isRecord(s))) {
      bad('optimizer.state must map parameter indices to objects');
    }
    if (!Array.isArray(paramGroups) || !paramGroups.every((g) => isRecord(g) && Array.isArray(g.params) && g.params.every(isNat))) {
      bad('optimizer.paramGroups must be an array of groups, each with a params array of parameter indices');
    }
    if (!Object.hasOwn(files, OPTIMIZER_FILE)) bad(`files must list ${OPTIMIZER_FILE} when optimizer state is present`);
  } else if (Object.hasOwn(files, OPTIMIZER_FILE)) {
    bad(`files lists ${OPTIMIZER_FILE}, but there is no optimizer state`);
  }
  if (
    Object.hasOwn(state, 'rng') &&
    !(isRecord(state.rng) && Object.values(state.rng).every((s) => Array.isArray(s) && s.every((x) => typeof x === 'number')))
  ) {
    bad('rng must map names to arrays of numbers');
  }
  if (
    Object.hasOwn(state, 'data') &&
    !(isRecord(state.data) && exactKeys(state.data, ['cursor', 'epoch']) && isNat(state.data.epoch) && isNat(state.data.cursor))
  ) {
    bad('data must be {epoch, cursor} with non-negative integers');
  }
  return state;
}

/** Whether a record has exactly these keys (in any order). */
function exactKeys(record: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(record);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(record, k));
}

/** Replace each `{"$float": tag}` by its number (depth is bounded by parseJson, so recursion is safe). */
function decodeSpecialNumbers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeSpecialNumbers);
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === '$float') {
    const tag = value.$float;
    if (typeof tag !== 'string' || !Object.hasOwn(SPECIAL_NUMBERS, tag)) throw new FormatError(`unknown special number ${show(tag)}`);
    return SPECIAL_NUMBERS[tag];
  }
  // Object.fromEntries defines properties, so a key `__proto__` stays an own key.
  return Object.fromEntries(keys.map((k) => [k, decodeSpecialNumbers(value[k])]));
}

// ---- helpers --------------------------------------------------------------------------

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 (the zip/PNG polynomial): cheap enough for model-sized files, and catches any torn or flipped byte run. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
