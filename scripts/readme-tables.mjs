// `node scripts/readme-tables.mjs`: the READMEs' result tables are copies of committed
// result files, never typed by hand. It first regenerates cli/pretrained/table.md from the
// models' pretraining.json (scripts/pretrained-table.mjs); then in each of DOCUMENTS, every block
//   <!-- results: results/<run>/table.md -->
//   …
//   <!-- /results -->
// is replaced by that file's contents (paths from the repository root). `--check` changes
// nothing and exits 1 when a block differs from its file (spec/readme.spec.ts runs the same
// comparison).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PRETRAINED, pretrainedTable } from './pretrained-table.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The Markdown files that quote results. */
export const DOCUMENTS = ['README.md', 'cli/pretrained/README.md'];
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
  const check = process.argv.includes('--check');
  if (!check) writeFileSync(join(PRETRAINED, 'table.md'), `${pretrainedTable()}\n`);
  let stale = 0;
  for (const document of DOCUMENTS) {
    const path = join(root, document);
    const text = readFileSync(path, 'utf8');
    if (check) {
      const same = ({ file, body }) => JSON.stringify(cells(body)) === JSON.stringify(cells(readFileSync(join(root, file), 'utf8')));
      for (const { file } of readmeBlocks(text).filter((block) => !same(block))) {
        console.error(`${document}: the table from ${file} is out of date (run node scripts/readme-tables.mjs)`);
        stale++;
      }
    } else {
      writeFileSync(
        path,
        text.replace(BLOCK, (_, open, file, _body, close) => `${open}${readFileSync(join(root, file), 'utf8').trim()}\n${close}`),
      );
    }
  }
  // Biome formats Markdown tables (column padding): leave the documents as `npm test`'s `biome ci` wants them.
  if (!check)
    spawnSync(process.execPath, [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'format', '--write', ...DOCUMENTS], { cwd: root, stdio: 'inherit' });
  process.exit(stale > 0 ? 1 : 0);
}
