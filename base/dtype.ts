/**
 * The four element types. Each maps to one typed array, so storage can live in an
 * ArrayBuffer, a SharedArrayBuffer or a WebAssembly memory without a copy.
 */
import { DTypeError } from './errors.ts';

export type DType = 'float32' | 'float64' | 'int32' | 'bool';
export type FloatDType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array | Int32Array | Uint8Array;
export type FloatStorage = Float32Array | Float64Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** Allocate zeroed storage of a dtype. */
export function allocate(dtype: DType, length: number): Storage {
  switch (dtype) {
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'int32': return new Int32Array(length);
    case 'bool': return new Uint8Array(length);
  }
}

/** The dtype a typed array stores. */
export function dtypeOf(data: Storage): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'bool';
  const name = (data as object).constructor?.name ?? typeof data;
  throw new DTypeError(`unsupported storage ${name}: use Float32Array, Float64Array, Int32Array or Uint8Array (bool), or pass { dtype } to tensor() to convert`);
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/** PyTorch's names, used in error messages so they read like torch's. */
export function torchName(dtype: DType): string {
  return { float32: 'Float', float64: 'Double', int32: 'Int', bool: 'Bool' }[dtype];
}

/** Ops that need a floating tensor say so by name. */
export function assertFloat(op: string, arg: string, dtype: DType): void {
  if (!isFloat(dtype)) {
    throw new DTypeError(`${op}(): argument '${arg}' must be a floating point tensor, but got ${torchName(dtype)}`);
  }
}

/**
 * Binary ops do not promote silently: mixing float32 and float64 is almost always
 * an accident that halves speed or hides precision loss, so we refuse (as torch's matmul does).
 */
export function assertSameDType(op: string, a: DType, b: DType): void {
  if (a !== b) {
    throw new DTypeError(`${op}(): expected scalar type ${torchName(a)} but found ${torchName(b)}`);
  }
}
