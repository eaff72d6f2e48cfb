/**
 * What each TFLM reference kernel puts in the arena, per operator (tensorflow/tflite-micro @
 * 90b983c2): the builtin params its parser allocates (flatbuffer_conversions.cc), the op data its
 * Init allocates (16-byte aligned), and what its Prepare adds: persistent arrays (per-channel
 * multipliers and shifts, LUTs) and scratch buffer requests, which the memory planner places
 * beside the activations. Ops missing here are sized with a documented margin by the planner.
 */
import { decodeRawTable, rawTableInt32 } from '../fb/raw-table.js';
import { shapeSize, type Operator, type SubGraph } from '../model.js';
import type { CType } from './abi.js';
import { OpData, Params } from './tflm-structs.js';

export interface PrepareAllocations {
  /** Bytes of each AllocatePersistentBuffer call, in order (each 16-byte aligned). */
  persistent: number[];
  /** Bytes of each RequestScratchBufferInArena call, in order. */
  scratch: number[];
}

export interface OpAllocations {
  /** The TfLite*Params struct the op's parser allocates, or null when it allocates none. */
  params: CType | null;
  /** The struct Init allocates, or null for kernels without Init (RESHAPE, SQUEEZE). */
  opData: CType | null;
  prepare?: (op: Operator, sg: SubGraph) => PrepareAllocations;
  /** The kernel source the entry follows. */
  source: string;
}

const none = (): PrepareAllocations => ({ persistent: [], scratch: [] });

function tensor(sg: SubGraph, op: Operator, input: number) {
  const index = op.inputs[input];
  return index === undefined || index < 0 ? undefined : sg.tensors[index];
}

/** conv_common.cc / depthwise_conv_common.cc: per-channel multiplier and shift, one int32 per output channel. */
function perChannel(filterDim: number) {
  return (op: Operator, sg: SubGraph): PrepareAllocations => {
    const channels = tensor(sg, op, 1)?.shape[filterDim] ?? 0;
    return { persistent: [4 * channels, 4 * channels], scratch: [] };
  };
}

export const OP_ALLOCATIONS: Readonly<Record<string, OpAllocations>> = {
  CONV_2D: { params: Params.Conv, opData: OpData.Conv, prepare: perChannel(0), source: 'kernels/conv_common.cc' },
  DEPTHWISE_CONV_2D: { params: Params.DepthwiseConv, opData: OpData.Conv, prepare: perChannel(3), source: 'kernels/depthwise_conv_common.cc' },
  FULLY_CONNECTED: {
    params: Params.FullyConnected, opData: OpData.FullyConnected, source: 'kernels/fully_connected_common.cc',
    // Per-channel arrays only for a filter quantized per channel (CalculateOpDataFullyConnected).
    prepare: (op, sg) => {
      const filter = tensor(sg, op, 1);
      const input = tensor(sg, op, 0);
      const n = filter?.quantization?.scale.length ?? 0;
      return input?.type !== 'float32' && n > 1 ? { persistent: [4 * n, 4 * n], scratch: [] } : none();
    },
  },
  AVERAGE_POOL_2D: { params: Params.Pool, opData: OpData.Pooling, source: 'kernels/pooling.cc' },
  MAX_POOL_2D: { params: Params.Pool, opData: OpData.Pooling, source: 'kernels/pooling.cc' },
  ADD: { params: Params.Add, opData: OpData.Add, source: 'kernels/add.cc' },
  SUB: { params: Params.Sub, opData: OpData.Sub, source: 'kernels/sub.cc' },
  MUL: { params: Params.Mul, opData: OpData.Mul, source: 'kernels/mul_common.cc' },
  RESHAPE: { params: Params.Reshape, opData: null, source: 'kernels/reshape.cc' },
  SQUEEZE: { params: Params.Squeeze, opData: null, source: 'kernels/squeeze.cc' },
  SOFTMAX: {
    params: Params.Softmax, opData: OpData.Softmax, source: 'kernels/softmax_common.cc',
    // int16 input: exp and 1/(1+x) lookup tables of LUTSize<int16_t>() = 513 entries each.
    prepare: (op, sg) => (tensor(sg, op, 0)?.type === 'int16' ? { persistent: [1026, 1026], scratch: [] } : none()),
  },
  LOGISTIC: { params: null, opData: OpData.Logistic, source: 'kernels/logistic.cc' },
  TANH: { params: null, opData: OpData.Logistic, source: 'kernels/tanh.cc' },
  RELU: { params: null, opData: OpData.Relu, source: 'kernels/activations.cc' },
  RELU6: { params: null, opData: OpData.Relu6, source: 'kernels/activations.cc' },
  LEAKY_RELU: { params: Params.LeakyRelu, opData: OpData.LeakyRelu, source: 'kernels/leaky_relu.cc' },
  HARD_SWISH: { params: null, opData: OpData.HardSwish, source: 'kernels/hard_swish.cc' },
  QUANTIZE: { params: null, opData: OpData.Quantize, source: 'kernels/quantize.cc' },
  DEQUANTIZE: { params: null, opData: OpData.Dequantize, source: 'kernels/dequantize.cc' },
  PAD: { params: null, opData: OpData.Pad, source: 'kernels/pad.cc' },
  CONCATENATION: { params: Params.Concatenation, opData: OpData.Concatenation, source: 'kernels/concatenation.cc' },
  MEAN: {
    params: Params.Reducer, opData: OpData.Reduce, source: 'kernels/reduce_common.cc (PrepareMeanOrSumHelper)',
    prepare: (op, sg) => {
      const input = tensor(sg, op, 0);
      const axis = tensor(sg, op, 1);
      const output = sg.tensors[op.outputs[0]];
      const quantized = input?.type === 'int8' || input?.type === 'int16';
      const scratch = quantized ? [4 * shapeSize(output?.shape ?? [])] : [];
      scratch.push(4 * (input?.shape.length ?? 0), 4 * shapeSize(axis?.shape ?? []));
      return { persistent: [], scratch };
    },
  },
  SVDF: {
    params: Params.Svdf, opData: OpData.Svdf, source: 'kernels/svdf_common.cc (PrepareSvdf)',
    // Scratch: batch x num_filters int32 (float), and for int8 also batch x num_units int32.
    prepare: (op, sg) => {
      const input = tensor(sg, op, 0);
      const batch = input?.shape[0] ?? 1;
      const filters = tensor(sg, op, 1)?.shape[0] ?? 0;
      const raw = op.options.kind === 'Unknown' && op.options.bytes ? decodeRawTable(op.options.bytes) : null;
      const rank = Math.max(1, raw ? rawTableInt32(raw, 0, 1) : 1);
      const scratch = [4 * batch * filters];
      if (input?.type === 'int8') scratch.push(4 * batch * Math.floor(filters / rank));
      return { persistent: [], scratch };
    },
  },
};
