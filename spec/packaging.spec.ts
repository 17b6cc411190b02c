/**
 * Embedders' guarantees, checked on the source tree: zero runtime dependencies, and
 * the core (everything the main entry reaches) imports no Node built-in, so it runs
 * unchanged in browsers, workers, Deno and Bun.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const rel = join(dir, name);
    return statSync(join(root, rel)).isDirectory() ? sources(rel) : rel.endsWith('.ts') ? [rel] : [];
  });
}

test('the package has no runtime dependencies', () => {
  expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
});

test('core/, kernels/, nn/, models/, optim/ and index.ts import no Node built-in and nothing outside the repo', () => {
  const offenders: string[] = [];
  for (const file of ['index.ts', ...sources('core'), ...sources('kernels'), ...sources('nn'), ...sources('models'), ...sources('optim')]) {
    // Comments are stripped first, so `import(/* … */ 'x')` cannot hide an import.
    const code = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const [, spec] of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (!spec!.startsWith('.')) offenders.push(`${file}: ${spec}`);
    }
  }
  // The one allowed exception: the gpu.js backend loads its optional dependency lazily.
  expect(offenders).toEqual(['kernels/gpujs/index.ts: gpu.js']);
});
