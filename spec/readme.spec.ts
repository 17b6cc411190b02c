/**
 * The READMEs' result tables are the committed results, not hand-typed numbers: every
 * `<!-- results: FILE -->` block equals FILE's table (scripts/readme-tables.mjs rewrites them),
 * and cli/pretrained/table.md is what scripts/pretrained-table.mjs generates from the shipped
 * models' pretraining.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
// @ts-expect-error a plain-JavaScript script without declarations
import { pretrainedTable } from '../scripts/pretrained-table.mjs';
// @ts-expect-error a plain-JavaScript script without declarations
import { cells, DOCUMENTS, readmeBlocks } from '../scripts/readme-tables.mjs';

const root = join(import.meta.dirname, '..');

test.each(DOCUMENTS as string[])('every results block of %s equals the committed table it names', (document) => {
  const blocks = readmeBlocks(readFileSync(join(root, document), 'utf8')) as { file: string; body: string }[];
  expect(blocks.length).toBeGreaterThan(0);
  for (const { file, body } of blocks) expect(cells(body), file).toEqual(cells(readFileSync(join(root, file), 'utf8')));
});

test('cli/pretrained/table.md is generated from the models’ pretraining.json', () => {
  expect(cells(readFileSync(join(root, 'cli/pretrained/table.md'), 'utf8'))).toEqual(cells(pretrainedTable()));
});
