/**
 * Running a page in a real browser, for the tests that need one (the gpu.js WebGL2 page,
 * the installed package in a page and a Web Worker): serve a few files from memory on
 * 127.0.0.1 (a random port), open the page in Debian's headless Chromium through
 * playwright-core, and wait for the promise the page stores in `window.sparsegradResult`.
 *
 * Tests skip with one line when Chromium is missing, unless REQUIRE_BROWSER=1.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const REQUIRE_BROWSER = process.env.REQUIRE_BROWSER === '1';
export const BROWSER_AVAILABLE = existsSync(CHROMIUM);

/** Whether a browser suite should be skipped (and says so once); false under REQUIRE_BROWSER=1. */
export function skipWithoutBrowser(suite: string): boolean {
  if (BROWSER_AVAILABLE || REQUIRE_BROWSER) return false;
  console.warn(`[browser] ${suite} skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; REQUIRE_BROWSER=1 makes this a failure)`);
  return true;
}

/**
 * Chromium flags: headless as root without a sandbox; no GPU, with WebGL2 from
 * SwiftShader through ANGLE (`--use-angle=swiftshader` + `--enable-unsafe-swiftshader`,
 * which Chromium now requires for software WebGL); and no background networking, which
 * this machine's closed network would refuse many times a start.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript', mjs: 'text/javascript' };

/**
 * Serve `files` (path → content; `index.html` is the page), open the page, and resolve with
 * what `window.sparsegradResult` resolves to. A result with an `error` field, a page error
 * or a time-out rejects, with the page's console in the message.
 *
 * With `drive`, the page is a ready interactive one: once its result has resolved, `drive`
 * gets the playwright page (to type, click and read the DOM) and its value is returned.
 */
export async function runPage<T>(files: Record<string, string | Uint8Array>, timeoutMs = 120_000, drive?: (page: Page) => Promise<T>): Promise<T> {
  if (!BROWSER_AVAILABLE) throw new Error(`REQUIRE_BROWSER=1 but Chromium is missing at ${CHROMIUM} (apt-get install chromium)`);
  const server = createServer((req, res) => {
    const name = req.url === '/' ? 'index.html' : decodeURIComponent((req.url ?? '').slice(1));
    const body = Object.hasOwn(files, name) ? files[name] : undefined;
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const logs: string[] = [];
  try {
    const page = await (await browser.newContext()).newPage();
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { sparsegradResult?: unknown }).sparsegradResult !== undefined, undefined, { timeout: timeoutMs });
    const result = await page.evaluate(() => (window as unknown as { sparsegradResult: Promise<unknown> }).sparsegradResult);
    if (result && typeof result === 'object' && 'error' in result) throw new Error(`in the page: ${String(result.error)}`);
    return drive ? await drive(page) : (result as T);
  } catch (error) {
    throw new Error(`${(error as Error).message}\npage console:\n${logs.join('\n')}`);
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
