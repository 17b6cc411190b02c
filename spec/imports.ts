/**
 * Reading a TypeScript file's imports as text, for the tests that hold the library's
 * shape: the folder layering (spec/layers.spec.ts), the browser-clean entries
 * (spec/packaging.spec.ts, spec/io/checkpoint.spec.ts). One reader, so that every such
 * test agrees on what an import is.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');

/**
 * The module specifiers a source imports: `import … from`, `export … from`, side-effect
 * `import '…'` and dynamic `import('…')`, type-only included. Block comments and whole-line
 * `//` comments are dropped first, so an `@example` in a doc comment is not an import and
 * `import(/* … *\/ 'x')` cannot hide one.
 */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, // import … from '…', export … from '…'
    /\bimport\s*['"]([^'"]+)['"]/g, // import '…' (side effect)
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specifiers.push(m[1]!);
  return specifiers;
}

/** The TypeScript sources (not .d.ts) under `dir`, repository-relative with '/' separators. */
export function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(join(ROOT, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every repository file `entry` reaches through relative imports, and the other specifiers met on the way. */
export function reachable(entry: string): { files: Set<string>; external: string[] } {
  const files = new Set<string>();
  const external: string[] = [];
  const stack = [resolve(ROOT, entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
      else external.push(`${file.slice(ROOT.length + 1)}: ${spec}`);
    }
  }
  return { files, external };
}
