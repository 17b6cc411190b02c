/**
 * Making tensors: from nested arrays or typed arrays, constant fills, ranges, and
 * seeded random draws (every random function takes an explicit Generator, defaulting
 * to the global one, so runs replay exactly).
 */
import { allocate, checkDType, convertValue, dtypeOf, isFloat, ITEM_SIZE, type DType, type Storage } from '../base/dtype.ts';
import { DTypeError, ShapeError, ValueError } from '../base/errors.ts';
import { defaultGenerator, type Generator } from './random.ts';
import { checkShape, formatShape, numel, type Shape } from '../base/shape.ts';
import { Tensor } from './tensor.ts';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

type Nested = number | boolean | readonly Nested[];

function finish(data: Storage, shape: Shape, options: CreateOptions): Tensor {
  const t = Tensor.fromStorage(data, shape);
  return options.requiresGrad ? t.setRequiresGrad(true) : t;
}

/** Infer the shape of nested arrays, rejecting ragged ones. */
function nestedShape(value: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as Nested;
  }
  return shape;
}

function flatten(value: Nested, shape: readonly number[], depth: number, out: (number | boolean)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(value)) throw new ShapeError(`tensor(): ragged nested sequence at depth ${depth}`);
    out.push(value as number | boolean);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw new ShapeError(`tensor(): expected sequence of length ${shape[depth]} at dim ${depth} (got ${Array.isArray(value) ? value.length : 'a scalar'})`);
  }
  for (const v of value) flatten(v, shape, depth + 1, out);
}

/**
 * tensor([[1, 2], [3, 4]]), tensor(new Float64Array(6), { shape: [2, 3] }), tensor(3).
 * Numbers default to float32, booleans to bool; a typed array keeps its dtype and is copied.
 *
 * @example
 * ```ts
 * import { tensor } from 'sparsegrad';
 * const t = tensor([[1, 2], [3, 4]]);
 * t.shape; // => [2, 2]
 * t.dtype; // => 'float32'
 * tensor([1, 2, 3], { dtype: 'int32' }).sum().item(); // => 6
 * ```
 */
export function tensor(value: Nested | Storage, options: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (options.dtype !== undefined) checkDType('tensor', options.dtype);
  if (options.shape !== undefined) checkShape('tensor', options.shape);
  if (ArrayBuffer.isView(value)) {
    const typed = value as Storage;
    const shape = options.shape ?? [typed.length];
    if (numel(shape) !== typed.length) throw new ShapeError(`tensor(): shape ${formatShape(shape)} does not fit ${typed.length} values`);
    const dtype = options.dtype ?? dtypeOf(typed);
    const data = allocate(dtype, typed.length, 'tensor');
    // Converting between dtypes checks each value (int32 overflow, bool as ≠ 0); same dtype is a plain copy.
    if (dtype === dtypeOf(typed) || dtype === 'float32' || dtype === 'float64') data.set(typed as ArrayLike<number>);
    else for (let i = 0; i < typed.length; i++) data[i] = convertValue('tensor', dtype, typed[i]!, i);
    return finish(data, shape, options);
  }
  const shape = nestedShape(value as Nested);
  const flat: (number | boolean)[] = [];
  flatten(value as Nested, shape, 0, flat);
  const kinds = new Set(flat.map((v) => typeof v));
  if (kinds.size > 1) throw new DTypeError('tensor(): cannot mix booleans and numbers in one tensor');
  if (kinds.has('string') || kinds.has('object') || kinds.has('undefined'))
    throw new TypeError(`tensor(): expected numbers or booleans, got ${[...kinds].join(', ')}`);
  const dtype = options.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
  const data = allocate(dtype, flat.length, 'tensor');
  flat.forEach((v, i) => (data[i] = convertValue('tensor', dtype, Number(v), i)));
  const target = options.shape ?? shape;
  if (numel(target) !== flat.length) throw new ShapeError(`tensor(): shape ${formatShape(target)} does not fit ${flat.length} values`);
  return finish(data, target, options);
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * import { full } from 'sparsegrad';
 * full([2, 2], 7); // => [[7, 7], [7, 7]]
 * ```
 */
export function full(shape: Shape, value: number, options: CreateOptions = {}, op = 'full'): Tensor {
  const dtype = options.dtype ?? 'float32';
  checkDType(op, dtype);
  checkShape(op, shape, ITEM_SIZE[dtype]);
  const data = allocate(dtype, numel(shape), op);
  data.fill(convertValue(op, dtype, value, 0));
  return finish(data, shape, options);
}
/**
 * All zeros of the given shape.
 *
 * @example
 * ```ts
 * import { zeros } from 'sparsegrad';
 * zeros([2, 3]); // => [[0, 0, 0], [0, 0, 0]]
 * ```
 */
export const zeros = (shape: Shape, options: CreateOptions = {}) => full(shape, 0, options, 'zeros');
/**
 * All ones of the given shape.
 *
 * @example
 * ```ts
 * import { ones } from 'sparsegrad';
 * ones([3], { dtype: 'int32' }); // => [1, 1, 1]
 * ```
 */
export const ones = (shape: Shape, options: CreateOptions = {}) => full(shape, 1, options, 'ones');

/**
 * arange(end), arange(start, end, step). Integer arguments give int32 (torch gives
 * int64), otherwise float32; the count is ceil((end − start) / step).
 *
 * @example
 * ```ts
 * import { arange } from 'sparsegrad';
 * arange(4); // => [0, 1, 2, 3]
 * arange(1, 2, 0.25); // => [1, 1.25, 1.5, 1.75]
 * ```
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ValueError('arange(): step must be nonzero');
  if (![start, end, step].every(Number.isFinite)) throw new ValueError(`arange(): start, end and step must be finite, got ${start}, ${end}, ${step}`);
  const count = Math.max(0, Math.ceil((end - start) / step));
  const integral = [start, end, step].every(Number.isInteger);
  const dtype = options.dtype ?? (integral ? 'int32' : 'float32');
  const data = allocate(dtype, count, 'arange');
  for (let i = 0; i < count; i++) data[i] = convertValue('arange', dtype, start + i * step, i);
  return finish(data, [count], options);
}

/**
 * `steps` evenly spaced values from start to end inclusive.
 *
 * @example
 * ```ts
 * import { linspace } from 'sparsegrad';
 * linspace(0, 1, 5); // => [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError(`linspace(): number of steps must be non-negative, got ${steps}`);
  const data = allocate(options.dtype ?? 'float32', steps, 'linspace');
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as torch does, so rounding errors do not pile up towards `end`;
  // the two ends are exactly `start` and `end`.
  for (let i = 0; i < steps; i++) data[i] = i < steps / 2 ? start + i * delta : end - (steps - 1 - i) * delta;
  if (steps > 0) [data[0], data[steps - 1]] = [start, steps > 1 ? end : start];
  return finish(data, [steps], options);
}

/**
 * Identity matrix (n × m).
 *
 * @example
 * ```ts
 * import { eye } from 'sparsegrad';
 * eye(2); // => [[1, 0], [0, 1]]
 * eye(2, 3); // => [[1, 0, 0], [0, 1, 0]]
 * ```
 */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  checkShape('eye', [n, m]);
  const t = zeros([n, m], { dtype: options.dtype ?? 'float32' });
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return options.requiresGrad ? t.setRequiresGrad(true) : t;
}

/** What every random creation starts from: its checked float dtype's fresh storage, and the generator. */
function randomStorage(op: string, shape: Shape, options: RandomOptions): { data: Storage; g: Generator } {
  const dtype = options.dtype ?? 'float32';
  checkDType(op, dtype);
  checkShape(op, shape, ITEM_SIZE[dtype]);
  if (!isFloat(dtype)) throw new DTypeError(`${op}(): expected a floating dtype, got ${dtype}`);
  return { data: allocate(dtype, numel(shape), op), g: options.generator ?? defaultGenerator };
}

function randomFloats(op: string, shape: Shape, options: RandomOptions, draw: (g: Generator) => number): Tensor {
  const { data, g } = randomStorage(op, shape, options);
  for (let i = 0; i < data.length; i++) data[i] = draw(g);
  return finish(data, shape, options);
}

const UNIFORM_BLOCK = 4096;
const uniformBlock = new Float64Array(UNIFORM_BLOCK);

/**
 * The next `length` uniform numbers of `g`, a block at a time from Generator.uniforms (the
 * same stream as one uniform() each): `visit(block, start)` gets elements start, start + 1, ….
 */
function eachUniformBlock(g: Generator, length: number, visit: (block: Float64Array, start: number) => void): void {
  for (let start = 0; start < length; start += UNIFORM_BLOCK) {
    const block = length - start >= UNIFORM_BLOCK ? uniformBlock : new Float64Array(length - start);
    g.uniforms(block);
    visit(block, start);
  }
}

/** randomFloats for draws that are a function of one uniform number each. */
function uniformFloats(op: string, shape: Shape, options: RandomOptions, map: (u: number) => number): Tensor {
  const { data, g } = randomStorage(op, shape, options);
  eachUniformBlock(g, data.length, (block, start) => {
    for (let j = 0; j < block.length; j++) data[start + j] = map(block[j]!);
  });
  return finish(data, shape, options);
}

/**
 * Uniform in [0, 1).
 *
 * @example
 * ```ts
 * import { Generator, rand } from 'sparsegrad';
 * const x = rand([2, 3], { generator: new Generator(0) });
 * x.shape; // => [2, 3]
 * x.min().item() >= 0 && x.max().item() < 1; // => true
 * ```
 */
export const rand = (shape: Shape, options: RandomOptions = {}) => uniformFloats('rand', shape, options, (u) => u);
/**
 * Dropout's mask: each entry `1 / (1 − p)` with probability 1 − p, else 0, drawn as
 * `rand(shape) ≥ p` would be (the same uniform numbers, rounded to the dtype first), in one
 * pass. Internal to `dropout` (core/ops/nn.ts), which multiplies by it.
 */
export function dropoutMask(shape: Shape, p: number, options: RandomOptions = {}): Tensor {
  const { data, g } = randomStorage('dropout', shape, options);
  const scale = 1 / (1 - p);
  // A loop per dtype, Math.fround called directly: V8 inlines it there, not through a variable.
  if (data instanceof Float32Array) {
    eachUniformBlock(g, data.length, (block, start) => {
      for (let j = 0; j < block.length; j++) data[start + j] = Math.fround(block[j]!) >= p ? scale : 0;
    });
  } else {
    eachUniformBlock(g, data.length, (block, start) => {
      for (let j = 0; j < block.length; j++) data[start + j] = block[j]! >= p ? scale : 0;
    });
  }
  return finish(data, shape, options);
}

/**
 * Standard normal.
 *
 * @example
 * ```ts
 * import { manualSeed, randn } from 'sparsegrad';
 * manualSeed(0);
 * randn([1000]).mean().abs().item() < 0.1; // => true
 * ```
 */
export const randn = (shape: Shape, options: RandomOptions = {}) => randomFloats('randn', shape, options, (g) => g.normal());
/**
 * Uniform in [low, high).
 *
 * @example
 * ```ts
 * import { uniform } from 'sparsegrad';
 * const x = uniform([100], -2, 2);
 * x.min().item() >= -2 && x.max().item() < 2; // => true
 * ```
 */
export const uniform = (shape: Shape, low: number, high: number, options: RandomOptions = {}) =>
  uniformFloats('uniform', shape, options, (u) => low + (high - low) * u);

/**
 * Integers uniform in [low, high), int32.
 *
 * @example
 * ```ts
 * import { randint } from 'sparsegrad';
 * const x = randint(0, 10, [5]);
 * x.dtype; // => 'int32'
 * x.max().item() < 10; // => true
 * ```
 */
export function randint(low: number, high: number, shape: Shape, options: { generator?: Generator } = {}): Tensor {
  checkShape('randint', shape, ITEM_SIZE.int32);
  const g = options.generator ?? defaultGenerator;
  const data = allocate('int32', numel(shape), 'randint');
  for (let i = 0; i < data.length; i++) data[i] = g.integer(low, high);
  return Tensor.fromStorage(data, shape);
}
