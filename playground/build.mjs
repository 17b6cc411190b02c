// `npm run playground`: bundle the playground for the browser into playground/dist/ —
// index.html, playground.js (one classic script, so the page also opens straight from the
// disk, file://, where browsers refuse ES module scripts) and meta.json, esbuild's list of
// every source file that went in (the test checks that no Node built-in is among them).
//
//   node playground/build.mjs [--out <dir>]
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--out');
const out = i > 0 ? process.argv[i + 1] : join(here, 'dist');

mkdirSync(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(here, 'main.ts')],
  bundle: true,
  // An IIFE: the library has no top-level await, and a classic script runs from file://.
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  outfile: join(out, 'playground.js'),
  metafile: true,
  minify: false,
  logLevel: 'error',
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile, null, 1));
const bytes = result.metafile.outputs[relative(process.cwd(), join(out, 'playground.js'))]?.bytes;
console.log(`playground: wrote ${relative(process.cwd(), out) || '.'}/index.html and playground.js${bytes ? ` (${(bytes / 1024).toFixed(0)} KiB)` : ''}`);
console.log(
  `open ${join(relative(process.cwd(), out) || '.', 'index.html')} in a browser, or serve the folder: python3 -m http.server -d ${relative(process.cwd(), out) || '.'} 8000`,
);
