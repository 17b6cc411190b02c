/**
 * gpu.js as a sparsegrad backend, loaded on demand.
 *
 *   // this file is the package export sparsegrad/gpujs (the core entry does not re-export it)
 *   const gpu = await useGpujs({ mode: 'headlessgl' });   // loads gpu.js, checks the mode, selects it
 *   gpu.mode;                                              // 'headlessgl': what gpu.js really runs
 *   setBackend('gpujs', { mode: 'cpu' });                   // another mode, once loaded with useGpujs
 *
 * gpu.js is an optional dependency, reached only through the dynamic import below: the
 * core and the other backends never import this folder, and nothing is loaded until
 * useGpujs()/createGpujsBackend() is called. gpu.js silently falls back to a slower mode
 * when the requested one is unavailable (headlessgl without an X display becomes
 * webasm); we check the mode it really got and throw GpujsUnavailableError, naming what
 * to install, instead.
 */
import { SparsegradError } from '../../base/errors.ts';
import { backendNames, getBackend, registerBackend, setBackend, withBackend, type Backend, type BackendOptions } from '../backend.ts';
import type { TensorStorage } from '../storage.ts';
import { GpujsBackend, isDeviceResident } from './backend.ts';
import { GL_MODES, GPUJS_MODES, type GpujsMode, type GpuInstance, type GpuModule } from './types.ts';

export { GpujsBackend, type GpujsStats } from './backend.ts';
export { GPUJS_MODES, type GpujsMode, type GpuModule } from './types.ts';
export { MAX_ELEMENTS } from './codegen.ts';

export interface GpujsOptions {
  /** gpu.js mode; default 'gpu' (the best GL mode: headlessgl in Node, webgl2/webgl in a browser). */
  mode?: GpujsMode;
  /**
   * The gpu.js module itself, when the caller has it (a bundle that imported 'gpu.js'
   * statically). Default: gpu.js imported on demand.
   */
  module?: GpuModule;
}

/** The requested gpu.js mode cannot run here; `message` says what to install. */
export class GpujsUnavailableError extends SparsegradError {
  constructor(
    readonly requested: string,
    /** The mode gpu.js fell back to, or null when it refused outright. */
    readonly got: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** One backend per mode, created once: setBackend('gpujs', { mode }) picks among them. */
const instances = new Map<string, GpujsBackend>();

/**
 * Create a gpu.js backend in `mode` without selecting it (tests compare several). Throws
 * GpujsUnavailableError when gpu.js is missing or the mode is unavailable.
 */
export async function createGpujsBackend(options: GpujsOptions = {}): Promise<GpujsBackend> {
  const requested = options.mode ?? 'gpu';
  if (!GPUJS_MODES.includes(requested)) {
    throw new GpujsUnavailableError(requested, null, `gpujs: unknown mode '${requested}'; modes: ${GPUJS_MODES.join(', ')}`);
  }
  const cached = instances.get(requested);
  if (cached) return cached;
  const mod = options.module ?? (await loadGpujsModule());
  const lib = typeof mod.GPU === 'function' ? mod : ((mod as unknown as { default?: GpuModule }).default ?? mod);
  const GPU = lib.GPU;
  if (typeof GPU !== 'function') throw new GpujsUnavailableError(requested, null, 'gpujs: the loaded gpu.js module has no GPU class (expected gpu.js 2.24.1)');
  let gpu: GpuInstance;
  try {
    gpu = new GPU({ mode: requested });
  } catch (e) {
    throw new GpujsUnavailableError(requested, null, `gpujs: gpu.js refused mode '${requested}' (${(e as Error).message}). ${hint(requested, null)}`);
  }
  const got = realMode(lib, gpu);
  const ok = requested === 'gpu' ? GL_MODES.includes(got) : got === requested;
  if (!ok) {
    try {
      gpu.destroy();
    } catch {
      /* best effort */
    }
    throw new GpujsUnavailableError(
      requested,
      got,
      `gpujs: mode '${requested}' is unavailable here: gpu.js silently fell back to '${got}'. ${hint(requested, got)}`,
    );
  }
  const backend = new GpujsBackend(gpu, got);
  smokeTest(backend, requested);
  backend.select = selectMode;
  instances.set(requested, backend);
  return backend;
}

/**
 * Load gpu.js in `mode`, register it as the backend 'gpujs' and select it. Returns the
 * backend: `.mode` is the mode gpu.js really runs in, `.stats()` its live resources.
 */
export async function useGpujs(options: GpujsOptions = {}): Promise<GpujsBackend> {
  const backend = await createGpujsBackend(options);
  registerBackend(backend);
  setBackend('gpujs', { mode: options.mode ?? 'gpu' });
  return backend;
}

/** setBackend('gpujs', { mode }): a mode already loaded by useGpujs/createGpujsBackend. */
function selectMode(options: BackendOptions): Backend {
  const mode = options.mode ?? 'gpu';
  const b = instances.get(mode);
  if (!b) {
    throw new GpujsUnavailableError(
      mode,
      null,
      `setBackend('gpujs', { mode: '${mode}' }): that mode is not loaded yet; gpu.js loads asynchronously, so call \`await useGpujs({ mode: '${mode}' })\` first (loaded: ${[...instances.keys()].join(', ') || 'none'})`,
    );
  }
  return b;
}

/** The gpu.js backend selected now, if any. */
function currentGpujs(): GpujsBackend | null {
  const b = getBackend();
  return b instanceof GpujsBackend ? b : null;
}

/**
 * What the transfer helpers need of a tensor, written structurally: kernels/ does not
 * import core/, and a Tensor fits (T is the type its clone() returns).
 */
export interface TransferableTensor<T> {
  readonly storage: TensorStorage;
  readonly requiresGrad: boolean;
  detach(): { clone(): T };
}

/**
 * An explicit upload: a copy of `t` whose values live on the device of `backend` (default:
 * the selected gpu.js backend), e.g. weights that many steps read. The copy is a detached
 * leaf (requiresGrad as `t`). In the cpu/webasm modes it is a plain copy.
 */
export function toDevice<T extends { setRequiresGrad(): T }>(t: TransferableTensor<T>, backend: GpujsBackend | null = currentGpujs()): T {
  if (!backend) throw new SparsegradError('toDevice(): no gpu.js backend selected; call `await useGpujs({ mode })` first');
  const run = () => t.detach().clone();
  const copy = getBackend() === backend ? run() : withBackendInstance(backend, run);
  return t.requiresGrad ? copy.setRequiresGrad() : copy;
}

/** An explicit download: `t`'s values on the host (its texture is released). Returns `t`. */
export function toHost<T extends { readonly storage: TensorStorage }>(t: T): T {
  void t.storage.data;
  return t;
}

/** Whether `t`'s values are on a device now (reading them would download). */
export function isOnDevice(t: { readonly storage: TensorStorage }): boolean {
  return isDeviceResident(t.storage);
}

function withBackendInstance<T>(backend: GpujsBackend, fn: () => T): T {
  const mode = [...instances.entries()].find(([, b]) => b === backend)?.[0];
  if (mode === undefined) throw new SparsegradError('toDevice(): that gpu.js backend was not created by createGpujsBackend');
  if (!backendNames().includes('gpujs')) registerBackend(backend);
  return withBackend('gpujs', fn, { mode });
}

/**
 * The mode gpu.js really runs: `gpu.mode` echoes the request ('gpu' stays 'gpu') and every
 * GL kernel class reports 'gpu', so we compare the kernel class gpu.js settled on.
 */
function realMode(mod: GpuModule, gpu: GpuInstance): string {
  const classes = mod as unknown as Record<string, unknown>;
  const byClass: [string, string][] = [
    ['HeadlessGLKernel', 'headlessgl'],
    ['WebGL2Kernel', 'webgl2'],
    ['WebGLKernel', 'webgl'],
    ['WebAssemblyKernel', 'webasm'],
    ['CPUKernel', 'cpu'],
    ['WebGPUKernel', 'webgpu'],
  ];
  for (const [name, mode] of byClass) if (gpu.Kernel !== undefined && gpu.Kernel === classes[name]) return mode;
  return gpu.Kernel?.mode ?? gpu.mode;
}

/** One tiny kernel, so a mode that loads but cannot compute fails here, clearly. */
function smokeTest(backend: GpujsBackend, requested: string): void {
  try {
    const out = new Float32Array(3);
    backend.unary('neg', { data: Float32Array.of(1, 2, 3), shape: [3], strides: [1], offset: 0 }, out, 0, 0);
    if (out[0] !== -1 || out[2] !== -3) throw new Error(`computed [${Array.from(out)}] instead of [-1, -2, -3]`);
  } catch (e) {
    instances.delete(requested);
    throw new GpujsUnavailableError(
      requested,
      backend.mode,
      `gpujs: mode '${backend.mode}' started but cannot run a kernel (${(e as Error).message}). ${hint(requested, backend.mode)}`,
    );
  }
}

async function loadGpujsModule(): Promise<GpuModule> {
  try {
    // The one place gpu.js is reached: an on-demand import of an optional dependency.
    return (await import(/* optional dependency, loaded on demand */ 'gpu.js')) as unknown as GpuModule;
  } catch (e) {
    throw new GpujsUnavailableError(
      'gpu',
      null,
      `gpujs: cannot load gpu.js (${(e as Error).message}). gpu.js is an optional peer dependency of sparsegrad, not installed with it: \`npm install gpu.js@2.24.1\` (its optional native \`gl\` builds from source for headless GL in Node; browsers need only gpu.js).`,
    );
  }
}

/** What to install for `requested`, with what we can tell about this machine. */
function hint(requested: string, got: string | null): string {
  const node = nodeFacts();
  const gl =
    'headless GL (gpu.js mode headlessgl) needs the optional native package `gl` built for this Node: ' +
    'apt-get install build-essential python3 pkg-config libx11-dev libxext-dev libxi-dev, then `npm rebuild gl` ' +
    '(npm drops `gl` silently when its build fails; npm 11 also needs `npm install-scripts approve gl`), ' +
    'and an X display: run under `xvfb-run -a` (apt-get install xvfb xauth).';
  const browser =
    'webgl2/webgl need a browser with WebGL (2); headless Chromium provides it in software with --use-angle=swiftshader --enable-unsafe-swiftshader.';
  const facts = node ? ` Here: ${node}.` : '';
  switch (requested) {
    case 'headlessgl':
      return `${gl}${facts}`;
    case 'webgl2':
    case 'webgl':
      return `${browser}${node ? ' This is Node, not a browser: use mode headlessgl.' : ''}`;
    case 'gpu':
      return `${node ? gl : browser}${facts}${got ? ` (gpu.js chose '${got}', which is not a GPU mode.)` : ''}`;
    case 'webasm':
      return 'gpu.js mode webasm needs WebAssembly in this JavaScript engine.';
    default:
      return '';
  }
}

/** In Node: whether `gl` loads and a display exists. Null elsewhere. */
function nodeFacts(): string | null {
  const proc = (
    globalThis as { process?: { versions?: { node?: string }; env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } }
  ).process;
  if (!proc?.versions?.node) return null;
  const facts: string[] = [`DISPLAY is ${proc.env?.DISPLAY ? `'${proc.env.DISPLAY}'` : 'not set'}`];
  const mod = proc.getBuiltinModule?.('module') as { createRequire?: (from: string) => (id: string) => unknown } | undefined;
  if (mod?.createRequire) {
    try {
      const createGl = mod.createRequire(import.meta.url)('gl') as (w: number, h: number) => unknown;
      facts.push(createGl(1, 1) ? 'the gl package loads and creates a context' : 'the gl package loads but cannot create a context (no X display?)');
    } catch (e) {
      facts.push(`the gl package does not load (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return facts.join('; ');
}
