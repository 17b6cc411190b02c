// Imports every public subpath of the installed package from plain JavaScript and
// prints what each one exports (a name count), or the error an optional peer gives
// when it is missing. Run by spec/package/install.spec.ts in an empty project.
import { readFileSync } from 'node:fs';

// The subpaths are the installed manifest's `exports` (JavaScript ones; package.json is data).
const { exports } = JSON.parse(readFileSync('node_modules/sparsegrad/package.json', 'utf8'));
const SUBPATHS = Object.keys(exports)
  .filter((key) => !key.endsWith('.json'))
  .map((key) => `sparsegrad${key.slice(1)}`);

const report = {};
for (const subpath of SUBPATHS) {
  try {
    report[subpath] = { exports: Object.keys(await import(subpath)).length };
  } catch (error) {
    report[subpath] = { error: `${error.name}: ${error.message}` };
  }
}
// gpu.js is an optional peer: asking for the GPU backend without it must say what to install.
const { useGpujs } = await import('sparsegrad/gpujs');
report.useGpujs = await useGpujs().then(
  (backend) => ({ mode: backend.mode }),
  (error) => ({ error: `${error.name}: ${error.message}` }),
);
console.log(JSON.stringify(report));
