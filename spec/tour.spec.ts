/**
 * docs/TOUR.md stays true. Every stop of the tour is an anchor written
 *
 *   [`symbol` · path:line](../path#Lline)
 *
 * and each must name a file that exists, a line within it, and a line that contains the
 * symbol, which occurs nowhere else in the file. Code moves (another engineer rewrites a kernel, a function grows), so when a
 * symbol is no longer on its line the failure says where it is now, and
 * `node scripts/tour-anchors.mjs` re-points every such anchor; a symbol that vanished is a
 * stop to rewrite. Each path of
 * the tour also keeps its promise of at most ten files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const tour = readFileSync(join(root, 'docs/TOUR.md'), 'utf8');

interface Anchor {
  symbol: string;
  path: string;
  line: number;
  /** The link target, which must say the same path and line as the text. */
  href: string;
  section: string;
}

const ANCHOR = /\[`([^`]+)` · ([\w./-]+):(\d+)\]\(([^)]*)\)/g;

/** Every anchor, with the `## ` section it sits in. */
function anchorsOf(markdown: string): Anchor[] {
  const anchors: Anchor[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    for (const m of line.matchAll(ANCHOR)) anchors.push({ symbol: m[1]!, path: m[2]!, line: Number(m[3]), href: m[4]!, section });
  }
  return anchors;
}

/** What is wrong with one anchor, or null when it holds. */
function problem(a: Anchor): string | null {
  const where = `${a.path}:${a.line} (\`${a.symbol}\`, section "${a.section}")`;
  if (a.href !== `../${a.path}#L${a.line}`) return `${where}: the link goes to ${a.href}, expected ../${a.path}#L${a.line}`;
  const file = join(root, a.path);
  if (!existsSync(file)) return `${where}: no such file`;
  const lines = readFileSync(file, 'utf8').split('\n');
  if (a.line < 1 || a.line > lines.length) return `${where}: the file has ${lines.length} lines`;
  const now = lines.flatMap((l, i) => (l.includes(a.symbol) ? [i + 1] : []));
  // Unique, so that a moved anchor can be re-pointed without guessing (scripts/tour-anchors.mjs).
  if (now.length > 1) return `${where}: the symbol occurs on lines ${now.join(', ')}; name one that occurs once`;
  if (lines[a.line - 1]!.includes(a.symbol)) return null;
  return now.length > 0
    ? `${where}: line ${a.line} no longer contains the symbol; it is now at line ${now[0]} (node scripts/tour-anchors.mjs re-points every anchor)`
    : `${where}: the symbol is gone from the file; rewrite this stop`;
}

const anchors = anchorsOf(tour);

describe('docs/TOUR.md', () => {
  test('the anchor checker catches a wrong line, a missing file, a vanished or ambiguous symbol and a mismatched link', () => {
    const probe = (symbol: string, path: string, line: number, href = `../${path}#L${line}`) => problem({ symbol, path, line, href, section: 'probe' });
    const SYMBOL = 'export function forEachOffset';
    const at =
      readFileSync(join(root, 'kernels/view.ts'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes(SYMBOL)) + 1;
    expect(probe(SYMBOL, 'kernels/view.ts', at)).toBeNull();
    expect(probe(SYMBOL, 'kernels/view.ts', at + 1)).toMatch(/no longer contains the symbol; it is now at line/);
    expect(probe(SYMBOL, 'kernels/no-such-file.ts', 1)).toMatch(/no such file/);
    expect(probe(SYMBOL, 'kernels/view.ts', 1_000_000)).toMatch(/the file has \d+ lines/);
    expect(probe('noSuchSymbolAnywhere', 'kernels/view.ts', at)).toMatch(/symbol is gone/);
    expect(probe('export function', 'kernels/view.ts', at)).toMatch(/occurs on lines .*; name one that occurs once/);
    expect(probe(SYMBOL, 'kernels/view.ts', at, `../kernels/view.ts#L${at + 1}`)).toMatch(/the link goes to/);
  });

  test('every anchor names an existing file, a line within it, and a line that holds its symbol', () => {
    expect(anchors.length).toBeGreaterThan(30);
    expect(anchors.map(problem).filter((p) => p !== null)).toEqual([]);
  });

  test('every link into the repository is an anchor (no stop escapes the check)', () => {
    const links = [...tour.matchAll(/\]\((\.\.\/[^)]*)\)/g)].map((m) => m[1]!);
    const checked = new Set(anchors.map((a) => a.href));
    expect(links.filter((href) => !checked.has(href))).toEqual([]);
  });

  test('the opening snippet runs: a BERT layer backward on the reference backend gives a non-zero gradient', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(tour)?.[1];
    expect(block, 'docs/TOUR.md has no ```ts block').toBeDefined();
    // Its public imports point at the repository's entry files, as the package would resolve them.
    const entries: Record<string, string> = { sparsegrad: 'index.ts', 'sparsegrad/models': 'models/index.ts' };
    const code = block!.replace(/from '(sparsegrad(?:\/\w+)?)'/g, (whole, name: string) =>
      name in entries ? `from '${pathToFileURL(join(root, entries[name]!)).href}'` : whole,
    );
    const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-tour-'));
    try {
      writeFileSync(join(dir, 'snippet.ts'), code);
      const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(dir, 'snippet.ts')], { cwd: root, encoding: 'utf8' });
      expect(out).toMatch(/^tensor\(\[\[/);
      const values = [...out.matchAll(/-?\d+\.\d+(?:e[-+]\d+)?/g)].map((m) => Math.abs(Number(m[0])));
      expect(Math.max(...values), `printed gradient:\n${out}`).toBeGreaterThan(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('each path of the tour visits at most ten files', () => {
    const files = new Map<string, Set<string>>();
    for (const a of anchors) files.set(a.section, (files.get(a.section) ?? new Set()).add(a.path));
    expect(files.size).toBeGreaterThanOrEqual(4); // loss.backward() to the reference loop, the fast kernel, SparseAdam, SparseGradLinear
    for (const [section, set] of files) expect(set.size, `"${section}" visits ${[...set].join(', ')}`).toBeLessThanOrEqual(10);
  });
});
