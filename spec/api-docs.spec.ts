/**
 * The generated API reference (scripts/api-docs.mjs, `npm run docs`), built into a temp
 * folder and checked against the compiler itself: typescript@7's own API (the native
 * compiler behind `typescript/unstable/sync`, pinned with the compiler) lists each
 * subpath's exports and their doc comments, independently of the generator's .d.ts
 * scanner. Every export must have its section on its subpath's page and a line in the
 * index, every doc comment must be carried over, and every link must resolve.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API, SymbolFlags } from 'typescript/unstable/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types?: string; 'sparsegrad-source'?: string }>;
};
const subpaths = Object.entries(pkg.exports).flatMap(([subpath, t]) =>
  typeof t === 'object' && t.types && t['sparsegrad-source'] ? [{ subpath, source: t['sparsegrad-source'] }] : [],
);
/** The generator's page naming: `.` → sparsegrad.md, `./nn` → nn.md. */
const pageOf = (subpath: string) => (subpath === '.' ? 'sparsegrad.md' : `${subpath.slice(2).replace(/\//g, '-')}.md`);
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** What the compiler says each subpath exports: name → its doc comment ('' when none). */
function compilerExports(): Map<string, Map<string, string>> {
  const api = new API({ cwd: root });
  try {
    const files = subpaths.map((s) => join(root, s.source));
    const snapshot = api.updateSnapshot({ openFiles: files });
    return new Map(
      subpaths.map((s, i) => {
        const project = snapshot.getDefaultProjectForFile(files[i]!)!;
        const { checker } = project;
        const module = checker.getSymbolAtLocation(project.program.getSourceFile(files[i]!)!)!;
        return [
          s.subpath,
          new Map(
            checker.getExportsOfModule(module).map((sym) => {
              // A re-export is an alias: its documentation is the declaration's it points to.
              const target = sym.flags & SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
              return [sym.name, checker.getDocumentationCommentOfSymbol(target)];
            }),
          ),
        ];
      }),
    );
  } finally {
    api.close();
  }
}

/** Every `id="…"` anchor in a page. */
const anchors = (page: string) => new Set([...page.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!));

describe('API reference (npm run docs)', () => {
  const out = mkdtempSync(join(tmpdir(), 'sparsegrad-api-docs-'));
  let pages = new Map<string, string>();
  let expected = new Map<string, Map<string, string>>();

  beforeAll(() => {
    const run = spawnSync(process.execPath, [join(root, 'scripts/api-docs.mjs'), '--out', out], { encoding: 'utf8' });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    pages = new Map(
      readdirSync(out)
        .filter((f) => f.endsWith('.md'))
        .map((f) => [f, readFileSync(join(out, f), 'utf8')]),
    );
    expected = compilerExports();
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('has an index and one page per public subpath, each listing exactly the exports the compiler sees', () => {
    expect([...pages.keys()].sort()).toEqual(['README.md', ...subpaths.map((s) => pageOf(s.subpath))].sort());
    const index = pages.get('README.md')!;
    for (const { subpath } of subpaths) {
      const names = [...expected.get(subpath)!.keys()].sort();
      expect(names.length, `${subpath} exports nothing?`).toBeGreaterThan(0);
      // Both ways: a missing export fails, and so does one the scanner invented.
      expect([...anchors(pages.get(pageOf(subpath))!)].sort(), `exports of ${subpath}`).toEqual(names);
      for (const name of names) expect(index, `index line for ${subpath} ${name}`).toContain(`](${pageOf(subpath)}#${name})`);
    }
  });

  it("carries every export's doc comment and signature onto its section", () => {
    let documented = 0;
    for (const { subpath } of subpaths) {
      const page = pages.get(pageOf(subpath))!;
      for (const [name, doc] of expected.get(subpath)!) {
        const start = page.indexOf(`<a id="${name}"></a>`);
        const next = page.indexOf('<a id="', start + 1);
        const section = page.slice(start, next < 0 ? undefined : next);
        expect(section, `${subpath} ${name}: no code block`).toMatch(/```ts\n[\s\S]*\b\w[\s\S]*```/);
        if (!doc) continue;
        documented++;
        const firstLine = squash(doc.split('\n')[0]!);
        expect(squash(section), `${subpath} ${name}: doc comment`).toContain(firstLine);
      }
    }
    // The library documents most of its surface; a near-zero count would mean the oracle broke.
    expect(documented).toBeGreaterThan(100);
  });

  it('has no broken internal link, no link out of the folder and no absolute path', () => {
    let links = 0;
    for (const [file, text] of pages) {
      // The pages are read on any machine: no path of this one may leak into them.
      expect(text.includes(root) || text.includes(tmpdir()), `${file} names an absolute path`).toBe(false);
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        links++;
        expect(target, `${file}: link ${target} leaves docs/api`).not.toMatch(/^(\/|[a-z]+:|\.\.)/);
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const goal = path === '' ? file : path;
        expect(pages.has(goal), `${file}: ${target} names no page`).toBe(true);
        if (anchor !== undefined) expect(anchors(pages.get(goal)!).has(anchor), `${file}: ${target} names no anchor`).toBe(true);
      }
    }
    const exportsTotal = [...expected.values()].reduce((n, m) => n + m.size, 0);
    expect(links).toBeGreaterThan(2 * exportsTotal);
  });
});
