/**
 * Numbers of the TFLite FlatBuffers schema the lab reads and writes: field ids of the tables, enum
 * codes and union type ids. Hand-written from reading `schema.fbs` (tensorflow/tflite-micro @
 * 90b983c2, see ../shared/reference); nothing here is generated from it.
 *
 * A field id is the field's position in its table (union fields take two ids: `<name>_type`, then
 * the value). The vtable slot of field id `i` is at byte `4 + 2 * i` of the vtable.
 */
import type { FusedActivation, Padding, TensorType } from '../model.js';

export const FILE_IDENTIFIER = 'TFL3';
export const SCHEMA_VERSION = 3;

export const ModelField = {
  version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4, metadataBuffer: 5,
  metadata: 6, signatureDefs: 7, externalBufferGroups: 8, externalBuffers: 9,
} as const;
export const SubGraphField = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;
export const TensorField = {
  shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6,
  shapeSignature: 7, hasRank: 8, variantTensors: 9, externalBuffer: 10,
} as const;
export const QuantizationField = {
  min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, details: 5, quantizedDimension: 6,
} as const;
export const BufferField = { data: 0, offset: 1, size: 2 } as const;
export const MetadataField = { name: 0, buffer: 1 } as const;
export const OperatorCodeField = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;
export const OperatorField = {
  opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptionsType: 3, builtinOptions: 4, customOptions: 5,
  customOptionsFormat: 6, mutatingVariableInputs: 7, intermediates: 8,
  largeCustomOptionsOffset: 9, largeCustomOptionsSize: 10,
} as const;

/** Field ids of the builtin options tables the lab understands. */
export const Conv2DField = { padding: 0, strideW: 1, strideH: 2, activation: 3, dilationW: 4, dilationH: 5 } as const;
export const DepthwiseField = {
  padding: 0, strideW: 1, strideH: 2, depthMultiplier: 3, activation: 4, dilationW: 5, dilationH: 6,
} as const;
export const Pool2DField = { padding: 0, strideW: 1, strideH: 2, filterWidth: 3, filterHeight: 4, activation: 5 } as const;
export const FullyConnectedField = { activation: 0, weightsFormat: 1, keepNumDims: 2, asymmetricQuantizeInputs: 3 } as const;
/** AddOptions, MulOptions, SubOptions and DivOptions all start with the fused activation. */
export const ElementwiseField = { activation: 0 } as const;
export const SoftmaxField = { beta: 0 } as const;
export const ConcatenationField = { axis: 0, activation: 1 } as const;
export const ReshapeField = { newShape: 0 } as const;
export const SqueezeField = { squeezeDims: 0 } as const;
export const ReducerField = { keepDims: 0 } as const;
export const LeakyReluField = { alpha: 0 } as const;

/** Type ids of the `BuiltinOptions` union (0 = NONE). */
export const OptionsType = {
  NONE: 0, Conv2D: 1, DepthwiseConv2D: 2, ConcatEmbeddings: 3, Pool2D: 5, FullyConnected: 8,
  Softmax: 9, Concatenation: 10, Add: 11, Reshape: 17, Mul: 21, Reducer: 27, Sub: 28, Div: 29,
  Squeeze: 30, LeakyRelu: 75, VarHandle: 111, Bucketize: 115,
} as const;

/**
 * Options tables (outside the ones above) whose fields reference other data (vectors, strings), so
 * their raw bytes cannot be copied into a new file. Every other options table holds scalars only.
 */
export const OPTIONS_TYPES_WITH_REFERENCES: ReadonlySet<number> = new Set([
  OptionsType.ConcatEmbeddings, OptionsType.Reshape, OptionsType.Squeeze, OptionsType.VarHandle, OptionsType.Bucketize,
]);

/** `TensorType` enum, by code. */
export const TENSOR_TYPES: readonly TensorType[] = [
  'float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8',
  'float64', 'complex128', 'uint64', 'resource', 'variant', 'uint32', 'uint16', 'int4', 'bfloat16',
];

export const PADDINGS: readonly Padding[] = ['SAME', 'VALID'];
export const ACTIVATIONS: readonly FusedActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];
export const WEIGHTS_FORMATS = ['DEFAULT', 'SHUFFLED4x16INT8'] as const;

/**
 * `BuiltinOperator` names by code, 0..161 (the ops TFLite and TFLM run; the later STABLEHLO_* codes
 * read as `BUILTIN_<n>`). Code 32 is CUSTOM: the operator code's `custom_code` names the op.
 */
const BUILTIN_NAMES: readonly string[] = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE',
  'DEQUANTIZE', 'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION',
  'L2_POOL_2D', 'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D',
  'MUL', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX',
  'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM',
  'EMBEDDING_LOOKUP_SPARSE', 'PAD', 'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND',
  'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB', 'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM',
  'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE',
  'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX', 'MINIMUM', 'LESS', 'NEG',
  'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE', 'SIN', 'TRANSPOSE_CONV',
  'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT',
  'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR',
  'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY',
  'SQUARE', 'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU',
  'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N',
  'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE',
  'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE', 'NON_MAX_SUPPRESSION_V4',
  'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM', 'BATCH_MATMUL',
  'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D', 'CONV_3D',
  'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE',
  'REDUCE_ALL', 'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE',
  'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU',
  'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX',
  'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST', 'BITWISE_XOR',
  'RIGHT_SHIFT',
];

const BUILTIN_CODES: ReadonlyMap<string, number> = new Map(BUILTIN_NAMES.map((name, code) => [name, code]));

export const CUSTOM_CODE = 32;
/** Codes above this live only in `builtin_code`; `deprecated_builtin_code` holds at most 127. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;
}

/** The code of a builtin name (`CONV_2D` or `BUILTIN_<n>`), or null for a name the schema lacks. */
export function builtinCode(name: string): number | null {
  const known = BUILTIN_CODES.get(name);
  if (known !== undefined) return known;
  const m = /^BUILTIN_(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}
