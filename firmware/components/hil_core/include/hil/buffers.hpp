// Buffers the command handler owns: the uploaded model, the tensor arena, the accuracy batch and
// its outputs. All come from Platform::allocate (heap_caps_aligned_alloc on the board) with a
// placement, are 16-byte aligned, and are assembled from chunks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hil/platform.hpp"
#include "hil/sha256.hpp"

namespace hil {

// TFLM wants the tensor arena and the model flatbuffer 16-byte aligned
// (tflite-micro micro_arena_constants.h: MicroArenaBufferAlignment() == 16).
constexpr size_t kBufferAlignment = 16;

inline bool isAligned(const void* p, size_t alignment = kBufferAlignment) {
  return (reinterpret_cast<uintptr_t>(p) % alignment) == 0;
}

// The largest block that an aligned allocation can still get from a heap whose largest free
// block is `largestFree`: heap_caps_aligned_alloc may spend up to alignment - 1 bytes to align
// and the heap keeps a small header, so the answer is conservative (rounded down to 16).
uint32_t largestAlignedAllocation(uint32_t largestFree);

// One allocation from the platform, released on destruction or on the next allocate().
class Block {
 public:
  enum class Status : uint8_t { Ok, BadArgument, OutOfMemory, Misaligned };

  Block() = default;
  ~Block() { release(); }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // `placement` must be Internal or Psram and `bytes` > 0 (BadArgument otherwise). On failure
  // the block is empty.
  Status allocate(Platform& platform, uint32_t bytes, Placement placement);
  void release();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  uint32_t size() const { return size_; }
  Placement placement() const { return placement_; }
  bool empty() const { return data_ == nullptr; }

 private:
  Platform* platform_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  Placement placement_ = Placement::None;
};

// A buffer filled by chunks that must arrive in order (MODEL_CHUNK, ACCURACY_INPUT): each chunk
// starts at next() and may not pass the end. Optionally hashes the bytes as they arrive.
class SequentialUpload {
 public:
  enum class Result : uint8_t { Ok, BadOffset, PastEnd, NotStarted };

  void begin(uint8_t* destination, uint32_t size, Sha256* hash);
  void clear();
  Result write(uint32_t offset, const uint8_t* data, size_t length);

  bool started() const { return destination_ != nullptr; }
  uint32_t next() const { return next_; }
  uint32_t size() const { return size_; }
  bool complete() const { return started() && next_ == size_; }

 private:
  uint8_t* destination_ = nullptr;
  uint32_t size_ = 0;
  uint32_t next_ = 0;
  Sha256* hash_ = nullptr;
};

// Writes `length` bytes at `offset` into a buffer of `capacity` bytes (SET_INPUT: any order,
// any coverage). false, and nothing written, when the range does not fit.
bool writeRange(uint8_t* buffer, uint32_t capacity, uint32_t offset, const uint8_t* data,
                size_t length);

// true when [offset, offset + length) lies inside `capacity` bytes (no overflow).
bool rangeFits(uint32_t capacity, uint32_t offset, uint64_t length);

}  // namespace hil
