/**
 * Error classes are part of the API: a caller can catch a ShapeError apart from
 * a bug, and every message names the op, the argument and the shapes or values
 * (modelled on PyTorch's wording so that search engines find the same answers).
 */
export class SparsegradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** Shapes that cannot broadcast, multiply, reshape or concatenate. */
export class ShapeError extends SparsegradError {}
/** A dtype an op cannot take (integer requiresGrad, float32 mixed with float64, ...). */
export class DTypeError extends SparsegradError {}
/** An axis or an index outside its range. */
export class IndexError extends SparsegradError {}
/** A value outside an op's domain (empty max, bad hyper-parameter, ...). */
export class ValueError extends SparsegradError {}
/** Misuse of the autograd graph (freed graph, non-scalar backward, in-place on a leaf, ...). */
export class AutogradError extends SparsegradError {}
/** A malformed file or byte stream (safetensors, checkpoints). */
export class FormatError extends SparsegradError {}
