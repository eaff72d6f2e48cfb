// A board on the host for the handler tests: HostPlatform + HostRunner + PortableSha256 behind the
// real CommandHandler and Session, fed with encoded request frames, replies decoded back with the
// protocol codec. Models come from files app.test.ts writes (env HIL_HOST_MODELS).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hil/command_handler.hpp"
#include "hil/session.hpp"
#include "hil/sha256.hpp"
#include "hil/transport.hpp"
#include "hil_protocol/protocol.h"
#include "host_platform.hpp"
#include "host_runner.hpp"

namespace bench {

namespace p = hil::protocol;

// A link in memory: what the board sends is kept frame by frame.
class MemoryLink final : public hil::Transport {
 public:
  explicit MemoryLink(bool messages = false) : messages_(messages) {}
  const char* name() const override { return "memory"; }
  bool messageOriented() const override { return messages_; }
  size_t receive(uint8_t*, size_t, uint32_t) override { return 0; }
  bool sendFrame(const uint8_t* frame, size_t length) override {
    sent.emplace_back(frame, frame + length);
    return true;
  }
  void drain(uint32_t) override {}
  std::vector<std::vector<uint8_t>> sent;

 private:
  bool messages_;
};

struct Reply {
  std::vector<uint8_t> bytes;
  p::FrameHeader header{};
  p::Message msg;
  bool decoded = false;
};
using Replies = std::vector<std::unique_ptr<Reply>>;

std::vector<uint8_t> readFile(const std::string& path);
// A model file written by app.test.ts into $HIL_HOST_MODELS (e.g. "fc_int8.tflite").
std::vector<uint8_t> hostModelFile(const std::string& name);
// The 64-byte model partition header + model (PROTOCOL.md "Model upload and the model partition").
std::vector<uint8_t> modelImage(const std::vector<uint8_t>& model, size_t partitionBytes);
std::array<uint8_t, 32> sha256Of(const std::vector<uint8_t>& bytes);

std::vector<uint8_t> encode(const p::Message& msg, uint8_t version = p::kProtocolVersion);

class Bench {
 public:
  explicit Bench(bool messageLink = false);

  // Encodes `msg` (request id assigned when 0), pushes it through the session, returns the replies.
  Replies request(p::Message msg);
  // Pushes raw bytes as a stream link receives them.
  Replies pushBytes(const std::vector<uint8_t>& bytes, size_t piece = 0);
  Replies pushMessage(const std::vector<uint8_t>& bytes);
  Replies hello();

  // MODEL_BEGIN + MODEL_CHUNKs + MODEL_END; returns the last reply (MODEL_READY or ERROR).
  Replies upload(const std::vector<uint8_t>& model, hil::Placement destination = hil::Placement::Psram,
                 size_t chunk = 4092);
  Replies arena(uint32_t size, hil::Placement placement = hil::Placement::Internal);
  Replies setInput(uint8_t tensor, uint32_t offset, const std::vector<uint8_t>& data);
  Replies invoke(uint32_t warmup, uint32_t measured, bool profile = false);
  Replies getOutput(uint8_t tensor, uint32_t offset = 0, uint32_t length = 0xFFFFFFFFu);
  // Concatenated OUTPUT_DATA bytes of a GET_OUTPUT reply set.
  static std::vector<uint8_t> outputBytes(const Replies& replies);

  uint16_t lastId() const { return static_cast<uint16_t>(nextId_ - 1); }

  hil::host::HostPlatform platform;
  hil::host::HostRunner runner;
  hil::PortableSha256 sha;
  hil::HandlerConfig config;
  hil::CommandHandler handler;
  MemoryLink link;
  hil::Session session;

 private:
  Replies collect();
  uint16_t nextId_ = 1;
};

// The one reply of `replies` when there is exactly one, else nullptr.
const Reply* single(const Replies& replies);
// Message name for failure output.
std::string describe(const Replies& replies);

}  // namespace bench

// Checks that `replies` is a single ERROR with `code` (and `arg` when given >= 0).
#define CHECK_ERROR(replies, want_code, want_arg)                                                                  \
  do {                                                                                                   \
    const bench::Replies& check_replies = (replies); /* keeps a temporary alive */                        \
    const bench::Reply* check_r = bench::single(check_replies);                                          \
    check::recordCheck();                                                                                \
    if (check_r == nullptr || check_r->msg.type != hil::protocol::MessageType::kError ||                 \
        check_r->msg.body.error.code != static_cast<uint16_t>(want_code) ||                                   \
        (static_cast<long long>(want_arg) >= 0 && check_r->msg.body.error.arg != static_cast<uint32_t>(want_arg))) { \
      check::recordFailure(__FILE__, __LINE__, std::string("expected ERROR " #want_code " arg " #want_arg ", got ") + \
                                                   bench::describe(check_replies));                            \
    }                                                                                                    \
  } while (0)
