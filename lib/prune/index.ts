/**
 * Pruning: masks, magnitude pruning, IMP with rewinding
 * (Algorithm 2), random pruning and reinitialization baselines.
 */
export * from './mask';
export * from './magnitude';
export * from './choices';
export * from './random';
export * from './sparsity';
export * from './imp';
