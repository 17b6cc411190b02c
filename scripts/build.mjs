// `npm run build` (also run by `npm pack` through "prepack"): compiles the library's
// TypeScript sources into dist/ — plain ES modules, .d.ts files and source maps — with the
// compiler settings of tsconfig.build.json. The sources stay the readable truth; dist/ is
// never committed.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.exit(tsc.status ?? 1);
