/**
 * The gpu.js backend as an API: choosing a mode, refusing what it cannot do (clearly, not
 * with a crash or NaN), the explicit transfer points, and how the package reaches gpu.js
 * (only through one on-demand import inside kernels/gpujs).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, Generator, randn, setBackend, tensor, ValueError, withBackend } from '../../index.ts';
import { getBackend } from '../../kernels/backend.ts';
import { createGpujsBackend, GpujsUnavailableError, isOnDevice, toDevice, toHost, type GpujsBackend, type GpuModule } from '../../kernels/gpujs/index.ts';
import { glAvailableTest, loadGl, loadMode, skipWithoutGpujs } from './harness.ts';

const root = join(import.meta.dirname, '..', '..');

describe.skipIf(skipWithoutGpujs('gpu.js modes'))('choosing a gpu.js mode', () => {
  beforeAll(async () => {
    expect((await loadMode('cpu')).backend).not.toBeNull(); // registers 'gpujs'
  });

  it("setBackend('gpujs', { mode }) selects a loaded mode and names the call that loads the others", () => {
    const before = getBackend();
    try {
      setBackend('gpujs', { mode: 'cpu' });
      expect((getBackend() as GpujsBackend).mode).toBe('cpu');
      expect(() => setBackend('gpujs', { mode: 'webgl' })).toThrow(GpujsUnavailableError);
      expect(() => setBackend('gpujs', { mode: 'webgl' })).toThrow(/await useGpujs\(\{ mode: 'webgl' \}\)` first/);
    } finally {
      setBackend(before.name);
    }
  });

  it('backends without variants refuse options', () => {
    expect(() => setBackend('cpu', { mode: 'gpu' })).toThrow(ValueError);
    expect(() => setBackend('cpu', { mode: 'gpu' })).toThrow(/takes no options/);
  });

  it('an unknown mode is an error listing the modes', async () => {
    await expect(createGpujsBackend({ mode: 'vulkan' as never })).rejects.toThrow(/unknown mode 'vulkan'; modes: gpu, headlessgl, webgl2, webgl, webasm, cpu/);
  });

  it('webgl2 in Node: a clear error that says it needs a browser', async () => {
    const error = await createGpujsBackend({ mode: 'webgl2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpujsUnavailableError);
    expect((error as Error).message).toMatch(/webgl2\/webgl need a browser with WebGL/);
    expect((error as Error).message).toMatch(/use mode headlessgl/);
  });

  it("gpu.js's silent fallback becomes an error naming what to install", async () => {
    // A gpu.js whose GPU ignores the request and picks webasm, as gpu.js does when GL is missing.
    const real = (await import(/* optional dependency */ 'gpu.js')) as unknown as GpuModule & Record<string, unknown>;
    class FallingBack extends (real.GPU as unknown as new (s: object) => object) {
      constructor(settings: object) {
        super({ ...settings, mode: 'webasm' });
      }
    }
    const error = await createGpujsBackend({ mode: 'webgl', module: { ...real, GPU: FallingBack } as unknown as GpuModule }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpujsUnavailableError);
    expect(error).toMatchObject({ requested: 'webgl', got: 'webasm' });
    expect((error as Error).message).toMatch(/silently fell back to 'webasm'/);
  });

  it('float64 is refused with a DTypeError; casts to and from float64 are exact', () => {
    const g = new Generator(3);
    const x64 = randn([2, 3], { generator: g, dtype: 'float64' });
    withBackend(
      'gpujs',
      () => {
        expect(() => x64.exp()).toThrow(DTypeError);
        expect(() => x64.exp()).toThrow(/single precision.*\.float\(\)/);
        const x32 = x64.float();
        expect(Array.from(x32.toTypedArray())).toEqual(Array.from(Float32Array.from(x64.toTypedArray())));
        expect(Array.from(x32.double().toTypedArray())).toEqual(Array.from(x32.toTypedArray()));
      },
      { mode: 'cpu' },
    );
  });
});

describe('explicit transfer points (headlessgl)', () => {
  let gpu: GpujsBackend | null = null;
  beforeAll(async () => {
    gpu = await loadGl('backend');
  });
  it('headlessgl is available (required when REQUIRE_GL=1)', ({ skip }) => glAvailableTest(gpu, skip));

  it('toDevice uploads, results stay resident, .data downloads once and host writes are then safe', ({ skip }) => {
    if (!gpu) return skip();
    withBackend(
      'gpujs',
      () => {
        const w = toDevice(
          tensor([
            [1, 2],
            [3, 4],
          ]),
        );
        expect(isOnDevice(w)).toBe(true);
        const y = w.matmul(w).add(1);
        expect(isOnDevice(y)).toBe(true);
        const downloads = gpu!.stats().downloads;
        expect(y.toArray()).toEqual([
          [8, 11],
          [16, 23],
        ]);
        expect(gpu!.stats().downloads).toBe(downloads + 1);
        expect(isOnDevice(y)).toBe(false);
        // The host copy is now the only copy: an in-place write is seen by the next kernel.
        y.copy_(
          tensor([
            [0, 0],
            [0, 1],
          ]),
        );
        expect(y.mul(2).toArray()).toEqual([
          [0, 0],
          [0, 2],
        ]);
        const z = w.exp();
        expect(toHost(z)).toBe(z);
        expect(isOnDevice(z)).toBe(false);
      },
      { mode: 'headlessgl' },
    );
  });

  it('views, reshapes and dtype checks of a resident tensor do not download', ({ skip }) => {
    if (!gpu) return skip();
    withBackend(
      'gpujs',
      () => {
        const x = toDevice(randn([4, 6], { generator: new Generator(5) }));
        const before = gpu!.stats().downloads;
        const v = x.transpose().reshape([2, 12]).slice(1, 2, 10).unsqueeze(0);
        expect(v.dtype).toBe('float32');
        expect(x.contiguous()).toBe(x);
        expect(isOnDevice(v)).toBe(true);
        expect(gpu!.stats().downloads).toBe(before);
      },
      { mode: 'headlessgl' },
    );
  });
});

describe('packaging: gpu.js is reached only on demand, from kernels/gpujs', () => {
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir)).flatMap((name) => {
      const rel = join(dir, name);
      return statSync(join(root, rel)).isDirectory() ? sources(rel) : rel.endsWith('.ts') ? [rel] : [];
    });

  it("only kernels/gpujs/index.ts imports 'gpu.js', and only with a dynamic import()", () => {
    const importers: string[] = [];
    for (const file of ['index.ts', ...['core', 'kernels', 'nn', 'models', 'optim'].flatMap(sources)]) {
      const text = readFileSync(join(root, file), 'utf8');
      if (/['"]gpu\.js['"]/.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) importers.push(file);
      expect(text, file).not.toMatch(/^\s*import[^(]*from\s*['"]gpu\.js['"]/m);
    }
    // The other file is the shorthand `declare module 'gpu.js'` that types the optional peer.
    expect(importers).toEqual([join('kernels', 'gpujs', 'gpu.js.d.ts'), join('kernels', 'gpujs', 'index.ts')]);
    expect(readFileSync(join(root, 'kernels/gpujs/index.ts'), 'utf8')).toMatch(/await import\(\/\*[^*]*\*\/ 'gpu\.js'\)/);
  });

  it('nothing outside kernels/gpujs imports it (the core and the other backends stay gpu.js-free)', () => {
    const offenders: string[] = [];
    for (const file of ['index.ts', 'node.ts', ...['core', 'kernels', 'nn', 'models', 'optim'].flatMap(sources)]) {
      if (file.startsWith(join('kernels', 'gpujs'))) continue;
      if (/from\s*['"][^'"]*gpujs/.test(readFileSync(join(root, file), 'utf8'))) offenders.push(file);
    }
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    // An optional peer: never installed with the library, only next to it by a user who wants it.
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(pkg.peerDependencies['gpu.js']).toBe('^2.24.1');
    expect(pkg.peerDependenciesMeta['gpu.js']).toEqual({ optional: true });
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});
