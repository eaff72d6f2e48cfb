#include "bench.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace bench {

namespace {
// Host tests build without exceptions (firmware/test/host/build.ts flags, as ESP-IDF): a broken
// fixture ends the program with the reason, which app.test.ts shows.
[[noreturn]] void fatal(const std::string& why) {
  std::printf("FAIL fixture: %s\n", why.c_str());
  std::fflush(stdout);
  std::abort();
}
}  // namespace

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fatal("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> hostModelFile(const std::string& name) {
  const char* dir = std::getenv("HIL_HOST_MODELS");
  if (dir == nullptr) fatal("HIL_HOST_MODELS is not set (app.test.ts writes the models there)");
  return readFile(std::string(dir) + "/" + name);
}

std::array<uint8_t, 32> sha256Of(const std::vector<uint8_t>& bytes) {
  hil::PortableSha256 sha;
  sha.update(bytes.data(), bytes.size());
  std::array<uint8_t, 32> digest{};
  sha.finish(digest.data());
  return digest;
}

std::vector<uint8_t> modelImage(const std::vector<uint8_t>& model, size_t partitionBytes) {
  std::vector<uint8_t> image(partitionBytes, 0xFF);
  std::memcpy(image.data(), "HILMODEL", 8);
  const uint32_t size = static_cast<uint32_t>(model.size());
  for (int i = 0; i < 4; ++i) image[8 + static_cast<size_t>(i)] = static_cast<uint8_t>(size >> (8 * i));
  std::memset(image.data() + 12, 0, 20);
  const auto digest = sha256Of(model);
  std::memcpy(image.data() + 32, digest.data(), 32);
  std::memcpy(image.data() + 64, model.data(), model.size());
  return image;
}

std::vector<uint8_t> encode(const p::Message& msg, uint8_t version) {
  std::vector<uint8_t> out(p::kMaxFrame);
  const size_t n = p::EncodeMessage(msg, out.data(), out.size(), version);
  if (n == 0) fatal("a request does not encode (a test bug)");
  out.resize(n);
  return out;
}

Bench::Bench(bool messageLink) : handler(platform, runner, sha, config), link(messageLink), session(handler, link) {
  runner.setClock(&platform, 1000);
}

Replies Bench::collect() {
  Replies out;
  for (auto& bytes : link.sent) {
    auto r = std::make_unique<Reply>();
    r->bytes = std::move(bytes);
    p::FrameView view;
    p::FrameError error;
    if (p::DecodeFrame(r->bytes.data(), r->bytes.size(), &view, &error)) {
      r->header = view.header;
      r->decoded = p::DecodeMessage(view, &r->msg) == p::DecodeStatus::kOk;
    }
    out.push_back(std::move(r));
  }
  link.sent.clear();
  return out;
}

Replies Bench::request(p::Message msg) {
  if (msg.request_id == 0) msg.request_id = nextId_++;
  const auto bytes = encode(msg);
  if (link.messageOriented()) return pushMessage(bytes);
  return pushBytes(bytes);
}

Replies Bench::pushBytes(const std::vector<uint8_t>& bytes, size_t piece) {
  if (piece == 0) {
    session.pushBytes(bytes.data(), bytes.size());
  } else {
    for (size_t at = 0; at < bytes.size(); at += piece) {
      session.pushBytes(bytes.data() + at, std::min(piece, bytes.size() - at));
    }
  }
  return collect();
}

Replies Bench::pushMessage(const std::vector<uint8_t>& bytes) {
  session.pushMessage(bytes.data(), bytes.size());
  return collect();
}

Replies Bench::hello() {
  session.sendHello();
  return collect();
}

Replies Bench::upload(const std::vector<uint8_t>& model, hil::Placement destination, size_t chunk) {
  p::Message begin(p::MessageType::kModelBegin, 0);
  begin.body.model_begin.size = static_cast<uint32_t>(model.size());
  const auto digest = sha256Of(model);
  std::memcpy(begin.body.model_begin.sha256.bytes, digest.data(), 32);
  begin.body.model_begin.destination = static_cast<p::Placement>(destination);
  Replies r = request(begin);
  if (r.size() != 1 || r[0]->msg.type != p::MessageType::kChunkAck) return r;
  for (size_t at = 0; at < model.size(); at += chunk) {
    p::Message c(p::MessageType::kModelChunk, 0);
    c.body.model_chunk.offset = static_cast<uint32_t>(at);
    c.body.model_chunk.data = p::Bytes{model.data() + at, std::min(chunk, model.size() - at)};
    r = request(c);
    if (r.size() != 1 || r[0]->msg.type != p::MessageType::kChunkAck) return r;
  }
  return request(p::Message(p::MessageType::kModelEnd, 0));
}

Replies Bench::arena(uint32_t size, hil::Placement placement) {
  p::Message m(p::MessageType::kArenaConfig, 0);
  m.body.arena_config.size = size;
  m.body.arena_config.placement = static_cast<p::Placement>(placement);
  return request(m);
}

Replies Bench::setInput(uint8_t tensor, uint32_t offset, const std::vector<uint8_t>& data) {
  p::Message m(p::MessageType::kSetInput, 0);
  m.body.set_input.tensor = tensor;
  m.body.set_input.offset = offset;
  m.body.set_input.data = p::Bytes{data.data(), data.size()};
  return request(m);
}

Replies Bench::invoke(uint32_t warmup, uint32_t measured, bool profile) {
  p::Message m(p::MessageType::kInvoke, 0);
  m.body.invoke.warmup = warmup;
  m.body.invoke.measured = measured;
  m.body.invoke.profile = profile;
  return request(m);
}

Replies Bench::getOutput(uint8_t tensor, uint32_t offset, uint32_t length) {
  p::Message m(p::MessageType::kGetOutput, 0);
  m.body.get_output.tensor = tensor;
  m.body.get_output.offset = offset;
  m.body.get_output.length = length;
  return request(m);
}

std::vector<uint8_t> Bench::outputBytes(const Replies& replies) {
  std::vector<uint8_t> out;
  for (const auto& r : replies) {
    if (r->msg.type != p::MessageType::kOutputData) continue;
    const p::Bytes& d = r->msg.body.output_data.data;
    out.insert(out.end(), d.data, d.data + d.len);
  }
  return out;
}

const Reply* single(const Replies& replies) { return replies.size() == 1 ? replies[0].get() : nullptr; }

std::string describe(const Replies& replies) {
  std::string s = std::to_string(replies.size()) + " replies [";
  for (const auto& r : replies) {
    const char* name = p::MessageTypeName(r->msg.type);
    s += name != nullptr ? name : "?";
    if (r->msg.type == p::MessageType::kError) {
      s += "(" + std::string(p::ErrorCodeName(static_cast<p::ErrorCode>(r->msg.body.error.code))) + " arg " +
           std::to_string(r->msg.body.error.arg) + ": " +
           std::string(r->msg.body.error.message.data, r->msg.body.error.message.len) + ")";
    }
    s += " ";
  }
  return s + "]";
}

}  // namespace bench
