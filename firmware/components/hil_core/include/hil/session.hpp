// One link's side of a session: bytes (serial) or messages (MQTT) in, the command handler's
// replies out to that same link. The board keeps one Session per transport and one
// CommandHandler for all of them (one board state); requests run one at a time on the benchmark
// task in arrival order. The host tests and the session replay drive exactly this class.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hil/command_handler.hpp"
#include "hil/transport.hpp"
#include "hil_protocol/protocol.h"

namespace hil {

class Session final : public FrameSink, private protocol::DecoderSink {
 public:
  Session(CommandHandler& handler, Transport& transport) : handler_(handler), transport_(transport) {}

  // Bytes from a stream link, in arbitrary pieces (PROTOCOL.md section 2: the host never sends
  // text; whatever is not a frame is counted in stats().log_lines and dropped).
  void pushBytes(const uint8_t* data, size_t length);
  // One whole message of a message link: it must be exactly one frame (PROTOCOL.md section 6);
  // anything else is counted in badMessages() and dropped.
  void pushMessage(const uint8_t* data, size_t length);

  // Reads what the transport has (waiting up to `timeoutMs`) and handles it. Returns the bytes read.
  size_t poll(uint32_t timeoutMs);

  void sendHello() { handler_.sendHello(*this); }

  // FrameSink: replies of the requests that came in on this link go back on it.
  bool sendFrame(const uint8_t* frame, size_t length) override;

  const protocol::DecoderStats& stats() const { return decoder_.stats(); }
  uint32_t badMessages() const { return badMessages_; }
  uint32_t droppedFrames() const { return droppedFrames_; }
  Transport& transport() { return transport_; }

 private:
  void OnFrame(const protocol::FrameView& frame) override;
  void OnLogLine(const char* text, size_t length) override;
  void OnError(protocol::FrameError error, const protocol::FrameHeader* header) override;

  CommandHandler& handler_;
  Transport& transport_;
  protocol::FrameDecoder decoder_;
  uint32_t badMessages_ = 0;
  uint32_t droppedFrames_ = 0;
  uint8_t rx_[protocol::kMaxFrame];  // a message link delivers one whole frame per receive()
};

}  // namespace hil
