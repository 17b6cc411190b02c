/**
 * The library reads bottom-up: every import between folders goes down this order, so a
 * learner can read each folder knowing only the ones below it.
 *
 *   base (dtype, shape, errors, wasm assembler) ← kernels ← core ← nn, optim ← models ← node ← cli
 *
 * kernels see typed arrays and views, never a Tensor; core (Tensor, autograd, ops) calls
 * the kernels; nn and optim are peers (neither imports the other). This test reads every
 * import (static, `export … from`, dynamic `import('…')`, type-only included) of every
 * TypeScript file in those folders and fails on an edge that goes up or sideways, which
 * also rules out any cycle between folders. It also holds core/ to a budget of lines of
 * code, as tinygrad does: the engine a learner must read stays small.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { describe, expect, test } from 'vitest';
import { registerBackend, withBackend, type Backend } from '../kernels/backend.ts';
import { referenceBackend } from '../kernels/reference/index.ts';
import { GramAccumulator } from '../nn/sparsegrad/gram.ts';
import { importsOf, tsFiles } from './imports.ts';

const root = join(import.meta.dirname, '..');

/** Each library folder's rank: a file may import its own folder or a folder of lower rank. */
const RANK: Record<string, number> = { base: 0, kernels: 1, core: 2, nn: 3, optim: 3, models: 4, node: 5, cli: 6 };
/** The two entry files at the root belong to the layer they serve. */
const ROOT_FILES: Record<string, string> = { 'index.ts': 'core', 'node.ts': 'node' };

/** The layer of a repository-relative path, or null outside the library (spec, bench, …). */
function layerOf(path: string): string | null {
  if (path in ROOT_FILES) return ROOT_FILES[path]!;
  const top = path.split('/')[0]!;
  return top in RANK ? top : null;
}

const libraryFiles = [...Object.keys(RANK).flatMap(tsFiles), ...Object.keys(ROOT_FILES)];

interface Edge {
  file: string;
  target: string;
  from: string;
  to: string;
}

/** Every import from one library folder into another (relative specifiers only: packages are not folders). */
const edges: Edge[] = libraryFiles.flatMap((file) => {
  const from = layerOf(file)!;
  return importsOf(readFileSync(join(root, file), 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      normalize(join(dirname(file), s))
        .split(sep)
        .join('/'),
    )
    .map((target) => ({ file, target, from, to: layerOf(target) ?? `outside the library (${target})` }))
    .filter((e) => e.from !== e.to);
});

describe('layers', () => {
  test('the import scanner sees static, type-only, re-export and dynamic imports, and skips comments', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "import './side-effect.ts';",
      "const m = await import('../lazy.ts');",
      "/** import { no } from './doc-comment.ts' */",
      "// import { no } from './line-comment.ts';",
    ].join('\n');
    expect(importsOf(source)).toEqual(['./a.ts', '../b.ts', './c.ts', './side-effect.ts', '../lazy.ts']);
  });

  test('every library folder is scanned and has imports to check', () => {
    expect(libraryFiles.length).toBeGreaterThan(100);
    for (const folder of ['kernels', 'core', 'nn', 'optim', 'models', 'cli']) {
      expect(
        edges.some((e) => e.from === folder),
        `no import leaves ${folder}/: is the scanner broken?`,
      ).toBe(true);
    }
  });

  test('imports go only down: base ← kernels ← core ← nn, optim ← models ← node ← cli', () => {
    const bad = edges.filter((e) => !(e.to in RANK) || RANK[e.to]! >= RANK[e.from]!);
    expect(bad.map((e) => `${e.file} (${e.from}) imports ${e.target} (${e.to})`)).toEqual([]);
  });

  test('so the graph between folders has no cycle', () => {
    // Redundant with the order above, and stated on its own: a depth-first search for a back edge.
    const next = new Map<string, Set<string>>();
    for (const e of edges) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
    const state = new Map<string, 'open' | 'done'>();
    const cycle: string[] = [];
    const visit = (folder: string, path: string[]): boolean => {
      if (state.get(folder) === 'done') return false;
      if (state.get(folder) === 'open') {
        cycle.push(...path.slice(path.indexOf(folder)), folder); // back to a folder still open: a cycle
        return true;
      }
      state.set(folder, 'open');
      for (const to of next.get(folder) ?? []) if (visit(to, [...path, folder])) return true;
      state.set(folder, 'done');
      return false;
    };
    for (const folder of next.keys()) if (visit(folder, [])) break; // the first cycle found is reported
    expect(cycle.join(' → ')).toBe('');
  });

  test('Gram accumulation runs on the selected backend, not on a kernel it imports', () => {
    // A backend that counts its matmuls: nn/sparsegrad/gram.ts must reach the GEMM through it.
    const shapes: string[] = [];
    const counting: Backend = {
      ...referenceBackend,
      name: 'counting-reference',
      matmul(a, b, out) {
        shapes.push(`[${a.shape}]·[${b.shape}]`);
        referenceBackend.matmul(a, b, out);
      },
    };
    registerBackend(counting);
    const acc = new GramAccumulator(2, 3);
    withBackend(counting.name, () => acc.add(Float64Array.of(1, 2, 3, 4, 5, 6))); // M = [[1, 2, 3], [4, 5, 6]]
    const { cOut, cIn } = acc.finish();
    expect(shapes.length).toBeGreaterThan(0);
    // Small integers: every product and sum is exact in float64, so equality is the right test.
    expect(Array.from(cOut)).toEqual([14, 32, 32, 77]); // M·Mᵀ
    expect(Array.from(cIn)).toEqual([17, 22, 27, 22, 29, 36, 27, 36, 45]); // Mᵀ·M
  });

  test('core/ stays within 3,000 lines of code', () => {
    // Counted as tinygrad counts its budget: lines holding code, not blank lines or comments,
    // so the comments that teach are never what has to go.
    const codeLines = (source: string) =>
      source
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trim().startsWith('//')).length;
    expect(codeLines('/** doc */\nconst a = 1; // why\n\n// note\n/* block\n */ const b = 2;\n')).toBe(2);
    const lines = tsFiles('core').reduce((n, f) => n + codeLines(readFileSync(join(root, f), 'utf8')), 0);
    expect(lines).toBeGreaterThan(1000); // the count really read core/
    expect(lines, `core/ has ${lines} lines of code`).toBeLessThanOrEqual(3000);
  });
});
