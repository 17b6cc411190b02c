/**
 * Making tensors: from nested arrays or typed arrays, constant fills, ranges, and
 * seeded random draws (every random function takes an explicit Generator, defaulting
 * to the global one, so runs replay exactly).
 */
import { allocate, dtypeOf, isFloat, type DType, type Storage } from '../base/dtype.ts';
import { DTypeError, ShapeError, ValueError } from '../base/errors.ts';
import { defaultGenerator, type Generator } from './random.ts';
import { formatShape, numel, type Shape } from '../base/shape.ts';
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
 */
export function tensor(value: Nested | Storage, options: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(value)) {
    const typed = value as Storage;
    const shape = options.shape ?? [typed.length];
    if (numel(shape) !== typed.length) throw new ShapeError(`tensor(): shape ${formatShape(shape)} does not fit ${typed.length} values`);
    const dtype = options.dtype ?? dtypeOf(typed);
    const data = allocate(dtype, typed.length);
    data.set(typed as ArrayLike<number>);
    return finish(data, shape, options);
  }
  const shape = nestedShape(value as Nested);
  const flat: (number | boolean)[] = [];
  flatten(value as Nested, shape, 0, flat);
  const kinds = new Set(flat.map((v) => typeof v));
  if (kinds.size > 1) throw new DTypeError('tensor(): cannot mix booleans and numbers in one tensor');
  if (kinds.has('string') || kinds.has('object') || kinds.has('undefined')) throw new TypeError(`tensor(): expected numbers or booleans, got ${[...kinds].join(', ')}`);
  const dtype = options.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
  const data = allocate(dtype, flat.length);
  flat.forEach((v, i) => (data[i] = Number(v)));
  const target = options.shape ?? shape;
  if (numel(target) !== flat.length) throw new ShapeError(`tensor(): shape ${formatShape(target)} does not fit ${flat.length} values`);
  return finish(data, target, options);
}

function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ValueError(`${op}(): shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

export function full(shape: Shape, value: number, options: CreateOptions = {}, op = 'full'): Tensor {
  checkShape(op, shape);
  const data = allocate(options.dtype ?? 'float32', numel(shape));
  data.fill(value);
  return finish(data, shape, options);
}
export const zeros = (shape: Shape, options: CreateOptions = {}) => full(shape, 0, options, 'zeros');
export const ones = (shape: Shape, options: CreateOptions = {}) => full(shape, 1, options, 'ones');

/**
 * arange(end), arange(start, end, step). Integer arguments give int32 (torch gives
 * int64), otherwise float32; the count is ceil((end − start) / step).
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ValueError('arange(): step must be nonzero');
  const count = Math.max(0, Math.ceil((end - start) / step));
  const integral = [start, end, step].every(Number.isInteger);
  const data = allocate(options.dtype ?? (integral ? 'int32' : 'float32'), count);
  for (let i = 0; i < count; i++) data[i] = start + i * step;
  return finish(data, [count], options);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError(`linspace(): number of steps must be non-negative, got ${steps}`);
  const data = allocate(options.dtype ?? 'float32', steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as torch does, so rounding errors do not pile up towards `end`;
  // the two ends are exactly `start` and `end`.
  for (let i = 0; i < steps; i++) data[i] = i < steps / 2 ? start + i * delta : end - (steps - 1 - i) * delta;
  if (steps > 0) [data[0], data[steps - 1]] = [start, steps > 1 ? end : start];
  return finish(data, [steps], options);
}

/** Identity matrix (n × m). */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const t = zeros([n, m], { dtype: options.dtype ?? 'float32' });
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return options.requiresGrad ? t.setRequiresGrad(true) : t;
}

function randomFloats(op: string, shape: Shape, options: RandomOptions, draw: (g: Generator) => number): Tensor {
  checkShape(op, shape);
  const dtype = options.dtype ?? 'float32';
  if (!isFloat(dtype)) throw new DTypeError(`${op}(): expected a floating dtype, got ${dtype}`);
  const g = options.generator ?? defaultGenerator;
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = draw(g);
  return finish(data, shape, options);
}

/** Uniform in [0, 1). */
export const rand = (shape: Shape, options: RandomOptions = {}) => randomFloats('rand', shape, options, (g) => g.uniform());
/** Standard normal. */
export const randn = (shape: Shape, options: RandomOptions = {}) => randomFloats('randn', shape, options, (g) => g.normal());
/** Uniform in [low, high). */
export const uniform = (shape: Shape, low: number, high: number, options: RandomOptions = {}) =>
  randomFloats('uniform', shape, options, (g) => low + (high - low) * g.uniform());

/** Integers uniform in [low, high), int32. */
export function randint(low: number, high: number, shape: Shape, options: { generator?: Generator } = {}): Tensor {
  checkShape('randint', shape);
  const g = options.generator ?? defaultGenerator;
  const data = new Int32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = g.integer(low, high);
  return Tensor.fromStorage(data, shape);
}
