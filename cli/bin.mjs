#!/usr/bin/env node
// The CLI from its TypeScript sources, for development in the repository: registers tsx's
// loader (a devDependency) in this process, then runs cli/bin.ts. The installed package
// runs the bundle instead (dist/sparsegrad.js, built by `npm run build -w cli`).
import { register } from 'tsx/esm/api';

register();
await import('./bin.ts');
