// Little-endian field writer and reader for message payloads (PROTOCOL.md, conventions).
// Both never write or read out of bounds: the first failure makes ok() false and every later call a
// no-op returning 0, so encoders and decoders check once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hil::protocol {

class Writer {
 public:
  Writer(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap), pos_(0), ok_(true) {}

  void U8(uint8_t v) { Put(v, 1); }
  void U16(uint16_t v) { Put(v, 2); }
  void U32(uint32_t v) { Put(v, 4); }
  void U64(uint64_t v) { Put(v, 8); }
  void I32(int32_t v) { Put(static_cast<uint32_t>(v), 4); }
  void F32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    Put(bits, 4);
  }
  void Raw(const uint8_t* data, size_t len) {
    if (!Room(len)) return;
    if (len > 0) std::memcpy(buf_ + pos_, data, len);
    pos_ += len;
  }
  void Fail() { ok_ = false; }

  bool ok() const { return ok_; }
  size_t size() const { return pos_; }

 private:
  bool Room(size_t n) {
    if (!ok_ || n > cap_ - pos_) ok_ = false;
    return ok_;
  }
  void Put(uint64_t v, size_t n) {
    if (!Room(n)) return;
    for (size_t i = 0; i < n; i++) buf_[pos_ + i] = static_cast<uint8_t>(v >> (8 * i));
    pos_ += n;
  }

  uint8_t* buf_;
  size_t cap_;
  size_t pos_;
  bool ok_;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t len) : data_(data), len_(len), pos_(0), ok_(true) {}

  uint8_t U8() { return static_cast<uint8_t>(Get(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Get(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Get(4)); }
  uint64_t U64() { return Get(8); }
  int32_t I32() { return static_cast<int32_t>(static_cast<uint32_t>(Get(4))); }
  float F32() {
    const uint32_t bits = static_cast<uint32_t>(Get(4));
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  // `len` bytes in place; nullptr (and !ok()) if the payload is shorter.
  const uint8_t* Raw(size_t len) {
    if (!ok_ || len > len_ - pos_) {
      ok_ = false;
      return nullptr;
    }
    const uint8_t* p = data_ + pos_;
    pos_ += len;
    return p;
  }
  void Fail() { ok_ = false; }

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? len_ - pos_ : 0; }
  bool AtEnd() const { return ok_ && pos_ == len_; }

 private:
  uint64_t Get(size_t n) {
    const uint8_t* p = Raw(n);
    if (p == nullptr) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }

  const uint8_t* data_;
  size_t len_;
  size_t pos_;
  bool ok_;
};

}  // namespace hil::protocol
