/** Rich display: MIME bundles for figures, tables, tensors and progress. */
export * from './bundle';
