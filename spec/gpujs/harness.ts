/**
 * What the gpu.js suites share: which gpu.js modes run here, and how to hand a kernel
 * views and outputs the way the core does (host arrays, or storage resident on the device).
 *
 * Availability: the cpu and webasm modes need only gpu.js itself. headlessgl needs the
 * native `gl` package and an X display (`xvfb-run -a`); without them the GL tests skip with
 * one line, unless REQUIRE_GL=1, which turns the skip into a failure (CI sets it, so a
 * silently dropped `gl` build cannot pass as a skip).
 *
 * gpu.js itself is an optional peer dependency, not in the repository's default install
 * (`.ci/run` and `npm run install-gpu` add it): without it every gpu.js suite skips with one
 * line, again unless REQUIRE_GL=1.
 */
import { createRequire } from 'node:module';
import { allocate, type DType, type Storage } from '../../base/dtype.ts';
import { contiguousStrides, numel, type Shape } from '../../base/shape.ts';
import { registerBackend } from '../../kernels/backend.ts';
import { createGpujsBackend, type GpujsBackend, type GpujsMode } from '../../kernels/gpujs/index.ts';
import type { View } from '../../kernels/view.ts';

export const REQUIRE_GL = process.env.REQUIRE_GL === '1';

/** Whether gpu.js is installed next to the project. */
export const GPUJS_INSTALLED = (() => {
  try {
    createRequire(import.meta.url).resolve('gpu.js');
    return true;
  } catch {
    return false;
  }
})();

/** Whether a gpu.js suite should skip (saying so once): gpu.js missing and REQUIRE_GL unset. */
export function skipWithoutGpujs(suite: string): boolean {
  if (GPUJS_INSTALLED || REQUIRE_GL) return false;
  console.warn(`[${suite}] skipped: gpu.js is not installed (an optional peer: \`npm run install-gpu\`; REQUIRE_GL=1 makes this a failure)`);
  return true;
}

export interface ModeStatus {
  mode: GpujsMode;
  backend: GpujsBackend | null;
  /** Why it is unavailable (the backend's own error message). */
  reason: string;
}

const cache = new Map<GpujsMode, Promise<ModeStatus>>();

/** Create (once per process) the backend for `mode`, or say why it cannot run. */
export function loadMode(mode: GpujsMode): Promise<ModeStatus> {
  let p = cache.get(mode);
  if (!p) {
    p = createGpujsBackend({ mode }).then(
      (backend) => {
        registerBackend(backend); // setBackend('gpujs', { mode }) resolves any loaded mode
        return { mode, backend, reason: '' };
      },
      (e: Error) => ({ mode, backend: null, reason: e.message }),
    );
    cache.set(mode, p);
  }
  return p;
}

/**
 * The headlessgl backend, or null after printing the one skip line (not under REQUIRE_GL=1,
 * where the suite's availability test fails instead: see glAvailableTest).
 */
export async function loadGl(suite: string): Promise<GpujsBackend | null> {
  const status = await loadMode('headlessgl');
  if (status.backend) return status.backend;
  if (!REQUIRE_GL) console.warn(`[${suite}] gpu.js headlessgl tests skipped: no GL here (run under \`xvfb-run -a\`; REQUIRE_GL=1 makes this a failure)`);
  return null;
}

/**
 * The body of each GL suite's first test: passes with GL, skips without it, and fails
 * (counted as a failed test, not a skip) under REQUIRE_GL=1.
 */
export async function glAvailableTest(gpu: GpujsBackend | null, skip: () => void): Promise<void> {
  if (gpu) return;
  if (REQUIRE_GL) throw new Error(`REQUIRE_GL=1 but gpu.js headlessgl is unavailable: ${(await loadMode('headlessgl')).reason}`);
  skip();
}

/** A fresh output array for `backend`: a device storage's host handle in GL modes. */
export function outputFor(backend: GpujsBackend, dtype: DType, length: number): { out: Storage; read: () => Storage } {
  const storage = backend.allocate(dtype, length);
  return { out: storage.data, read: () => storage.data };
}

/**
 * The same view with its whole buffer resident on `backend`'s device (GL modes): the
 * buffer is copied into a texture, then the view reads it through `storage`, as the core
 * hands resident tensors to kernels. In the other modes, the view itself.
 */
export function resident<V extends View>(backend: GpujsBackend, v: V): V {
  const n = v.data.length;
  if (!backend.onDevice || n === 0) return v;
  const dtype = v.data instanceof Float32Array ? 'float32' : v.data instanceof Int32Array ? 'int32' : v.data instanceof Uint8Array ? 'bool' : 'float64';
  const storage = backend.allocate(dtype, n);
  backend.copy({ data: v.data, shape: [n], strides: [1], offset: 0 }, storage.data);
  if (!backend.isResident(storage)) throw new Error('resident(): the copy did not stay on the device');
  return {
    get data() {
      return storage.data;
    },
    storage,
    shape: v.shape,
    strides: v.strides,
    offset: v.offset,
  } as unknown as V;
}

/** A contiguous host view of `values` in `shape`. */
export function hostView(dtype: DType, shape: Shape, values: ArrayLike<number>): View {
  const data = allocate(dtype, numel(shape));
  data.set(values as ArrayLike<number>);
  return { data, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** Collect garbage (v8's gc via --expose-gc at run time) and let finalizers run. */
export async function collectGarbage(rounds = 4): Promise<void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}
