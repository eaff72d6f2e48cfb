// Per-operator cycle counts of one profiled inference (PROTOCOL.md INVOKE_PROFILE).
// TFLM calls BeginEvent(op name) / EndEvent(handle) around every operator when a
// MicroProfilerInterface is passed to the interpreter (tflite-micro micro_interpreter_graph.cc,
// ScopedMicroProfiler); main/runner_tflm.cpp forwards those calls here. Fixed capacity, no heap:
// it runs inside Invoke().
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil {

class Platform;

struct OpEvent {
  const char* name = "";  // the kernel's name; TFLM's tags are string literals that outlive us
  uint32_t begin = 0;
  uint32_t cycles = 0;
};

class OpProfiler {
 public:
  static constexpr size_t kMaxEvents = 512;

  explicit OpProfiler(Platform& platform) : platform_(platform) {}

  // Clears the events and starts recording; stop() ends recording. While stopped, begin/end cost
  // one branch each, so measured inferences are not disturbed.
  void start();
  void stop() { active_ = false; }
  bool active() const { return active_; }

  // Returns a handle for end(). Events past kMaxEvents are counted in dropped().
  uint32_t begin(const char* name);
  void end(uint32_t handle);

  size_t count() const { return count_; }
  const OpEvent& event(size_t index) const { return events_[index]; }
  uint32_t dropped() const { return dropped_; }

 private:
  static constexpr uint32_t kNoEvent = 0xFFFFFFFFu;
  Platform& platform_;
  bool active_ = false;
  size_t count_ = 0;
  uint32_t dropped_ = 0;
  OpEvent events_[kMaxEvents];
};

}  // namespace hil
