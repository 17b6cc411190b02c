/**
 * Gradient ownership: when `backward()` may hand a gradient to a leaf's `.grad` as it is,
 * instead of copying it.
 *
 * Why: `.grad` must be private to its tensor (users and optimizers edit it in place), so the
 * engine used to copy every gradient it accumulated. But most leaf gradients are fresh
 * tensors that nothing else will ever see — a weight's gradient from its matmul's VJP — and
 * copying them costs a pass over the largest tensors of a step (a BERT-base MLP weight's
 * gradient is 9.4 MB) and a second buffer of that size. PyTorch skips the copy when the
 * gradient's reference count says nobody else holds it; JavaScript has no reference counts,
 * so the engine proves the same thing from what it saw during the pass:
 *
 * 1. the gradient's storage was made during this backward pass (by an op's kernel output,
 *    `empty()` in core/ops/util.ts, numbered here), so no forward tensor, saved tensor or
 *    user tensor shares it;
 * 2. exactly one gradient of the pass used that storage (a VJP that passes its gradient
 *    through, like add's or reshape's, makes a second one: see core/autograd.ts);
 * 3. no hook saw it (a hook may keep what it is given), it spans its whole storage, and the
 *    leaf is a leaf (a retained non-leaf's gradient flows on into its VJP).
 *
 * Anything not proven so is copied, as before.
 *
 * The same proof lets the walk sum in place: when a tensor's gradient arrives in parts (a
 * tied embedding's lookup and output head, both branches of a residual), the second part is
 * added into the first if the walk owns the first by rules 1–3, instead of into a new buffer
 * of the tensor's size (core/sparse.ts, addGradInto). A gradient returned by `grad()` or kept
 * as a leaf's `.grad` stays held, so nothing that shares its storage is summed into. Both
 * rules trust a VJP not to keep the gradient it is given (the built-in ones do not; a
 * `customVjp` backward that needs it later must keep a copy).
 */
import type { TensorStorage } from '../kernels/storage.ts';

let made = 0;
const serials = new WeakMap<TensorStorage, number>();

/** Number a storage that an op has just allocated for its output. */
export function markMade(storage: TensorStorage): void {
  serials.set(storage, ++made);
}

/** A mark to compare with: storages numbered after it were made after it was taken. */
export function madeMark(): number {
  return made;
}

/** Whether `storage` was made by an op after `mark` (false for storage from anywhere else). */
export function madeSince(storage: TensorStorage, mark: number): boolean {
  return (serials.get(storage) ?? 0) > mark;
}
