/**
 * The browser page's script (bundled with esbuild by spec/gpujs/browser.spec.ts): loads
 * gpu.js on demand in WebGL2 mode, runs the BERT layer of bert-layer.ts forward and
 * backward on it, and hands the output, every gradient and what gpu.js reported to the
 * test through `window.sparsegradResult`.
 */
import { withBackend } from '../../index.ts';
import { isOnDevice, useGpujs } from '../../kernels/gpujs/index.ts';
import { BertLayer, bertCase, bertStep } from './bert-layer.ts';

async function main(): Promise<unknown> {
  const gpu = await useGpujs({ mode: 'webgl2' });
  const model = new BertLayer(1);
  const c = bertCase();
  const forwardResident = withBackend('gpujs', () => isOnDevice(model.forward(c.ids, c.x, c.mask)), { mode: 'webgl2' });
  const values = withBackend('gpujs', () => bertStep(model, c), { mode: 'webgl2' });
  return { mode: gpu.mode, precision: gpu.precision, forwardResident, stats: gpu.stats(), values, userAgent: navigator.userAgent };
}

const w = window as unknown as { sparsegradResult?: Promise<unknown> };
w.sparsegradResult = main().catch((e: Error) => ({ error: `${e.name}: ${e.message}` }));
