/**
 * `sparsegrad/nn`: layers, losses and module surgery. Tensors, ops and backend
 * registration come from the main entry, `sparsegrad`.
 */
export * from './module.ts';
export * from './linear.ts';
export * from './embedding.ts';
export * from './norm.ts';
export * from './dropout.ts';
export * from './activation.ts';
export * from './mlp.ts';
export * from './loss.ts';
export * from './surgery.ts';
export * from './rope.ts';
export * from './attention.ts';
export * from './targets.ts';
export * from './sparsegrad/layer.ts';
export * from './lora.ts';
export * from './meprop.ts';
export * from './memory.ts';
export * from './sparsegrad/apply.ts';
export * from './sparsegrad/bases.ts';
export * from './sparsegrad/eigen.ts';
export { GramAccumulator, type GramResult } from './sparsegrad/gram.ts';
