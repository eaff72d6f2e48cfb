// hil::ModelRunner on the host: a small TFLite interpreter that really runs .tflite models made of
// FULLY_CONNECTED (int8 per-tensor or per-channel, float32; fused NONE/RELU/RELU6) and RESHAPE,
// with TFLM's reference arithmetic (double-rounding MultiplyByQuantizedMultiplier, FACTS.md), so
// the command handler's tests see real outputs (hello_world_int8 gives TFLM's exact numbers).
// Any other operator is UNSUPPORTED_OP. It is not TFLM: its arena layout is a plain sequential
// packing of the non-constant tensors (16-byte aligned), so arenaUsedBytes() is the host's figure,
// not arena_used_bytes() of a board.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hil/model_runner.hpp"

namespace hil::host {

class HostPlatform;

class HostRunner final : public ModelRunner {
 public:
  RunnerResult prepare(const uint8_t* model, size_t modelBytes, uint8_t* arena, size_t arenaBytes,
                       OpProfiler* profiler) override;
  void reset() override;
  size_t inputCount() const override { return inputs_.size(); }
  size_t outputCount() const override { return outputs_.size(); }
  TensorInfo input(size_t index) const override { return info(inputs_.at(index)); }
  TensorInfo output(size_t index) const override { return info(outputs_.at(index)); }
  uint8_t* inputData(size_t index) override { return tensors_.at(inputs_.at(index)).data; }
  const uint8_t* outputData(size_t index) const override { return tensors_.at(outputs_.at(index)).data; }
  bool invoke() override;
  uint32_t arenaUsedBytes() const override { return arenaUsed_; }

  // Time an operator takes: each executed operator advances `platform`'s clock by `cyclesPerOp`,
  // so cycle counts and per-op profiles around invoke() measure something.
  void setClock(HostPlatform* platform, uint64_t cyclesPerOp) {
    clock_ = platform;
    cyclesPerOp_ = cyclesPerOp;
  }

  // Test control: after `successes` more successful invoke() calls, one call reports failure (an
  // interpreter error, as a kernel returning kTfLiteError would). For the INVOKE_FAILED path only.
  void failInvokeAfter(uint32_t successes) {
    failArmed_ = true;
    failAfter_ = successes;
  }
  uint32_t invokeCount() const { return invokes_; }

  // Test control: after each invoke(), overwrite the input tensors - what TFLM's memory planner does
  // when it lets later tensors reuse an input's bytes once the input has been read.
  void reuseInputMemory(bool on) { reuseInputs_ = on; }

 private:
  struct Tensor {
    uint8_t type = 0;  // TFLite schema TensorType
    std::vector<int32_t> shape;
    uint32_t bytes = 0;
    std::vector<float> scales;
    std::vector<int64_t> zeroPoints;
    uint8_t* data = nullptr;
    bool constant = false;
  };
  struct Op {
    int32_t code = 0;
    std::vector<int32_t> inputs;
    std::vector<int32_t> outputs;
    // FULLY_CONNECTED
    int32_t actMin = 0, actMax = 0;
    float floatMin = 0, floatMax = 0;
    std::vector<int32_t> multipliers;  // one per output channel (per-tensor: repeated)
    std::vector<int32_t> shifts;
    int32_t accumDepth = 0, outputDepth = 0, batches = 0;
  };

  TensorInfo info(int32_t index) const;
  RunnerResult fail(RunnerError error, uint32_t arg, const std::string& message);
  bool prepareFullyConnected(Op& op, uint8_t activation, std::string* why);
  void runFullyConnected(const Op& op);

  std::vector<Tensor> tensors_;
  std::vector<Op> ops_;
  std::vector<int32_t> inputs_;
  std::vector<int32_t> outputs_;
  uint32_t arenaUsed_ = 0;
  OpProfiler* profiler_ = nullptr;
  bool prepared_ = false;
  bool failArmed_ = false;
  uint32_t failAfter_ = 0;
  bool reuseInputs_ = false;
  HostPlatform* clock_ = nullptr;
  uint64_t cyclesPerOp_ = 0;
  uint32_t invokes_ = 0;
};

}  // namespace hil::host
