/**
 * The structs TFLite Micro places in the tensor arena, field by field as declared in
 * tensorflow/tflite-micro @ 90b983c2 (the commit FACTS.md measured). Built without
 * USE_TFLM_COMPRESSION and with TF_LITE_STATIC_MEMORY, as TFLM always is. Sizes come from
 * `layoutOf` for the chosen pointer size, never from a hard-coded byte count.
 */
import { array, repeat, struct, type CType } from './abi.js';

const ptr: CType = 'ptr';
const int: CType = 'int32';

// ---- Framework (micro_allocator.h, single_arena_buffer_allocator.h, greedy_memory_planner.h,
// ---- lite/core/c/common.h under TF_LITE_STATIC_MEMORY)

/** Two interface bases (two vtable pointers), 5 arena pointers, intptr_t checksum, int count. */
export const SingleArenaBufferAllocator = struct(ptr, ptr, ...repeat(ptr, 5), 'size_t', int);
/** vtable, max_buffer_count_, buffer_count_, 4 array pointers, 2 ints, buffer_offsets_, bool. */
export const GreedyMemoryPlanner = struct(ptr, int, int, ...repeat(ptr, 4), int, int, ptr, 'bool');
/** vtable, 4 pointers, bool, scratch count (size_t), scratch head pointer, max head usage (size_t). */
export const MicroAllocator = struct(ptr, ...repeat(ptr, 4), 'bool', 'size_t', ptr, 'size_t');
/** vtable + the persistent allocator pointer. */
export const MicroBuiltinDataAllocator = struct(ptr, ptr);
/** node_and_registrations, tensors. */
export const SubgraphAllocations = struct(ptr, ptr);
/** TfLitePtrUnion data, TfLiteIntArray* dims, TfLiteType type. */
export const TfLiteEvalTensor = struct(ptr, ptr, 'enum');
/** TfLiteNode: inputs, outputs, intermediates, user_data, builtin_data, custom_initial_data, its size. */
const TfLiteNode = struct(...repeat(ptr, 6), int);
export const NodeAndRegistration = struct(TfLiteNode, ptr);
/** quantization {type, params*}, params {scale, zero_point}, data, dims, bytes, type, allocation_type, is_variable. */
export const TfLiteTensor = struct(struct('enum', ptr), struct('float', int), ptr, ptr, 'size_t', 'enum', 'enum', 'bool');
export const TfLiteAffineQuantization = struct(ptr, ptr, int);
export const ScratchBufferHandle = struct(ptr);
/** `TfLiteIntArrayGetSizeInBytes(n)`: the size field plus n ints (flexible array member). */
export function intArrayBytes(n: number): number {
  return 4 + 4 * n;
}

// ---- Builtin data: the TfLite*Params struct each op's parser allocates (core/api/flatbuffer_conversions.cc,
// ---- compiler/mlir/lite/core/c/builtin_op_data.h), aligned to the struct's own alignment.

const activation: CType = 'enum';
export const Params = {
  Add: struct(activation, 'bool'),
  Sub: struct(activation, 'bool'),
  Mul: struct(activation),
  Conv: struct('enum', int, int, activation, int, int, 'enum'),
  DepthwiseConv: struct('enum', int, int, int, activation, int, int),
  FullyConnected: struct(activation, 'enum', 'bool', 'bool', 'enum'),
  /** padding, strides, filter size, activation, computed padding values (4 ints). */
  Pool: struct('enum', int, int, int, int, activation, struct(int, int, int, int)),
  Reshape: struct(array(int, 8), int),
  Squeeze: struct(array(int, 8), int),
  Softmax: struct('float'),
  Concatenation: struct(int, activation),
  Reducer: struct('bool'),
  LeakyRelu: struct('float'),
  Svdf: struct(int, activation, 'bool'),
} as const;

// ---- Kernel op data: what each reference kernel's Init allocates with AllocatePersistentBuffer
// ---- (16-byte aligned), from tensorflow/lite/micro/kernels/*.h and lite/kernels/internal/types.h.

const paddingValues = struct(int, int, int, int);
export const OpData = {
  /** conv.h OpDataConv: padding, 3 zero points, multiplier, shift, 2 per-channel pointers, act min/max, filter buffer index. */
  Conv: struct(paddingValues, int, int, int, int, int, ptr, ptr, int, int, int),
  /** fully_connected.h OpDataFullyConnected. */
  FullyConnected: struct(...repeat(int, 9), ptr, ptr, 'bool'),
  /** pooling.h OpDataPooling. */
  Pooling: struct(paddingValues, int, int, 'float', 'float'),
  /** add.h OpDataAdd: requires_broadcast, 12 ints, 2 floats. */
  Add: struct('bool', ...repeat(int, 12), 'float', 'float'),
  /** sub.h OpDataSub: requires_broadcast, 12 ints. */
  Sub: struct('bool', ...repeat(int, 12)),
  /** mul.h OpDataMul: 7 ints, 2 floats. */
  Mul: struct(...repeat(int, 7), 'float', 'float'),
  /** internal/types.h SoftmaxParams: beta (double), 7 ints/floats, 5 table pointers. */
  Softmax: struct('double', ...repeat(int, 7), ...repeat(ptr, 5)),
  /** quantize.h OpDataQuantizeReference: QuantizationParams {int32 zero_point; double scale}, 3 ints. */
  Quantize: struct(struct(int, 'double'), int, int, int),
  /** dequantize.h DequantizeOpData: DequantizationParams {double scale; int32 zero_point}, 3 ints. */
  Dequantize: struct(struct('double', int), int, int, int),
  /** svdf.h OpDataSvdf: 9 ints. */
  Svdf: struct(...repeat(int, 9)),
  /** logistic.h OpDataLogistic and tanh.cc OpData: 4 ints. */
  Logistic: struct(int, int, int, int),
  /** activations.h ReluOpData: ReluParams = ActivationParams {uint8 type; 2 ints} + 4 ints. */
  Relu: struct(struct('int8', int, int), int, int, int, int),
  /** activations.h Relu6OpData: six, zero. */
  Relu6: struct(int, int),
  /** leaky_relu.h LeakyReluOpData: 6 ints. */
  LeakyRelu: struct(...repeat(int, 6)),
  /** internal/types.h HardSwishParams. */
  HardSwish: struct('int16', 'int16', 'int16', int, 'int16', int),
  /** pad.h OpData: PadParams {int8 count; int32[5]; int8 count; int32[5]; uint8 category} + output zero point. */
  Pad: struct(struct('int8', array(int, 5), 'int8', array(int, 5), 'int8'), int),
  /** reduce.h OpDataReduce: 11 ints/floats. */
  Reduce: struct(...repeat(int, 11)),
  /** concatenation.cc OpData: ConcatenationParams {axis; 2 pointers; 3 ints/floats}. */
  Concatenation: struct(int, ptr, ptr, int, int, 'float'),
} as const;
