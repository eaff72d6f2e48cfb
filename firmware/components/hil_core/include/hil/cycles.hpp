// Cycle-count arithmetic for latencies measured on the board.
//
// esp_cpu_get_cycle_count() is a 32-bit per-core counter: at 240 MHz it wraps every
// 2^32 / 240e6 = 17.9 s (FACTS.md "Timing"). A difference taken modulo 2^32 is exact for any
// interval shorter than one wrap, whatever the start value. Longer intervals are detected with the
// 64-bit esp_timer microseconds read next to the counter: PROTOCOL.md (INVOKE) reports such an
// inference as 0xFFFFFFFF, and reconcileCycles() recovers the full count for logs and checks.
#pragma once

#include <cstdint>

namespace hil {

constexpr uint32_t kCyclesOverflow = 0xFFFFFFFFu;

// end - start modulo 2^32.
constexpr uint32_t cyclesBetween(uint32_t start, uint32_t end) { return end - start; }

// Cycles the wall clock predicts for `wallUs` microseconds at `cpuHz` (no overflow below
// 2^64 / cpuHz microseconds, i.e. thousands of years).
uint64_t expectedCycles(uint64_t wallUs, uint32_t cpuHz);

// The full 64-bit cycle count of an interval: the modulo-2^32 difference plus the number of whole
// wraps that brings it closest to what the wall clock predicts.
uint64_t reconcileCycles(uint32_t start, uint32_t end, uint64_t wallUs, uint32_t cpuHz);

// What INVOKE_CYCLES carries for one inference: the exact cycles when the interval is shorter than
// one wrap, else kCyclesOverflow. A measured value that happens to equal 0xFFFFFFFF is reported
// as 0xFFFFFFFE, so the marker is never ambiguous (an error of 1 cycle in 17.9 s).
uint32_t reportedCycles(uint32_t start, uint32_t end, uint64_t wallUs, uint32_t cpuHz);

// Microseconds for `cycles` at `cpuHz`, rounded to nearest.
uint64_t cyclesToMicroseconds(uint64_t cycles, uint32_t cpuHz);

}  // namespace hil
