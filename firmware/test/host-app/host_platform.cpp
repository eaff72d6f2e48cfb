#include "host_platform.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace hil::host {

HostPlatform::HostPlatform() {
  identity_.resetReason = 1;  // poweron
  identity_.cores = 2;
  identity_.chipRevision = 2;
  identity_.flashSize = 8u << 20;
  identity_.psramSize = 8u << 20;
  const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  std::memcpy(identity_.mac, mac, 6);
  for (size_t i = 0; i < 32; ++i) identity_.appSha256[i] = static_cast<uint8_t>(i);
  identity_.chip = "esp32s3";
  identity_.variant = "host";
  identity_.kernelBackend = "reference";
  identity_.appVersion = "host-test";
  identity_.projectName = "hil_bench";
  identity_.idfVersion = "none (host build)";
  identity_.tflmVersion = "none (host interpreter)";
  identity_.espNnVersion = "none";
  identity_.simulated = true;
  internal_.budget = 320u * 1024;
  psram_.budget = 8u << 20;
}

HostPlatform::~HostPlatform() {
  for (const auto& b : blocks_) std::free(b.p);
}

uint32_t HostPlatform::cycleCount() {
  const uint32_t now = cycles_;
  cycles_ = static_cast<uint32_t>(cycles_ + cyclesPerRead_);
  totalCycles_ += cyclesPerRead_;
  return now;
}

void HostPlatform::advanceCycles(uint64_t cycles) {
  cycles_ = static_cast<uint32_t>(cycles_ + cycles);
  totalCycles_ += cycles;
}

uint64_t HostPlatform::microseconds() { return totalCycles_ / (cpuHz_ / 1000000u); }

HostPlatform::Heap& HostPlatform::heapFor(Placement placement) {
  return placement == Placement::Psram ? psram_ : internal_;
}

void HostPlatform::setHeapBudget(Placement placement, uint32_t bytes) {
  heapFor(placement).budget = bytes;
}

HeapFigures HostPlatform::heap(Placement placement) {
  HeapFigures f;
  if (placement != Placement::Internal && placement != Placement::Psram) return f;
  const Heap& h = heapFor(placement);
  f.total = h.budget;
  f.free = h.budget - h.used;
  f.minimumFree = h.budget - h.peak;
  f.largestFree = f.free;
  return f;
}

void* HostPlatform::allocate(size_t bytes, Placement placement) {
  if (placement != Placement::Internal && placement != Placement::Psram) return nullptr;
  Heap& h = heapFor(placement);
  if (bytes > h.budget - h.used) return nullptr;
  const size_t rounded = (bytes + 15) & ~size_t{15};
  void* p = std::aligned_alloc(16, rounded == 0 ? 16 : rounded);
  if (p == nullptr) return nullptr;
  std::memset(p, 0xA5, rounded);  // like a heap: never zeroed
  h.used += static_cast<uint32_t>(bytes);
  h.peak = std::max(h.peak, h.used);
  blocks_.push_back({p, bytes, placement});
  return p;
}

void HostPlatform::release(void* block) {
  auto it = std::find_if(blocks_.begin(), blocks_.end(), [&](const HostBlock& b) { return b.p == block; });
  if (it == blocks_.end()) std::abort();  // releasing what was never allocated is a handler bug
  heapFor(it->placement).used -= static_cast<uint32_t>(it->bytes);
  std::free(it->p);
  blocks_.erase(it);
}

const uint8_t* HostPlatform::mapModelPartition(size_t bytes, size_t* partitionSize) {
  if (!hasPartition_ || partition_.empty()) return nullptr;
  *partitionSize = partition_.size();
  if (bytes > partition_.size()) return nullptr;
  mapped_ = true;
  return partition_.data();
}

void HostPlatform::setLogLevel(const char* tag, uint8_t level) { logLevels.emplace_back(tag, level); }

}  // namespace hil::host
