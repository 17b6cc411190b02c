/**
 * The repository documents itself: every file outside node_modules and build output
 * points only at documents inside the repository. Code, tests and READMEs cite the
 * method and testing notes as `docs/<NAME>.md §N` (or `§N.M` for item M of a numbered
 * list in section N), and every such citation must resolve to a `## §N.` heading (and
 * list item) of a file that exists in docs/. No file names a path under a private
 * notes folder or an absolute path on a developer's machine.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const self = relative(root, import.meta.filename)
  .split(sep)
  .join('/');

/** Not sources: dependencies, build output, scratch and run folders (see .gitignore). */
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '.tmp', 'runs']);
/** Binary files, and logs (ignored by git; stack traces name absolute paths). */
const SKIP_FILES = /\.(safetensors|tgz|gz|zip|png|jpe?g|gif|ico|wasm|bin|pdf|log)$/i;

function files(dir = ''): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const rel = dir ? `${dir}/${name}` : name;
    const st = statSync(join(root, rel));
    if (st.isDirectory()) return SKIP_DIRS.has(name) ? [] : files(rel);
    return st.isFile() && !SKIP_FILES.test(name) && rel !== self ? [rel] : [];
  });
}

const texts = files().flatMap((file) => {
  const buf = readFileSync(join(root, file));
  return buf.subarray(0, 8192).includes(0) ? [] : [{ file, text: buf.toString('utf8') }];
});

/** `file:line: text` for every line of every file that matches. */
function offending(re: RegExp, keep: (m: RegExpExecArray, line: string) => boolean = () => true): string[] {
  const out: string[] = [];
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  for (const { file, text } of texts) {
    text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(global)) {
        if (keep(m as RegExpExecArray, line)) out.push(`${file}:${i + 1}: ${line.trim().slice(0, 160)}`);
      }
    });
  }
  return [...new Set(out)];
}

/** Section N of a docs file → the item numbers of its top-level numbered lists. */
function sections(text: string): Map<number, Set<number>> {
  const map = new Map<number, Set<number>>();
  let current: Set<number> | null = null;
  for (const line of text.split('\n')) {
    const h = /^## §?(\d+)\./.exec(line);
    if (h) {
      current = new Set();
      map.set(Number(h[1]), current);
    } else if (/^## /.test(line)) {
      current = null;
    } else if (current) {
      const item = /^(\d+)\. /.exec(line);
      if (item) current.add(Number(item[1]));
    }
  }
  return map;
}

const docs = new Map(
  readdirSync(join(root, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .map((n) => [`docs/${n}`, sections(readFileSync(join(root, 'docs', n), 'utf8'))]),
);

/**
 * A citation: a Markdown file name followed by one or more section references,
 * e.g. `docs/METHOD.md §4–§7`, `docs/TESTING.md §2, §4`, `docs/METHOD.md §7 and §12.9`.
 */
const CITATION = /([\w./-]*\.md)`?\s*((?:§\d+(?:\.\d+)?(?:\s*(?:–|-|,|and)\s*(?=§))?)+)/g;

describe('documentation references stay inside the repository', () => {
  test('the docs this test checks against exist and number their sections', () => {
    for (const name of ['docs/METHOD.md', 'docs/TESTING.md']) {
      expect(docs.has(name), name).toBe(true);
      expect(docs.get(name)!.size, name).toBeGreaterThan(0);
    }
  });

  test('no file refers to a private notes folder', () => {
    expect(offending(new RegExp('shared' + '/'))).toEqual([]);
  });

  test("no file names an absolute path under the development machine's work folder", () => {
    expect(offending(new RegExp('(?<![\\w.~-])/' + 'work/'))).toEqual([]);
  });

  test('the old note names are cited only as files in docs/', () => {
    const names = ['SPARSE' + 'GRAD', 'DE' + 'SIGN', 'TEST' + 'ING', 'PLAT' + 'FORM', 'METH' + 'OD'].join('|');
    expect(offending(new RegExp(`([\\w./-]*)(?:${names})\\.md`), (m) => m[1] !== 'docs/')).toEqual([]);
  });

  test('every `*.md §N` citation names a file in docs/ and a section (and item) it has', () => {
    const bad: string[] = [];
    for (const { file, text } of texts) {
      text.split('\n').forEach((line, i) => {
        for (const m of line.matchAll(CITATION)) {
          const [, cited, refs] = m as unknown as [string, string, string];
          const where = `${file}:${i + 1}: ${cited} ${refs.trim()}`;
          const doc = docs.get(cited);
          if (!cited.startsWith('docs/') || !doc) {
            bad.push(`${where} (not a file in docs/)`);
            continue;
          }
          for (const [, n, item] of refs.matchAll(/§(\d+)(?:\.(\d+))?/g)) {
            const items = doc.get(Number(n));
            if (!items) bad.push(`${where} (${cited} has no section §${n})`);
            else if (item !== undefined && !items.has(Number(item))) bad.push(`${where} (${cited} §${n} has no item ${item})`);
          }
        }
      });
    }
    expect(bad).toEqual([]);
  });
});

describe('Markdown links and commands', () => {
  const markdown = texts.filter(({ file }) => file.endsWith('.md') && !file.startsWith('docs/api/') && !file.startsWith('results/'));

  test('every relative link of a Markdown file names a file or folder that exists', () => {
    const bad: string[] = [];
    for (const { file, text } of markdown) {
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target!)) continue;
        const path = target!.replace(/#.*$/, '');
        if (!existsSync(join(root, dirname(file), path))) bad.push(`${file}: ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('a `tsx FILE` or `node FILE` command in a Markdown file names a file that exists and runs something', () => {
    const bad: string[] = [];
    for (const { file, text } of markdown) {
      for (const [, script] of text.matchAll(/(?:npx tsx|node) ((?:[\w.-]+\/)*[\w.-]+\.(?:m?[jt]s))\b/g)) {
        const path = join(root, script!);
        // cli/main.ts only exports main(); the executable is cli/bin.mjs.
        if (!existsSync(path) || script === 'cli/main.ts') bad.push(`${file}: ${script}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
