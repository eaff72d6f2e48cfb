// hil::Platform on the host: a cycle counter that advances by a settable amount per read (so wrap
// arithmetic can be driven across 2^32), esp_timer-like microseconds derived from it, two heaps
// with byte budgets (internal, PSRAM) that account every aligned allocation, a model partition
// held in memory, and records of restarts and log-level changes. Every number it reports is made
// here, so the identity says simulated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hil/platform.hpp"

namespace hil::host {

class HostPlatform final : public Platform {
 public:
  HostPlatform();
  ~HostPlatform() override;

  uint32_t cycleCount() override;
  uint64_t microseconds() override;
  uint32_t cpuHz() override { return cpuHz_; }
  const BoardIdentity& identity() override { return identity_; }
  HeapFigures heap(Placement placement) override;
  uint32_t imageSize() override { return 1234567; }
  void* allocate(size_t bytes, Placement placement) override;
  void release(void* block) override;
  const uint8_t* mapModelPartition(size_t bytes, size_t* partitionSize) override;
  void unmapModelPartition() override { mapped_ = false; }
  void setLogLevel(const char* tag, uint8_t level) override;
  bool canResetToDownload() override { return true; }
  void restart(ResetMode mode) override { restarts.push_back(mode); }

  // Test controls.
  void setCycleCounter(uint32_t value) { cycles_ = value; }
  // Cycles added on every cycleCount() read (for code that only reads the counter).
  void setCyclesPerRead(uint64_t cycles) { cyclesPerRead_ = cycles; }
  // Time passing: the host interpreter calls this for the work it does (HostRunner::setClock).
  void advanceCycles(uint64_t cycles);
  void setHeapBudget(Placement placement, uint32_t bytes);
  void setModelPartition(std::vector<uint8_t> bytes) { partition_ = std::move(bytes); }
  void removeModelPartition() { partition_.clear(); hasPartition_ = false; }
  size_t liveAllocations() const { return blocks_.size(); }
  bool partitionMapped() const { return mapped_; }

  std::vector<ResetMode> restarts;
  std::vector<std::pair<std::string, uint8_t>> logLevels;

 private:
  struct HostBlock {
    void* p;
    size_t bytes;
    Placement placement;
  };
  struct Heap {
    uint32_t budget = 0;
    uint32_t used = 0;
    uint32_t peak = 0;
  };
  Heap& heapFor(Placement placement);

  BoardIdentity identity_;
  uint32_t cpuHz_ = 240000000;
  uint32_t cycles_ = 0;
  uint64_t cyclesPerRead_ = 0;
  uint64_t totalCycles_ = 0;  // unwrapped, for microseconds()
  Heap internal_;
  Heap psram_;
  std::vector<HostBlock> blocks_;
  std::vector<uint8_t> partition_;
  bool hasPartition_ = true;
  bool mapped_ = false;
};

}  // namespace hil::host
