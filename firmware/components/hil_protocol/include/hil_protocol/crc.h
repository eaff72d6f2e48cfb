// Checksums of the board protocol (firmware/protocol/PROTOCOL.md section 1).
// Plain C++17, no ESP-IDF headers, so the same code is tested on the host with g++.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil::protocol {

// CRC-32/ISO-HDLC (zlib, Ethernet): reflected 0xEDB88320, init and final xor 0xFFFFFFFF.
// Equals esp_rom_crc32_le(0, data, len) on the ESP32-S3 and zlib.crc32 on the host.
uint32_t Crc32(const uint8_t* data, size_t len);

// CRC-16/CCITT-FALSE: polynomial 0x1021, init 0xFFFF, not reflected, no final xor.
uint16_t Crc16(const uint8_t* data, size_t len);

}  // namespace hil::protocol
