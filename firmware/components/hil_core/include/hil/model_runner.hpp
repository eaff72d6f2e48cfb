// The interpreter as the command handler sees it. The TFLM implementation (main/runner_tflm.cpp)
// is target-only; the host tests use a small interpreter of their own (test/host-app).
#pragma once

#include <cstddef>
#include <cstdint>

#include "hil/op_profile.hpp"

namespace hil {

constexpr size_t kMaxTensorRank = 8;
constexpr size_t kMaxModelTensors = 16;  // inputs or outputs (PROTOCOL.md "Arena")

// A model input or output as ARENA_READY describes it. `dtype` is the TFLite schema TensorType.
struct TensorInfo {
  uint8_t dtype = 0;
  uint32_t bytes = 0;
  uint8_t rank = 0;
  int32_t dims[kMaxTensorRank] = {};
  float scale = 0.0f;
  int32_t zeroPoint = 0;
};

enum class RunnerError : uint8_t {
  None = 0,
  ModelInvalid,    // not a model this interpreter accepts
  UnsupportedOp,   // arg = builtin operator code
  ArenaTooSmall,   // arg = bytes needed if known, else 0
  TooManyTensors,  // more than kMaxModelTensors inputs or outputs
};

struct RunnerResult {
  RunnerError error = RunnerError::None;
  uint32_t arg = 0;
  char message[160] = {};  // one sentence for a human when error != None
  bool ok() const { return error == RunnerError::None; }
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  // Builds an interpreter for `model` (which must stay valid until reset()) in `arena` and
  // allocates its tensors. `profiler` receives one event per operator while profiling is on.
  virtual RunnerResult prepare(const uint8_t* model, size_t modelBytes, uint8_t* arena,
                               size_t arenaBytes, OpProfiler* profiler) = 0;
  // Drops the interpreter (before the arena or the model goes away).
  virtual void reset() = 0;

  virtual size_t inputCount() const = 0;
  virtual size_t outputCount() const = 0;
  virtual TensorInfo input(size_t index) const = 0;
  virtual TensorInfo output(size_t index) const = 0;
  virtual uint8_t* inputData(size_t index) = 0;
  virtual const uint8_t* outputData(size_t index) const = 0;

  // One inference. false when the interpreter reports an error.
  virtual bool invoke() = 0;
  // MicroInterpreter::arena_used_bytes() after AllocateTensors().
  virtual uint32_t arenaUsedBytes() const = 0;
};

}  // namespace hil
