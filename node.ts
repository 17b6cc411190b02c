/**
 * `sparsegrad/node`: safetensors files and checkpoint folders on disk, and Node 20's
 * relaxed-SIMD flag for the GEMM's fused multiply-adds (`enableRelaxedSimd`). Only this entry
 * touches Node built-ins; the formats themselves (models/safetensors.ts,
 * models/checkpoint.ts) work on bytes, so the main entry still bundles for the browser.
 *
 * Every write is atomic: bytes go to a temp file in the same folder, which is fsynced,
 * renamed over the target, and the folder fsynced, so a crash leaves the old file or the
 * new one, never a torn mix.
 *
 * A checkpoint is three files, and renaming three files is not one atomic step, so
 * `trainer_state.json` (which records every other file's length and CRC-32) is the
 * commit point and is renamed first, once every temp file is complete and durable:
 * - a crash before that rename leaves the previous checkpoint untouched (stray temp
 *   files are ignored);
 * - a crash after it leaves the new trainer state with some tensor files still under
 *   their temp names; `loadCheckpoint` finds them by their CRC-32, so the new checkpoint
 *   loads. The next successful save removes the leftovers.
 * One writer per folder at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Tensor } from './core/tensor.ts';
import {
  type Checkpoint,
  committedFiles,
  decodeCheckpoint,
  type DecodeOptions,
  encodeCheckpoint,
  MODEL_FILE,
  OPTIMIZER_FILE,
  TRAINER_STATE_FILE,
} from './models/checkpoint.ts';
import { parseSafetensors, type SafetensorsFile, serializeSafetensors, type SerializeOptions } from './models/safetensors.ts';

export type { Checkpoint, DecodeOptions, OptimizerStateDict } from './models/checkpoint.ts';
export { loadPretrained, savePretrained, readFolderConfig, readFolderWeights, readFolderTokenizer, type Pretrained } from './node/pretrained.ts';
export { enableRelaxedSimd } from './node/relaxed-simd.ts';
export type { SafetensorsDType, SafetensorsFile, SerializeOptions } from './models/safetensors.ts';

/** Read and parse a .safetensors file (FormatError if malformed). */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readFile(path));
}

/** Write tensors as a .safetensors file, atomically. */
export async function writeSafetensors(path: string, tensors: Record<string, Tensor>, options?: SerializeOptions): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, options));
}

/** Replace a file atomically: temp file, fsync, rename, fsync the folder. */
export async function writeFileAtomic(path: string, content: Uint8Array | string): Promise<void> {
  const temp = await writeTemp(path, typeof content === 'string' ? new TextEncoder().encode(content) : content);
  await rename(temp, path).catch((error) => discard([temp], error));
  await syncFolder(dirname(path));
}

/** Save a checkpoint into `dir` (created if needed), replacing the one there atomically. */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const files = encodeCheckpoint(checkpoint);
  await mkdir(dir, { recursive: true });
  const temps = new Map<string, string>();
  try {
    for (const [name, bytes] of files) temps.set(name, await writeTemp(join(dir, name), bytes));
    await syncFolder(dir);
    // The commit: from here on the folder holds the new checkpoint.
    await rename(temps.get(TRAINER_STATE_FILE)!, join(dir, TRAINER_STATE_FILE));
  } catch (error) {
    await discard(temps.values(), error); // a full disk must not keep a model-sized temp file
  }
  await syncFolder(dir);
  for (const [name, temp] of temps) if (name !== TRAINER_STATE_FILE) await rename(temp, join(dir, name));
  // Leftovers: temp files of interrupted saves, and an optimizer file this checkpoint does not have.
  for (const entry of await readdir(dir)) {
    if (tempOf(entry) !== null || (entry === OPTIMIZER_FILE && !files.has(OPTIMIZER_FILE))) await rm(join(dir, entry), { force: true });
  }
  await syncFolder(dir);
}

/**
 * Load the checkpoint in `dir`, including one whose save was interrupted after its commit;
 * `options.require` names parts the caller needs (see decodeCheckpoint).
 */
export async function loadCheckpoint(dir: string, options: DecodeOptions = {}): Promise<Checkpoint> {
  const trainerState = await readFile(join(dir, TRAINER_STATE_FILE));
  const files = new Map<string, Uint8Array>([[TRAINER_STATE_FILE, trainerState]]);
  for (const { name, matches } of committedFiles(trainerState)) {
    let bytes = await readIfExists(join(dir, name));
    if (!bytes || !matches(bytes)) {
      // A save interrupted after its commit left this file under its temp name.
      for (const entry of (await readdir(dir)).filter((e) => tempOf(e) === name)) {
        const temp = await readIfExists(join(dir, entry));
        if (temp && matches(temp)) {
          bytes = temp;
          break;
        }
      }
    }
    if (bytes) files.set(name, bytes); // decodeCheckpoint reports a missing or mismatched file
  }
  return decodeCheckpoint(files, options);
}

async function readIfExists(path: string): Promise<Uint8Array | null> {
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
}

// ---- durable writes ----------------------------------------------------------------------

const TEMP = /^(.+)\.[0-9a-f]{16}\.tmp$/;
const CHECKPOINT_FILES = new Set([MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);

/** The checkpoint file a temp file was written for, or null for any other name. */
function tempOf(entry: string): string | null {
  const target = TEMP.exec(entry)?.[1];
  return target !== undefined && CHECKPOINT_FILES.has(target) ? target : null;
}

/** Write bytes to a fresh temp file next to `path` and fsync it; returns the temp path. */
async function writeTemp(path: string, bytes: Uint8Array): Promise<string> {
  const temp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    await discard([temp], error);
  }
  return temp;
}

/** Remove temp files after a failed write (best effort), then rethrow the write's error, the one worth reporting. */
async function discard(temps: Iterable<string>, error: unknown): Promise<never> {
  for (const temp of temps) await rm(temp, { force: true }).catch(() => {});
  throw error;
}

/** fsync a folder, so that renames in it are durable. Windows cannot open folders; NTFS journals renames. */
async function syncFolder(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
