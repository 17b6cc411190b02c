/** The README's promises: the tour runs, and the main job trains (its loss falls). */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const tsx = (...args: string[]) => execFileSync(join(root, 'node_modules/.bin/tsx'), args, { cwd: root, encoding: 'utf8' });

test('the API tour runs', () => {
  expect(tsx('examples/tour.ts')).toMatch(/SparseCoo\(shape=\[3, 2\], nnz=2/);
});

test('the MLP example drives the loss down and classifies the spirals', () => {
  const out = tsx('examples/mlp.ts', '100');
  const losses = [...out.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
  expect(losses.length).toBeGreaterThan(3);
  expect(losses.at(-1)!).toBeLessThan(losses[0]! / 4);
  expect(Number(out.match(/accuracy (\d+\.\d)%/)![1])).toBeGreaterThan(90);
});
