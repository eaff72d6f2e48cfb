// Messages of the board protocol v1 (firmware/protocol/PROTOCOL.md section 4): the board decodes
// requests and encodes replies with this; replies decode too, so host tests can check both ways
// against firmware/protocol/golden/messages.json (the TypeScript codec reads the same file).
//
// Decoded messages are views: strings, byte arrays and lists point into the payload they were
// decoded from, so decoding never copies or allocates. Keep the frame buffer alive while using
// them. To encode, fill the same structs; lists then point at your own arrays (`items`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hil_protocol/frame.h"

namespace hil::protocol {

enum class MessageType : uint8_t {
  // Requests, host to board.
  kPing = 0x01,
  kGetInfo = 0x02,
  kNegotiate = 0x03,
  kReset = 0x04,
  kLogLevel = 0x05,
  kMemoryReport = 0x06,
  kModelBegin = 0x10,
  kModelChunk = 0x11,
  kModelEnd = 0x12,
  kModelSelectPartition = 0x13,
  kArenaConfig = 0x14,
  kSetInput = 0x15,
  kInvoke = 0x16,
  kGetOutput = 0x17,
  kAccuracyBegin = 0x18,
  kAccuracyInput = 0x19,
  kAccuracyRun = 0x1A,
  kSimSetVariant = 0x70,  // simulated boards only; real firmware answers ERROR UNSUPPORTED
  // Replies and events, board to host.
  kHello = 0x80,
  kPong = 0x81,
  kInfo = 0x82,
  kNegotiated = 0x83,
  kOk = 0x84,
  kError = 0x85,
  kMemory = 0x86,
  kChunkAck = 0x90,
  kModelReady = 0x91,
  kArenaReady = 0x92,
  kInvokeCycles = 0x93,
  kInvokeProfile = 0x94,
  kInvokeResult = 0x95,
  kOutputData = 0x96,
  kAccuracyOutput = 0x97,
  kAccuracyResult = 0x98,
};

// Lower-case name as in the spec's JSON ("model_begin"), or nullptr for an unknown code.
const char* MessageTypeName(MessageType type);
bool IsKnownMessageType(uint8_t code);

enum class Placement : uint8_t { kNone = 0, kInternal = 1, kPsram = 2, kFlash = 3 };
enum class ModelSource : uint8_t { kUpload = 0, kPartition = 1 };
enum class ResetMode : uint8_t { kApp = 0, kDownload = 1 };
enum class LogLevel : uint8_t { kNone = 0, kError = 1, kWarn = 2, kInfo = 3, kDebug = 4, kVerbose = 5 };

constexpr uint8_t kInvokeFlagProfile = 0x01;
constexpr uint8_t kHelloFlagSimulated = 0x01;
constexpr size_t kMaxTensors = 16;  // per list in ARENA_READY
constexpr size_t kMaxRank = 8;
constexpr uint8_t kMaxDtype = 18;  // TFLite schema TensorType BFLOAT16

// A string view: UTF-8, not NUL-terminated, at most 255 bytes (the wire's u8 length).
struct Str {
  const char* data;
  uint8_t len;

  // At most 255 bytes of `s`, cut at a UTF-8 character boundary. nullptr gives "".
  static Str From(const char* s);
  static Str From(const char* s, size_t len);
};

struct Bytes {
  const uint8_t* data;
  size_t len;
};

struct Sha256 {
  uint8_t bytes[32];
};

struct Mac {
  uint8_t bytes[6];
};

// HELLO and INFO.
struct Identity {
  uint8_t protocol_min;
  uint8_t protocol_max;
  uint16_t max_payload;
  uint8_t rx_window;
  bool simulated;
  uint8_t reset_reason;  // esp_reset_reason_t
  uint8_t cores;
  uint16_t chip_revision;  // major * 100 + minor
  uint16_t cpu_mhz;
  uint32_t flash_size;
  uint32_t psram_size;
  uint32_t uptime_ms;
  Mac mac;
  Sha256 app_sha256;  // esp_app_desc_t.app_elf_sha256
  Str chip;
  Str variant;
  Str kernel_backend;  // "reference" or "esp-nn"
  Str app_version;
  Str project_name;
  Str idf_version;
  Str tflm_version;
  Str esp_nn_version;
};

struct HeapStats {
  uint32_t total;
  uint32_t free;
  uint32_t min_free;
  uint32_t largest_free;
};

struct TensorInfo {
  uint8_t dtype;  // TFLite schema TensorType (not TfLiteType: float32 is 0 here)
  uint32_t bytes;
  uint8_t rank;
  int32_t dims[kMaxRank];
  float scale;  // 0 when not quantized
  int32_t zero_point;
};

// Encoding: `items` points at `count` TensorInfo. Decoded: `raw` points at the `raw_len` bytes of
// the entries in the payload.
struct TensorList {
  const TensorInfo* items;
  const uint8_t* raw;
  uint8_t count;
  size_t raw_len;
  bool Get(size_t i, TensorInfo* out) const;
};

// Encoding: `items`. Decoded: `raw` (little-endian u32 values in the payload).
struct U32List {
  const uint32_t* items;
  const uint8_t* raw;
  uint16_t count;
  uint32_t Get(size_t i) const;
};

struct ProfileEntry {
  uint16_t op_index;
  uint32_t cycles;
  Str name;  // kernel name, e.g. "CONV_2D"
};

// Encoding: `items`. Decoded: `raw` points at the `raw_len` bytes of the entries in the payload.
struct ProfileList {
  const ProfileEntry* items;
  const uint8_t* raw;
  uint16_t count;
  size_t raw_len;
  bool Get(size_t i, ProfileEntry* out) const;  // O(i) when decoded
};

// --- bodies ---------------------------------------------------------------------------------------

struct DataBody { Bytes data; };                                   // PING, PONG
struct NegotiateBody { Bytes versions; };                          // u8 each
struct ResetBody { ResetMode mode; };
struct LogLevelBody { LogLevel level; Str tag; };                  // empty tag: all tags
struct ModelBeginBody { uint32_t size; Sha256 sha256; Placement destination; };
struct ChunkBody { uint32_t offset; Bytes data; };                 // MODEL_CHUNK, ACCURACY_INPUT
struct ArenaConfigBody { uint32_t size; Placement placement; };
struct SetInputBody { uint8_t tensor; uint32_t offset; Bytes data; };
struct InvokeBody { uint32_t warmup; uint32_t measured; bool profile; };
struct GetOutputBody { uint8_t tensor; uint32_t offset; uint32_t length; };  // 0xFFFFFFFF: to the end
struct AccuracyBeginBody { uint32_t samples; uint32_t sample_bytes; };
struct SimSetVariantBody { Str variant; };
struct NegotiatedBody { uint8_t version; };
struct ErrorBody { uint16_t code; uint32_t arg; Str message; };    // code: ErrorCode
struct MemoryBody {
  uint32_t arena_size;
  uint32_t arena_used;
  Placement arena_placement;
  uint32_t model_size;
  Placement model_placement;
  uint32_t image_size;
  HeapStats internal;
  HeapStats psram;
};
struct ChunkAckBody { uint32_t next_offset; };
struct ModelReadyBody { uint32_t size; Sha256 sha256; ModelSource source; Placement placement; };
struct ArenaReadyBody { uint32_t size; Placement placement; uint32_t used; TensorList inputs; TensorList outputs; };
struct InvokeCyclesBody { uint32_t first; U32List cycles; };       // at most 1023 per frame
struct InvokeProfileBody { ProfileList entries; };
struct InvokeResultBody { uint32_t warmup; uint32_t measured; uint16_t cpu_mhz; uint64_t total_cycles; uint64_t wall_us; };
struct OutputDataBody { uint8_t tensor; uint32_t offset; uint32_t total; Bytes data; };
struct AccuracyOutputBody { uint32_t offset; uint32_t total; Bytes data; };
struct AccuracyResultBody { uint32_t samples; uint32_t output_bytes; };

// A message: header fields and the body of `type` (the union member named after it; empty bodies
// have none).
struct Message {
  MessageType type;
  uint16_t request_id;
  bool simulated;  // header flag kFlagSimulated
  bool more;       // header flag kFlagMore

  union Body {
    DataBody ping;
    DataBody pong;
    NegotiateBody negotiate;
    ResetBody reset;
    LogLevelBody log_level;
    ModelBeginBody model_begin;
    ChunkBody model_chunk;
    ArenaConfigBody arena_config;
    SetInputBody set_input;
    InvokeBody invoke;
    GetOutputBody get_output;
    AccuracyBeginBody accuracy_begin;
    ChunkBody accuracy_input;
    SimSetVariantBody sim_set_variant;
    Identity hello;
    Identity info;
    NegotiatedBody negotiated;
    ErrorBody error;
    MemoryBody memory;
    ChunkAckBody chunk_ack;
    ModelReadyBody model_ready;
    ArenaReadyBody arena_ready;
    InvokeCyclesBody invoke_cycles;
    InvokeProfileBody invoke_profile;
    InvokeResultBody invoke_result;
    OutputDataBody output_data;
    AccuracyOutputBody accuracy_output;
    AccuracyResultBody accuracy_result;
  } body;

  Message() : Message(MessageType::kOk, 0) {}
  Message(MessageType t, uint16_t id) : type(t), request_id(id), simulated(false), more(false) {
    std::memset(&body, 0, sizeof body);
  }
};

// Writes the payload of `msg` to `out`; false when it does not fit in `cap` or a field is out of
// range (an enumeration value, more than kMaxTensors tensors, rank above kMaxRank, ...).
bool EncodeBody(const Message& msg, uint8_t* out, size_t cap, size_t* len);

// Writes the complete frame of `msg`. Returns its length, or 0 as EncodeBody fails. A buffer of
// kMaxFrame bytes always suffices for a valid message.
size_t EncodeMessage(const Message& msg, uint8_t* out, size_t cap, uint8_t version = kProtocolVersion);

enum class DecodeStatus : uint8_t {
  kOk,
  kUnknownType,         // board answers ERROR UNKNOWN_COMMAND
  kBadPayload,          // board answers ERROR BAD_FRAME
  kUnsupportedVersion,  // board answers ERROR UNSUPPORTED_VERSION
};

// "ok", "unknown-type", "bad-payload", "unsupported-version" (the TypeScript reasons).
const char* DecodeStatusName(DecodeStatus status);

// The payload of a message of type `type`. `*out` is meaningful only when the result is kOk.
DecodeStatus DecodeBody(uint8_t type, const uint8_t* payload, size_t len, Message* out);

// The message in a frame from FrameDecoder or DecodeFrame (checks the header version too).
DecodeStatus DecodeMessage(const FrameView& frame, Message* out);

}  // namespace hil::protocol
