/**
 * The four element types. Each maps to one typed array, so storage can live in an
 * ArrayBuffer, a SharedArrayBuffer or a WebAssembly memory without a copy.
 */
import { DTypeError, ShapeError, ValueError } from './errors.ts';
import { MAX_NUMEL } from './shape.ts';

export type DType = 'float32' | 'float64' | 'int32' | 'bool';
export type FloatDType = 'float32' | 'float64';
export type Storage = Float32Array | Float64Array | Int32Array | Uint8Array;
export type FloatStorage = Float32Array | Float64Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** Bytes per element of each dtype (bool is one byte, as torch's). */
export const ITEM_SIZE: Readonly<Record<DType, number>> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/**
 * Refuse anything but the four dtypes with a DTypeError listing them: a JS caller can pass
 * any string ('float16', 'int64'), and without this check it fails deep inside as
 * "Cannot set properties of undefined".
 */
export function checkDType(op: string, dtype: unknown): asserts dtype is DType {
  if (!(DTYPES as readonly unknown[]).includes(dtype)) {
    throw new DTypeError(`${op}(): unsupported dtype ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)}; supported dtypes: ${DTYPES.join(', ')}`);
  }
}

/**
 * Allocate zeroed storage of a dtype. The length is checked first against MAX_NUMEL
 * (base/shape.ts), so an absurd request is a ShapeError with the byte count rather than a
 * RangeError from the typed-array constructor, or an 8 GiB allocation that succeeds.
 */
export function allocate(dtype: DType, length: number, op = 'allocate'): Storage {
  checkDType(op, dtype);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_NUMEL) {
    const bytes = Number.isFinite(length) && length > 0 ? ` (${formatBytes(length * ITEM_SIZE[dtype])})` : '';
    throw new ShapeError(
      `${op}(): cannot allocate ${length} ${dtype} elements${bytes}: a tensor holds a non-negative integer number of elements, at most ${MAX_NUMEL}`,
    );
  }
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'bool':
      return new Uint8Array(length);
  }
}

/** 8589934592 → "8,589,934,592 bytes = 8.0 GiB": exact, and readable. */
function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes = ${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/**
 * Store a JS number as `dtype` would hold it, refusing what it cannot: int32 takes finite
 * values in [−2^31, 2^31 − 1] (truncated toward zero, as torch's conversion; anything else
 * would wrap, 3e9 → −1294967296), bool takes "≠ 0" (a Uint8Array would keep 2 as 2).
 * Floats take anything (float32 rounds, overflowing to ±Infinity as torch does).
 */
export function convertValue(op: string, dtype: DType, value: number, index: number): number {
  if (dtype === 'int32') {
    if (!(Number.isFinite(value) && value > INT32_MIN - 1 && value < INT32_MAX + 1)) {
      throw new ValueError(`${op}(): value ${value} at index ${index} cannot be converted to type int32 without overflow (range [${INT32_MIN}, ${INT32_MAX}])`);
    }
    return value;
  }
  if (dtype === 'bool') return value !== 0 ? 1 : 0;
  return value;
}

/** The dtype a typed array stores. */
export function dtypeOf(data: Storage): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'bool';
  const name = (data as object).constructor?.name ?? typeof data;
  throw new DTypeError(
    `unsupported storage ${name}: use Float32Array, Float64Array, Int32Array or Uint8Array (bool), or pass { dtype } to tensor() to convert`,
  );
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
