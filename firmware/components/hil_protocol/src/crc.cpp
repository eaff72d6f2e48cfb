// Table-driven CRCs, one byte per step; the tables are computed at compile time (they end up in
// flash on the ESP32-S3). PROTOCOL.md section 1 gives the parameters and check values.
#include "hil_protocol/crc.h"

namespace hil::protocol {
namespace {

struct Crc32Table {
  uint32_t v[256];
  constexpr Crc32Table() : v() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
      v[n] = c;
    }
  }
};

struct Crc16Table {
  uint16_t v[256];
  constexpr Crc16Table() : v() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n << 8;
      for (int k = 0; k < 8; k++) c = (c & 0x8000u) ? (((c << 1) ^ 0x1021u) & 0xFFFFu) : ((c << 1) & 0xFFFFu);
      v[n] = static_cast<uint16_t>(c);
    }
  }
};

constexpr Crc32Table kCrc32;
constexpr Crc16Table kCrc16;

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t len) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) c = kCrc32.v[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint16_t Crc16(const uint8_t* data, size_t len) {
  uint32_t c = 0xFFFFu;
  for (size_t i = 0; i < len; i++) c = ((c << 8) & 0xFFFFu) ^ kCrc16.v[((c >> 8) ^ data[i]) & 0xFFu];
  return static_cast<uint16_t>(c);
}

}  // namespace hil::protocol
