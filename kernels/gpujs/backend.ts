/**
 * The gpu.js backend: every Backend method as generated gpu.js kernels (codegen.ts), for
 * one gpu.js instance in one mode.
 *
 * Residency (GL modes: headlessgl, webgl2, webgl) is this backend's business, behind the two
 * Backend methods the core calls for every op: `allocate()` hands out each output storage, a
 * DeviceStorage whose host array is only the handle kernels receive as `out`; the kernel
 * attaches its result texture to that storage. `view()` gives the next op a view that keeps
 * the storage (View.storage) and reads `data` lazily, so the kernel takes the texture
 * directly and data stays on the device from op to op. Transfer points:
 * - download: the first read of `storage.data` (tensor.data, item(), toTypedArray(),
 *   a CPU backend's view, an optimizer writing parameters). The texture is then released
 *   and the host array is the only copy, so any host write afterwards is safe.
 * - upload: host arrays (parameters, inputs, anything downloaded) are passed to gpu.js as
 *   arrays, which it uploads per kernel call; toDevice() (index.ts) makes a resident copy.
 * - argReduce's indices and a few tiny results into host arrays the core allocated itself.
 * Textures of storages that are garbage-collected are deleted (FinalizationRegistry);
 * `release()` does it at once. stats() counts live textures for leak tests.
 *
 * In the cpu and webasm modes gpu.js computes into JS arrays: there is no device,
 * allocate() hands out plain host storage, and results are copied into those arrays.
 *
 * dtypes: computed in float32 ('single' precision). int32 and bool values travel as
 * floats (exact below 2^24). float64 is refused with a DTypeError (WebGL has no doubles,
 * and silently computing a float64 tensor in float32 would be a lie); casts to and from
 * float64 (copy) are exact and run on the host.
 */
import { allocate as allocateHost, dtypeOf, type DType, type FloatStorage, type Storage } from '../../base/dtype.ts';
import { DTypeError, ValueError } from '../../base/errors.ts';
import { contiguousStrides, numel, type Shape } from '../../base/shape.ts';
import type { Backend, BackendOptions } from '../backend.ts';
import { cpuBackend } from '../cpu/index.ts';
import type { BinaryOp, ReduceOp, UnaryOp } from '../scalar.ts';
import { hostStorage, type TensorStorage } from '../storage.ts';
import type { View } from '../view.ts';
import {
  gatherSource,
  lit,
  mapSource,
  matmulSource,
  MAX_ELEMENTS,
  reduceSource,
  rowArgSource,
  rowSumSource,
  scatterAddSource,
  type KernelSource,
  type Read,
} from './codegen.ts';
import { GPU_BINARY, GPU_REDUCE, GPU_UNARY, HELPERS } from './scalar.ts';
import { GL_MODES, type GpuArg, type GpuInstance, type GpuKernel, type GpuTexture } from './types.ts';

/** Live resources, for leak tests and the curious. */
export interface GpujsStats {
  /** Result textures held by tensors (GL modes). */
  textures: number;
  /** Compiled kernels in the cache (one per op, shapes, strides and argument kinds). */
  kernels: number;
  /** Host arrays handed to kernels (each is uploaded by gpu.js in GL modes). */
  uploads: number;
  /** Textures read back to the host. */
  downloads: number;
  /** Raw WebGL textures alive in the context (GL modes; includes gpu.js's own), or null. */
  glTextures: number | null;
}

/** The texture slot of one storage, shared with the finalizer (which must not hold the storage). */
interface Slot {
  texture: GpuTexture | null;
}

/** Storage whose values may live in a texture; `data` downloads them on first access. */
class DeviceStorage implements TensorStorage {
  version = 0;
  constructor(
    readonly owner: GpujsBackend,
    readonly dtype: DType,
    readonly host: Storage,
    readonly slot: Slot,
  ) {}
  get length(): number {
    return this.host.length;
  }
  get resident(): boolean {
    return this.slot.texture !== null;
  }
  get data(): Storage {
    if (this.slot.texture) this.owner.download(this);
    return this.host;
  }
}

/** Whether `storage`'s values are in a texture of some gpu.js backend now (reading `data` would download). */
export function isDeviceResident(storage: TensorStorage): boolean {
  return storage instanceof DeviceStorage && storage.resident;
}

const isTexture = (r: GpuTexture | Float32Array): r is GpuTexture => !(r instanceof Float32Array);

export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  /** Computation is single precision (float32 textures), always. */
  readonly precision = 'single';
  /** True in GL modes: results stay in textures between ops. */
  readonly onDevice: boolean;
  /** Set by index.ts: resolves setBackend('gpujs', { mode }). */
  select?: (options: BackendOptions) => Backend;

  private readonly kernels = new Map<string, GpuKernel>();
  private readonly owned = new WeakMap<Storage, DeviceStorage>();
  private readonly counts = { textures: 0, uploads: 0, downloads: 0 };
  private glTextures: number | null = null;
  private readonly finalizer: FinalizationRegistry<Slot>;

  constructor(
    readonly gpu: GpuInstance,
    /** The mode gpu.js really runs in (checked against the request in index.ts). */
    readonly mode: string,
  ) {
    this.onDevice = GL_MODES.includes(mode);
    for (const helper of HELPERS) gpu.addFunction(helper);
    this.finalizer = new FinalizationRegistry((slot) => this.dropSlot(slot));
  }

  // ---- residency -------------------------------------------------------------------

  /**
   * Every kernel output's storage. GL modes: a DeviceStorage, whose texture the kernel will
   * attach (float64 stays on the host: it never reaches a texture). Other modes: host storage.
   */
  allocate(dtype: DType, length: number): TensorStorage {
    const host = allocateHost(dtype, length);
    if (!this.onDevice || dtype === 'float64') return hostStorage(host);
    const slot: Slot = { texture: null };
    const storage = new DeviceStorage(this, dtype, host, slot);
    this.owned.set(host, storage);
    this.finalizer.register(storage, slot);
    return storage;
  }

  /**
   * How kernels see a storage: a resident one keeps its texture reachable through
   * View.storage and reads `data` lazily (nothing downloads unless a host fallback reads
   * it); any other is read at once.
   */
  view(storage: TensorStorage, shape: Shape, strides: readonly number[], offset: number): View {
    if (isDeviceResident(storage))
      return {
        get data() {
          return storage.data;
        },
        shape,
        strides,
        offset,
        storage,
      };
    return { data: storage.data, shape, strides, offset };
  }

  /** Called by DeviceStorage.data: read the texture back into the host array and release it. */
  download(storage: DeviceStorage): void {
    const texture = storage.slot.texture!;
    storage.slot.texture = null;
    const values = texture.toArray();
    storage.host.set(values.length === storage.host.length ? values : values.subarray(0, storage.host.length));
    this.counts.downloads++;
    this.freeTexture(texture);
  }

  /** Free a storage's texture now (after downloading it if `keepValues`). */
  release(storage: TensorStorage, keepValues = true): void {
    if (!(storage instanceof DeviceStorage) || storage.owner !== this || !storage.slot.texture) return;
    if (keepValues) this.download(storage);
    else this.dropSlot(storage.slot);
  }

  /** Whether `storage` is this backend's and currently holds a texture. */
  isResident(storage: TensorStorage): boolean {
    return storage instanceof DeviceStorage && storage.owner === this && storage.slot.texture !== null;
  }

  stats(): GpujsStats {
    return { ...this.counts, kernels: this.kernels.size, glTextures: this.glTextures };
  }

  /** Delete every compiled kernel (their textures too). Tensors' textures stay valid. */
  clearKernels(): void {
    for (const k of this.kernels.values()) k.destroy?.(false);
    this.kernels.clear();
  }

  private dropSlot(slot: Slot): void {
    if (!slot.texture) return;
    const t = slot.texture;
    slot.texture = null;
    this.freeTexture(t);
  }

  private freeTexture(texture: GpuTexture): void {
    texture.delete();
    this.counts.textures--;
  }

  /** Count raw GL textures by wrapping the context's create/delete (GL modes only). */
  private countGlTextures(): void {
    const gl = this.gpu.context as { createTexture?: () => unknown; deleteTexture?: (t: unknown) => void } | undefined;
    if (!gl || typeof gl.createTexture !== 'function' || typeof gl.deleteTexture !== 'function') return;
    const create = gl.createTexture.bind(gl);
    const remove = gl.deleteTexture.bind(gl);
    const live = new Set<unknown>();
    this.glTextures = 0;
    gl.createTexture = () => {
      const t = create();
      live.add(t);
      this.glTextures = live.size;
      return t;
    };
    gl.deleteTexture = (t: unknown) => {
      live.delete(t);
      this.glTextures = live.size;
      remove(t);
    };
  }

  // ---- running kernels ----------------------------------------------------------------

  private run(k: KernelSource, n: number, values: Record<string, GpuArg>): GpuTexture | Float32Array {
    if (n > MAX_ELEMENTS)
      throw new ValueError(
        `gpujs: an output of ${n} elements exceeds the ${MAX_ELEMENTS} that float32 index arithmetic addresses exactly; run this op on the 'cpu' backend`,
      );
    const args = k.args.map((name) => {
      const v = values[name];
      if (v === undefined) throw new Error(`gpujs: kernel argument '${name}' missing`);
      return v;
    });
    const key = `${n}|${args.map(signature).join(',')}|${k.source}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = this.gpu.createKernel(k.source, {
        output: [n],
        pipeline: this.onDevice,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        loopMaxIterations: MAX_ELEMENTS,
        strictIntegers: false,
        dynamicOutput: false,
      });
      this.kernels.set(key, kernel);
      if (this.onDevice && this.glTextures === null) this.countGlTextures(); // the context exists once a kernel does
    }
    const result = kernel(...args);
    if (isTexture(result)) this.counts.textures++;
    return result;
  }

  /** Put a kernel's result where `out` says: the output storage's texture, or the host array. */
  private emit(out: Storage, result: GpuTexture | Float32Array): void {
    if (!isTexture(result)) {
      out.set(result.length === out.length ? result : result.subarray(0, out.length));
      return;
    }
    const storage = this.owned.get(out);
    if (storage) {
      if (storage.slot.texture) this.freeTexture(storage.slot.texture);
      storage.slot.texture = result;
      return;
    }
    out.set(result.toArray().subarray(0, out.length));
    this.counts.downloads++;
    this.freeTexture(result);
  }

  /** Free an intermediate result (a row statistic). */
  private done(result: GpuTexture | Float32Array): void {
    if (isTexture(result)) this.freeTexture(result);
  }

  /** A view's values as a kernel argument: its texture if resident here, else a host array. */
  private input(v: View): GpuArg {
    const s = v.storage;
    if (s instanceof DeviceStorage && s.owner === this && s.slot.texture) return s.slot.texture;
    return this.hostArray(v.data);
  }

  /** A raw array the core passed (x̂, 1/σ, a scatter target): its texture if it is one of ours and resident. */
  private inputArray(data: Storage): GpuArg {
    const s = this.owned.get(data);
    if (s?.slot.texture) return s.slot.texture;
    return this.hostArray(data);
  }

  private hostArray(data: Storage): Float32Array {
    if (data.length > MAX_ELEMENTS)
      throw new ValueError(
        `gpujs: a buffer of ${data.length} elements exceeds the ${MAX_ELEMENTS} that float32 index arithmetic addresses exactly; keep it on the 'cpu' backend`,
      );
    this.counts.uploads++;
    if (data instanceof Float32Array) return data;
    if (data instanceof Float64Array) throw float64Error();
    return Float32Array.from(data);
  }

  /** The dtype of a view without downloading it. */
  private dtypeOfView(v: View): DType {
    return v.storage?.dtype ?? dtypeOf(v.data);
  }

  private refuseFloat64(out: Storage | null, views: readonly View[]): void {
    if (out instanceof Float64Array || views.some((v) => this.dtypeOfView(v) === 'float64')) throw float64Error();
  }

  // ---- the Backend interface -----------------------------------------------------------

  unary(op: UnaryOp, x: View, out: Storage, p: number, q: number): void {
    this.refuseFloat64(out, [x]);
    if (out.length === 0) return;
    const k = mapSource(x.shape, [read('x', 0, x)], GPU_UNARY[op].f, ['p', 'q']);
    this.emit(out, this.run(k, out.length, { src0: this.input(x), off0: x.offset, p, q }));
  }

  unaryBackward(op: UnaryOp, x: View, g: View, out: Storage, p: number, q: number): void {
    this.refuseFloat64(out, [x, g]);
    if (out.length === 0) return;
    const k = mapSource(x.shape, [read('x', 0, x), read('g', 1, g)], `(g * ${GPU_UNARY[op].df})`, ['p', 'q']);
    this.emit(out, this.run(k, out.length, { src0: this.input(x), src1: this.input(g), off0: x.offset, off1: g.offset, p, q }));
  }

  binary(op: BinaryOp, a: View, b: View, out: Storage): void {
    this.refuseFloat64(out, [a, b]);
    if (out.length === 0) return;
    const k = mapSource(a.shape, [read('a', 0, a), read('b', 1, b)], GPU_BINARY[op]);
    this.emit(out, this.run(k, out.length, { src0: this.input(a), src1: this.input(b), off0: a.offset, off1: b.offset }));
  }

  where(cond: View, a: View, b: View, out: Storage): void {
    this.refuseFloat64(out, [a, b]);
    if (out.length === 0) return;
    const k = mapSource(a.shape, [read('c', 0, cond), read('a', 1, a), read('b', 2, b)], '(c != 0.0 ? a : b)');
    this.emit(
      out,
      this.run(k, out.length, { src0: this.input(cond), src1: this.input(a), src2: this.input(b), off0: cond.offset, off1: a.offset, off2: b.offset }),
    );
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], out: Storage): void {
    this.refuseFloat64(out, [x]);
    if (out.length === 0) return;
    if (numel(x.shape) === 0) return cpuBackend.reduce(op, this.hostView(x), axes, out);
    const k = reduceSource(x.shape, x.strides, axes, GPU_REDUCE[op], op === 'sum');
    this.emit(out, this.run(k, out.length, { src0: this.input(x), off0: x.offset }));
  }

  argReduce(op: 'max' | 'min', x: View, axis: number, values: Storage, indices: Int32Array): void {
    this.refuseFloat64(values, [x]);
    if (values.length === 0) return;
    const rows = x.shape.filter((_, i) => i !== axis);
    const strides = [...x.strides.filter((_, i) => i !== axis), x.strides[axis]!];
    const args = { src0: this.input(x), off0: x.offset };
    const better = op === 'max' ? '>' : '<';
    this.emit(values, this.run(rowArgSource(rows, x.shape[axis]!, strides, better, false), values.length, args));
    this.emit(indices, this.run(rowArgSource(rows, x.shape[axis]!, strides, better, true), indices.length, args));
  }

  matmul(a: View<FloatStorage>, b: View<FloatStorage>, out: FloatStorage): void {
    this.refuseFloat64(out, [a, b]);
    if (out.length === 0) return;
    const r = a.shape.length;
    const [m, k, n] = [a.shape[r - 2]!, a.shape[r - 1]!, b.shape[r - 1]!];
    if (k === 0) return void out.fill(0); // fresh output: zeros on the host are the result
    const src = matmulSource(a.shape.slice(0, r - 2), m, n, k, a.strides, b.strides, !this.onDevice);
    this.emit(out, this.run(src, out.length, { src0: this.input(a), src1: this.input(b), off0: a.offset, off1: b.offset }));
  }

  copy(x: View, out: Storage): void {
    if (out.length === 0) return;
    // Casts to or from float64 are exact on the host (and the only float64 work allowed here).
    if (out instanceof Float64Array || this.dtypeOfView(x) === 'float64') return cpuBackend.copy(this.hostView(x), out);
    const expr = out instanceof Int32Array ? '(x < 0.0 ? Math.ceil(x) : Math.floor(x))' : out instanceof Uint8Array ? '(x != 0.0 ? 1.0 : 0.0)' : 'x';
    const k = mapSource(x.shape, [read('x', 0, x)], expr);
    this.emit(out, this.run(k, out.length, { src0: this.input(x), off0: x.offset }));
  }

  gather(x: View, axis: number, index: View<Int32Array>, out: Storage): void {
    this.refuseFloat64(out, [x]);
    if (out.length === 0) return;
    const k = gatherSource(index.shape, axis, x.strides, index.strides);
    this.emit(out, this.run(k, out.length, { src0: this.input(x), src1: this.input(index), off0: x.offset, off1: index.offset }));
  }

  scatterAdd(target: Storage, targetShape: Shape, axis: number, index: View<Int32Array>, src: View): void {
    this.refuseFloat64(target, [src]);
    if (target.length === 0 || numel(index.shape) === 0) return;
    const k = scatterAddSource(targetShape, axis, index.shape, index.strides, src.strides);
    const result = this.run(k, target.length, {
      src0: this.inputArray(target),
      src1: this.input(index),
      src2: this.input(src),
      off1: index.offset,
      off2: src.offset,
    });
    this.emit(target, result);
  }

  softmax(x: View<FloatStorage>, out: FloatStorage, log: boolean): void {
    this.refuseFloat64(out, [x]);
    if (out.length === 0) return;
    const r = x.shape.length;
    const rows = x.shape.slice(0, r - 1);
    const len = x.shape[r - 1]!;
    const nRows = numel(rows);
    const xArg = this.input(x);
    const max = this.run(rowArgSource(rows, len, x.strides, '>', false), nRows, { src0: xArg, off0: x.offset });
    const total = this.run(rowSumSource(rows, len, [read('v', 0, x)], [perRow(rows, 'm', 'src1', 'off1', [])], 'Math.exp(v - m)', 'acc'), nRows, {
      src0: xArg,
      src1: max,
      off0: x.offset,
      off1: 0,
    });
    const expr = log ? '(v - m - Math.log(s))' : '(Math.exp(v - m) / s)';
    const k = mapSource(x.shape, [read('v', 0, x), perRow(rows, 'm', 'src1', 'off1', [0]), perRow(rows, 's', 'src2', 'off2', [0])], expr);
    this.emit(out, this.run(k, out.length, { src0: xArg, src1: max, src2: total, off0: x.offset, off1: 0, off2: 0 }));
    this.done(max);
    this.done(total);
  }

  normalize(x: View<FloatStorage>, eps: number, centered: boolean, out: FloatStorage, rstd: FloatStorage): void {
    this.refuseFloat64(out, [x]);
    const r = x.shape.length;
    const rows = x.shape.slice(0, r - 1);
    const len = x.shape[r - 1]!;
    if (out.length === 0) return void (rstd.length > 0 && cpuBackend.normalize(this.hostView(x), eps, centered, out, rstd));
    const nRows = numel(rows);
    const xArg = this.input(x);
    const inv = lit(1 / len);
    const mean = centered ? this.run(rowSumSource(rows, len, [read('v', 0, x)], [], 'v', `acc * ${inv}`), nRows, { src0: xArg, off0: x.offset }) : null;
    const meanRead = centered ? [perRow(rows, 'm', 'src1', 'off1', [])] : [];
    const r2 = this.run(
      rowSumSource(rows, len, [read('v', 0, x)], meanRead, centered ? '(v - m) * (v - m)' : 'v * v', `1.0 / Math.sqrt(acc * ${inv} + eps)`, ['eps']),
      nRows,
      { src0: xArg, off0: x.offset, ...(mean ? { src1: mean, off1: 0 } : {}), eps },
    );
    const reads = centered
      ? [read('v', 0, x), perRow(rows, 'm', 'src1', 'off1', [0]), perRow(rows, 'r', 'src2', 'off2', [0])]
      : [read('v', 0, x), perRow(rows, 'r', 'src2', 'off2', [0])];
    const k = mapSource(x.shape, reads, centered ? '((v - m) * r)' : '(v * r)');
    this.emit(out, this.run(k, out.length, { src0: xArg, off0: x.offset, ...(mean ? { src1: mean, off1: 0 } : {}), src2: r2, off2: 0 }));
    if (mean) this.done(mean);
    this.emit(rstd, r2);
  }

  combine(x: View<FloatStorage>, y: View<FloatStorage>, a: View<FloatStorage>, b: View<FloatStorage>, c: View<FloatStorage>, out: FloatStorage): void {
    this.refuseFloat64(out, [x, y, a, b, c]);
    if (out.length === 0) return;
    // Operand names of their own: `t`, `q0…`, `c0…` are the generated index variables.
    const k = mapSource(x.shape, [read('vx', 0, x), read('vy', 1, y), read('va', 2, a), read('vb', 3, b), read('vc', 4, c)], '(va * vx + vb * vy + vc)');
    this.emit(
      out,
      this.run(k, out.length, {
        src0: this.input(x),
        src1: this.input(y),
        src2: this.input(a),
        src3: this.input(b),
        src4: this.input(c),
        off0: x.offset,
        off1: y.offset,
        off2: a.offset,
        off3: b.offset,
        off4: c.offset,
      }),
    );
  }

  /** The view with its values on the host (downloads a resident storage), for host fallbacks. */
  private hostView<S extends Storage>(v: View<S>): View<S> {
    return { data: v.data, shape: v.shape, strides: v.strides, offset: v.offset };
  }
}

/**
 * A read of a per-row result (a row's max, sum or rstd, one value per row of `rows`, laid out
 * contiguously) from the kernel argument `arg`; `trailing` gives the strides of the axes
 * after the rows (0: the value repeats along the row).
 */
function perRow(rows: Shape, name: string, arg: string, offset: string, trailing: number[]): Read {
  return { name, arg, offset, strides: [...contiguousStrides(rows), ...trailing] };
}

/** An operand read named `name` from argument src<i> at its view's strides. */
function read(name: string, i: number, v: View): Read {
  return { name, arg: `src${i}`, offset: `off${i}`, strides: v.strides };
}

function signature(a: GpuArg): string {
  if (typeof a === 'number') return 'n';
  if (a instanceof Float32Array) return `a${a.length}`;
  return `t${a.output[0]}`;
}

export function float64Error(): DTypeError {
  return new DTypeError(
    'gpujs backend: float64 tensors are not supported — gpu.js computes in single precision (WebGL has no float64). ' +
      "Use float32 tensors (.float()), or run float64 work on the CPU: withBackend('cpu', () => …)",
  );
}
