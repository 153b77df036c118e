/** Models: architectures written on tfjs-core ops, their registry and shared layers. */
export type {
  Padding,
  ParamRole,
  ParamInfo,
  ForwardOptions,
  InputLayerOp,
  InputLayer,
  Model,
  ModelFactory,
  ModelOptions,
} from './types';
export * from './registry';
// The forward helpers have generic names (dense, conv2d, dropout): keep them under a namespace.
export * as layers from './layers';
export { ParamBuilder, assembleModel } from './layers';
export type { BatchNorm, Conv, ConvSpec, Dense, InputParts, ModelParts } from './layers';
export * from './lenet';
export * from './resnet-cifar';
export * from './vgg-cifar';
export * from './resnet50';
export * from './inception-v3';
export * from './pytorch-layout';
