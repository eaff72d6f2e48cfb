#include "runner_tflm.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "console_log.hpp"
#include "esp_log.h"
#include "hil/log_text.hpp"
#include "hil/tensor_type.hpp"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/schema/schema_utils.h"

namespace hil::board {

namespace {

const char* const TAG = "hil.tflm";

// What TFLM printed while AllocateTensors() ran on this task (its MicroPrintf goes to stderr,
// which console_log.cpp turns into log lines): the arena shortfall, and the last line as the reason.
struct AllocationReport {
  uint32_t missing = 0;
  char lastLine[120] = {};

  static void observe(void* self, const char* line, size_t length) {
    auto* r = static_cast<AllocationReport*>(self);
    const uint32_t missing = hil::parseArenaShortfall(line, length);
    if (missing > r->missing) r->missing = missing;
    if (length > 0) std::snprintf(r->lastLine, sizeof r->lastLine, "%.*s", static_cast<int>(length), line);
  }
};

TensorInfo describe(const TfLiteTensor* t) {
  TensorInfo info;
  if (t == nullptr) return info;
  info.dtype = hil::schemaTensorType(t->type);
  info.bytes = static_cast<uint32_t>(t->bytes);
  if (t->dims != nullptr) {
    info.rank = static_cast<uint8_t>(t->dims->size < static_cast<int>(kMaxTensorRank) ? t->dims->size : kMaxTensorRank);
    for (size_t d = 0; d < info.rank; ++d) info.dims[d] = t->dims->data[d];
  }
  info.scale = t->params.scale;
  info.zeroPoint = t->params.zero_point;
  return info;
}

RunnerResult failure(RunnerError error, uint32_t arg, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
RunnerResult failure(RunnerError error, uint32_t arg, const char* fmt, ...) {
  RunnerResult r;
  r.error = error;
  r.arg = arg;
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(r.message, sizeof r.message, fmt, args);
  va_end(args);
  return r;
}

}  // namespace

TflmRunner::TflmRunner() {
  // Every operator the lab supports (issue 7). With CONFIG_NN_OPTIMIZED the int8 paths of
  // CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, pooling and SOFTMAX are ESP-NN's
  // (esp-tflite-micro kernels/esp_nn/); the rest are TFLM's reference kernels (FACTS.md).
  const TfLiteStatus added[] = {
      resolver_.AddConv2D(),        resolver_.AddDepthwiseConv2D(), resolver_.AddFullyConnected(),
      resolver_.AddAveragePool2D(), resolver_.AddMaxPool2D(),       resolver_.AddAdd(),
      resolver_.AddMul(),           resolver_.AddSub(),             resolver_.AddReshape(),
      resolver_.AddSqueeze(),       resolver_.AddSoftmax(),         resolver_.AddLogistic(),
      resolver_.AddTanh(),          resolver_.AddRelu(),            resolver_.AddRelu6(),
      resolver_.AddLeakyRelu(),     resolver_.AddHardSwish(),       resolver_.AddQuantize(),
      resolver_.AddDequantize(),    resolver_.AddPad(),             resolver_.AddMean(),
      resolver_.AddConcatenation(),
  };
  static_assert(sizeof added / sizeof added[0] == kLabOperatorCount, "one registration per lab operator");
  for (TfLiteStatus s : added) {
    if (s != kTfLiteOk) ESP_LOGE(TAG, "an operator registration failed (resolver capacity)");
  }
}

void TflmRunner::reset() {
  if (interpreter_ != nullptr) interpreter_->~Interpreter();
  interpreter_ = nullptr;
  profiler_.target = nullptr;
  arenaUsed_ = 0;
  std::memset(inputs_, 0, sizeof inputs_);
  std::memset(outputs_, 0, sizeof outputs_);
}

RunnerResult TflmRunner::prepare(const uint8_t* model, size_t modelBytes, uint8_t* arena, size_t arenaBytes,
                                 OpProfiler* profiler) {
  reset();
  // An uploaded model is untrusted input: verify the flatbuffer before TFLM walks it.
  flatbuffers::Verifier verifier(model, modelBytes);
  if (!tflite::VerifyModelBuffer(verifier)) {
    return failure(RunnerError::ModelInvalid, 0, "the model is not a valid TFLite flatbuffer");
  }
  const tflite::Model* m = tflite::GetModel(model);
  if (m->version() != TFLITE_SCHEMA_VERSION) {
    return failure(RunnerError::ModelInvalid, 0, "the model has schema version %u; TFLM reads version %d",
                   static_cast<unsigned>(m->version()), TFLITE_SCHEMA_VERSION);
  }
  // Name the first operator this firmware does not register, before TFLM fails on it.
  const auto* codes = m->operator_codes();
  if (codes != nullptr) {
    for (const tflite::OperatorCode* code : *codes) {
      const tflite::BuiltinOperator op = tflite::GetBuiltinCode(code);
      if (op == tflite::BuiltinOperator_CUSTOM || resolver_.FindOp(op) == nullptr) {
        return failure(RunnerError::UnsupportedOp, static_cast<uint32_t>(op),
                       "operator %s (builtin code %d) is not registered in this firmware",
                       op == tflite::BuiltinOperator_CUSTOM ? "CUSTOM" : tflite::EnumNameBuiltinOperator(op),
                       static_cast<int>(op));
      }
    }
  }

  // The interpreter's constructor puts TFLM's own allocator objects at the arena's tail and does
  // not check that they fit (TFLITE_DCHECK is off in release builds): with a smaller arena,
  // SingleArenaBufferAllocator::Create returns nullptr and the constructor stores through it - a
  // StoreProhibited panic, found on this firmware in QEMU with a 32-byte arena. Below this size the
  // answer is ARENA_TOO_SMALL, with this size as the lower bound (AllocateTensors() needs more).
  if (arenaBytes < kConstructionBytes) {
    return failure(RunnerError::ArenaTooSmall, static_cast<uint32_t>(kConstructionBytes),
                   "an arena of %u bytes cannot even hold TFLM's allocator (%u bytes); AllocateTensors() needs more",
                   static_cast<unsigned>(arenaBytes), static_cast<unsigned>(kConstructionBytes));
  }
  profiler_.target = profiler;
  interpreter_ = new (storage_) Interpreter(m, resolver_, arena, arenaBytes, nullptr, &profiler_);
  if (interpreter_->initialization_status() != kTfLiteOk) {
    reset();
    return failure(RunnerError::ModelInvalid, 0, "TFLM could not initialise an interpreter for the model");
  }
  AllocationReport report;
  consoleSetLineObserver(&AllocationReport::observe, &report);
  const TfLiteStatus allocated = interpreter_->AllocateTensors();
  consoleSetLineObserver(nullptr, nullptr);
  if (allocated != kTfLiteOk) {
    reset();
    if (report.missing > 0) {
      // The shortfall is a lower bound: allocation stops at the first buffer that does not fit.
      const uint64_t needed = uint64_t{arenaBytes} + report.missing;
      return failure(RunnerError::ArenaTooSmall, needed > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(needed),
                     "AllocateTensors() needs at least %llu arena bytes, the arena has %u",
                     static_cast<unsigned long long>(needed), static_cast<unsigned>(arenaBytes));
    }
    return failure(RunnerError::ModelInvalid, 0, "AllocateTensors() failed: %s",
                   report.lastLine[0] != '\0' ? report.lastLine : "see the board log");
  }
#if CONFIG_HIL_RECORDING_INTERPRETER
  // Requested/used bytes per allocation type, into the board log (scratch buffers not tracked).
  interpreter_->GetMicroAllocator().PrintAllocations();
#endif
  if (interpreter_->inputs_size() > kMaxModelTensors || interpreter_->outputs_size() > kMaxModelTensors) {
    const size_t ni = interpreter_->inputs_size();
    const size_t no = interpreter_->outputs_size();
    reset();
    return failure(RunnerError::TooManyTensors, 0, "the model has %u inputs and %u outputs; the protocol carries 16 each",
                   static_cast<unsigned>(ni), static_cast<unsigned>(no));
  }
  for (size_t i = 0; i < interpreter_->inputs_size(); ++i) inputs_[i] = interpreter_->input(i);
  for (size_t i = 0; i < interpreter_->outputs_size(); ++i) outputs_[i] = interpreter_->output(i);
  for (size_t i = 0; i < interpreter_->inputs_size() + interpreter_->outputs_size(); ++i) {
    const TfLiteTensor* t = i < interpreter_->inputs_size() ? inputs_[i] : outputs_[i - interpreter_->inputs_size()];
    if (t == nullptr || hil::schemaTensorType(t->type) == hil::kNoSchemaType) {
      reset();
      return failure(RunnerError::ModelInvalid, 0, "a model input or output has a tensor type the protocol cannot carry");
    }
  }
  arenaUsed_ = static_cast<uint32_t>(interpreter_->arena_used_bytes());
  ESP_LOGI(TAG, "model ready: %u inputs, %u outputs, arena %u of %u bytes used",
           static_cast<unsigned>(interpreter_->inputs_size()), static_cast<unsigned>(interpreter_->outputs_size()),
           static_cast<unsigned>(arenaUsed_), static_cast<unsigned>(arenaBytes));
  return RunnerResult{};
}

TensorInfo TflmRunner::input(size_t index) const { return index < inputCount() ? describe(inputs_[index]) : TensorInfo{}; }

TensorInfo TflmRunner::output(size_t index) const { return index < outputCount() ? describe(outputs_[index]) : TensorInfo{}; }

uint8_t* TflmRunner::inputData(size_t index) {
  return index < inputCount() ? reinterpret_cast<uint8_t*>(inputs_[index]->data.raw) : nullptr;
}

const uint8_t* TflmRunner::outputData(size_t index) const {
  return index < outputCount() ? reinterpret_cast<const uint8_t*>(outputs_[index]->data.raw) : nullptr;
}

bool TflmRunner::invoke() { return interpreter_ != nullptr && interpreter_->Invoke() == kTfLiteOk; }

}  // namespace hil::board
