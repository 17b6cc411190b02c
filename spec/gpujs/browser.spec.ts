/**
 * In a real browser: esbuild bundles sparsegrad with spec/gpujs/browser-entry.ts, a local
 * HTTP server (127.0.0.1, random port) serves it, and Debian's headless Chromium, driven by
 * playwright-core, runs a BERT layer forward and backward with gpu.js in WebGL2 mode
 * (SwiftShader, Chromium's software GL). The output and every gradient must match the
 * CPU path computed here in Node (float64) within T32.
 *
 * Skips with one line when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withBackend } from '../../index.ts';
import { Parameter } from '../../nn/index.ts';
import { runPage, skipWithoutBrowser } from '../browser.ts';
import { compare, T32 } from '../kit/close.ts';
import { BertLayer, bertCase, bertStep } from './bert-layer.ts';
import { skipWithoutGpujs } from './harness.ts';

const TIMEOUT = 300_000;

describe.skipIf(skipWithoutGpujs('gpu.js WebGL2 page') || skipWithoutBrowser('gpu.js WebGL2 page'))('gpu.js WebGL2 in headless Chromium', () => {
  let bundle = '';

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sparsegrad-browser-'));
    try {
      const esbuild = await import('esbuild');
      await esbuild.build({
        entryPoints: [join(import.meta.dirname, 'browser-entry.ts')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        outfile: join(dir, 'bundle.js'),
        logLevel: 'error',
      });
      bundle = readFileSync(join(dir, 'bundle.js'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, TIMEOUT);

  it(
    'a BERT layer forward + backward on WebGL2 matches the CPU path within T32',
    async () => {
      const result = await runPage<{ mode: string; precision: string; forwardResident: boolean; values: Record<string, number[]> }>(
        {
          'index.html': '<!doctype html><meta charset="utf-8"><title>sparsegrad gpu.js</title><script type="module" src="bundle.js"></script>',
          'bundle.js': bundle,
        },
        60_000,
      );
      expect(result.mode).toBe('webgl2');
      expect(result.precision).toBe('single');
      expect(result.forwardResident).toBe(true);
      // The CPU path in float64 on the same seeded weights and inputs.
      const model = new BertLayer(1);
      for (const [path, p] of model.namedParameters()) {
        const dot = path.lastIndexOf('.');
        const owner = dot < 0 ? model : model.getSubmodule(path.slice(0, dot));
        (owner as unknown as Record<string, unknown>)[path.slice(dot + 1)] = new Parameter(p.detach().double());
      }
      const c = bertCase();
      const c64 = { ...c, x: c.x.detach().double().setRequiresGrad(), gOut: c.gOut.double() };
      const want = withBackend('cpu', () => bertStep(model, c64));
      expect(Object.keys(result.values)).toEqual(Object.keys(want));
      for (const [name, expected] of Object.entries(want)) {
        const tol = name.endsWith('key.bias') ? { name: 'absolute 1e-6', atol: 1e-6, rtol: 0 } : T32;
        const { ok, message } = compare(result.values[name]!, expected, tol, { label: `browser BERT ${name}` });
        expect(ok, message).toBe(true);
      }
    },
    TIMEOUT,
  );
});
