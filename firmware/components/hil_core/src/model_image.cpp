#include "hil/model_image.hpp"

#include <cstring>

namespace hil {

ModelImageStatus parseModelImageHeader(const uint8_t* header, size_t partitionBytes,
                                       ModelImageHeader* out) {
  static constexpr char kMagic[8] = {'H', 'I', 'L', 'M', 'O', 'D', 'E', 'L'};
  if (partitionBytes < kModelImageHeaderBytes || std::memcmp(header, kMagic, 8) != 0) {
    return ModelImageStatus::Empty;
  }
  const uint32_t size = uint32_t{header[8]} | (uint32_t{header[9]} << 8) |
                        (uint32_t{header[10]} << 16) | (uint32_t{header[11]} << 24);
  if (size == 0 || size > partitionBytes - kModelImageHeaderBytes) return ModelImageStatus::BadSize;
  out->modelBytes = size;
  std::memcpy(out->sha256, header + 32, kSha256Bytes);
  return ModelImageStatus::Ok;
}

bool hasTfliteIdentifier(const uint8_t* model, size_t bytes) {
  return bytes >= 8 && model[4] == 'T' && model[5] == 'F' && model[6] == 'L' && model[7] == '3';
}

}  // namespace hil
