/** The operators the host interpreter runs, by builtin name. */
import { prepareHardSwish, prepareLeakyRelu, prepareLogistic, prepareRelu, prepareRelu6, prepareTanh } from './activations.js';
import type { KernelPrepare } from './common.js';
import { prepareConv2D } from './conv.js';
import { prepareDepthwiseConv2D } from './depthwise-conv.js';
import { prepareAdd, prepareMul, prepareSub } from './elementwise.js';
import { prepareFullyConnected } from './fully-connected.js';
import { prepareAveragePool2D, prepareMaxPool2D } from './pooling.js';
import { prepareDequantize, prepareQuantize } from './quantize.js';
import { prepareMean } from './reduce.js';
import { prepareConcatenation, preparePad, prepareReshape, prepareSqueeze } from './shape-ops.js';
import { prepareSoftmax } from './softmax.js';

export const KERNELS: ReadonlyMap<string, KernelPrepare> = new Map<string, KernelPrepare>([
  ['ADD', prepareAdd],
  ['AVERAGE_POOL_2D', prepareAveragePool2D],
  ['CONCATENATION', prepareConcatenation],
  ['CONV_2D', prepareConv2D],
  ['DEPTHWISE_CONV_2D', prepareDepthwiseConv2D],
  ['DEQUANTIZE', prepareDequantize],
  ['FULLY_CONNECTED', prepareFullyConnected],
  ['HARD_SWISH', prepareHardSwish],
  ['LEAKY_RELU', prepareLeakyRelu],
  ['LOGISTIC', prepareLogistic],
  ['MAX_POOL_2D', prepareMaxPool2D],
  ['MEAN', prepareMean],
  ['MUL', prepareMul],
  ['PAD', preparePad],
  ['QUANTIZE', prepareQuantize],
  ['RELU', prepareRelu],
  ['RELU6', prepareRelu6],
  ['RESHAPE', prepareReshape],
  ['SOFTMAX', prepareSoftmax],
  ['SQUEEZE', prepareSqueeze],
  ['SUB', prepareSub],
  ['TANH', prepareTanh],
]);

/** Names of the supported operators, sorted (for messages and docs). */
export const SUPPORTED_OPERATORS: readonly string[] = [...KERNELS.keys()].sort();
