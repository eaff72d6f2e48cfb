// The board as the command handler sees it: clocks, heap, identity, the model partition and reset.
// Implemented by main/platform_esp.cpp on the ESP32-S3 and by the host tests; no ESP-IDF types here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil {

// Where a buffer lives. Values are the protocol's `placement` enumeration (PROTOCOL.md section 4).
enum class Placement : uint8_t { None = 0, Internal = 1, Psram = 2, Flash = 3 };

// heap_caps_* figures for one memory kind (PROTOCOL.md "Memory report").
struct HeapFigures {
  uint32_t total = 0;
  uint32_t free = 0;
  uint32_t minimumFree = 0;
  uint32_t largestFree = 0;
};

// The build and chip identity sent in HELLO / INFO (PROTOCOL.md "Identity"). Strings are
// NUL-terminated and live as long as the platform.
struct BoardIdentity {
  uint8_t resetReason = 0;  // esp_reset_reason_t
  uint8_t cores = 0;
  uint16_t chipRevision = 0;  // major * 100 + minor
  uint32_t flashSize = 0;
  uint32_t psramSize = 0;  // 0 = no PSRAM
  uint8_t mac[6] = {};
  uint8_t appSha256[32] = {};
  const char* chip = "";
  const char* variant = "";
  const char* kernelBackend = "";  // "reference" (NN_ANSI_C) or "esp-nn" (NN_OPTIMIZED)
  const char* appVersion = "";
  const char* projectName = "";
  const char* idfVersion = "";
  const char* tflmVersion = "";
  const char* espNnVersion = "";
  bool simulated = false;  // only a simulated or host board sets this
};

enum class ResetMode : uint8_t { App = 0, Download = 1 };

class Platform {
 public:
  virtual ~Platform() = default;

  // The CPU cycle counter of the core the caller runs on (esp_cpu_get_cycle_count(): 32 bits,
  // per core, wraps). Only meaningful when caller and counter stay on one core.
  virtual uint32_t cycleCount() = 0;
  // Monotonic microseconds since boot (esp_timer_get_time()).
  virtual uint64_t microseconds() = 0;
  // Current CPU clock in Hz.
  virtual uint32_t cpuHz() = 0;

  virtual const BoardIdentity& identity() = 0;
  virtual HeapFigures heap(Placement placement) = 0;
  // Size of the running app image in flash, 0 if unknown.
  virtual uint32_t imageSize() = 0;

  // A 16-byte aligned block of `bytes` at `placement` (Internal or Psram), nullptr if it does not
  // fit. Release with release().
  virtual void* allocate(size_t bytes, Placement placement) = 0;
  virtual void release(void* block) = 0;

  // Maps the first `bytes` of the `model` data partition read-only (a later call replaces the
  // earlier mapping) and stores the partition's size. nullptr if there is no partition or the
  // mapping failed.
  virtual const uint8_t* mapModelPartition(size_t bytes, size_t* partitionSize) = 0;
  virtual void unmapModelPartition() = 0;

  // esp_log_level_set(tag or "*", level).
  virtual void setLogLevel(const char* tag, uint8_t level) = 0;

  // Whether restart(ResetMode::Download) can bring up the ROM serial loader.
  virtual bool canResetToDownload() = 0;
  // Restarts the chip; on the board it does not return. Called after the OK reply was flushed.
  virtual void restart(ResetMode mode) = 0;
};

}  // namespace hil
