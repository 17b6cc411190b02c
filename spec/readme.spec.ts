/**
 * The README's result tables are the committed results, not hand-typed numbers: every
 * `<!-- results: FILE -->` block equals FILE's table (scripts/readme-tables.mjs rewrites them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
// @ts-expect-error a plain-JavaScript script without declarations
import { cells, readmeBlocks } from '../scripts/readme-tables.mjs';

const root = join(import.meta.dirname, '..');

test('every results block of the README equals the committed table it names', () => {
  const blocks = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8')) as { file: string; body: string }[];
  expect(blocks.length).toBeGreaterThan(0);
  for (const { file, body } of blocks) expect(cells(body), file).toEqual(cells(readFileSync(join(root, file), 'utf8')));
});
