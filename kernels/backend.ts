/**
 * The kernel interface: the few primitives every op is built from, and which backend
 * runs them. Outputs are preallocated, contiguous storages; inputs are strided views,
 * so transposes, slices and broadcasts reach a kernel without a copy.
 */
import type { DType, FloatStorage, Storage } from '../base/dtype.ts';
import type { Shape } from '../base/shape.ts';
import type { TensorStorage } from '../core/tensor.ts';
import { ValueError } from '../base/errors.ts';
import type { BinaryOp, ReduceOp, UnaryOp } from './scalar.ts';
import type { View } from './view.ts';
import { cpuBackend } from './cpu/index.ts';
import { referenceBackend } from './reference/index.ts';

export interface Backend {
  readonly name: string;
  /** out = f(x) elementwise; p, q are the op's scalar parameters. */
  unary(op: UnaryOp, x: View, out: Storage, p: number, q: number): void;
  /** out = g · f'(x): the VJP of a unary op, fused so backward makes one pass. */
  unaryBackward(op: UnaryOp, x: View, g: View, out: Storage, p: number, q: number): void;
  /** out = a ∘ b; both views already broadcast to out's shape (stride 0 on broadcast axes). */
  binary(op: BinaryOp, a: View, b: View, out: Storage): void;
  /** out = cond ? a : b, all three broadcast to out's shape. */
  where(cond: View, a: View, b: View, out: Storage): void;
  /** Reduce over `axes` (sorted); out is contiguous in the shape of x without those axes. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], out: Storage): void;
  /** Value and first index of the max/min along one axis (NaN counts as the extreme). */
  argReduce(op: 'max' | 'min', x: View, axis: number, values: Storage, indices: Int32Array): void;
  /** Batched matrix product: a [..., m, k] · b [..., k, n] → out [..., m, n]; batch axes already broadcast. */
  matmul(a: View<FloatStorage>, b: View<FloatStorage>, out: FloatStorage): void;
  /** Strided → contiguous copy (also converts dtype when out's differs). */
  copy(x: View, out: Storage): void;
  /** out[…, i, …] = x[…, index[…, i, …], …] along `axis`; out has index's shape. */
  gather(x: View, axis: number, index: View<Int32Array>, out: Storage): void;
  /** target[…, index[…, i, …], …] += src[…, i, …] along `axis`; target is contiguous of targetShape. */
  scatterAdd(target: Storage, targetShape: Shape, axis: number, index: View<Int32Array>, src: View): void;
  /** Softmax (or log-softmax) along the last axis of x, written contiguously to out. */
  softmax(x: View<FloatStorage>, out: FloatStorage, log: boolean): void;
  /**
   * Normalise each row (last axis) of x: x̂ = (x − μ)·r with r = 1/√(mean((x − μ)²) + eps),
   * μ = the row mean when `centered` (LayerNorm) or 0 (RMSNorm). Writes x̂ and r (one per row).
   */
  normalize(x: View<FloatStorage>, eps: number, centered: boolean, out: FloatStorage, rstd: FloatStorage): void;
  /** Its VJP per row: dx = r·(g − mean(g) − x̂·mean(g·x̂)), without the mean(g) term when not centered. */
  normalizeBackward(xhat: FloatStorage, rstd: FloatStorage, g: View<FloatStorage>, centered: boolean, out: FloatStorage): void;
  /**
   * Optional, for backends whose memory is not the JS heap (gpu.js on WebGL). compute() then
   * asks it for every kernel output instead of allocating a typed array: the storage's `data`
   * is the host array the kernel receives as `out` (free to read while the storage is fresh),
   * and its `device` field gives the core the dtype and length. A kernel may leave its result
   * on the device; reading `data` afterwards downloads it (see TensorStorage.device). The CPU
   * backends do not have it, so their path is unchanged: plain typed arrays, no getters.
   */
  allocate?(dtype: DType, length: number): TensorStorage;
  /**
   * Optional: the variant of this backend that `options` asks for (gpu.js's mode), used by
   * setBackend(name, options). Throws a clear error when that variant is unavailable.
   */
  select?(options: BackendOptions): Backend;
}

/** Options for setBackend()/withBackend(): which variant of a backend (gpu.js: `{ mode: 'headlessgl' }`). */
export interface BackendOptions {
  readonly mode?: string;
}

// The built-in CPU backends are listed here explicitly (not registered by import side
// effects), so any entry point — 'sparsegrad', 'sparsegrad/nn', … — finds them.
const registry = new Map<string, Backend>([cpuBackend, referenceBackend].map((b) => [b.name, b]));
let current: Backend = cpuBackend;

/** Add a backend (gpu.js, or a user's own) under its name. */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

export function backendNames(): string[] {
  return [...registry.keys()];
}

export function getBackend(): Backend {
  return current;
}

/** Select a registered backend; `options` pick a variant of one that has them (gpu.js's mode). */
export function setBackend(name: string, options?: BackendOptions): void {
  const b = registry.get(name);
  if (!b) throw new ValueError(`setBackend(): unknown backend '${name}'; available: ${backendNames().join(', ')}`);
  if (options === undefined) current = b;
  else if (b.select) current = b.select(options);
  else throw new ValueError(`setBackend(): backend '${name}' takes no options`);
}

/** Run `fn` with another backend, then restore the previous one (for tests that compare backends). */
export function withBackend<T>(name: string, fn: () => T, options?: BackendOptions): T {
  const previous = getBackend();
  setBackend(name, options);
  try {
    return fn();
  } finally {
    current = previous;
  }
}
