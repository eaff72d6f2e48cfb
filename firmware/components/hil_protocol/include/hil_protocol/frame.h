// Frames of the board protocol and the streaming decoder that separates them from log text
// (firmware/protocol/PROTOCOL.md sections 1 and 2). Same rules as harness/protocol/frame.ts; both
// are tested against firmware/protocol/golden/streams.json.
//
// No heap, no exceptions: the decoder is one object of fixed size (one frame + one line buffer).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil::protocol {

constexpr uint8_t kSync0 = 0xF5;
constexpr uint8_t kSync1 = 0xA5;
constexpr size_t kHeaderSize = 12;
constexpr size_t kCrcSize = 4;
constexpr size_t kMaxPayload = 4096;
constexpr size_t kMaxFrame = kHeaderSize + kMaxPayload + kCrcSize;  // 4112
constexpr size_t kMaxLine = 1024;  // longer log lines come out in pieces of this size
constexpr uint8_t kProtocolVersion = 1;

// Header flag bits.
constexpr uint8_t kFlagSimulated = 0x01;  // a simulated board made this message's numbers
constexpr uint8_t kFlagMore = 0x02;       // more replies to this request follow

struct FrameHeader {
  uint8_t version;
  uint8_t type;
  uint8_t flags;
  uint16_t request_id;
  uint16_t length;  // payload bytes
};

// A decoded frame. `payload` points into the buffer it was decoded from (the decoder's own buffer
// during a DecoderSink callback): copy what must outlive that.
struct FrameView {
  FrameHeader header;
  const uint8_t* payload;
};

// Writes a complete frame (header, payload, CRC) to `out`. Returns its length, or 0 when
// `payload_len` exceeds kMaxPayload or the frame does not fit in `cap`. `header.length` is ignored.
size_t EncodeFrame(const FrameHeader& header, const uint8_t* payload, size_t payload_len, uint8_t* out,
                   size_t cap);

// Zero-copy variant: the payload is already at `frame + kHeaderSize`; writes the header and the
// CRC around it. Returns the frame length, or 0 when it does not fit in `cap`.
size_t FinishFrame(const FrameHeader& header, size_t payload_len, uint8_t* frame, size_t cap);

enum class FrameError : uint8_t {
  kBadHeader,      // sync pair followed by a header whose CRC-16 fails
  kOversize,       // valid header announcing more than kMaxPayload bytes
  kCrc,            // valid header, CRC-32 of the frame fails
  kTruncated,      // the stream ended (Flush) inside a frame
  kTrailingBytes,  // DecodeFrame: bytes after the frame
};

// "bad-header", "oversize", "crc", "truncated", "trailing-bytes" (the TypeScript reasons).
const char* FrameErrorName(FrameError error);

// Exactly one frame and nothing else (one MQTT message). Returns false and sets `*error`
// otherwise (kTruncated when `len` is short of the frame).
bool DecodeFrame(const uint8_t* bytes, size_t len, FrameView* out, FrameError* error);

struct DecoderStats {
  uint32_t frames;
  uint32_t log_lines;
  uint32_t header_errors;
  uint32_t oversize;
  uint32_t crc_errors;
  uint32_t truncated;
};

// Receives what the decoder finds, synchronously from Push()/Flush(), in stream order. It must not
// call Push()/Flush() of the same decoder.
class DecoderSink {
 public:
  virtual void OnFrame(const FrameView& frame) = 0;
  // One line of log text without its terminator: raw bytes (UTF-8 in practice), not
  // NUL-terminated, valid during the call.
  virtual void OnLogLine(const char* text, size_t len) = 0;
  // A rejected frame candidate. `header` is non-null when the header passed its CRC (kOversize,
  // kCrc, kTruncated after a complete header): then its request_id can be answered at once.
  virtual void OnError(FrameError error, const FrameHeader* header) = 0;

 protected:
  ~DecoderSink() = default;
};

// Splits a byte stream into frames and log lines (PROTOCOL.md section 2). Feed any chunks; call
// Flush() at end of stream or when the link has been idle (~100 ms).
class FrameDecoder {
 public:
  FrameDecoder() { Reset(); }

  void Push(const uint8_t* data, size_t len, DecoderSink& sink);
  void Flush(DecoderSink& sink);
  void Reset();

  const DecoderStats& stats() const { return stats_; }
  // Bytes held between calls: at most kMaxFrame + kMaxLine.
  size_t buffered_bytes() const { return cand_len_ + line_len_; }

 private:
  size_t Needed() const;
  void Check(DecoderSink& sink);
  void Rescan(size_t from, DecoderSink& sink);
  void Text(const uint8_t* src, size_t len, DecoderSink& sink);
  void EndLine(bool strip_cr, DecoderSink& sink);
  void Error(FrameError error, bool header_known, DecoderSink& sink);

  uint8_t cand_[kMaxFrame];
  size_t cand_len_;
  char line_[kMaxLine];
  size_t line_len_;
  DecoderStats stats_;
};

}  // namespace hil::protocol
