/**
 * The buffer behind a tensor and all of its views, as a backend hands it out.
 *
 * The core never asks where the values live: it reads `dtype` and `length` (known without
 * a transfer), bumps `version` on in-place writes, and reads `data` only when it needs the
 * values on the host. Ordinary storage (hostStorage below) is a typed array and nothing
 * else. A device backend (gpu.js on WebGL) returns its own kind, whose `data` is a getter
 * that downloads on first read; uploads and downloads are that backend's business
 * (Backend.allocate and Backend.view), never the Tensor's.
 */
import { dtypeOf, type DType, type Storage } from '../base/dtype.ts';
import type { Shape } from '../base/shape.ts';
import type { View } from './view.ts';

export interface TensorStorage {
  /** The values on the host. On device storage a getter: the first read after a device write downloads. */
  readonly data: Storage;
  /** Bumped by every in-place write, so autograd can refuse a backward whose saved tensors changed. */
  version: number;
  /** The element type, readable without touching `data`. */
  readonly dtype: DType;
  /** The number of elements, readable without touching `data`. */
  readonly length: number;
}

/** Storage that is just a typed array on the JS heap (every CPU backend's kind). */
export function hostStorage(data: Storage): TensorStorage {
  return { data, version: 0, dtype: dtypeOf(data), length: data.length };
}

/** The view of host storage: `data` read at once (a device storage downloads here). */
export function hostView(storage: TensorStorage, shape: Shape, strides: readonly number[], offset: number): View {
  return { data: storage.data, shape, strides, offset };
}
