/**
 * Per-operator cost of a model: multiply-accumulates, bytes read and written, parameter bytes. The
 * simulated board's latency model is driven by these numbers, and `hil model inspect` shows them.
 *
 * What `macs` counts depends on the op (`kind`):
 * - 'macs': multiply-accumulates of the op's inner products. CONV_2D: out_h x out_w x out_c x k_h x
 *   k_w x in_c (per batch); DEPTHWISE_CONV_2D: output elements x k_h x k_w; FULLY_CONNECTED:
 *   output elements x input depth; SVDF: batch x filters x (input size + memory size).
 * - 'ops': elementary operations: one per output element for elementwise ops and activations,
 *   output elements x window for pooling, input elements for reductions.
 * - 'none': pure data movement (RESHAPE, CONCATENATION, PAD, ...): 0, the bytes carry the cost.
 * - 'unknown': an op without a rule here: 0, and listed in `unprofiled`.
 * Bytes are tensor sizes: every input (activations and constants) is read once, every output
 * written once; `paramBytes` are the constant inputs.
 */
import { shapeSize, tensorByteSize, type Model, type SubGraph, type Tensor } from './model.js';

export type CostKind = 'macs' | 'ops' | 'none' | 'unknown';

export interface OperatorProfile {
  index: number;
  op: string;
  kind: CostKind;
  macs: number;
  bytesRead: number;
  bytesWritten: number;
  paramBytes: number;
  /** Shapes of the inputs present (an omitted optional input, index -1, is left out). */
  inputShapes: number[][];
  outputShapes: number[][];
}

export interface ModelProfile {
  operators: OperatorProfile[];
  totals: {
    /** Sum over ops of kind 'macs'. */
    macs: number;
    /** Sum over ops of kind 'ops'. */
    ops: number;
    bytesRead: number;
    bytesWritten: number;
    /** Bytes of the distinct constant tensors the operators use (weights, biases, shapes). */
    paramBytes: number;
  };
  /** Operators the profile has no cost rule for. */
  unprofiled: { index: number; op: string }[];
}

const ELEMENTWISE = new Set([
  'ADD', 'SUB', 'MUL', 'DIV', 'SQUARED_DIFFERENCE', 'MAXIMUM', 'MINIMUM', 'POW', 'FLOOR_DIV', 'FLOOR_MOD',
  'RELU', 'RELU6', 'RELU_N1_TO_1', 'RELU_0_TO_1', 'LOGISTIC', 'TANH', 'LEAKY_RELU', 'HARD_SWISH', 'PRELU', 'ELU', 'GELU',
  'QUANTIZE', 'DEQUANTIZE', 'SOFTMAX', 'LOG_SOFTMAX', 'ABS', 'NEG', 'EXP', 'LOG', 'SQRT', 'RSQRT', 'SQUARE', 'SIN', 'COS',
  'FLOOR', 'CEIL', 'ROUND', 'CAST', 'EQUAL', 'NOT_EQUAL', 'LESS', 'LESS_EQUAL', 'GREATER', 'GREATER_EQUAL', 'SELECT', 'SELECT_V2',
  'LOGICAL_AND', 'LOGICAL_OR', 'LOGICAL_NOT', 'L2_NORMALIZATION',
]);
const POOLING = new Set(['AVERAGE_POOL_2D', 'MAX_POOL_2D', 'L2_POOL_2D']);
const REDUCTIONS = new Set(['MEAN', 'SUM', 'REDUCE_MAX', 'REDUCE_MIN', 'REDUCE_PROD', 'REDUCE_ANY', 'REDUCE_ALL', 'ARG_MAX', 'ARG_MIN']);
const DATA_MOVEMENT = new Set([
  'RESHAPE', 'SQUEEZE', 'EXPAND_DIMS', 'CONCATENATION', 'PAD', 'PADV2', 'MIRROR_PAD', 'TRANSPOSE', 'GATHER', 'GATHER_ND',
  'STRIDED_SLICE', 'SLICE', 'SPLIT', 'SPLIT_V', 'PACK', 'UNPACK', 'TILE', 'BROADCAST_TO', 'SPACE_TO_DEPTH', 'DEPTH_TO_SPACE',
  'SPACE_TO_BATCH_ND', 'BATCH_TO_SPACE_ND', 'SHAPE', 'ZEROS_LIKE', 'FILL',
]);

function cost(op: SubGraph['operators'][number], sg: SubGraph): { kind: CostKind; macs: number } {
  const input = (i: number): Tensor | undefined => (op.inputs[i] >= 0 ? sg.tensors[op.inputs[i]] : undefined);
  const output = sg.tensors[op.outputs[0]];
  const outElements = output ? shapeSize(output.shape) : 0;
  const filter = input(1)?.shape ?? [];
  switch (op.op) {
    case 'CONV_2D': // filter [out_c, k_h, k_w, in_c]
      return { kind: 'macs', macs: outElements * (filter[1] ?? 0) * (filter[2] ?? 0) * (filter[3] ?? 0) };
    case 'DEPTHWISE_CONV_2D': // filter [1, k_h, k_w, out_c]
      return { kind: 'macs', macs: outElements * (filter[1] ?? 0) * (filter[2] ?? 0) };
    case 'FULLY_CONNECTED': // filter [out, in]
      return { kind: 'macs', macs: outElements * (filter[filter.length - 1] ?? 0) };
    case 'SVDF': { // weights_feature [filters, input_size], weights_time [filters, memory_size]
      const batch = input(0)?.shape[0] ?? 1;
      const memory = input(2)?.shape[1] ?? 0;
      return { kind: 'macs', macs: batch * (filter[0] ?? 0) * ((filter[1] ?? 0) + memory) };
    }
  }
  if (POOLING.has(op.op)) {
    const window = op.options.kind === 'Pool2D' ? op.options.value.filterWidth * op.options.value.filterHeight : 1;
    return { kind: 'ops', macs: outElements * window };
  }
  if (REDUCTIONS.has(op.op)) return { kind: 'ops', macs: shapeSize(input(0)?.shape ?? []) };
  if (ELEMENTWISE.has(op.op)) return { kind: 'ops', macs: outElements };
  if (DATA_MOVEMENT.has(op.op)) return { kind: 'none', macs: 0 };
  return { kind: 'unknown', macs: 0 };
}

export function profileModel(model: Model): ModelProfile {
  const sg = model.subgraphs[0];
  const isConstant = (t: Tensor): boolean => (model.buffers[t.buffer]?.length ?? 0) > 0;
  const constantsUsed = new Set<number>();
  const operators = sg.operators.map((op): OperatorProfile => {
    const inputs = op.inputs.filter((i) => i >= 0).map((i) => sg.tensors[i]);
    const outputs = op.outputs.map((i) => sg.tensors[i]);
    const constants = inputs.filter(isConstant);
    for (const t of constants) constantsUsed.add(t.index);
    return {
      index: op.index,
      op: op.op,
      ...cost(op, sg),
      bytesRead: inputs.reduce((n, t) => n + tensorByteSize(t), 0),
      bytesWritten: outputs.reduce((n, t) => n + tensorByteSize(t), 0),
      paramBytes: constants.reduce((n, t) => n + tensorByteSize(t), 0),
      inputShapes: inputs.map((t) => [...t.shape]),
      outputShapes: outputs.map((t) => [...t.shape]),
    };
  });
  const sum = (f: (p: OperatorProfile) => number): number => operators.reduce((n, p) => n + f(p), 0);
  return {
    operators,
    totals: {
      macs: sum((p) => (p.kind === 'macs' ? p.macs : 0)),
      ops: sum((p) => (p.kind === 'ops' ? p.macs : 0)),
      bytesRead: sum((p) => p.bytesRead),
      bytesWritten: sum((p) => p.bytesWritten),
      paramBytes: [...constantsUsed].reduce((n, i) => n + tensorByteSize(sg.tensors[i]), 0),
    },
    unprofiled: operators.filter((p) => p.kind === 'unknown').map((p) => ({ index: p.index, op: p.op })),
  };
}
