#include "hil/cycles.hpp"

namespace hil {

namespace {
constexpr uint64_t kWrap = uint64_t{1} << 32;
constexpr uint64_t kMicrosPerSecond = 1000000u;
}  // namespace

uint64_t expectedCycles(uint64_t wallUs, uint32_t cpuHz) {
  // Split cpuHz into MHz and the remainder so the product stays in 64 bits.
  const uint64_t mhz = cpuHz / kMicrosPerSecond;
  const uint64_t rest = cpuHz % kMicrosPerSecond;
  return wallUs * mhz + (wallUs * rest) / kMicrosPerSecond;
}

uint64_t reconcileCycles(uint32_t start, uint32_t end, uint64_t wallUs, uint32_t cpuHz) {
  const uint64_t low = cyclesBetween(start, end);
  const uint64_t expected = expectedCycles(wallUs, cpuHz);
  if (expected <= low) return low;
  // Whole wraps, rounded to nearest: esp_timer and the cycle counter are read a few instructions
  // apart, so the prediction is off by far less than half a wrap.
  const uint64_t wraps = (expected - low + kWrap / 2) / kWrap;
  return low + wraps * kWrap;
}

uint32_t reportedCycles(uint32_t start, uint32_t end, uint64_t wallUs, uint32_t cpuHz) {
  const uint64_t full = reconcileCycles(start, end, wallUs, cpuHz);
  if (full >= kWrap) return kCyclesOverflow;
  const uint32_t cycles = static_cast<uint32_t>(full);
  return cycles == kCyclesOverflow ? kCyclesOverflow - 1 : cycles;
}

uint64_t cyclesToMicroseconds(uint64_t cycles, uint32_t cpuHz) {
  if (cpuHz == 0) return 0;
  // Whole seconds first: cycles * 1e6 would pass 2^64 after 1.8e13 cycles, 21 hours at 240 MHz
  // (a long INVOKE's total). The remainder is below cpuHz < 2^32, so remainder * 1e6 fits.
  const uint64_t seconds = cycles / cpuHz;
  const uint64_t remainder = cycles % cpuHz;
  return seconds * kMicrosPerSecond + (remainder * kMicrosPerSecond + cpuHz / 2) / cpuHz;
}

}  // namespace hil
