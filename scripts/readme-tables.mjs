// `node scripts/readme-tables.mjs`: the README's result tables are copies of files under
// results/, never typed by hand. Each block
//   <!-- results: results/<run>/table.md -->
//   …
//   <!-- /results -->
// is replaced by that file's contents. `--check` changes nothing and exits 1 when a block
// differs from its file (spec/readme.spec.ts runs the same comparison).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BLOCK = /(<!-- results: ([^ ]+) -->\n)([\s\S]*?)(<!-- \/results -->)/g;

/** A Markdown table's cells, without the padding a formatter may add or remove. */
export const cells = (text) =>
  text
    .trim()
    .split('\n')
    .map((line) => line.split('|').map((c) => c.trim().replace(/^:?-+:?$/, '-')));

export function readmeBlocks(readme) {
  return [...readme.matchAll(BLOCK)].map((m) => ({ file: m[2], body: m[3] }));
}

// Run as a script (not when a test imports the functions above).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  if (process.argv.includes('--check')) {
    const same = ({ file, body }) => JSON.stringify(cells(body)) === JSON.stringify(cells(readFileSync(join(root, file), 'utf8')));
    const stale = readmeBlocks(readme).filter((block) => !same(block));
    for (const { file } of stale) console.error(`README.md: the table from ${file} is out of date (run node scripts/readme-tables.mjs)`);
    process.exit(stale.length > 0 ? 1 : 0);
  }
  writeFileSync(
    join(root, 'README.md'),
    readme.replace(BLOCK, (_, open, file, _body, close) => `${open}${readFileSync(join(root, file), 'utf8').trim()}\n${close}`),
  );
}
