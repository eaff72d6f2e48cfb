#include "hil/op_profile.hpp"

#include "hil/platform.hpp"

namespace hil {

void OpProfiler::start() {
  count_ = 0;
  dropped_ = 0;
  active_ = true;
}

uint32_t OpProfiler::begin(const char* name) {
  if (!active_) return kNoEvent;
  if (count_ >= kMaxEvents) {
    ++dropped_;
    return kNoEvent;
  }
  OpEvent& e = events_[count_];
  e.name = name != nullptr ? name : "";
  e.cycles = 0;
  const uint32_t handle = static_cast<uint32_t>(count_++);
  // Read the counter last, so the bookkeeping above is not charged to the operator.
  e.begin = platform_.cycleCount();
  return handle;
}

void OpProfiler::end(uint32_t handle) {
  const uint32_t now = platform_.cycleCount();
  if (handle == kNoEvent || handle >= count_) return;
  // Modulo 2^32, like every cycle difference (see cycles.hpp).
  events_[handle].cycles = now - events_[handle].begin;
}

}  // namespace hil
