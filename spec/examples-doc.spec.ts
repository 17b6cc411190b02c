/**
 * The `@example` blocks of the doc comments are code, and they run: every block in the
 * library folders is extracted from the sources, its public imports (`'sparsegrad'`,
 * `'sparsegrad/nn'`, …) are pointed at the repository's entry files, and it is executed
 * as a module. A line written `expr; // => value` (or `const name = expr; // => value`) is
 * checked: the value of `expr` (a Tensor through `toArray()`, a typed array as an array)
 * must equal `value`, a JS literal; numbers match to 5e-4, relative, so a doc may round
 * to four decimals. Other comments are prose. The examples must also type-check.
 * Examples share one module registry, so one that changes global state (the backend, the
 * thread count) restores it or leaves it harmless.
 *
 * Coverage: every function and class exported from the three main entries (`index.ts`,
 * `nn/index.ts`, `optim/index.ts`) has an `@example` in the doc comment of its
 * declaration, save the exemptions below, each with its reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const LIBRARY = ['base', 'core', 'kernels', 'nn', 'optim', 'models', 'index.ts', 'node.ts'];
const ENTRIES: Record<string, string> = {
  sparsegrad: 'index.ts',
  'sparsegrad/nn': 'nn/index.ts',
  'sparsegrad/optim': 'optim/index.ts',
  'sparsegrad/models': 'models/index.ts',
  'sparsegrad/tokenizers': 'models/tokenizers/index.ts',
  'sparsegrad/node': 'node.ts',
};

/** Exports with no example, and why. */
const EXEMPT: Record<string, string> = {
  ShapeError: 'error class: thrown, not called',
  DTypeError: 'error class: thrown, not called',
  IndexError: 'error class: thrown, not called',
  ValueError: 'error class: thrown, not called',
  AutogradError: 'error class: thrown, not called',
  FormatError: 'error class: thrown, not called',
  SparsegradError: 'error class: thrown, not called',
  NonFiniteGradError: 'error class: thrown, not called',
  DTYPES: 'constant: the list of dtype names',
  MAX_NUMEL: 'constant: the largest element count',
  LLAMA_NAMES: 'constant: projection names of LLaMa attention',
  BERT_NAMES: 'constant: projection names of BERT attention',
  ORTHOGONALITY_TOLERANCE: 'constant: the eigensolver tolerance',
};

const read = (file: string) => readFileSync(join(root, file), 'utf8');

function sources(path: string): string[] {
  if (statSync(join(root, path)).isFile()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(join(root, path))
    .sort()
    .flatMap((name) => sources(join(path, name)));
}

// ---- extraction ---------------------------------------------------------------------

interface Example {
  label: string;
  code: string;
}

/** Every fenced block after an `@example` tag inside a `/** … *\/` comment of a file. */
function examplesOf(file: string): Example[] {
  const text = read(file);
  const out: Example[] = [];
  for (const m of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    if (!m[0].includes('@example')) continue;
    const startLine = text.slice(0, m.index).split('\n').length;
    const lines = m[0].split('\n').map((l) => l.replace(/^\s*\*(?: |$)/, ''));
    let inExample = false;
    let block: string[] | null = null;
    let blockLine = 0;
    lines.forEach((line, i) => {
      if (block) {
        if (/^\s*```\s*$/.test(line)) {
          out.push({ label: `${file}:${blockLine}`, code: block.join('\n') });
          block = null;
          inExample = false;
        } else block.push(line);
      } else if (/@example/.test(line)) inExample = true;
      else if (inExample && /^\s*```(ts|typescript)?\s*$/.test(line)) {
        block = [];
        blockLine = startLine + i;
      }
    });
    if (block) throw new Error(`${file}:${blockLine}: an @example fence is not closed`);
  }
  return out;
}

/** The runnable module: imports point at the repository, `expr; // => value` lines are checked. */
function toModule(example: Example, fileDir: string): string {
  return example.code
    .split('\n')
    .map((line, i) => {
      const imported = line.replace(/(from\s+|import\s+)(['"])(sparsegrad(?:\/[\w-]+)?)\2/, (_all, kw: string, _q: string, name: string) => {
        const entry = ENTRIES[name];
        if (!entry) throw new Error(`${example.label}: unknown public import '${name}'`);
        return `${kw}${JSON.stringify(
          relative(fileDir, join(root, entry))
            .replaceAll('\\', '/')
            .replace(/^(?!\.)/, './'),
        )}`;
      });
      const checked = imported.match(/^(\s*)(?:(const|let)\s+(\w+)\s*=\s*)?(.+?);\s*\/\/\s*=>\s*(.+?)\s*$/);
      if (!checked) {
        if (/\/\/\s*=>/.test(imported))
          throw new Error(`${example.label}: a \`// =>\` result must follow \`expr;\` or \`const name = expr;\` on one line: ${line.trim()}`);
        return imported;
      }
      const [, indent, decl, name, expr, expected] = checked;
      const where = JSON.stringify(`${example.label} (line ${i + 1} of the block)`);
      if (decl) return `${indent}${decl} ${name} = ${expr}; globalThis.__sgCheck(${name}, (${expected}), ${where});`;
      return `${indent}globalThis.__sgCheck((${expr}), (${expected}), ${where});`;
    })
    .join('\n');
}

// ---- checking -----------------------------------------------------------------------

function plain(x: unknown): unknown {
  if (x !== null && typeof x === 'object' && typeof (x as { toArray?: unknown }).toArray === 'function') return (x as { toArray(): unknown }).toArray();
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x)) return x.map(plain);
  return x;
}

function same(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (Number.isNaN(expected)) return Number.isNaN(actual);
    if (!Number.isFinite(expected)) return actual === expected;
    return Math.abs(actual - expected) <= 5e-4 * Math.max(1, Math.abs(expected));
  }
  if (Array.isArray(actual) && Array.isArray(expected)) return actual.length === expected.length && actual.every((a, i) => same(a, expected[i]));
  if (
    actual !== null &&
    expected !== null &&
    typeof actual === 'object' &&
    typeof expected === 'object' &&
    !Array.isArray(actual) &&
    !Array.isArray(expected)
  ) {
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((k) => same(plain((actual as Record<string, unknown>)[k]), (expected as Record<string, unknown>)[k]))
    );
  }
  return Object.is(actual, expected);
}

(globalThis as { __sgCheck?: unknown }).__sgCheck = (actual: unknown, expected: unknown, where: string) => {
  const got = plain(actual);
  if (!same(got, expected)) throw new Error(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
};

// ---- coverage -----------------------------------------------------------------------

interface Export {
  name: string;
  file: string;
  local: string;
}

/** The value (non-type) exports of an entry file, each with the file that declares it. */
function exportsOf(file: string): Export[] {
  const text = read(file);
  const out: Export[] = [];
  for (const m of text.matchAll(/^export\s+\{([^}]*)\}\s+from\s+'([^']+)'/gm)) {
    const target = join(dirname(file), m[2]!);
    for (const spec of m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (spec.startsWith('type ')) continue;
      const [local, name = local] = spec.split(/\s+as\s+/) as [string, string?];
      out.push({ name, file: target, local });
    }
  }
  for (const m of text.matchAll(/^export\s+\*\s+from\s+'([^']+)'/gm)) {
    const target = join(dirname(file), m[1]!);
    for (const d of read(target).matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:class|function\*?|const|let|enum)\s+(\w+)/gm)) {
      out.push({ name: d[1]!, file: target, local: d[1]! });
    }
  }
  for (const d of text.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:class|function\*?|const|let|enum)\s+(\w+)/gm)) {
    out.push({ name: d[1]!, file, local: d[1]! });
  }
  return out;
}

/** The doc comment right above the declaration of `name` in `file` (following re-exports). */
function docOf(file: string, name: string, seen = 0): string | null {
  if (seen > 5) return null;
  const text = read(file);
  const decl = new RegExp(`^(?:export\\s+)?(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:class|function\\*?|const|let|enum)\\s+${name}\\b`, 'm').exec(text);
  if (decl) {
    const before = text.slice(0, decl.index).trimEnd();
    if (!before.endsWith('*/')) return '';
    return before.slice(before.lastIndexOf('/**'));
  }
  for (const m of text.matchAll(/^export\s+\{([^}]*)\}\s+from\s+'([^']+)'/gm)) {
    for (const spec of m[1]!.split(',').map((s) => s.trim())) {
      const [local, exported = local] = spec.split(/\s+as\s+/) as [string, string?];
      if (exported === name) return docOf(join(dirname(file), m[2]!), local, seen + 1);
    }
  }
  return null;
}

// ---- the tests ----------------------------------------------------------------------

const files = LIBRARY.flatMap(sources);
const examples = files.flatMap(examplesOf);
const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modules = examples.map((example, i) => {
  const file = join(dir, `example-${i}.ts`);
  writeFileSync(file, `${toModule(example, dir)}\nexport {};\n`);
  return { ...example, file };
});

describe('every @example runs and its `// =>` results hold', () => {
  test('there are examples', () => {
    expect(examples.length).toBeGreaterThan(0);
  });
  test.each(modules.map((m) => [m.label, m] as const))('%s', async (_label, m) => {
    await import(pathToFileURL(m.file).href);
  });
});

test('the examples type-check (strict, without Node types, as a browser user compiles them)', () => {
  writeFileSync(join(dir, 'globals.d.ts'), 'declare var __sgCheck: (actual: unknown, expected: unknown, where: string) => void;\n');
  const config = {
    extends: relative(dir, join(root, 'tsconfig.browser.json')).replaceAll('\\', '/'),
    compilerOptions: { noEmit: true },
    files: ['globals.d.ts', ...modules.map((m) => relative(dir, m.file))],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  const result = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  // Name the example (file:line of its fence) rather than the temp module.
  const byFile = new Map(modules.map((m) => [basename(m.file), m.label]));
  const report = `${result.stdout}${result.stderr}`.replace(/\S*(example-\d+\.ts)/g, (all, f: string) => byFile.get(f) ?? all);
  expect(report).toBe('');
  expect(result.status).toBe(0);
});

describe('the checker', () => {
  test('a wrong `// =>` result fails', async () => {
    const file = join(dir, 'broken.ts');
    writeFileSync(
      file,
      `${toModule({ label: 'broken', code: "import { tensor } from 'sparsegrad';\ntensor([1, 2]).add(1); // => [2, 4]" }, dir)}\nexport {};\n`,
    );
    await expect(import(pathToFileURL(file).href)).rejects.toThrow(/broken \(line 2 of the block\): expected \[2,4\], got \[2,3\]/);
  });
  test('an example that throws fails', async () => {
    const file = join(dir, 'throws.ts');
    writeFileSync(file, `${toModule({ label: 'throws', code: "import { tensor } from 'sparsegrad';\ntensor([1, 2]).reshape(3);" }, dir)}\nexport {};\n`);
    await expect(import(pathToFileURL(file).href)).rejects.toThrow(/shape/);
  });
  test('rounded numbers match, a wrong digit does not', () => {
    expect(same([0.26894142], [0.2689])).toBe(true);
    expect(same([0.26894142], [0.2699])).toBe(false);
  });
});

describe('coverage: every exported function and class has an @example', () => {
  const entries = ['index.ts', 'nn/index.ts', 'optim/index.ts'];
  const all = entries.flatMap(exportsOf);
  test('the export lists were read', () => {
    expect(all.length).toBeGreaterThan(150);
    for (const name of Object.keys(EXEMPT))
      expect(
        all.map((e) => e.name),
        `exemption ${name} names no export`,
      ).toContain(name);
  });
  test('no export lacks one', () => {
    const missing = all
      .filter((e) => !(e.name in EXEMPT))
      .filter((e) => !(docOf(e.file, e.local) ?? '').includes('@example'))
      .map((e) => `${e.name} (${e.file})`);
    expect(missing).toEqual([]);
  });
});
