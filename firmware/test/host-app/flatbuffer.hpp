// A bounds-checked FlatBuffers reader, just enough to walk a .tflite file (schema:
// tensorflow/lite/schema/schema.fbs) on the host. Every access is checked against the buffer:
// a corrupt or hostile model yields "absent" fields, never a read out of bounds.
//
// Binary layout (FlatBuffers internals, flatbuffers.dev "Internals"): a table starts with an i32
// offset back to its vtable; the vtable is u16 vtable size, u16 table size, then one u16 field
// offset per field id (0 = absent). Vectors and strings are reached by a u32 offset relative to
// the field, and start with a u32 element count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fb {

class Buffer {
 public:
  Buffer(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool has(size_t at, size_t n) const { return at <= size_ && n <= size_ - at; }
  template <typename T>
  T read(size_t at, T fallback = T{}) const {
    if (!has(at, sizeof(T))) return fallback;
    T v;
    std::memcpy(&v, data_ + at, sizeof(T));  // little-endian host (x86-64, Xtensa)
    return v;
  }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
};

class Table;

// A vector of scalars or of offsets to tables.
class Vector {
 public:
  Vector() = default;
  Vector(const Buffer* buf, size_t at, size_t count) : buf_(buf), at_(at), count_(count) {}
  size_t size() const { return count_; }
  bool valid() const { return buf_ != nullptr; }
  template <typename T>
  T scalar(size_t i, T fallback = T{}) const {
    return i < count_ ? buf_->read<T>(at_ + i * sizeof(T), fallback) : fallback;
  }
  Table table(size_t i) const;
  // Pointer to the raw elements (count * elementSize bytes, bounds-checked), or nullptr.
  const uint8_t* bytes(size_t elementSize) const {
    if (buf_ == nullptr || !buf_->has(at_, count_ * elementSize)) return nullptr;
    return buf_->data() + at_;
  }

 private:
  const Buffer* buf_ = nullptr;
  size_t at_ = 0;
  size_t count_ = 0;
};

class Table {
 public:
  Table() = default;
  Table(const Buffer* buf, size_t at) : buf_(buf), at_(at) {
    if (buf_ == nullptr || !buf_->has(at_, 4)) {
      buf_ = nullptr;
      return;
    }
    const int64_t vt = static_cast<int64_t>(at_) - buf_->read<int32_t>(at_);
    if (vt < 0 || !buf_->has(static_cast<size_t>(vt), 4)) {
      buf_ = nullptr;
      return;
    }
    vtable_ = static_cast<size_t>(vt);
    vtableSize_ = buf_->read<uint16_t>(vtable_);
    if (vtableSize_ < 4 || !buf_->has(vtable_, vtableSize_)) buf_ = nullptr;
  }
  bool valid() const { return buf_ != nullptr; }

  // Absolute position of field `id`, or 0 when absent.
  size_t field(unsigned id) const {
    if (buf_ == nullptr) return 0;
    const size_t slot = 4 + 2 * static_cast<size_t>(id);
    if (slot + 2 > vtableSize_) return 0;
    const uint16_t off = buf_->read<uint16_t>(vtable_ + slot);
    return off == 0 ? 0 : at_ + off;
  }
  template <typename T>
  T scalar(unsigned id, T fallback = T{}) const {
    const size_t at = field(id);
    return at == 0 ? fallback : buf_->read<T>(at, fallback);
  }
  Table table(unsigned id) const {
    const size_t at = field(id);
    if (at == 0 || !buf_->has(at, 4)) return Table();
    return Table(buf_, at + buf_->read<uint32_t>(at));
  }
  Vector vector(unsigned id) const {
    const size_t at = field(id);
    if (at == 0 || !buf_->has(at, 4)) return Vector();
    const size_t start = at + buf_->read<uint32_t>(at);
    if (!buf_->has(start, 4)) return Vector();
    const uint32_t count = buf_->read<uint32_t>(start);
    // Reject counts that cannot fit: no element is smaller than one byte.
    if (!buf_->has(start + 4, count)) return Vector();
    return Vector(buf_, start + 4, count);
  }

 private:
  const Buffer* buf_ = nullptr;
  size_t at_ = 0;
  size_t vtable_ = 0;
  size_t vtableSize_ = 0;
  friend class Vector;
};

inline Table Vector::table(size_t i) const {
  if (i >= count_) return Table();
  const size_t at = at_ + i * 4;
  if (!buf_->has(at, 4)) return Table();
  return Table(buf_, at + buf_->read<uint32_t>(at));
}

inline Table root(const Buffer& buf) {
  if (!buf.has(0, 4)) return Table();
  return Table(&buf, buf.read<uint32_t>(0));
}

}  // namespace fb
