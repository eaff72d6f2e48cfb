// SHA-256 behind an interface: the board uses mbedtls on the SHA peripheral
// (main/sha256_mbedtls.cpp), the host tests use PortableSha256 (FIPS 180-4, checked against the
// NIST test vectors in test/host-app). Both hash incrementally, chunk by chunk, as a model arrives.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil {

constexpr size_t kSha256Bytes = 32;

class Sha256 {
 public:
  virtual ~Sha256() = default;
  virtual void begin() = 0;
  virtual void update(const uint8_t* data, size_t length) = 0;
  virtual void finish(uint8_t digest[kSha256Bytes]) = 0;
};

// Plain C++ implementation of FIPS 180-4 SHA-256 (written from the standard, section 6.2).
class PortableSha256 final : public Sha256 {
 public:
  PortableSha256() { begin(); }
  void begin() override;
  void update(const uint8_t* data, size_t length) override;
  void finish(uint8_t digest[kSha256Bytes]) override;

 private:
  void compress(const uint8_t block[64]);
  uint32_t state_[8] = {};
  uint8_t block_[64] = {};
  size_t blockUsed_ = 0;
  uint64_t totalBytes_ = 0;
};

// Lower-case hex of a digest into `out` (65 bytes with the NUL).
void sha256Hex(const uint8_t digest[kSha256Bytes], char out[2 * kSha256Bytes + 1]);

}  // namespace hil
