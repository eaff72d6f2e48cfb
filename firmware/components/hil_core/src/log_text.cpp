#include "hil/log_text.hpp"

#include <cstring>

namespace hil {

void LineAssembler::write(const char* data, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    const char c = data[i];
    if (c == '\n') {
      if (used_ > 0 && line_[used_ - 1] == '\r') --used_;
      emit();
      continue;
    }
    if (used_ == kMaxLine) emit();
    line_[used_++] = c;
  }
}

void LineAssembler::flush() {
  if (used_ > 0) {
    if (line_[used_ - 1] == '\r') --used_;
    emit();
  }
}

void LineAssembler::emit() {
  sink_(context_, line_, used_);
  used_ = 0;
}

uint32_t parseArenaShortfall(const char* line, size_t length) {
  static constexpr char kKey[] = "missing: ";
  constexpr size_t kKeyLength = sizeof(kKey) - 1;
  if (length < kKeyLength) return 0;
  for (size_t at = 0; at + kKeyLength <= length; ++at) {
    if (std::memcmp(line + at, kKey, kKeyLength) != 0) continue;
    uint64_t value = 0;
    size_t i = at + kKeyLength;
    size_t digits = 0;
    while (i < length && line[i] >= '0' && line[i] <= '9' && digits < 10) {
      value = value * 10 + static_cast<uint64_t>(line[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || value > 0xFFFFFFFFu) return 0;
    return static_cast<uint32_t>(value);
  }
  return 0;
}

}  // namespace hil
