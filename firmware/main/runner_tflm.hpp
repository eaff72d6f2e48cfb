// hil::ModelRunner on TensorFlow Lite Micro (espressif/esp-tflite-micro; its int8 kernels come from
// ESP-NN, optimized or ANSI C per the variant's sdkconfig).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "hil/model_runner.hpp"
#include "sdkconfig.h"
#include "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/micro/recording_micro_allocator.h"
#include "tensorflow/lite/micro/recording_micro_interpreter.h"

namespace hil::board {

// Every operator the lab supports (issue 7): 22 registrations.
constexpr unsigned kLabOperatorCount = 22;

// TFLM calls BeginEvent/EndEvent around every operator of Invoke() when a profiler is given to
// the interpreter (micro_interpreter_graph.cc, ScopedMicroProfiler). This forwards them to the
// portable recorder, which ignores them unless INVOKE asked for a profile.
class ProfilerBridge final : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char* tag) override { return target != nullptr ? target->begin(tag) : 0; }
  void EndEvent(uint32_t handle) override {
    if (target != nullptr) target->end(handle);
  }
  hil::OpProfiler* target = nullptr;
};

constexpr size_t align16(size_t n) { return (n + 15) & ~size_t{15}; }

class TflmRunner final : public hil::ModelRunner {
 public:
  TflmRunner();
  ~TflmRunner() override { reset(); }

  RunnerResult prepare(const uint8_t* model, size_t modelBytes, uint8_t* arena, size_t arenaBytes,
                       OpProfiler* profiler) override;
  void reset() override;
  size_t inputCount() const override { return interpreter_ != nullptr ? interpreter_->inputs_size() : 0; }
  size_t outputCount() const override { return interpreter_ != nullptr ? interpreter_->outputs_size() : 0; }
  TensorInfo input(size_t index) const override;
  TensorInfo output(size_t index) const override;
  uint8_t* inputData(size_t index) override;
  const uint8_t* outputData(size_t index) const override;
  bool invoke() override;
  uint32_t arenaUsedBytes() const override { return arenaUsed_; }

 private:
#if CONFIG_HIL_RECORDING_INTERPRETER
  using Interpreter = tflite::RecordingMicroInterpreter;
#else
  using Interpreter = tflite::MicroInterpreter;
#endif

  tflite::MicroMutableOpResolver<kLabOperatorCount> resolver_;
  ProfilerBridge profiler_;
  // The interpreter lives here (no heap): constructed in prepare(), destroyed in reset().
  // What the interpreter's constructor allocates from the arena's tail before anything is checked:
  // the arena allocator, the greedy memory planner and the (recording) micro allocator, each aligned,
  // after the arena start is aligned to 16 (MicroArenaBufferAlignment).
#if CONFIG_HIL_RECORDING_INTERPRETER
  using Allocator = tflite::RecordingMicroAllocator;
#else
  using Allocator = tflite::MicroAllocator;
#endif
  static constexpr size_t kConstructionBytes = 16 + align16(sizeof(tflite::SingleArenaBufferAllocator)) +
                                               align16(sizeof(tflite::GreedyMemoryPlanner)) + align16(sizeof(Allocator));
  static_assert(kConstructionBytes < 4096, "TFLM's allocator objects should be small");

  alignas(Interpreter) uint8_t storage_[sizeof(Interpreter)];
  Interpreter* interpreter_ = nullptr;
  TfLiteTensor* inputs_[kMaxModelTensors] = {};
  TfLiteTensor* outputs_[kMaxModelTensors] = {};
  uint32_t arenaUsed_ = 0;
};

}  // namespace hil::board
