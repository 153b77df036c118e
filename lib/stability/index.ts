/**
 * Instability analysis: interpolation, BatchNorm policies, L2 distances,
 * measures and tables of Algorithm 1, instability throughout training.
 */
export * from './alphas';
export * from './seeds';
export * from './batchnorm';
export * from './interpolate';
export * from './distance';
export * from './measure';
export * from './twins';
export * from './tables';
export * from './instability';
export * from './throughout';
