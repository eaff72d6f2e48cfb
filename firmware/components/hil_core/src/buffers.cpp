#include "hil/buffers.hpp"

#include <cstring>

namespace hil {

uint32_t largestAlignedAllocation(uint32_t largestFree) {
  // heap_caps_aligned_alloc over-allocates by up to (alignment - 1) and the TLSF heap of IDF 5.x
  // keeps a block header of a few words: reserve one alignment unit plus 16 bytes of header.
  constexpr uint32_t kOverhead = kBufferAlignment + 16;
  if (largestFree <= kOverhead) return 0;
  return (largestFree - kOverhead) & ~static_cast<uint32_t>(kBufferAlignment - 1);
}

Block::Status Block::allocate(Platform& platform, uint32_t bytes, Placement placement) {
  release();
  if (bytes == 0 || (placement != Placement::Internal && placement != Placement::Psram)) {
    return Status::BadArgument;
  }
  void* p = platform.allocate(bytes, placement);
  if (p == nullptr) return Status::OutOfMemory;
  if (!isAligned(p)) {
    // A platform bug: never hand TFLM a misaligned arena or model.
    platform.release(p);
    return Status::Misaligned;
  }
  platform_ = &platform;
  data_ = static_cast<uint8_t*>(p);
  size_ = bytes;
  placement_ = placement;
  return Status::Ok;
}

void Block::release() {
  if (data_ != nullptr && platform_ != nullptr) platform_->release(data_);
  platform_ = nullptr;
  data_ = nullptr;
  size_ = 0;
  placement_ = Placement::None;
}

void SequentialUpload::begin(uint8_t* destination, uint32_t size, Sha256* hash) {
  destination_ = destination;
  size_ = size;
  next_ = 0;
  hash_ = hash;
  if (hash_ != nullptr) hash_->begin();
}

void SequentialUpload::clear() {
  destination_ = nullptr;
  size_ = 0;
  next_ = 0;
  hash_ = nullptr;
}

SequentialUpload::Result SequentialUpload::write(uint32_t offset, const uint8_t* data,
                                                 size_t length) {
  if (!started()) return Result::NotStarted;
  if (offset != next_) return Result::BadOffset;
  if (!rangeFits(size_, offset, length)) return Result::PastEnd;
  if (length > 0) {
    std::memcpy(destination_ + offset, data, length);
    if (hash_ != nullptr) hash_->update(data, length);
  }
  next_ = offset + static_cast<uint32_t>(length);
  return Result::Ok;
}

bool rangeFits(uint32_t capacity, uint32_t offset, uint64_t length) {
  return offset <= capacity && length <= static_cast<uint64_t>(capacity - offset);
}

bool writeRange(uint8_t* buffer, uint32_t capacity, uint32_t offset, const uint8_t* data,
                size_t length) {
  if (!rangeFits(capacity, offset, length)) return false;
  if (length > 0) std::memcpy(buffer + offset, data, length);
  return true;
}

}  // namespace hil
