#!/usr/bin/env node
// The `sparsegrad` executable (package.json "bin", and `npm start`): registers tsx's
// TypeScript loader (a devDependency, installed by `npm ci`) in this process, then runs
// cli/main.ts. Plain JavaScript so that it starts with nothing but Node.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
// Progress bars and workers may hold handles open; the command is done.
process.exit(process.exitCode);
