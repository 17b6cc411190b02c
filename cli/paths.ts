/**
 * Where the CLI's own files are. The CLI runs from its TypeScript sources in the
 * repository (cli/*.ts through tsx) and from its bundle once installed
 * (node_modules/sparsegrad-cli/dist/*.js), at different depths: both find the package
 * folder by walking up to the package.json named `sparsegrad-cli`.
 *
 * Also how a path is written into a command's results: relative to the working folder
 * where it can be, so that committed results name no machine's folders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

function findCliRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sparsegrad-cli') return dir;
    if (dirname(dir) === dir) throw new Error(`sparsegrad-cli: no package.json named sparsegrad-cli above ${from}`);
  }
}

/** The sparsegrad-cli package folder (holds pretrained/). */
export const CLI_ROOT = findCliRoot(dirname(fileURLToPath(import.meta.url)));
/** The shipped models' folder, and the two the comparison uses by default. */
export const PRETRAINED_DIR = join(CLI_ROOT, 'pretrained');
export const DEFAULT_BERT = join(PRETRAINED_DIR, 'bert-mini');
export const DEFAULT_LLAMA = join(PRETRAINED_DIR, 'llama-mini');
/** True when running the bundle (dist/*.js), false when running the TypeScript sources. */
export const BUNDLED = import.meta.url.endsWith('.js');

/** `path` relative to the working folder when it lies inside it, else as given. */
export function portablePath(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}
