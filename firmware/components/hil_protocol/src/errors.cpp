#include "hil_protocol/errors.h"

namespace hil::protocol {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadFrame: return "BAD_FRAME";
    case ErrorCode::kUnknownCommand: return "UNKNOWN_COMMAND";
    case ErrorCode::kUnsupportedVersion: return "UNSUPPORTED_VERSION";
    case ErrorCode::kBadState: return "BAD_STATE";
    case ErrorCode::kBadArgument: return "BAD_ARGUMENT";
    case ErrorCode::kBadOffset: return "BAD_OFFSET";
    case ErrorCode::kModelShaMismatch: return "MODEL_SHA_MISMATCH";
    case ErrorCode::kModelTooLarge: return "MODEL_TOO_LARGE";
    case ErrorCode::kModelInvalid: return "MODEL_INVALID";
    case ErrorCode::kModelPartitionEmpty: return "MODEL_PARTITION_EMPTY";
    case ErrorCode::kUnsupportedOp: return "UNSUPPORTED_OP";
    case ErrorCode::kArenaTooSmall: return "ARENA_TOO_SMALL";
    case ErrorCode::kOutOfMemory: return "OUT_OF_MEMORY";
    case ErrorCode::kBadTensor: return "BAD_TENSOR";
    case ErrorCode::kInvokeFailed: return "INVOKE_FAILED";
    case ErrorCode::kUnsupported: return "UNSUPPORTED";
    case ErrorCode::kBusy: return "BUSY";
    case ErrorCode::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

}  // namespace hil::protocol
