/** The operators the host interpreter runs, by builtin name. */
import type { KernelPrepare } from './common.js';
import { prepareConv2D } from './conv.js';
import { prepareDepthwiseConv2D } from './depthwise-conv.js';
import { prepareFullyConnected } from './fully-connected.js';
import { prepareAveragePool2D, prepareMaxPool2D } from './pooling.js';

export const KERNELS: ReadonlyMap<string, KernelPrepare> = new Map<string, KernelPrepare>([
  ['AVERAGE_POOL_2D', prepareAveragePool2D],
  ['CONV_2D', prepareConv2D],
  ['DEPTHWISE_CONV_2D', prepareDepthwiseConv2D],
  ['FULLY_CONNECTED', prepareFullyConnected],
  ['MAX_POOL_2D', prepareMaxPool2D],
]);

/** Names of the supported operators, sorted (for messages and docs). */
export const SUPPORTED_OPERATORS: readonly string[] = [...KERNELS.keys()].sort();
