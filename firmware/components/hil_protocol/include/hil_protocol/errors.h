// Error codes of the ERROR message (firmware/protocol/PROTOCOL.md section 5). The numbers are part
// of protocol v1: never renumber. harness/protocol/errors.ts has the same table.
#pragma once

#include <cstdint>

namespace hil::protocol {

enum class ErrorCode : uint16_t {
  kBadFrame = 1,             // frame CRC failed / payload does not match its type
  kUnknownCommand = 2,       // arg: the message type
  kUnsupportedVersion = 3,   // arg: the board's highest protocol version
  kBadState = 4,             // arg: state detail (e.g. bytes received)
  kBadArgument = 5,
  kBadOffset = 6,            // arg: the expected offset
  kModelShaMismatch = 7,
  kModelTooLarge = 8,        // arg: the largest size that fits
  kModelInvalid = 9,
  kModelPartitionEmpty = 10,
  kUnsupportedOp = 11,       // arg: builtin operator code
  kArenaTooSmall = 12,       // arg: bytes needed, 0 if unknown
  kOutOfMemory = 13,         // arg: largest free block / batch bytes
  kBadTensor = 14,           // arg: tensor index
  kInvokeFailed = 15,        // arg: inference index
  kUnsupported = 16,
  kBusy = 17,
  kInternal = 18,
};

// "BAD_FRAME", "ARENA_TOO_SMALL", ... or "UNKNOWN" for a number outside the table.
const char* ErrorCodeName(ErrorCode code);

}  // namespace hil::protocol
