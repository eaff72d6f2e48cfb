// Checks on model bytes before an interpreter sees them.
//
// The `model` data partition holds a model image (PROTOCOL.md "Model upload and the model
// partition"): a 64-byte header - magic "HILMODEL", size u32 LE, 20 reserved zero bytes, the
// model's SHA-256 - followed by the model at offset 64, which keeps it 16-byte aligned inside the
// 64 KiB-aligned mapping.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hil/sha256.hpp"

namespace hil {

constexpr size_t kModelImageHeaderBytes = 64;

struct ModelImageHeader {
  uint32_t modelBytes = 0;
  uint8_t sha256[kSha256Bytes] = {};
};

enum class ModelImageStatus : uint8_t {
  Ok,
  Empty,    // no magic: an erased or foreign partition (MODEL_PARTITION_EMPTY)
  BadSize,  // size 0 or larger than the partition holds (MODEL_INVALID)
};

// Parses the header at the start of a partition of `partitionBytes` bytes (`header` holds at least
// kModelImageHeaderBytes bytes).
ModelImageStatus parseModelImageHeader(const uint8_t* header, size_t partitionBytes,
                                       ModelImageHeader* out);

// true when `model` starts a TFLite flatbuffer: file identifier "TFL3" at offset 4
// (tensorflow/lite/schema/schema.fbs `file_identifier "TFL3"`).
bool hasTfliteIdentifier(const uint8_t* model, size_t bytes);

}  // namespace hil
