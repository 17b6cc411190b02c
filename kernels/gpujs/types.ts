/**
 * The slice of gpu.js 2.24.1 this backend uses, typed here on purpose: gpu.js's own
 * typings lack `loopMaxIterations` and type inputs as `number[]`, and importing its types
 * would make the core's type-check depend on an optional package being installed.
 */

/** Modes gpu.js knows; 'gpu' lets gpu.js pick the best GL mode it finds. */
export type GpujsMode = 'gpu' | 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu';
export const GPUJS_MODES: readonly GpujsMode[] = ['gpu', 'headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'];
/** Modes whose kernels run on GL textures (device memory); the others compute into JS arrays. */
export const GL_MODES: readonly string[] = ['headlessgl', 'webgl2', 'webgl'];

/** A pipeline result: a texture holding a 1-D output of `output[0]` floats. */
export interface GpuTexture {
  readonly output: readonly number[];
  toArray(): Float32Array;
  delete(): void;
}

export type GpuArg = Float32Array | GpuTexture | number;

export interface GpuKernel {
  (...args: GpuArg[]): GpuTexture | Float32Array;
  destroy?(removeCanvasReferences?: boolean): void;
}

export interface GpuKernelSettings {
  output: number[];
  pipeline: boolean;
  immutable: boolean;
  precision: 'single';
  tactic: 'precision';
  loopMaxIterations: number;
  strictIntegers: boolean;
  dynamicOutput: boolean;
}

export interface GpuInstance {
  /** The requested mode ('gpu' stays 'gpu'). */
  readonly mode: string;
  /** The kernel class gpu.js chose: its `mode` is the mode really used. */
  readonly Kernel?: { readonly mode?: string };
  createKernel(source: string, settings: GpuKernelSettings): GpuKernel;
  addFunction(source: string): unknown;
  destroy(): unknown;
  /** The GL context (GL modes). */
  readonly context?: unknown;
}

export interface GpuModule {
  GPU: new (settings: { mode?: string; canvas?: unknown; context?: unknown }) => GpuInstance;
}
