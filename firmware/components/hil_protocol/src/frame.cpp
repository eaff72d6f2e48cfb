// Frame encoder and the streaming decoder (PROTOCOL.md sections 1 and 2). The decoder follows the
// same steps as harness/protocol/frame.ts, so both emit identical events for identical bytes.
#include "hil_protocol/frame.h"

#include <cstring>

#include "hil_protocol/crc.h"

namespace hil::protocol {
namespace {

constexpr uint8_t kLf = 0x0A;
constexpr uint8_t kCr = 0x0D;

uint16_t GetU16(const uint8_t* b) { return static_cast<uint16_t>(b[0] | (b[1] << 8)); }

uint32_t GetU32(const uint8_t* b) {
  return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) | (static_cast<uint32_t>(b[2]) << 16) |
         (static_cast<uint32_t>(b[3]) << 24);
}

void PutU16(uint8_t* b, uint16_t v) {
  b[0] = static_cast<uint8_t>(v);
  b[1] = static_cast<uint8_t>(v >> 8);
}

void PutU32(uint8_t* b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
}

FrameHeader HeaderOf(const uint8_t* b) {
  FrameHeader h;
  h.version = b[2];
  h.type = b[3];
  h.flags = b[4];
  h.request_id = GetU16(b + 6);
  h.length = GetU16(b + 8);
  return h;
}

bool HeaderCrcOk(const uint8_t* b) { return Crc16(b, 10) == GetU16(b + 10); }

const uint8_t* FindSync0(const uint8_t* p, size_t len) {
  return static_cast<const uint8_t*>(std::memchr(p, kSync0, len));
}

}  // namespace

size_t FinishFrame(const FrameHeader& header, size_t payload_len, uint8_t* frame, size_t cap) {
  if (payload_len > kMaxPayload || cap < kHeaderSize + payload_len + kCrcSize) return 0;
  frame[0] = kSync0;
  frame[1] = kSync1;
  frame[2] = header.version;
  frame[3] = header.type;
  frame[4] = header.flags;
  frame[5] = 0;
  PutU16(frame + 6, header.request_id);
  PutU16(frame + 8, static_cast<uint16_t>(payload_len));
  PutU16(frame + 10, Crc16(frame, 10));
  const size_t end = kHeaderSize + payload_len;
  PutU32(frame + end, Crc32(frame, end));
  return end + kCrcSize;
}

size_t EncodeFrame(const FrameHeader& header, const uint8_t* payload, size_t payload_len, uint8_t* out,
                   size_t cap) {
  if (payload_len > kMaxPayload || cap < kHeaderSize + payload_len + kCrcSize) return 0;
  if (payload_len > 0) std::memmove(out + kHeaderSize, payload, payload_len);
  return FinishFrame(header, payload_len, out, cap);
}

const char* FrameErrorName(FrameError error) {
  switch (error) {
    case FrameError::kBadHeader: return "bad-header";
    case FrameError::kOversize: return "oversize";
    case FrameError::kCrc: return "crc";
    case FrameError::kTruncated: return "truncated";
    case FrameError::kTrailingBytes: return "trailing-bytes";
  }
  return "unknown";
}

bool DecodeFrame(const uint8_t* bytes, size_t len, FrameView* out, FrameError* error) {
  FrameError dummy;
  if (error == nullptr) error = &dummy;
  if (len < kHeaderSize + kCrcSize) {
    *error = FrameError::kTruncated;
    return false;
  }
  if (bytes[0] != kSync0 || bytes[1] != kSync1 || !HeaderCrcOk(bytes)) {
    *error = FrameError::kBadHeader;
    return false;
  }
  const FrameHeader h = HeaderOf(bytes);
  if (h.length > kMaxPayload) {
    *error = FrameError::kOversize;
    return false;
  }
  const size_t total = kHeaderSize + h.length + kCrcSize;
  if (len < total) {
    *error = FrameError::kTruncated;
    return false;
  }
  if (len > total) {
    *error = FrameError::kTrailingBytes;
    return false;
  }
  if (Crc32(bytes, kHeaderSize + h.length) != GetU32(bytes + kHeaderSize + h.length)) {
    *error = FrameError::kCrc;
    return false;
  }
  out->header = h;
  out->payload = bytes + kHeaderSize;
  return true;
}

void FrameDecoder::Reset() {
  cand_len_ = 0;
  line_len_ = 0;
  std::memset(&stats_, 0, sizeof stats_);
}

void FrameDecoder::Push(const uint8_t* data, size_t len, DecoderSink& sink) {
  size_t i = 0;
  while (i < len) {
    if (cand_len_ == 0) {
      const uint8_t* sync = FindSync0(data + i, len - i);
      const size_t end = sync == nullptr ? len : static_cast<size_t>(sync - data);
      if (end > i) Text(data + i, end - i, sink);
      if (sync == nullptr) break;
      cand_[0] = kSync0;
      cand_len_ = 1;
      i = end + 1;
    } else {
      size_t take = Needed() - cand_len_;
      if (take > len - i) take = len - i;
      std::memcpy(cand_ + cand_len_, data + i, take);
      cand_len_ += take;
      i += take;
    }
    Check(sink);
  }
}

void FrameDecoder::Flush(DecoderSink& sink) {
  while (cand_len_ > 0) {
    if (cand_len_ >= 2) {
      // Check() has run: bytes 0-1 are the sync pair, and a complete header passed its CRC.
      Error(FrameError::kTruncated, cand_len_ >= kHeaderSize, sink);
      Rescan(2, sink);
    } else {
      Text(cand_, 1, sink);
      cand_len_ = 0;
    }
    Check(sink);
  }
  if (line_len_ > 0) EndLine(true, sink);
}

size_t FrameDecoder::Needed() const {
  if (cand_len_ < 2) return 2;
  if (cand_len_ < kHeaderSize) return kHeaderSize;
  return kHeaderSize + GetU16(cand_ + 8) + kCrcSize;  // header already validated by Check()
}

void FrameDecoder::Check(DecoderSink& sink) {
  for (;;) {
    const size_t len = cand_len_;
    if (len < 2) return;
    if (cand_[1] != kSync1) {
      Text(cand_, 1, sink);
      Rescan(1, sink);
      continue;
    }
    if (len < kHeaderSize) return;
    if (!HeaderCrcOk(cand_)) {
      Error(FrameError::kBadHeader, false, sink);
      Rescan(2, sink);
      continue;
    }
    const size_t length = GetU16(cand_ + 8);
    if (length > kMaxPayload) {
      Error(FrameError::kOversize, true, sink);
      Rescan(2, sink);
      continue;
    }
    const size_t total = kHeaderSize + length + kCrcSize;
    if (len < total) return;
    if (Crc32(cand_, kHeaderSize + length) != GetU32(cand_ + kHeaderSize + length)) {
      Error(FrameError::kCrc, true, sink);
      Rescan(2, sink);
      continue;
    }
    stats_.frames++;
    FrameView view;
    view.header = HeaderOf(cand_);
    view.payload = cand_ + kHeaderSize;
    sink.OnFrame(view);
    Rescan(total, sink);
  }
}

void FrameDecoder::Rescan(size_t from, DecoderSink& sink) {
  const size_t len = cand_len_;
  const uint8_t* sync = from < len ? FindSync0(cand_ + from, len - from) : nullptr;
  if (sync == nullptr) {
    if (len > from) Text(cand_ + from, len - from, sink);
    cand_len_ = 0;
    return;
  }
  const size_t at = static_cast<size_t>(sync - cand_);
  if (at > from) Text(cand_ + from, at - from, sink);
  std::memmove(cand_, cand_ + at, len - at);
  cand_len_ = len - at;
}

void FrameDecoder::Text(const uint8_t* src, size_t len, DecoderSink& sink) {
  for (size_t i = 0; i < len;) {
    const void* nl = std::memchr(src + i, kLf, len - i);
    const size_t stop = nl == nullptr ? len : static_cast<size_t>(static_cast<const uint8_t*>(nl) - src);
    while (i < stop) {
      if (line_len_ == kMaxLine) EndLine(false, sink);
      size_t n = stop - i;
      if (n > kMaxLine - line_len_) n = kMaxLine - line_len_;
      std::memcpy(line_ + line_len_, src + i, n);
      line_len_ += n;
      i += n;
    }
    if (nl == nullptr) return;
    EndLine(true, sink);
    i = stop + 1;
  }
}

void FrameDecoder::EndLine(bool strip_cr, DecoderSink& sink) {
  size_t n = line_len_;
  if (strip_cr && n > 0 && static_cast<uint8_t>(line_[n - 1]) == kCr) n--;
  stats_.log_lines++;
  line_len_ = 0;
  sink.OnLogLine(line_, n);
}

void FrameDecoder::Error(FrameError error, bool header_known, DecoderSink& sink) {
  switch (error) {
    case FrameError::kBadHeader: stats_.header_errors++; break;
    case FrameError::kOversize: stats_.oversize++; break;
    case FrameError::kCrc: stats_.crc_errors++; break;
    case FrameError::kTruncated: stats_.truncated++; break;
    case FrameError::kTrailingBytes: break;
  }
  if (header_known) {
    const FrameHeader h = HeaderOf(cand_);
    sink.OnError(error, &h);
  } else {
    sink.OnError(error, nullptr);
  }
}

}  // namespace hil::protocol
