// Log text helpers shared by the board's log routing (main/console_log.cpp) and the TFLM runner.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil {

// Collects bytes written in arbitrary pieces (stdio, vprintf) into lines. A line ends at '\n'
// (one '\r' before it is dropped, as TFLM's MicroPrintf ends lines with "\r\n"); a line longer
// than kMaxLine is passed on in kMaxLine pieces (the protocol decoder's MAX_LINE is 1024).
class LineAssembler {
 public:
  static constexpr size_t kMaxLine = 240;
  using Sink = void (*)(void* context, const char* line, size_t length);

  LineAssembler(Sink sink, void* context) : sink_(sink), context_(context) {}
  void write(const char* data, size_t length);
  // Emits a pending partial line, if any.
  void flush();

 private:
  void emit();
  Sink sink_;
  void* context_;
  char line_[kMaxLine];
  size_t used_ = 0;
};

// TFLM's arena allocators report a shortfall as "... Requested: R, available A, missing: M"
// (tflite-micro arena_allocator/single_arena_buffer_allocator.cc). Returns M, or 0 when the line
// is not such a report.
uint32_t parseArenaShortfall(const char* line, size_t length);

}  // namespace hil
