/** Instability analysis: interpolation, BatchNorm policies, L2 distances, Algorithm 1 and sweeps over k. */
export * from './alphas';
export * from './seeds';
export * from './batchnorm';
export * from './interpolate';
export * from './distance';
export * from './measure';
export * from './twins';
export * from './tables';
export * from './instability';
