/**
 * Tensor: storage + shape + strides + offset + dtype, plus the autograd fields.
 *
 * Views (reshape of a contiguous tensor, transpose, permute, expand, slice) share the
 * storage and differ only in shape/strides/offset. The storage carries a version
 * counter shared by all its views, bumped by in-place ops, so the engine can refuse a
 * backward whose saved tensors were overwritten. The storage object is whatever the
 * backend handed out (kernels/storage.ts): where its values live is the backend's business.
 *
 * The methods below are one-line forwards to the ops in core/ops, where each op's
 * forward and VJP live side by side.
 */
import { backward as runBackward, isGradEnabled, type Node } from './autograd.ts';
import { allocate, checkDType, isFloat, torchName, type DType, type Storage } from '../base/dtype.ts';
import { AutogradError, DTypeError, ValueError } from '../base/errors.ts';
import { formatTensor } from './format.ts';
import { checkShape, contiguousStrides, isContiguous, numel, type Shape } from '../base/shape.ts';
import { addGrads, type Grad, SparseCoo } from './sparse.ts';
import { getBackend } from '../kernels/backend.ts';
import { hostStorage, type TensorStorage } from '../kernels/storage.ts';
import { forEachRow } from '../kernels/view.ts';
import * as ew from './ops/elementwise.ts';
import * as red from './ops/reduce.ts';
import * as mv from './ops/movement.ts';
import * as la from './ops/linalg.ts';
import * as ix from './ops/indexing.ts';
import * as nn from './ops/nn.ts';

// biome-ignore lint/suspicious/noConfusingVoidType: as torch's register_hook, a hook returns a replacement or nothing
export type GradHook = (grad: Grad) => Grad | void;
export interface HookHandle {
  remove(): void;
}

type Operand = Tensor | number;

/**
 * A tensor: storage + shape + strides + offset + dtype, with its autograd state.
 *
 * @example
 * ```ts
 * import { tensor } from 'sparsegrad';
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * x.matmul(x).sum().backward();
 * x.grad; // => [[7, 11], [9, 13]]
 * x.T.shape; // => [2, 2]
 * ```
 */
export class Tensor {
  readonly storage: TensorStorage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;

  /** Autograd state. `gradFn` is null for leaves (tensors not made by a recorded op). */
  requiresGrad = false;
  gradFn: Node | null = null;
  grad: Grad | null = null;
  retainsGrad = false;
  readonly hooks: GradHook[] = [];
  readonly postAccumulateHooks: ((t: Tensor) => void)[] = [];

  constructor(storage: TensorStorage, shape: Shape, strides: readonly number[], offset: number) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...strides]);
    this.offset = offset;
    this.dtype = storage.dtype;
  }

  /**
   * Wrap contiguous storage (no copy).
   *
   * @example
   * ```ts
   * import { Tensor } from 'sparsegrad';
   * Tensor.fromStorage(new Float32Array([1, 2, 3, 4]), [2, 2]); // => [[1, 2], [3, 4]]
   * ```
   */
  static fromStorage(data: Storage, shape: Shape): Tensor {
    checkShape('fromStorage', shape);
    if (data.length !== numel(shape)) throw new ValueError(`fromStorage(): ${data.length} elements cannot have shape [${shape.join(', ')}]`);
    return new Tensor(hostStorage(data), shape, contiguousStrides(shape), 0);
  }

  /**
   * A view of the same storage with other shape/strides/offset (torch's as_strided; no copy, not recorded).
   *
   * @example
   * ```ts
   * import { arange } from 'sparsegrad';
   * arange(4).asStrided([2, 2], [1, 1], 0); // => [[0, 1], [1, 2]]
   * ```
   */
  asStrided(shape: Shape, strides: readonly number[], offset: number): Tensor {
    return new Tensor(this.storage, shape, strides, offset);
  }

  // ---- basic facts --------------------------------------------------------
  get data(): Storage {
    return this.storage.data;
  }
  get version(): number {
    return this.storage.version;
  }
  get rank(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numel(this.shape);
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }
  size(axis?: number): number | readonly number[] {
    return axis === undefined ? this.shape : this.shape[axis < 0 ? axis + this.rank : axis]!;
  }

  // ---- reading values -----------------------------------------------------
  /**
   * The single value of a one-element tensor.
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * tensor([[5]]).item(); // => 5
   * ```
   */
  item(): number {
    if (this.numel !== 1) throw new ValueError(`a Tensor with ${this.numel} elements cannot be converted to Scalar`);
    return this.data[this.offset]!;
  }
  /**
   * Values in row-major order as a fresh typed array.
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * tensor([[1, 2], [3, 4]]).T.toTypedArray(); // => [1, 3, 2, 4]
   * ```
   */
  toTypedArray(): Storage {
    return this.contiguous().data.slice() as Storage;
  }
  /**
   * Nested JS arrays (booleans for bool tensors), like torch's tolist().
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * tensor([[1, 2], [3, 4]]).toArray(); // => [[1, 2], [3, 4]]
   * tensor([1, 2]).gt(1).toArray(); // => [false, true]
   * ```
   */
  toArray(): unknown {
    const flat = Array.from(this.toTypedArray() as ArrayLike<number>, (v) => (this.dtype === 'bool' ? v !== 0 : v));
    const build = (axis: number, start: number): unknown => {
      if (axis === this.rank) return flat[start];
      const inner = numel(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis]! }, (_, i) => build(axis + 1, start + i * inner));
    };
    return build(0, 0);
  }
  toString(): string {
    return formatTensor(this);
  }

  // ---- autograd -----------------------------------------------------------
  setRequiresGrad(flag = true): this {
    if (flag && !isFloat(this.dtype)) throw new DTypeError('only Tensors of floating point dtype can require gradients');
    if (!this.isLeaf) throw new AutogradError('you can only change requires_grad flags of leaf variables.');
    this.requiresGrad = flag;
    return this;
  }
  backward(gradOutput?: Tensor, options?: { retainGraph?: boolean }): void {
    runBackward(this, gradOutput, options);
  }
  /**
   * Keep `.grad` on a non-leaf after backward.
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * const x = tensor([1, 2], { requiresGrad: true });
   * const y = x.mul(3).retainGrad();
   * y.sum().backward();
   * y.grad; // => [1, 1]
   * ```
   */
  retainGrad(): this {
    if (!this.requiresGrad) throw new AutogradError("can't retain_grad on Tensor that has requires_grad=False");
    if (!this.isLeaf) this.retainsGrad = true;
    return this;
  }
  /**
   * A tensor sharing storage with this one but cut from the graph.
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * const x = tensor([1, 2], { requiresGrad: true });
   * x.detach().requiresGrad; // => false
   * ```
   */
  detach(): Tensor {
    return this.asStrided(this.shape, this.strides, this.offset);
  }
  /**
   * Runs on this tensor's gradient before it is accumulated or passed on; may return a replacement.
   *
   * @example
   * ```ts
   * import { tensor, type Tensor } from 'sparsegrad';
   * const x = tensor([1, 2], { requiresGrad: true });
   * const handle = x.registerHook((g) => (g as Tensor).mul(10));
   * x.sum().backward();
   * x.grad; // => [10, 10]
   * handle.remove();
   * ```
   */
  registerHook(hook: GradHook): HookHandle {
    if (!this.requiresGrad) throw new AutogradError("cannot register a hook on a tensor that doesn't require gradient");
    this.hooks.push(hook);
    return { remove: () => removeFrom(this.hooks, hook) };
  }
  /**
   * Runs on a leaf after its `.grad` has been updated.
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * const x = tensor([1, 2], { requiresGrad: true });
   * let seen = null;
   * x.registerPostAccumulateGradHook((t) => { seen = t.grad; });
   * x.sum().backward();
   * seen; // => [1, 1]
   * ```
   */
  registerPostAccumulateGradHook(hook: (t: Tensor) => void): HookHandle {
    if (!this.isLeaf || !this.requiresGrad)
      throw new AutogradError('post accumulate grad hooks cannot be registered on non-leaf tensors or tensors that do not require grad');
    this.postAccumulateHooks.push(hook);
    return { remove: () => removeFrom(this.postAccumulateHooks, hook) };
  }
  /**
   * Called by the engine: add `g` to `.grad`, which stays private to this tensor, so users and
   * optimizers may edit it in place. With `owned` the caller hands `g` over — nothing else
   * holds its storage (core/ownership.ts says when the engine knows that) — and a first
   * gradient is kept as it is; otherwise it is copied. A later one is added into a new tensor.
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * const x = tensor([1, 2], { requiresGrad: true });
   * x.accumulateGrad(tensor([1, 1]));
   * x.accumulateGrad(tensor([2, 2]));
   * x.grad; // => [3, 3]
   * ```
   */
  accumulateGrad(g: Grad, owned = false): void {
    if (this.grad !== null)
      this.grad = addGrads(this.grad, g); // a new tensor: g is only read
    else this.grad = g instanceof SparseCoo ? g : owned ? g.detach() : g.detach().clone();
    if (this.isLeaf) for (const hook of [...this.postAccumulateHooks]) hook(this);
  }
  zeroGrad(setToNone = true): void {
    if (setToNone || this.grad === null) this.grad = null;
    else this.grad = this.grad instanceof SparseCoo ? null : this.grad.zerosLike();
  }

  // ---- in-place writes (optimizers use these under noGrad) ---------------------
  /**
   * Overwrite this tensor's elements with `src` (broadcast), bumping the version.
   *
   * @example
   * ```ts
   * import { zeros } from 'sparsegrad';
   * zeros([2, 2]).copy_(7); // => [[7, 7], [7, 7]]
   * ```
   */
  copy_(src: Operand): this {
    this.checkInPlace('copy_');
    const values = (typeof src === 'number' ? ew.full_(src, this) : src.expand(this.shape)).contiguous();
    if (values.dtype !== this.dtype) throw new DTypeError(`copy_(): expected scalar type ${torchName(this.dtype)} but found ${torchName(values.dtype)}`);
    const data = this.data,
      from = values.data;
    let i = 0;
    // Runs of this view's elements, each a tight loop (a slice's backward and cat copy whole rows).
    forEachRow(this.shape, [this], ([o], n, [step]) => {
      for (let j = 0, at = o!; j < n; j++, at += step!) data[at] = from[i++]!;
    });
    this.storage.version++;
    return this;
  }
  fill_(value: number): this {
    return this.copy_(value);
  }
  zero_(): this {
    return this.copy_(0);
  }
  add_(other: Operand, alpha = 1): this {
    return this.copy_(this.add(typeof other === 'number' ? other * alpha : alpha === 1 ? other : other.mul(alpha)));
  }
  mul_(other: Operand): this {
    return this.copy_(this.mul(other));
  }
  private checkInPlace(op: string): void {
    if (isGradEnabled() && this.requiresGrad) {
      throw new AutogradError(
        this.isLeaf
          ? `${op}: a leaf Variable that requires grad is being used in an in-place operation.`
          : `${op}: in-place operations on tensors that are part of the autograd graph are not supported; use the out-of-place op`,
      );
    }
  }

  // ---- creation helpers ----------------------------------------------------
  zerosLike(): Tensor {
    return Tensor.fromStorage(allocate(this.dtype, this.numel), this.shape);
  }
  onesLike(): Tensor {
    return ew.full_(1, this);
  }
  /**
   * A contiguous copy (recorded: its gradient is the identity).
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * const x = tensor([1, 2]);
   * const y = x.clone();
   * y.fill_(0);
   * x; // => [1, 2]
   * ```
   */
  clone(): Tensor {
    return mv.clone(this);
  }
  contiguous(): Tensor {
    return this.isContiguous() && this.offset === 0 && this.storage.length === this.numel ? this : mv.clone(this);
  }
  /**
   * Convert dtype (recorded between float dtypes).
   *
   * @example
   * ```ts
   * import { tensor } from 'sparsegrad';
   * tensor([1.7, -1.7]).to('int32'); // => [1, -1]
   * tensor([0, 2]).to('bool'); // => [false, true]
   * ```
   */
  to(dtype: DType): Tensor {
    checkDType('to', dtype);
    return mv.cast(this, dtype);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }

  // ---- elementwise ---------------------------------------------------------------
  add(other: Operand): Tensor {
    return ew.add(this, other);
  }
  sub(other: Operand): Tensor {
    return ew.sub(this, other);
  }
  mul(other: Operand): Tensor {
    return ew.mul(this, other);
  }
  div(other: Operand): Tensor {
    return ew.div(this, other);
  }
  pow(other: Operand): Tensor {
    return ew.pow(this, other);
  }
  maximum(other: Operand): Tensor {
    return ew.maximum(this, other);
  }
  minimum(other: Operand): Tensor {
    return ew.minimum(this, other);
  }
  neg(): Tensor {
    return ew.neg(this);
  }
  exp(): Tensor {
    return ew.exp(this);
  }
  log(): Tensor {
    return ew.log(this);
  }
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  abs(): Tensor {
    return ew.abs(this);
  }
  sign(): Tensor {
    return ew.sign(this);
  }
  sin(): Tensor {
    return ew.sin(this);
  }
  cos(): Tensor {
    return ew.cos(this);
  }
  tanh(): Tensor {
    return ew.tanh(this);
  }
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  relu(): Tensor {
    return ew.relu(this);
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return ew.gelu(this, approximate);
  }
  silu(): Tensor {
    return ew.silu(this);
  }
  erf(): Tensor {
    return ew.erf(this);
  }
  clamp(min = -Infinity, max = Infinity): Tensor {
    return ew.clamp(this, min, max);
  }
  eq(other: Operand): Tensor {
    return ew.compare('eq', this, other);
  }
  ne(other: Operand): Tensor {
    return ew.compare('ne', this, other);
  }
  lt(other: Operand): Tensor {
    return ew.compare('lt', this, other);
  }
  le(other: Operand): Tensor {
    return ew.compare('le', this, other);
  }
  gt(other: Operand): Tensor {
    return ew.compare('gt', this, other);
  }
  ge(other: Operand): Tensor {
    return ew.compare('ge', this, other);
  }

  // ---- reductions ----------------------------------------------------------------
  sum(axes?: number | number[], keepdim = false): Tensor {
    return red.sum(this, axes, keepdim);
  }
  mean(axes?: number | number[], keepdim = false): Tensor {
    return red.mean(this, axes, keepdim);
  }
  var(axes?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, axes, options);
  }
  max(): Tensor;
  max(axis: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(axis?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return axis === undefined ? red.amax(this) : red.maxAlong(this, axis, keepdim);
  }
  min(): Tensor;
  min(axis: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(axis?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return axis === undefined ? red.amin(this) : red.minAlong(this, axis, keepdim);
  }
  argmax(axis?: number, keepdim = false): Tensor {
    return red.argmax(this, axis, keepdim);
  }
  argmin(axis?: number, keepdim = false): Tensor {
    return red.argmin(this, axis, keepdim);
  }
  logsumexp(axes: number | number[], keepdim = false): Tensor {
    return red.logsumexp(this, axes, keepdim);
  }

  // ---- movement (views where possible) ---------------------------------------------
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return mv.reshape(this, flatArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return mv.view(this, flatArgs(shape));
  }
  flatten(startAxis = 0, endAxis = -1): Tensor {
    return mv.flatten(this, startAxis, endAxis);
  }
  permute(...axes: number[] | [readonly number[]]): Tensor {
    return mv.permute(this, flatArgs(axes));
  }
  transpose(a = -2, b = -1): Tensor {
    return mv.transpose(this, a, b);
  }
  get T(): Tensor {
    return mv.permute(
      this,
      this.shape.map((_, i) => this.rank - 1 - i),
    );
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return mv.expand(this, flatArgs(shape));
  }
  squeeze(axis?: number): Tensor {
    return mv.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return mv.unsqueeze(this, axis);
  }
  slice(axis: number, start?: number, end?: number, step = 1): Tensor {
    return mv.slice(this, axis, start, end, step);
  }
  narrow(axis: number, start: number, length: number): Tensor {
    return mv.narrow(this, axis, start, length);
  }
  split(sizes: number | number[], axis = 0): Tensor[] {
    return mv.split(this, sizes, axis);
  }
  chunk(chunks: number, axis = 0): Tensor[] {
    return mv.chunk(this, chunks, axis);
  }

  // ---- indexing ------------------------------------------------------------------------
  gather(axis: number, index: Tensor): Tensor {
    return ix.gather(this, axis, index);
  }
  indexSelect(axis: number, index: Tensor): Tensor {
    return ix.indexSelect(this, axis, index);
  }
  scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor {
    return ix.scatterAdd(this, axis, index, src);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return ix.maskedFill(this, mask, value);
  }
  tril(diagonal = 0): Tensor {
    return ix.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return ix.triu(this, diagonal);
  }

  // ---- linear algebra and nn ---------------------------------------------------------------
  matmul(other: Tensor): Tensor {
    return la.matmul(this, other);
  }
  softmax(axis = -1): Tensor {
    return nn.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return nn.logSoftmax(this, axis);
  }

  /**
   * The backend running this tensor's kernels (one global choice for now).
   *
   * @example
   * ```ts
   * import { tensor, withBackend } from 'sparsegrad';
   * tensor([1]).backend; // => 'cpu'
   * withBackend('reference', () => tensor([1]).backend); // => 'reference'
   * ```
   */
  get backend(): string {
    return getBackend().name;
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** Accept both reshape(2, 3) and reshape([2, 3]). */
function flatArgs(args: number[] | [readonly number[]]): number[] {
  return Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}
