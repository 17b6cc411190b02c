/**
 * `enableRelaxedSimd()` (sparsegrad/node) on an engine that does not validate relaxed SIMD by
 * default: Node 20 run without --experimental-wasm-relaxed-simd, as a user runs a script. A
 * fresh process (this suite's own workers have the flag): before the call the kernels are the
 * plain ones, after it the fused ones, and a product computed with them matches the reference.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Runs `script` in a fresh Node process as a user's script runs (no flags), and parses the JSON it prints. */
function runFresh(script: string): unknown {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout);
}

// The child multiplies 70×90 · 90×50 in float64 and reports, per entry, its distance from a
// plain loop over the magnitude Σ|a||b| that bounds both roundings' error.
const script = `
import { randn, threadInfo, Generator } from './index.ts';
import { enableRelaxedSimd } from './node.ts';
const before = threadInfo().fma;
const enabled = enableRelaxedSimd();
const g = new Generator(3);
const [m, k, n] = [70, 90, 50];
const a = randn([m, k], { generator: g, dtype: 'float64' }), b = randn([k, n], { generator: g, dtype: 'float64' });
const c = a.matmul(b).data, x = a.data, y = b.data;
let worst = 0;
for (let i = 0; i < m; i++)
  for (let j = 0; j < n; j++) {
    let sum = 0, magnitude = 0;
    for (let p = 0; p < k; p++) { sum += x[i * k + p] * y[p * n + j]; magnitude += Math.abs(x[i * k + p] * y[p * n + j]); }
    worst = Math.max(worst, Math.abs(c[i * n + j] - sum) / magnitude);
  }
console.log(JSON.stringify({ before, enabled, fma: threadInfo().fma, worst }));
process.exit(0);
`;

test('enableRelaxedSimd() turns on the fused kernels in a process started without the flag; products still match', () => {
  const out = runFresh(script) as { before: boolean; enabled: boolean; fma: boolean; worst: number };
  // Node ≥ 22 has relaxed SIMD without the flag; Node 20 needs the call.
  if (Number(process.versions.node.split('.')[0]) < 22) expect(out.before).toBe(false);
  expect(out.enabled).toBe(true);
  expect(out.fma).toBe(true);
  // Each sum of 90 products rounds at most 90 times in either order: within 2 · 90 · 2⁻⁵³ of Σ|a||b| of each other.
  expect(out.worst).toBeLessThanOrEqual(2 * 90 * 2 ** -53);
});

// The child counts the WebAssembly modules compiled on its main thread: none at import, one
// build after settings made before the first product (enableRelaxedSimd, setThreads), and the
// same number again for a rebuild (setRelaxedSimd(false) after the kernels ran).
const lazyScript = `
let compiled = 0;
const Compile = WebAssembly.Module;
WebAssembly.Module = class extends Compile { constructor(bytes) { super(bytes); compiled++; } };
const { ones, setThreads, setRelaxedSimd, threadInfo } = await import('./index.ts');
const { enableRelaxedSimd } = await import('./node.ts');
const atImport = compiled;
enableRelaxedSimd();
setThreads(2);
const beforeProduct = compiled;
ones([8, 8]).matmul(ones([8, 8]));
const firstBuild = compiled - beforeProduct;
const { fma, threads } = threadInfo();
setRelaxedSimd(false);
console.log(JSON.stringify({ atImport, beforeProduct, firstBuild, rebuild: compiled - beforeProduct - firstBuild, fma, threads }));
process.exit(0);
`;

test('importing compiles nothing; settings made before the first kernel runs cost no second build', () => {
  const out = runFresh(lazyScript) as Record<string, number | boolean>;
  expect(out.atImport).toBe(0);
  expect(out.beforeProduct).toBe(0);
  expect(out.firstBuild).toBeGreaterThan(0);
  expect(out.rebuild).toBe(out.firstBuild); // one build's worth each: the first product built once
  expect(out.fma).toBe(true);
  expect(out.threads).toBe(2);
});
