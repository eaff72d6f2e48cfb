// hil::Platform on the ESP32-S3 (ESP-IDF >= 5.1).
#pragma once

#include "esp_partition.h"
#include "hil/platform.hpp"

namespace hil::board {

class EspPlatform final : public hil::Platform {
 public:
  EspPlatform();

  uint32_t cycleCount() override;
  uint64_t microseconds() override;
  uint32_t cpuHz() override;
  const BoardIdentity& identity() override { return identity_; }
  HeapFigures heap(Placement placement) override;
  uint32_t imageSize() override { return imageSize_; }
  void* allocate(size_t bytes, Placement placement) override;
  void release(void* block) override;
  const uint8_t* mapModelPartition(size_t bytes, size_t* partitionSize) override;
  void unmapModelPartition() override;
  void setLogLevel(const char* tag, uint8_t level) override;
  bool canResetToDownload() override { return true; }
  void restart(ResetMode mode) override;

 private:
  /** The CPU clock as the clock tree's registers read back (cross-checked against cpuHz() at boot). */
  static uint32_t clockTreeCpuHz();

  BoardIdentity identity_;
  uint32_t imageSize_ = 0;
  const esp_partition_t* modelPartition_ = nullptr;
  esp_partition_mmap_handle_t mapping_ = 0;
  bool mapped_ = false;
};

}  // namespace hil::board
