/**
 * lmc-lab: the library a notebook sees as `lmc`. Everything public is re-exported here.
 */
export * from './backend';
export * as rng from './rng';
export * from './data';
export * from './models';
export * from './train';
export * from './io/safetensors';
export { tf } from './tf';
export * from './display';
export * from './prune';
export * from './stability';
export * from './store';
export * from './experiments';
export * from './notebook';
export * as cluster from './cluster';
