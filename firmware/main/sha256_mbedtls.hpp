// hil::Sha256 on mbedtls (ESP-IDF 5.x ships mbedtls 3.x; with CONFIG_MBEDTLS_HARDWARE_SHA the
// S3's SHA peripheral does the work).
#pragma once

#include "hil/sha256.hpp"
#include "mbedtls/sha256.h"

namespace hil::board {

class MbedtlsSha256 final : public hil::Sha256 {
 public:
  MbedtlsSha256() { mbedtls_sha256_init(&ctx_); }
  ~MbedtlsSha256() override { mbedtls_sha256_free(&ctx_); }
  MbedtlsSha256(const MbedtlsSha256&) = delete;
  MbedtlsSha256& operator=(const MbedtlsSha256&) = delete;

  // mbedtls returns non-zero only for hardware faults; a wrong digest then fails the SHA-256 check
  // of MODEL_END / MODEL_SELECT_PARTITION, which is the right outcome. Results are kept in a
  // variable because mbedtls may mark these functions warn_unused_result.
  void begin() override {
    const int rc = mbedtls_sha256_starts(&ctx_, 0 /* SHA-256, not SHA-224 */);
    (void)rc;
  }
  void update(const uint8_t* data, size_t length) override {
    const int rc = mbedtls_sha256_update(&ctx_, data, length);
    (void)rc;
  }
  void finish(uint8_t digest[hil::kSha256Bytes]) override {
    const int rc = mbedtls_sha256_finish(&ctx_, digest);
    (void)rc;
  }

 private:
  mbedtls_sha256_context ctx_;
};

}  // namespace hil::board
