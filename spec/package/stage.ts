/**
 * What `npm pack` ships, built into a temporary staging folder rather than the working
 * tree's dist/, so that the packaging tests never race another build and test exactly the
 * files a user gets: the library (dist/ from tsconfig.build.json + the `files` list) and
 * the CLI (its esbuild bundle + shipped models).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Manifest {
  name: string;
  version: string;
  files: string[];
}

/** Run node with `args` from the repository root; throws with everything it printed. */
function node(args: string[]): void {
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status ?? result.signal}\n${result.stdout}${result.stderr}`);
}

/** Copy a package's manifest and its `files` entries (other than dist/) into `dir`; `!` entries are npm pack's to apply. */
function copyPackage(from: string, dir: string): Manifest {
  const manifest = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as Manifest;
  mkdirSync(dir, { recursive: true });
  cpSync(join(from, 'package.json'), join(dir, 'package.json'));
  for (const entry of manifest.files) if (entry !== 'dist' && !entry.startsWith('!')) cpSync(join(from, entry), join(dir, entry), { recursive: true });
  return manifest;
}

/** Build the library into `dir` as npm would pack it; returns the manifest. */
export function stageLibrary(dir: string): Manifest {
  const manifest = copyPackage(ROOT, dir);
  node([TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')]);
  return manifest;
}

/** Build the CLI bundle into `dir` as npm would pack it; returns the manifest. */
export function stageCli(dir: string): Manifest {
  const manifest = copyPackage(join(ROOT, 'cli'), dir);
  node([join(ROOT, 'cli/build.mjs'), join(dir, 'dist')]);
  return manifest;
}

export interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

/** `npm pack` a staged folder into `destination` (no lifecycle scripts: it is built already). */
export function pack(staged: string, destination: string): PackResult {
  const npm = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], { cwd: staged, encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm pack in ${staged} exited ${npm.status ?? npm.signal}\n${npm.stderr}`);
  const [result] = JSON.parse(npm.stdout) as PackResult[];
  if (!result) throw new Error(`npm pack printed no result for ${staged}`);
  return { ...result, filename: join(destination, result.filename) };
}
