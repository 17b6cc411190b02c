// The browser page's script (bundled by spec/package/browser.spec.ts from the installed
// package): the BERT layer from fetched safetensors bytes, the tiny MLP on the page, and
// the same MLP in a Web Worker. Hands everything to the test through window.sparsegradResult.
import { runBertLayer } from './bert-layer.mjs';
import { trainTinyMlp } from './tiny-mlp.mjs';

async function main() {
  const bytes = await (await fetch('layer.safetensors')).arrayBuffer();
  const bert = runBertLayer(bytes);
  const page = trainTinyMlp();
  const worker = await new Promise((resolve, reject) => {
    const w = new Worker('worker.js', { type: 'module' });
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
  });
  return { bert, page, worker, crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

window.sparsegradResult = main().catch((e) => ({ error: `${e.name}: ${e.message}\n${e.stack}` }));
