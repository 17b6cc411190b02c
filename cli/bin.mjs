#!/usr/bin/env node
// The `sparsegrad` executable (cli/package.json "bin"). Installed from npm, the package
// holds the bundle (dist/sparsegrad.js, built by `npm run build -w cli`) and not the
// TypeScript sources: run the bundle. In a checkout the sources are here (and the bundle
// may be stale or missing): run them through tsx's loader, a devDependency.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./bin.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./bin.ts');
} else {
  await import('./dist/sparsegrad.js');
}
