/**
 * The built library in a browser, as a web app would use it: esbuild bundles the consumer
 * scripts against the staged package (dist/, resolved through its `exports` like any
 * installed dependency) for the browser platform, and headless Chromium runs them:
 * a BERT layer built from safetensors bytes fetched from the server, forward and backward,
 * must match the same layer run by the same built library in Node within T32; the tiny MLP
 * trains on the page and in a Web Worker exactly as it does in Node.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPage, skipWithoutBrowser } from '../browser.ts';
import { compare, T32 } from '../kit/close.ts';
import { stageLibrary } from './stage.ts';

interface BertRun {
  missing: string[];
  unexpected: string[];
  values: Record<string, number[]>;
}

let work = '';
let app = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sparsegrad-browser-package-'));
  stageLibrary(join(work, 'sparsegrad'));
  // An app folder whose node_modules/sparsegrad is the staged package, as after `npm install`.
  app = join(work, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(join(work, 'sparsegrad'), join(app, 'node_modules/sparsegrad'), 'dir');
  cpSync(join(import.meta.dirname, 'consumer'), app, { recursive: true });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skipWithoutBrowser('the installed package in a page'))('the built library in headless Chromium', () => {
  it('bundles for the browser with no Node built-in; a BERT layer from bytes matches Node; the MLP trains on the page and in a Worker', async () => {
    const esbuild = await import('esbuild');
    const bundle = async (entry: string) => {
      const result = await esbuild.build({
        entryPoints: [join(app, entry)],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      // A Node built-in would fail to resolve for the browser platform; the inputs say so too:
      // only the package's dist/ files and the consumer's own scripts.
      expect(inputs.filter((i) => !i.includes('/sparsegrad/dist/') && !i.endsWith('.mjs'))).toEqual([]);
      return result.outputFiles[0]!.text;
    };
    const [page, worker] = [await bundle('page.mjs'), await bundle('page-worker.mjs')];
    console.log(`[package] browser bundle of the consumer page: ${(page.length / 1e3).toFixed(0)} kB unminified`);

    // The Node side: the same built library, through the same consumer module.
    const node = (await import(pathToFileURL(join(app, 'bert-layer.mjs')).href)) as {
      layerBytes: () => Promise<Uint8Array>;
      runBertLayer: (b: ArrayBuffer | Uint8Array) => BertRun;
    };
    const mlp = (await import(pathToFileURL(join(app, 'tiny-mlp.mjs')).href)) as { trainTinyMlp: () => number[] };
    const bytes = await node.layerBytes();
    const want = node.runBertLayer(bytes);
    expect(want.missing).toEqual([]);
    expect(want.unexpected).toEqual([]);

    const got = await runPage<{ bert: BertRun; page: number[]; worker: number[] }>({
      'index.html': '<!doctype html><meta charset="utf-8"><title>sparsegrad package</title><script type="module" src="page.js"></script>',
      'page.js': page,
      'worker.js': worker,
      'layer.safetensors': bytes,
    });
    expect(Object.keys(got.bert.values)).toEqual(Object.keys(want.values));
    for (const [name, expected] of Object.entries(want.values)) {
      const { ok, message } = compare(got.bert.values[name]!, expected, T32, { label: `browser BERT layer ${name}` });
      expect(ok, message).toBe(true);
    }
    const losses = mlp.trainTinyMlp();
    expect(got.page).toEqual(losses);
    expect(got.worker).toEqual(losses);
  }, 300_000);
});
