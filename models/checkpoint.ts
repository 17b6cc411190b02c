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
 *   it holds parts of two checkpoints (or a damaged file) and is refused.
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
import { isNat, isRecord, parseSafetensors, serializeSafetensors } from './safetensors.ts';

export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

export type { OptimizerStateDict };

const FORMAT = 'sparsegrad-checkpoint';
const VERSION = 1;

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
  files.set(TRAINER_STATE_FILE, new TextEncoder().encode(`${JSON.stringify(trainerState, canonical, 2)}\n`));
  return files;
}

/** Decode a checkpoint, checking every file against `trainer_state.json`; problems are FormatErrors. */
export function decodeCheckpoint(files: ReadonlyMap<string, Uint8Array>): Checkpoint {
  const raw = files.get(TRAINER_STATE_FILE);
  if (!raw) throw new FormatError(`not a sparsegrad checkpoint: ${TRAINER_STATE_FILE} is missing`);
  const state = readTrainerState(raw);
  for (const { name, matches } of manifest(state)) {
    const bytes = files.get(name);
    if (!bytes) throw new FormatError(`${name} is missing, but ${TRAINER_STATE_FILE} lists it`);
    if (!matches(bytes)) {
      throw new FormatError(`${name} does not match ${TRAINER_STATE_FILE} (length or CRC-32 differ): the folder holds parts of two checkpoints, or a damaged file`);
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
  const joined = Object.fromEntries(Object.entries(state).map(([index, numbers]) => [index, Object.fromEntries([...Object.entries(numbers), ...buffers.get(index)!])]));
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
    throw new ValueError(`encodeCheckpoint(): '${key}' holds a ${proto?.constructor?.name ?? 'non-plain object'}; checkpoints store plain JSON data (Tensors belong in the model or optimizer state)`);
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 1 && keys[0] === '$float') throw new ValueError(`encodeCheckpoint(): '${key}' is an object with the single key '$float', which is reserved for special numbers`);
  return Object.fromEntries(keys.map((k) => [k, (value as Record<string, unknown>)[k]]));
}

/** Parse and check `trainer_state.json` (FormatError on anything a writer would not produce). */
function readTrainerState(raw: Uint8Array): Record<string, unknown> {
  let state: unknown;
  try {
    state = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw), (_key, value: unknown) => {
      if (!isRecord(value) || Object.keys(value).join() !== '$float') return value;
      const tag = value.$float;
      if (typeof tag !== 'string' || !Object.hasOwn(SPECIAL_NUMBERS, tag)) throw new FormatError(`unknown special number ${JSON.stringify(tag)}`);
      return SPECIAL_NUMBERS[tag];
    });
  } catch (e) {
    throw new FormatError(`${TRAINER_STATE_FILE} is not valid JSON: ${(e as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new FormatError(`${TRAINER_STATE_FILE}: ${what}`);
  };
  if (!isRecord(state) || state.format !== FORMAT) return bad(`not a ${FORMAT} file`);
  if (state.version !== VERSION) return bad(`format version ${JSON.stringify(state.version)} is not supported (this sparsegrad reads version ${VERSION})`);
  if (!isNat(state.step)) bad('step must be a non-negative integer');
  const files = state.files;
  if (!isRecord(files) || !Object.values(files).every((f) => isRecord(f) && isNat(f.bytes) && typeof f.crc32 === 'string')) bad('files must map names to {bytes, crc32}');
  if (!Object.hasOwn(files as object, MODEL_FILE)) bad(`files must list ${MODEL_FILE}`);
  if (state.optimizer !== undefined) {
    const { state: perParam, paramGroups } = isRecord(state.optimizer) ? state.optimizer : bad('optimizer must be an object');
    if (!isRecord(perParam) || !Object.values(perParam).every(isRecord) || !Array.isArray(paramGroups)) bad('optimizer must hold a state object of objects and a paramGroups array');
    if (!Object.hasOwn(files as object, OPTIMIZER_FILE)) bad(`files must list ${OPTIMIZER_FILE} when optimizer state is present`);
  }
  if (state.rng !== undefined && !(isRecord(state.rng) && Object.values(state.rng).every((s) => Array.isArray(s) && s.every((x) => typeof x === 'number')))) {
    bad('rng must map names to arrays of numbers');
  }
  if (state.data !== undefined && !(isRecord(state.data) && isNat(state.data.epoch) && isNat(state.data.cursor))) bad('data must be {epoch, cursor} with non-negative integers');
  return state;
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
