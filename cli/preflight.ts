/**
 * Checks run before the first expensive step (tokenizing the dataset, training): a
 * broken model folder or an output path that cannot be written should cost the user
 * seconds, not the whole run. Every failure is one `CliError` line naming the file.
 *
 * - `checkOutputFolder`: the folder exists or can be created, is a folder (not a file),
 *   and a file can be written in it (a probe file, created and removed: the permission
 *   bits alone do not tell, e.g. for root or a read-only mount).
 * - `checkModelFolder`: config.json parses, the tokenizer loads and suits the task, the
 *   weights parse, and the model builds and takes them, each error prefixed with the file
 *   it came from (the loaders' own messages do not always say which file).
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SparsegradError } from '../base/errors.ts';
import { Generator } from '../core/random.ts';
import { readFolderTokenizer, readFolderWeights } from '../node/pretrained.ts';
import { CliError } from './args.ts';
import { loadBertClassifier, loadLlama } from './methods.ts';

/** Make sure `dir` is (or can become) a writable folder; `flag` names the option in the message. */
export function checkOutputFolder(flag: string, dir: string): void {
  // Walk up to the deepest part that exists (no recursive mkdir: on /proc it never returns).
  const missing: string[] = [];
  let existing = dir;
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (!statSync(existing).isDirectory()) {
    throw new CliError(`${flag} ${dir}: ${existing === dir ? 'this is a file, not a folder' : `${existing} is a file, not a folder`}; choose another ${flag}`);
  }
  const probe = join(dir, `.sparsegrad-write-test-${process.pid}`);
  try {
    for (const d of missing) mkdirSync(d);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new CliError(`${flag} ${dir}: cannot write there (${code ? `${code}: ` : ''}${(e as Error).message}); choose another ${flag}`);
  }
}

/**
 * One line naming `path` for an error from reading a file there. CliErrors already name
 * their folder; anything else the loaders throw on a damaged file (FormatError, a JSON
 * SyntaxError, a TypeError from an unexpected field) gets the path in front.
 */
function fromFile(path: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const message = (error as Error)?.message ?? String(error);
  if (
    !(
      error instanceof SparsegradError ||
      error instanceof SyntaxError ||
      error instanceof TypeError ||
      error instanceof RangeError ||
      (error as NodeJS.ErrnoException)?.code
    )
  )
    throw error;
  return new CliError(message.includes(path) ? message : `${path}: ${message}`);
}

/** Load everything `finetune`, `compare`, `eval` or `generate` will need from a model folder, and discard it. */
export async function checkModelFolder(dir: string, kind: 'classification' | 'lm'): Promise<void> {
  const configPath = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (e) {
    throw fromFile(configPath, e instanceof SyntaxError ? new SyntaxError(`not valid JSON (${e.message})`) : e);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new CliError(`${configPath}: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : String(raw)}`);

  const tokenizerPath = existsSync(join(dir, 'tokenizer.json')) ? join(dir, 'tokenizer.json') : join(dir, 'vocab.txt');
  try {
    await readFolderTokenizer(dir);
  } catch (e) {
    throw fromFile(tokenizerPath, e);
  }

  const weightsPath = existsSync(join(dir, 'model.safetensors.index.json')) ? join(dir, 'model.safetensors.index.json') : join(dir, 'model.safetensors');
  try {
    await readFolderWeights(dir);
  } catch (e) {
    throw fromFile(weightsPath, e);
  }

  // The model itself: the architecture suits the task, the config builds, the weights fit (any label count will do).
  try {
    if (kind === 'classification') await loadBertClassifier(dir, 2, new Generator(0));
    else await loadLlama(dir, new Generator(0));
  } catch (e) {
    throw fromFile(dir, e);
  }
}
