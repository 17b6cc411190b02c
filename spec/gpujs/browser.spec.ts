/**
 * In a real browser: esbuild bundles sparsegrad with spec/gpujs/browser-entry.ts, a local
 * HTTP server (127.0.0.1, random port) serves it, and Debian's headless Chromium, driven by
 * playwright-core, runs a BERT layer forward and backward with gpu.js in WebGL2 mode
 * (SwiftShader, Chromium's software GL). The output and every gradient must match the
 * CPU path computed here in Node (float64) within T32.
 *
 * Skips with one line when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBackend } from '../../index.ts';
import { compare, T32 } from '../kit/close.ts';
import { BertLayer, bertCase, bertStep } from './bert-layer.ts';
import { Parameter } from '../../nn/index.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.REQUIRE_BROWSER === '1';
const TIMEOUT = 300_000;

/**
 * Chromium flags: headless as root without a sandbox; no GPU, with WebGL2 from
 * SwiftShader through ANGLE (`--use-angle=swiftshader` + `--enable-unsafe-swiftshader`,
 * which Chromium now requires for software WebGL); and no background networking, which
 * this machine's closed network would refuse many times a start.
 */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const available = existsSync(CHROMIUM);
if (!available && !REQUIRE_BROWSER) console.warn(`[browser] skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; REQUIRE_BROWSER=1 makes this a failure)`);

describe.skipIf(!available && !REQUIRE_BROWSER)('gpu.js WebGL2 in headless Chromium', () => {
  let dir = '';
  let server: Server | null = null;
  let url = '';

  beforeAll(async () => {
    if (!available) return; // REQUIRE_BROWSER=1: the test below fails
    dir = mkdtempSync(join(tmpdir(), 'sparsegrad-browser-'));
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [join(import.meta.dirname, 'browser-entry.ts')],
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(dir, 'bundle.js'), logLevel: 'error',
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>sparsegrad gpu.js</title><script type="module" src="bundle.js"></script>');
    server = createServer((req, res) => {
      const name = req.url === '/' ? 'index.html' : (req.url ?? '').slice(1);
      if (!['index.html', 'bundle.js'].includes(name)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(readFileSync(join(dir, name)));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  }, TIMEOUT);

  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a BERT layer forward + backward on WebGL2 matches the CPU path within T32', async () => {
    if (!available) throw new Error(`REQUIRE_BROWSER=1 but Chromium is missing at ${CHROMIUM} (apt-get install chromium)`);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    let result: { error?: string; mode: string; precision: string; forwardResident: boolean; values: Record<string, number[]> };
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { sparsegradResult?: unknown }).sparsegradResult !== undefined, undefined, { timeout: 60_000 });
      result = await page.evaluate(() => (window as unknown as { sparsegradResult: Promise<never> }).sparsegradResult);
      if (result.error) throw new Error(`in the page: ${result.error}\n${logs.join('\n')}`);
    } finally {
      await browser.close();
    }
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
  }, TIMEOUT);
});
