/**
 * The kernel interface: the few primitives every op is built from, and which backend
 * runs them. Outputs are preallocated, contiguous storages; inputs are strided views,
 * so transposes, slices and broadcasts reach a kernel without a copy.
 */
import type { DType, FloatStorage, Storage } from '../base/dtype.ts';
import type { Shape } from '../base/shape.ts';
import { ValueError } from '../base/errors.ts';
import type { TensorStorage } from './storage.ts';
import type { BinaryOp, ReduceOp, UnaryOp } from './scalar.ts';
import type { View } from './view.ts';
import { cpuBackend } from './cpu/index.ts';
import { referenceBackend } from './reference/index.ts';

/**
 * Threads of the CPU backend: setThreads(n) (default: every core), threadInfo(), and
 * threadsReady() (resolves once the workers have started). Results do not depend on n.
 * setRelaxedSimd(true) opts in to fused multiply-adds where the engine has them.
 */
export { setRelaxedSimd, setThreads, threadInfo, threadsReady } from './cpu/wasm-runtime.ts';

export interface Backend {
  readonly name: string;
  /**
   * A fresh zeroed storage for a kernel's output. The core asks the backend rather than
   * allocating, so a device backend can hand out storage that stays on its device (gpu.js
   * textures); the kernel then receives `storage.data` as its `out` (fresh storage: reading
   * it transfers nothing). CPU backends return hostStorage (kernels/storage.ts).
   * `uninitialized`: the caller's kernel writes every element, so the contents may be
   * anything (the cpu backend then skips zero-filling large float buffers).
   */
  allocate(dtype: DType, length: number, uninitialized?: boolean): TensorStorage;
  /**
   * How this backend's kernels see `storage` read with shape/strides/offset. CPU backends
   * read `storage.data` at once (device storage downloads then); a device backend keeps
   * `storage` on the view and reads `data` lazily, so values already on its device stay there.
   */
  view(storage: TensorStorage, shape: Shape, strides: readonly number[], offset: number): View;
  /**
   * Optional: whether `storage`'s values are on the device now, so that reading its `data`
   * would download them. The core writes a kernel's result into storage that already holds
   * values (a gradient summed in place) only where this is false; CPU backends omit it.
   */
  isResident?(storage: TensorStorage): boolean;
  /** out = f(x) elementwise; p, q are the op's scalar parameters. */
  unary(op: UnaryOp, x: View, out: Storage, p: number, q: number): void;
  /** out = g · f'(x): the VJP of a unary op, fused so backward makes one pass. */
  unaryBackward(op: UnaryOp, x: View, g: View, out: Storage, p: number, q: number): void;
  /**
   * out = a ∘ b; both views already broadcast to out's shape (stride 0 on broadcast axes).
   * `out` may be the storage a reads, contiguous and whole (a gradient summed in place): each
   * element of a is read before that element of out is written.
   */
  binary(op: BinaryOp, a: View, b: View, out: Storage): void;
  /** out = cond ? a : b, all three broadcast to out's shape. */
  where(cond: View, a: View, b: View, out: Storage): void;
  /** Reduce over `axes` (sorted); out is contiguous in the shape of x without those axes. */
  reduce(op: ReduceOp, x: View, axes: readonly number[], out: Storage): void;
  /** Value and first index of the max/min along one axis (NaN counts as the extreme). */
  argReduce(op: 'max' | 'min', x: View, axis: number, values: Storage, indices: Int32Array): void;
  /** Batched matrix product: a [..., m, k] · b [..., k, n] → out [..., m, n]; batch axes already broadcast. */
  matmul(a: View<FloatStorage>, b: View<FloatStorage>, out: FloatStorage): void;
  /**
   * Optional: a linear layer's forward, out [m, n] = x [m, k] · weight [n, k]ᵀ + bias [n],
   * the bias added in the GEMM's epilogue (no second pass). The op layer (core/ops/linear.ts)
   * uses matmul then add where a backend does not have it; results are bitwise the same.
   */
  linear?(x: View<FloatStorage>, weight: View<FloatStorage>, bias: View<FloatStorage> | null, out: FloatStorage): void;
  /** Strided → contiguous copy (also converts dtype when out's differs). */
  copy(x: View, out: Storage): void;
  /** out[…, i, …] = x[…, index[…, i, …], …] along `axis`; out has index's shape. */
  gather(x: View, axis: number, index: View<Int32Array>, out: Storage): void;
  /** target[…, index[…, i, …], …] += src[…, i, …] along `axis`; target is contiguous of targetShape. */
  scatterAdd(target: Storage, targetShape: Shape, axis: number, index: View<Int32Array>, src: View): void;
  /** Softmax (or log-softmax) along the last axis of x, written contiguously to out. */
  softmax(x: View<FloatStorage>, out: FloatStorage, log: boolean): void;
  /**
   * Optional: softmax's VJP along the last axis, from its output y and the incoming g, into
   * contiguous out: y·(g − Σ g·y), or for log-softmax g − exp(y)·Σ g. One pass per row
   * instead of four ops and three temporaries; bitwise what those ops give (core/ops/nn.ts
   * uses them where a backend does not have it).
   */
  softmaxBackward?(y: View<FloatStorage>, g: View<FloatStorage>, out: FloatStorage, log: boolean): void;
  /**
   * Normalise each row (last axis) of x: x̂ = (x − μ)·r with r = 1/√(mean((x − μ)²) + eps),
   * μ = the row mean when `centered` (LayerNorm) or 0 (RMSNorm). Writes x̂ and r (one per row).
   */
  normalize(x: View<FloatStorage>, eps: number, centered: boolean, out: FloatStorage, rstd: FloatStorage): void;
  /**
   * out = a·x + b·y + c elementwise, all five views broadcast to out's shape (stride 0 on
   * broadcast axes): one pass where four binary ops would take four. The norms' VJP
   * (core/ops/nn.ts) ends with one, its coefficients one per row.
   */
  combine(x: View<FloatStorage>, y: View<FloatStorage>, a: View<FloatStorage>, b: View<FloatStorage>, c: View<FloatStorage>, out: FloatStorage): void;
  /**
   * Optional: LayerNorm's (RMSNorm's) forward with its affine step fused: `normalize` into
   * xhat and rstd, and out = x̂·weight + bias (either may be null; one value per column of the
   * rows). The op layer (core/ops/nn.ts) uses normalize, mul and add where a backend does not
   * have it; results are bitwise the same.
   */
  normAffine?(
    x: View<FloatStorage>,
    eps: number,
    centered: boolean,
    weight: View<FloatStorage> | null,
    bias: View<FloatStorage> | null,
    xhat: FloatStorage,
    rstd: FloatStorage,
    out: FloatStorage,
  ): void;
  /**
   * Optional: the VJP of normAffine from the contiguous rows of g and x̂ and the per-row r:
   * dx, dWeight, dBias (each written where given). Bitwise what the unfused ops' VJPs give.
   */
  normAffineBackward?(
    g: View<FloatStorage>,
    xhat: FloatStorage,
    rstd: FloatStorage,
    weight: View<FloatStorage> | null,
    centered: boolean,
    dx: FloatStorage | null,
    dWeight: FloatStorage | null,
    dBias: FloatStorage | null,
  ): void;
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

/**
 * Add a backend (gpu.js, or a user's own) under its name.
 *
 * @example
 * ```ts
 * import { backendNames, getBackend, registerBackend } from 'sparsegrad';
 * registerBackend({ ...getBackend(), name: 'my-cpu' });
 * backendNames().includes('my-cpu'); // => true
 * ```
 */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

/**
 * The names of the registered backends.
 *
 * @example
 * ```ts
 * import { backendNames } from 'sparsegrad';
 * backendNames().slice(0, 2); // => ['cpu', 'reference']
 * ```
 */
export function backendNames(): string[] {
  return [...registry.keys()];
}

/**
 * The backend the ops run on now.
 *
 * @example
 * ```ts
 * import { getBackend } from 'sparsegrad';
 * getBackend().name; // => 'cpu'
 * ```
 */
export function getBackend(): Backend {
  return current;
}

/**
 * Select a registered backend; `options` pick a variant of one that has them (gpu.js's mode).
 *
 * @example
 * ```ts
 * import { getBackend, setBackend, tensor } from 'sparsegrad';
 * setBackend('reference');
 * tensor([[1, 2]]).matmul(tensor([[3], [4]])); // => [[11]]
 * setBackend('cpu');
 * getBackend().name; // => 'cpu'
 * ```
 */
export function setBackend(name: string, options?: BackendOptions): void {
  const b = registry.get(name);
  if (!b) throw new ValueError(`setBackend(): unknown backend '${name}'; available: ${backendNames().join(', ')}`);
  if (options === undefined) current = b;
  else if (b.select) current = b.select(options);
  else throw new ValueError(`setBackend(): backend '${name}' takes no options`);
}

/**
 * Run `fn` with another backend, then restore the previous one (for tests that compare backends).
 *
 * @example
 * ```ts
 * import { getBackend, tensor, withBackend } from 'sparsegrad';
 * withBackend('reference', () => tensor([1, 2]).exp().sum().item()); // => 10.1073
 * getBackend().name; // => 'cpu'
 * ```
 */
export function withBackend<T>(name: string, fn: () => T, options?: BackendOptions): T {
  const previous = getBackend();
  setBackend(name, options);
  try {
    return fn();
  } finally {
    current = previous;
  }
}
