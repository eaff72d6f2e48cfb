// Host interpreter for the command handler tests. Arithmetic follows TFLM's reference kernels,
// read for this (never copied): tensorflow/lite/kernels/internal/reference/integer_ops/
// fully_connected.h, kernels/internal/common.h (MultiplyByQuantizedMultiplier, double rounding),
// kernels/internal/quantization_util.cc (QuantizeMultiplier), kernels/kernel_util.cc
// (GetQuantizedConvolutionMultipler, CalculateActivationRangeQuantized), micro/kernels/
// fully_connected_common.cc (per-channel multipliers).
#include "host_runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "flatbuffer.hpp"
#include "host_platform.hpp"

namespace hil::host {

namespace {

// TFLite schema ids (tensorflow/lite/schema/schema.fbs).
enum ModelField { kModelVersion = 0, kModelOperatorCodes = 1, kModelSubgraphs = 2, kModelBuffers = 4 };
enum SubGraphField { kSgTensors = 0, kSgInputs = 1, kSgOutputs = 2, kSgOperators = 3 };
enum TensorField { kTShape = 0, kTType = 1, kTBuffer = 2, kTQuantization = 4 };
enum QuantField { kQScale = 2, kQZeroPoint = 3 };
enum OperatorField { kOpOpcodeIndex = 0, kOpInputs = 1, kOpOutputs = 2, kOpBuiltinOptions = 4 };
enum OperatorCodeField { kOcDeprecatedBuiltin = 0, kOcBuiltin = 3 };
enum BufferField { kBufData = 0, kBufOffset = 1, kBufSize = 2 };

constexpr int32_t kFullyConnected = 9;
constexpr int32_t kReshape = 22;
constexpr uint8_t kFloat32 = 0, kInt32 = 2, kInt8 = 9;

int typeBytes(uint8_t type) {
  switch (type) {
    case 0: return 4;   // FLOAT32
    case 1: return 2;   // FLOAT16
    case 2: return 4;   // INT32
    case 3: return 1;   // UINT8
    case 4: return 8;   // INT64
    case 6: return 1;   // BOOL
    case 7: return 2;   // INT16
    case 9: return 1;   // INT8
    case 10: return 8;  // FLOAT64
    case 15: return 4;  // UINT32
    case 16: return 2;  // UINT16
    default: return 0;
  }
}

const char* opName(int32_t code) {
  switch (code) {
    case 0: return "ADD";
    case 1: return "AVERAGE_POOL_2D";
    case 2: return "CONCATENATION";
    case 3: return "CONV_2D";
    case 4: return "DEPTHWISE_CONV_2D";
    case 6: return "DEQUANTIZE";
    case 9: return "FULLY_CONNECTED";
    case 14: return "LOGISTIC";
    case 17: return "MAX_POOL_2D";
    case 18: return "MUL";
    case 19: return "RELU";
    case 21: return "RELU6";
    case 22: return "RESHAPE";
    case 25: return "SOFTMAX";
    case 28: return "TANH";
    case 34: return "PAD";
    case 40: return "MEAN";
    case 41: return "SUB";
    case 43: return "SQUEEZE";
    case 98: return "LEAKY_RELU";
    case 114: return "QUANTIZE";
    case 117: return "HARD_SWISH";
    default: return "?";
  }
}

// QuantizeMultiplier: double -> Q31 significand and power-of-two exponent.
void quantizeMultiplier(double m, int32_t* significand, int32_t* shift) {
  if (m == 0.0) {
    *significand = 0;
    *shift = 0;
    return;
  }
  int exponent = 0;
  const double q = std::frexp(m, &exponent);
  int64_t fixed = static_cast<int64_t>(std::round(q * static_cast<double>(1LL << 31)));
  if (fixed == (1LL << 31)) {
    fixed /= 2;
    ++exponent;
  }
  if (exponent < -31) {
    exponent = 0;
    fixed = 0;
  }
  *significand = static_cast<int32_t>(fixed);
  *shift = exponent;
}

int32_t saturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return static_cast<int32_t>((ab + nudge) / (1LL << 31));
}

int32_t roundingDivideByPot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((1LL << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// The double-rounding MultiplyByQuantizedMultiplier TFLM uses (TFLITE_SINGLE_ROUNDING is not
// defined in tflite-micro or esp-tflite-micro: FACTS.md).
int32_t multiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return roundingDivideByPot(saturatingRoundingDoublingHighMul(x * (1 << left), multiplier), right);
}

int32_t quantizeValue(float scale, int32_t zeroPoint, float f) {
  return zeroPoint + static_cast<int32_t>(std::round(f / scale));
}

}  // namespace

RunnerResult HostRunner::fail(RunnerError error, uint32_t arg, const std::string& message) {
  reset();
  RunnerResult r;
  r.error = error;
  r.arg = arg;
  std::snprintf(r.message, sizeof r.message, "%s", message.c_str());
  return r;
}

void HostRunner::reset() {
  tensors_.clear();
  ops_.clear();
  inputs_.clear();
  outputs_.clear();
  arenaUsed_ = 0;
  profiler_ = nullptr;
  prepared_ = false;
}

TensorInfo HostRunner::info(int32_t index) const {
  const Tensor& t = tensors_.at(static_cast<size_t>(index));
  TensorInfo i;
  i.dtype = t.type;
  i.bytes = t.bytes;
  i.rank = static_cast<uint8_t>(std::min<size_t>(t.shape.size(), kMaxTensorRank));
  for (size_t d = 0; d < i.rank; ++d) i.dims[d] = t.shape[d];
  if (t.scales.size() == 1) {
    i.scale = t.scales[0];
    i.zeroPoint = t.zeroPoints.empty() ? 0 : static_cast<int32_t>(t.zeroPoints[0]);
  }
  return i;
}

RunnerResult HostRunner::prepare(const uint8_t* model, size_t modelBytes, uint8_t* arena, size_t arenaBytes,
                                 OpProfiler* profiler) {
  reset();
  const fb::Buffer buf(model, modelBytes);
  const fb::Table root = fb::root(buf);
  if (!root.valid() || root.scalar<uint32_t>(kModelVersion) != 3) {
    return fail(RunnerError::ModelInvalid, 0, "not a TFLite schema version 3 model");
  }
  const fb::Vector codes = root.vector(kModelOperatorCodes);
  const fb::Vector subgraphs = root.vector(kModelSubgraphs);
  const fb::Vector buffers = root.vector(kModelBuffers);
  if (subgraphs.size() == 0) return fail(RunnerError::ModelInvalid, 0, "the model has no subgraph");
  const fb::Table sg = subgraphs.table(0);
  const fb::Vector tensors = sg.vector(kSgTensors);
  const fb::Vector operators = sg.vector(kSgOperators);

  // Tensors: constants point into the model, the rest is packed into the arena.
  size_t used = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const fb::Table t = tensors.table(i);
    if (!t.valid()) return fail(RunnerError::ModelInvalid, 0, "a tensor table is damaged");
    Tensor tensor;
    tensor.type = t.scalar<uint8_t>(kTType);
    const fb::Vector shape = t.vector(kTShape);
    uint64_t elements = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      const int32_t dim = shape.scalar<int32_t>(d);
      if (dim < 0) return fail(RunnerError::ModelInvalid, 0, "a tensor has a dynamic dimension");
      tensor.shape.push_back(dim);
      elements *= static_cast<uint64_t>(dim);
    }
    const int size = typeBytes(tensor.type);
    if (size == 0 || elements * static_cast<uint64_t>(size) > 0x7FFFFFFFu) {
      return fail(RunnerError::ModelInvalid, 0, "a tensor has a type or size the host interpreter does not handle");
    }
    tensor.bytes = static_cast<uint32_t>(elements * static_cast<uint64_t>(size));
    const fb::Table q = t.table(kTQuantization);
    const fb::Vector scales = q.vector(kQScale);
    const fb::Vector zps = q.vector(kQZeroPoint);
    for (size_t k = 0; k < scales.size(); ++k) tensor.scales.push_back(scales.scalar<float>(k));
    for (size_t k = 0; k < zps.size(); ++k) tensor.zeroPoints.push_back(zps.scalar<int64_t>(k));
    const uint32_t bufferIndex = t.scalar<uint32_t>(kTBuffer);
    const fb::Table b = bufferIndex < buffers.size() ? buffers.table(bufferIndex) : fb::Table();
    const fb::Vector data = b.vector(kBufData);
    const uint64_t offset = b.scalar<uint64_t>(kBufOffset);
    if (bufferIndex > 0 && data.size() > 0) {
      if (data.size() != tensor.bytes) return fail(RunnerError::ModelInvalid, 0, "a constant tensor's buffer has the wrong size");
      tensor.data = const_cast<uint8_t*>(data.bytes(1));
      tensor.constant = true;
    } else if (bufferIndex > 0 && offset > 1) {
      // Buffers stored after the flatbuffer (models over 2 GB): offset/size from the file start.
      if (b.scalar<uint64_t>(kBufSize) != tensor.bytes || !buf.has(offset, tensor.bytes)) {
        return fail(RunnerError::ModelInvalid, 0, "a constant tensor's external buffer is out of bounds");
      }
      tensor.data = const_cast<uint8_t*>(model + offset);
      tensor.constant = true;
    } else {
      used = (used + 15) & ~size_t{15};
      if (used + tensor.bytes <= arenaBytes) tensor.data = arena + used;
      used += tensor.bytes;
    }
    tensors_.push_back(std::move(tensor));
  }
  const uint32_t needed = static_cast<uint32_t>(std::min<size_t>(used, 0xFFFFFFFFu));
  if (used > arenaBytes) {
    return fail(RunnerError::ArenaTooSmall, needed,
                "the host interpreter needs " + std::to_string(used) + " arena bytes, the arena has " +
                    std::to_string(arenaBytes));
  }

  auto tensorList = [&](const fb::Vector& v, std::vector<int32_t>* out) -> bool {
    for (size_t k = 0; k < v.size(); ++k) {
      const int32_t index = v.scalar<int32_t>(k);
      if (index < -1 || index >= static_cast<int32_t>(tensors_.size())) return false;
      out->push_back(index);
    }
    return true;
  };
  if (!tensorList(sg.vector(kSgInputs), &inputs_) || !tensorList(sg.vector(kSgOutputs), &outputs_)) {
    return fail(RunnerError::ModelInvalid, 0, "a subgraph input or output index is out of range");
  }
  if (inputs_.size() > kMaxModelTensors || outputs_.size() > kMaxModelTensors) {
    return fail(RunnerError::TooManyTensors, 0, "the model has more than 16 inputs or outputs");
  }

  for (size_t i = 0; i < operators.size(); ++i) {
    const fb::Table o = operators.table(i);
    const uint32_t codeIndex = o.scalar<uint32_t>(kOpOpcodeIndex);
    if (!o.valid() || codeIndex >= codes.size()) return fail(RunnerError::ModelInvalid, 0, "an operator's opcode index is out of range");
    const fb::Table code = codes.table(codeIndex);
    // The effective builtin code: max of the deprecated byte and the int field (schema_utils.cc).
    const int32_t builtin = std::max<int32_t>(code.scalar<int8_t>(kOcDeprecatedBuiltin), code.scalar<int32_t>(kOcBuiltin));
    Op op;
    op.code = builtin;
    if (!tensorList(o.vector(kOpInputs), &op.inputs) || !tensorList(o.vector(kOpOutputs), &op.outputs)) {
      return fail(RunnerError::ModelInvalid, 0, "an operator's tensor index is out of range");
    }
    if (builtin != kFullyConnected && builtin != kReshape) {
      return fail(RunnerError::UnsupportedOp, static_cast<uint32_t>(builtin),
                  std::string("operator ") + opName(builtin) + " (builtin code " + std::to_string(builtin) +
                      ") is not in the host interpreter (FULLY_CONNECTED and RESHAPE only)");
    }
    std::string why;
    if (builtin == kFullyConnected) {
      const uint8_t activation = o.table(kOpBuiltinOptions).scalar<uint8_t>(0);
      if (!prepareFullyConnected(op, activation, &why)) return fail(RunnerError::ModelInvalid, 0, "FULLY_CONNECTED: " + why);
    } else {
      if (op.inputs.empty() || op.outputs.size() != 1 || op.inputs[0] < 0 ||
          tensors_[static_cast<size_t>(op.inputs[0])].bytes != tensors_[static_cast<size_t>(op.outputs[0])].bytes) {
        return fail(RunnerError::ModelInvalid, 0, "RESHAPE: input and output sizes differ");
      }
    }
    ops_.push_back(std::move(op));
  }
  arenaUsed_ = needed;
  profiler_ = profiler;
  prepared_ = true;
  return RunnerResult{};
}

bool HostRunner::prepareFullyConnected(Op& op, uint8_t activation, std::string* why) {
  if (op.inputs.size() < 2 || op.outputs.size() != 1 || op.inputs[0] < 0 || op.inputs[1] < 0) {
    *why = "needs input, filter and one output";
    return false;
  }
  const Tensor& in = tensors_[static_cast<size_t>(op.inputs[0])];
  const Tensor& filter = tensors_[static_cast<size_t>(op.inputs[1])];
  const Tensor& out = tensors_[static_cast<size_t>(op.outputs[0])];
  const Tensor* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &tensors_[static_cast<size_t>(op.inputs[2])] : nullptr;
  if (filter.shape.size() != 2 || filter.shape[1] == 0) {
    *why = "the filter must be [output_depth, accum_depth]";
    return false;
  }
  op.outputDepth = filter.shape[0];
  op.accumDepth = filter.shape[1];
  const int esize = typeBytes(in.type);
  const uint32_t inElements = in.bytes / static_cast<uint32_t>(esize);
  if (inElements % static_cast<uint32_t>(op.accumDepth) != 0) {
    *why = "the input size is not a multiple of the filter's depth";
    return false;
  }
  op.batches = static_cast<int32_t>(inElements / static_cast<uint32_t>(op.accumDepth));
  if (static_cast<uint64_t>(op.batches) * static_cast<uint64_t>(op.outputDepth) * static_cast<uint64_t>(typeBytes(out.type)) != out.bytes) {
    *why = "the output size does not match batches x output depth";
    return false;
  }
  if (activation != 0 && activation != 1 && activation != 3) {
    *why = "fused activation " + std::to_string(activation) + " is not NONE, RELU or RELU6";
    return false;
  }
  if (in.type == kFloat32 && filter.type == kFloat32 && out.type == kFloat32 && (bias == nullptr || bias->type == kFloat32)) {
    op.floatMin = activation == 0 ? -std::numeric_limits<float>::infinity() : 0.0f;
    op.floatMax = activation == 3 ? 6.0f : std::numeric_limits<float>::infinity();
    return true;
  }
  if (in.type != kInt8 || filter.type != kInt8 || out.type != kInt8 || (bias != nullptr && bias->type != kInt32)) {
    *why = "only float32, or int8 with int32 bias";
    return false;
  }
  if (in.scales.size() != 1 || out.scales.size() != 1 || filter.scales.empty() ||
      (filter.scales.size() != 1 && filter.scales.size() != static_cast<size_t>(op.outputDepth))) {
    *why = "int8 tensors need per-tensor (filter: per-tensor or per-channel) quantization";
    return false;
  }
  const float inScale = in.scales[0];
  const float outScale = out.scales[0];
  for (int32_t c = 0; c < op.outputDepth; ++c) {
    double real;
    if (filter.scales.size() == 1) {
      // Per-tensor: the float product, then double (GetQuantizedConvolutionMultipler).
      real = static_cast<double>(inScale * filter.scales[0]) / static_cast<double>(outScale);
    } else {
      // Per-channel: in double throughout (fully_connected_common.cc).
      real = static_cast<double>(inScale) * static_cast<double>(filter.scales[static_cast<size_t>(c)]) /
             static_cast<double>(outScale);
    }
    int32_t significand, shift;
    quantizeMultiplier(real, &significand, &shift);
    op.multipliers.push_back(significand);
    op.shifts.push_back(shift);
  }
  const int32_t zp = out.zeroPoints.empty() ? 0 : static_cast<int32_t>(out.zeroPoints[0]);
  op.actMin = -128;
  op.actMax = 127;
  if (activation == 1 || activation == 3) op.actMin = std::max(op.actMin, quantizeValue(outScale, zp, 0.0f));
  if (activation == 3) op.actMax = std::min(op.actMax, quantizeValue(outScale, zp, 6.0f));
  return true;
}

void HostRunner::runFullyConnected(const Op& op) {
  const Tensor& in = tensors_[static_cast<size_t>(op.inputs[0])];
  const Tensor& filter = tensors_[static_cast<size_t>(op.inputs[1])];
  const Tensor& out = tensors_[static_cast<size_t>(op.outputs[0])];
  const Tensor* bias = op.inputs.size() > 2 && op.inputs[2] >= 0 ? &tensors_[static_cast<size_t>(op.inputs[2])] : nullptr;
  const int32_t depth = op.accumDepth;
  if (in.type == kFloat32) {
    const float* x = reinterpret_cast<const float*>(in.data);
    const float* w = reinterpret_cast<const float*>(filter.data);
    const float* b = bias != nullptr ? reinterpret_cast<const float*>(bias->data) : nullptr;
    float* y = reinterpret_cast<float*>(out.data);
    for (int32_t n = 0; n < op.batches; ++n) {
      for (int32_t c = 0; c < op.outputDepth; ++c) {
        float total = 0.0f;
        for (int32_t d = 0; d < depth; ++d) total += x[n * depth + d] * w[c * depth + d];
        if (b != nullptr) total += b[c];
        y[n * op.outputDepth + c] = std::min(std::max(total, op.floatMin), op.floatMax);
      }
    }
    return;
  }
  const int8_t* x = reinterpret_cast<const int8_t*>(in.data);
  const int8_t* w = reinterpret_cast<const int8_t*>(filter.data);
  const int32_t* b = bias != nullptr ? reinterpret_cast<const int32_t*>(bias->data) : nullptr;
  int8_t* y = reinterpret_cast<int8_t*>(out.data);
  const int32_t inputOffset = in.zeroPoints.empty() ? 0 : -static_cast<int32_t>(in.zeroPoints[0]);
  const int32_t filterOffset = filter.zeroPoints.empty() ? 0 : -static_cast<int32_t>(filter.zeroPoints[0]);
  const int32_t outputOffset = out.zeroPoints.empty() ? 0 : static_cast<int32_t>(out.zeroPoints[0]);
  for (int32_t n = 0; n < op.batches; ++n) {
    for (int32_t c = 0; c < op.outputDepth; ++c) {
      int32_t acc = 0;
      for (int32_t d = 0; d < depth; ++d) {
        acc += (static_cast<int32_t>(w[c * depth + d]) + filterOffset) * (static_cast<int32_t>(x[n * depth + d]) + inputOffset);
      }
      if (b != nullptr) acc += b[c];
      acc = multiplyByQuantizedMultiplier(acc, op.multipliers[static_cast<size_t>(c)], op.shifts[static_cast<size_t>(c)]);
      acc += outputOffset;
      y[n * op.outputDepth + c] = static_cast<int8_t>(std::min(std::max(acc, op.actMin), op.actMax));
    }
  }
}

bool HostRunner::invoke() {
  ++invokes_;
  if (!prepared_) return false;
  if (failArmed_) {
    if (failAfter_ == 0) {
      failArmed_ = false;
      return false;
    }
    --failAfter_;
  }
  for (const Op& op : ops_) {
    const uint32_t handle = profiler_ != nullptr ? profiler_->begin(opName(op.code)) : 0;
    if (clock_ != nullptr) clock_->advanceCycles(cyclesPerOp_);
    if (op.code == kFullyConnected) {
      runFullyConnected(op);
    } else {
      const Tensor& in = tensors_[static_cast<size_t>(op.inputs[0])];
      const Tensor& out = tensors_[static_cast<size_t>(op.outputs[0])];
      if (out.data != in.data) std::memmove(out.data, in.data, in.bytes);
    }
    if (profiler_ != nullptr) profiler_->end(handle);
  }
  if (reuseInputs_) {
    for (const int32_t i : inputs_) {
      Tensor& t = tensors_[static_cast<size_t>(i)];
      std::memset(t.data, 0x5a, t.bytes);
    }
  }
  return true;
}

}  // namespace hil::host
