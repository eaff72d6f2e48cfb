#include "hil/session.hpp"

namespace hil {

void Session::pushBytes(const uint8_t* data, size_t length) { decoder_.Push(data, length, *this); }

void Session::pushMessage(const uint8_t* data, size_t length) {
  protocol::FrameView frame;
  protocol::FrameError error;
  if (!protocol::DecodeFrame(data, length, &frame, &error)) {
    ++badMessages_;
    return;
  }
  handler_.handleFrame(frame, *this);
}

size_t Session::poll(uint32_t timeoutMs) {
  const size_t n = transport_.receive(rx_, sizeof rx_, timeoutMs);
  if (n == 0) return 0;
  if (transport_.messageOriented()) {
    pushMessage(rx_, n);
  } else {
    pushBytes(rx_, n);
  }
  return n;
}

bool Session::sendFrame(const uint8_t* frame, size_t length) {
  const bool sent = transport_.sendFrame(frame, length);
  if (!sent) ++droppedFrames_;
  return sent;
}

void Session::OnFrame(const protocol::FrameView& frame) { handler_.handleFrame(frame, *this); }

void Session::OnLogLine(const char*, size_t) {
  // Counted by the decoder (stats().log_lines); the host never sends text on purpose.
}

void Session::OnError(protocol::FrameError error, const protocol::FrameHeader* header) {
  handler_.handleFrameError(error, header, *this);
}

}  // namespace hil
