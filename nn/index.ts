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
