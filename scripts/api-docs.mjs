// `npm run docs`: the API reference in docs/api/ (generated, never committed), one Markdown
// page per public subpath of package.json `exports`, each export with its signature, its
// doc comment and the file that defines it, plus an index.
//
// Why not TypeDoc: typedoc@0.28.20 needs the compiler's JavaScript API (peer typescript
// ≤ 6.0), and typescript@7 (the native compiler) exports only its version from `typescript`,
// so TypeDoc dies on load (`ts.SyntaxKind` is undefined). This generator instead reads the
// `.d.ts` files the compiler emits — the public surface exactly as a user's editor sees it,
// doc comments included — with a small scanner that only has to find statement boundaries.
//
//   node scripts/api-docs.mjs [--out docs/api] [--dts <dir with .d.ts built already>]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---- scanning a .d.ts into top-level statements ------------------------------------------

/**
 * Split declaration text into statements, each with the last `/** … *\/` comment before it.
 * A statement ends at a `;` outside brackets, or where the body of a class, interface,
 * enum or namespace closes (tsc prints no `;` after those). Strings and comments are
 * skipped so that a `;` or `{` inside them counts for nothing.
 */
export function statements(text) {
  const out = [];
  let depth = 0;
  let start = -1;
  let doc = null;
  let pendingDoc = null;
  const blockHead = /^(export\s+)?(declare\s+)?(default\s+)?(abstract\s+)?(class|interface|enum|const\s+enum|namespace|module|global)\b/;
  const close = (end) => {
    const body = text.slice(start, end).trim();
    if (body) out.push({ text: body, doc });
    start = -1;
    doc = null;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
      if (i < 0) break;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (start < 0 && text[i + 2] === '*') pendingDoc = text.slice(i, end + 2);
      i = end + 1;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (/\s/.test(c)) continue;
    if (start < 0) {
      start = i;
      doc = pendingDoc;
      pendingDoc = null;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '}') {
      depth--;
      if (depth === 0 && blockHead.test(text.slice(start, i))) close(i + 1);
    } else if (c === ';' && depth === 0) close(i + 1);
  }
  if (start >= 0) close(text.length);
  return out;
}

/** The text of a doc comment without its delimiters and leading stars. */
export function cleanDoc(comment) {
  if (!comment) return '';
  return comment
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

const DECL =
  /^(?:export\s+)?(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(function|class|interface|type|const\s+enum|enum|const|let|var|namespace)\s+([A-Za-z_$][\w$]*)/;

/** Exported names of an `export { a, type b as c }` list: [local, exported]. */
function exportList(body) {
  return body
    .split(',')
    .map((s) => s.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .map((s) => {
      const [local, as] = s.split(/\s+as\s+/);
      return [local.trim(), (as ?? local).trim()];
    });
}

// ---- resolving what each module exports -----------------------------------------------------

/**
 * Reads .d.ts modules under `dtsRoot` and resolves their exports through `export *`,
 * `export { … } from` and local `export { … }`. Each entry: { name, kind, decls: [text],
 * doc, file } where `file` is the defining source (relative, `.ts`).
 */
class Modules {
  constructor(dtsRoot) {
    this.dtsRoot = dtsRoot;
    this.cache = new Map();
  }

  /** `./core/tensor.ts` (or `.js`) seen from `from` → the .d.ts path that the compiler wrote. */
  resolve(from, specifier) {
    const base = posix.join(posix.dirname(from), specifier).replace(/\.(ts|js|mjs)$/, '');
    const candidates = [`${base}.d.ts`, `${base}/index.d.ts`];
    const hit = candidates.find((c) => existsSync(join(this.dtsRoot, c)));
    if (!hit) throw new Error(`api-docs: ${from} imports ${specifier}, but none of ${candidates.join(', ')} was emitted`);
    return hit;
  }

  /** Map name → entry of everything module `file` (relative .d.ts path) exports. */
  exports(file) {
    const cached = this.cache.get(file);
    if (cached) return cached;
    const result = new Map();
    this.cache.set(file, result); // a cycle of `export *` sees the partial map instead of looping
    const local = new Map();
    const imports = new Map();
    const source = file.replace(/\.d\.ts$/, '.ts');
    const add = (map, name, kind, text, doc) => {
      const entry = map.get(name) ?? { name, kind, decls: [], doc: '', file: source };
      entry.decls.push(text);
      if (!entry.doc && doc) entry.doc = doc;
      map.set(name, entry);
    };
    for (const { text, doc } of statements(readFileSync(join(this.dtsRoot, file), 'utf8'))) {
      let m;
      if ((m = /^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"]([^'"]+)['"]/.exec(text))) {
        for (const [name, as] of exportList(m[1])) imports.set(as, { module: m[2], name });
      } else if ((m = /^export\s+\*\s+from\s+['"]([^'"]+)['"]/.exec(text))) {
        for (const [name, entry] of this.exports(this.resolve(file, m[1]))) if (name !== 'default' && !result.has(name)) result.set(name, entry);
      } else if ((m = /^export\s+\*\s+as\s+([\w$]+)\s+from\s+['"]([^'"]+)['"]/.exec(text))) {
        result.set(m[1], { name: m[1], kind: 'namespace', decls: [text], doc: cleanDoc(doc), file: source });
      } else if ((m = /^export\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"]([^'"]+)['"]/.exec(text))) {
        const target = this.exports(this.resolve(file, m[2]));
        for (const [name, as] of exportList(m[1])) {
          const entry = target.get(name);
          if (!entry) throw new Error(`api-docs: ${file} re-exports ${name} from ${m[2]}, which does not export it`);
          result.set(as, { ...entry, name: as, declared: entry.declared ?? entry.name });
        }
      } else if ((m = /^export\s+(?:type\s+)?\{([^}]*)\}\s*;?$/.exec(text))) {
        for (const [name, as] of exportList(m[1])) {
          const entry =
            local.get(name) ?? (imports.has(name) ? this.exports(this.resolve(file, imports.get(name).module)).get(imports.get(name).name) : undefined);
          if (entry) result.set(as, { ...entry, name: as, declared: entry.declared ?? entry.name });
        }
      } else if ((m = DECL.exec(text))) {
        const kind = m[1].replace(/\s+/g, ' ');
        add(/^export\b/.test(text) ? result : local, m[2], kind, text, cleanDoc(doc));
      }
    }
    return result;
  }
}

// ---- members of classes and interfaces ------------------------------------------------------

/** The public members of a class or interface declaration: [{ signature, doc }]. */
export function members(decl) {
  const open = decl.indexOf('{');
  if (open < 0 || !/^(export\s+)?(declare\s+)?(abstract\s+)?(class|interface)\b/.test(decl)) return [];
  return statements(decl.slice(open + 1, decl.lastIndexOf('}')))
    .filter(({ text }) => !/^(private|protected)\b|^#/.test(text))
    .map(({ text, doc }) => ({ signature: text.replace(/;$/, '').replace(/\s+/g, ' '), doc: cleanDoc(doc) }));
}

// ---- rendering ------------------------------------------------------------------------------

/** Page name of a subpath: `.` → sparsegrad.md, `./nn` → nn.md. */
export const pageOf = (subpath) => (subpath === '.' ? 'sparsegrad.md' : `${subpath.slice(2).replace(/\//g, '-')}.md`);
const specifierOf = (subpath) => (subpath === '.' ? 'sparsegrad' : `sparsegrad/${subpath.slice(2)}`);
const KIND_ORDER = ['class', 'function', 'const', 'let', 'var', 'enum', 'const enum', 'namespace', 'interface', 'type'];
const KIND_TITLE = {
  class: 'Classes',
  function: 'Functions',
  const: 'Constants',
  let: 'Variables',
  var: 'Variables',
  enum: 'Enums',
  'const enum': 'Enums',
  namespace: 'Namespaces',
  interface: 'Interfaces',
  type: 'Types',
};

/** Drop each declaration's `export declare` prefix: the page already says it is exported. */
const plain = (decl) => decl.replace(/^export\s+(declare\s+)?/, '');

/** The prose of a doc comment: everything before its first block tag (`@example`, `@param`, …). */
const prose = (doc) => doc.split(/^@/m)[0].trim();

/** First paragraph of a doc comment, on one line: the index's summary. */
const summary = (doc) =>
  prose(doc)
    .split(/\n\s*\n/)[0]
    .replace(/\s+/g, ' ')
    .trim();

/**
 * A doc comment as Markdown: the prose as written, then each block tag. An `@example` is
 * code, fenced as TypeScript unless it brings its own fence; other tags become a labelled line.
 */
export function renderDoc(doc) {
  const parts = [prose(doc)].filter(Boolean);
  for (const block of doc.split(/^@/m).slice(1)) {
    const [, tag, rest] = /^(\w+)\s*([\s\S]*)$/.exec(block) ?? [];
    if (!tag) continue;
    const body = rest.trim();
    if (tag === 'example') parts.push('**Example**', body.startsWith('```') ? body : `\`\`\`ts\n${body}\n\`\`\``);
    else parts.push(`**@${tag}** ${body.replace(/\s*\n\s*/g, ' ')}`);
  }
  return parts.join('\n\n');
}

function renderPage(subpath, entries, moduleDoc, owners) {
  const names = [...entries.keys()].sort((a, b) => a.localeCompare(b));
  const lines = [`# \`${specifierOf(subpath)}\``, '', `[← API index](README.md)`, ''];
  if (moduleDoc) lines.push(moduleDoc, '');
  lines.push(`${names.length} exports. Import them with \`import { … } from '${specifierOf(subpath)}'\`.`, '');
  const byKind = new Map();
  for (const name of names) {
    const kind = entries.get(name).kind;
    byKind.set(kind, [...(byKind.get(kind) ?? []), name]);
  }
  for (const kind of KIND_ORDER.filter((k) => byKind.has(k))) {
    lines.push(
      `**${KIND_TITLE[kind]}:** ${byKind
        .get(kind)
        .map((n) => `[${n}](#${n})`)
        .join(', ')}`,
      '',
    );
  }
  for (const name of names) {
    const e = entries.get(name);
    // `export { variance as var_ }`: the signature below says `variance`, so say why.
    const alias = e.declared && e.declared !== name ? ` as \`${e.declared}\`` : '';
    lines.push(`<a id="${name}"></a>`, '', `## ${name}`, '', `*${e.kind}* · defined${alias} in \`${e.file}\``, '');
    if (e.doc) lines.push(renderDoc(e.doc), '');
    const decls = e.decls.map(plain);
    lines.push('```ts', ...decls.map((d) => (members(d).length > 0 ? `${d.slice(0, d.indexOf('{')).trim()} { … }` : d)), '```', '');
    const mem = e.decls.flatMap(members);
    if (mem.length > 0) {
      lines.push('Members:', '');
      for (const m of mem) lines.push(`- \`${m.signature.replace(/`/g, "'")}\`${m.doc ? ` — ${summary(m.doc)}` : ''}`);
      lines.push('');
    }
    // Links to the other documented names this declaration mentions (types, classes, constants).
    const seen = new Set();
    for (const id of e.decls.join(' ').match(/\b[A-Z][\w$]*\b/g) ?? []) {
      if (id === name || seen.has(id)) continue;
      const home = entries.has(id) ? '' : owners.get(id);
      if (home === undefined) continue;
      seen.add(id);
    }
    if (seen.size > 0) {
      const links = [...seen].sort().map((id) => (entries.has(id) ? `[${id}](#${id})` : `[${id}](${owners.get(id)}#${id})`));
      lines.push(`Mentions: ${links.join(', ')}`, '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderIndex(pages) {
  const lines = [
    '# API reference',
    '',
    'Generated by `npm run docs` (scripts/api-docs.mjs) from the `.d.ts` files the compiler emits: one page per',
    'public subpath of package.json `exports`, each export with its signature, its doc comment and its source file.',
    '',
    '| import from | exports | page |',
    '| --- | ---: | --- |',
    ...pages.map((p) => `| \`${specifierOf(p.subpath)}\` | ${p.entries.size} | [${pageOf(p.subpath)}](${pageOf(p.subpath)}) |`),
    '',
    '## Every export, A to Z',
    '',
  ];
  const all = pages.flatMap((p) => [...p.entries.values()].map((e) => ({ e, page: pageOf(p.subpath), spec: specifierOf(p.subpath) })));
  all.sort((a, b) => a.e.name.localeCompare(b.e.name) || a.spec.localeCompare(b.spec));
  for (const { e, page, spec } of all) lines.push(`- [${e.name}](${page}#${e.name}) (\`${spec}\`, ${e.kind})${e.doc ? ` — ${summary(e.doc)}` : ''}`);
  return `${lines.join('\n')}\n`;
}

// ---- the whole run --------------------------------------------------------------------------

/** The public subpaths (package.json `exports` with types): their .d.ts and source entry points. */
function subpaths() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return Object.entries(pkg.exports)
    .filter(([, target]) => typeof target === 'object' && target.types)
    .map(([subpath, target]) => ({ subpath, dts: posix.relative('dist', target.types), source: target['sparsegrad-source'] }));
}

/**
 * Emit the declarations alone into a temp folder (dist/ stays untouched), from the build's
 * compiler settings but with every source entry that package.json exports: the reference
 * documents what the package promises, even if tsconfig.build.json lags behind it.
 */
function emitDeclarations() {
  const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-api-'));
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''));
  const files = [
    ...new Set([
      ...build.files,
      ...subpaths()
        .map((s) => s.source)
        .filter(Boolean),
    ]),
  ];
  const config = join(dir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.build.json'),
      // typeRoots: the temp config lives outside the tree, where `types: ["node"]` would not be found.
      compilerOptions: {
        outDir: join(dir, 'out'),
        rootDir: root,
        typeRoots: [join(root, 'node_modules/@types')],
        emitDeclarationOnly: true,
        sourceMap: false,
        inlineSources: false,
        declarationMap: false,
      },
      include: [],
      files: files.map((f) => join(root, f)),
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', config], { encoding: 'utf8' });
  // Type errors elsewhere in the tree still emit every .d.ts; report them, do not hide them.
  if (tsc.status !== 0) process.stderr.write(`api-docs: tsc reported errors (declarations emitted anyway):\n${tsc.stdout}${tsc.stderr}`);
  return { dir, dts: join(dir, 'out') };
}

export function generate({ out, dts }) {
  const emitted = dts ? null : emitDeclarations();
  const dtsRoot = dts ?? emitted.dts;
  try {
    const modules = new Modules(dtsRoot);
    const pages = subpaths().map(({ subpath, dts: entry }) => {
      const first = statements(readFileSync(join(dtsRoot, entry), 'utf8'))[0];
      // A comment above a re-export or import is the entry module's own header.
      const moduleDoc = first && /^(export\s+(\*|(type\s+)?\{)|import\b)/.test(first.text) ? cleanDoc(first.doc) : '';
      return { subpath, entries: modules.exports(entry), moduleDoc };
    });
    // Where a name mentioned on another page is documented: its first subpath in exports order.
    const owners = new Map();
    for (const p of pages) for (const name of p.entries.keys()) if (!owners.has(name)) owners.set(name, pageOf(p.subpath));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const p of pages) writeFileSync(join(out, pageOf(p.subpath)), renderPage(p.subpath, p.entries, p.moduleDoc, owners));
    writeFileSync(join(out, 'README.md'), renderIndex(pages));
    // Generated, so never committed: the folder ignores itself (the root .gitignore stays as it is).
    writeFileSync(join(out, '.gitignore'), '# generated by npm run docs (scripts/api-docs.mjs)\n*\n');
    return pages.map((p) => ({ subpath: p.subpath, page: pageOf(p.subpath), exports: p.entries.size }));
  } finally {
    if (emitted) rmSync(emitted.dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const out = arg('--out') ?? join(root, 'docs/api');
  const summaryRows = generate({ out, dts: arg('--dts') });
  for (const r of summaryRows) console.log(`${r.page.padEnd(16)} ${String(r.exports).padStart(4)} exports  (${specifierOf(r.subpath)})`);
  console.log(`api-docs: wrote ${relative(process.cwd(), out) || '.'}/README.md and ${summaryRows.length} pages`);
}
