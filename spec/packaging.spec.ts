/**
 * Embedders' guarantees, checked on the source tree: zero runtime dependencies, and
 * the core (everything the main entry reaches) imports no Node built-in, so it runs
 * unchanged in browsers, workers, Deno and Bun.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { importsOf, tsFiles } from './imports.ts';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('the package has no runtime dependencies', () => {
  expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
});

test('base/, core/, kernels/, nn/, models/, optim/ and index.ts import no Node built-in and nothing outside the repo', () => {
  const offenders: string[] = [];
  for (const file of ['index.ts', ...['base', 'core', 'kernels', 'nn', 'models', 'optim'].flatMap(tsFiles)]) {
    for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) if (!spec.startsWith('.')) offenders.push(`${file}: ${spec}`);
  }
  // The one allowed exception: the gpu.js backend loads its optional dependency lazily.
  expect(offenders).toEqual(['kernels/gpujs/index.ts: gpu.js']);
});
