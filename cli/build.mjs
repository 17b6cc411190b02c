// Builds the installable CLI: one ES-module bundle per entry (dist/sparsegrad.js, the
// "bin", and dist/worker.js, the process each fine-tuning run gets), with the engine
// inlined and shared chunks split out. The datasets and vocabularies stay external:
// they are this package's dependencies, loaded from node_modules at run time.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
// `node build.mjs [OUTDIR]`: dist/ by default; the packaging tests build into a staging folder.
const outdir = process.argv[2] ?? join(here, 'dist');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { sparsegrad: join(here, 'bin.ts'), worker: join(here, 'worker.ts') },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
