// Host test of the C++ protocol codec (firmware/components/hil_protocol) against the golden frames
// that the TypeScript codec is tested with too (firmware/protocol/golden/*.json), plus unit checks
// and a seeded fuzz of the streaming decoder. Built and run by firmware/test/host/host.test.ts:
//
//   protocol_test <messages.json> <streams.json>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hil_protocol/protocol.h"
#include "json.h"
#include "message_json.h"
#include "test_report.h"

using namespace hil::protocol;
using hil::test::FromHex;
using hil::test::Json;
using hil::test::JsonEqual;
using hil::test::MessageStorage;
using hil::test::TestReport;
using hil::test::ToHex;

namespace {

bool ReadJsonFile(const char* path, Json* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("cannot open ") + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return hil::test::ParseJson(ss.str(), out, error);
}

std::string Str(const Json* j) { return j != nullptr && j->kind() == Json::Kind::kString ? j->as_string() : ""; }

// Collects decoder events in the golden files' form.
class JsonSink : public DecoderSink {
 public:
  Json events = Json::Array();
  std::vector<std::string> frames;

  void OnFrame(const FrameView& frame) override {
    uint8_t buf[kMaxFrame];
    const size_t n = EncodeFrame(frame.header, frame.payload, frame.header.length, buf, sizeof buf);
    const std::string hex = ToHex(buf, n);
    frames.push_back(hex);
    events.Push(Json::Object().Set("kind", Json::String("frame")).Set("hex", Json::String(hex)));
  }
  void OnLogLine(const char* text, size_t len) override {
    lines.push_back(std::string(text, len));
    events.Push(Json::Object().Set("kind", Json::String("log")).Set("line", Json::String(hil::test::Utf8Replace(text, len))));
  }
  void OnError(FrameError error, const FrameHeader* header) override {
    errors++;
    Json e = Json::Object().Set("kind", Json::String("error")).Set("reason", Json::String(FrameErrorName(error)));
    if (header != nullptr) {
      e.Set("type", Json::Number(header->type)).Set("requestId", Json::Number(header->request_id));
    }
    events.Push(std::move(e));
  }

  std::vector<std::string> lines;
  int errors = 0;
};

Json StatsJson(const DecoderStats& s) {
  return Json::Object()
      .Set("frames", Json::Number(s.frames))
      .Set("logLines", Json::Number(s.log_lines))
      .Set("headerErrors", Json::Number(s.header_errors))
      .Set("oversize", Json::Number(s.oversize))
      .Set("crcErrors", Json::Number(s.crc_errors))
      .Set("truncated", Json::Number(s.truncated));
}

void MessageCases(const Json& golden, TestReport& report) {
  const Json* messages = golden.Find("messages");
  report.Check("golden/messages-present", messages != nullptr && !messages->items().empty(), "no messages in the file");
  if (messages == nullptr) return;
  for (const Json& c : messages->items()) {
    const std::string id = "messages/" + Str(c.Find("name"));
    const std::string hex = Str(c.Find("hex"));
    const Json* expected = c.Find("message");
    const Json* decode_only = c.Find("decodeOnly");
    std::vector<unsigned char> bytes;
    FrameView frame;
    FrameError ferr = FrameError::kBadHeader;
    if (!FromHex(hex, &bytes) || !DecodeFrame(bytes.data(), bytes.size(), &frame, &ferr)) {
      report.Check(id + "/decode", false, std::string("frame rejected: ") + FrameErrorName(ferr));
      continue;
    }
    Message msg;
    const DecodeStatus status = DecodeMessage(frame, &msg);
    const Json got = hil::test::MessageToJson(msg);
    report.Check(id + "/decode", status == DecodeStatus::kOk && expected != nullptr && JsonEqual(got, *expected),
                 std::string(DecodeStatusName(status)) + "\n got: " + got.Dump() +
                     "\nwant: " + (expected ? expected->Dump() : "?"));
    if (decode_only != nullptr && decode_only->as_bool()) continue;

    Message built;
    MessageStorage storage;
    std::string error;
    if (expected == nullptr || !hil::test::MessageFromJson(*expected, &built, &storage, &error)) {
      report.Check(id + "/encode", false, "message JSON rejected: " + error);
      continue;
    }
    uint8_t out[kMaxFrame];
    const size_t n = EncodeMessage(built, out, sizeof out);
    report.Check(id + "/encode", n > 0 && ToHex(out, n) == hex, " got: " + ToHex(out, n) + "\nwant: " + hex);
    // One byte less than the frame needs must be refused, not overrun (ASan watches too).
    std::vector<uint8_t> tight(bytes.size() - 1);
    report.Check(id + "/encode-bounded", EncodeMessage(built, tight.data(), tight.size()) == 0,
                 "encoded into a buffer too small by one byte");
  }
}

void InvalidCases(const Json& golden, TestReport& report) {
  const Json* invalid = golden.Find("invalid");
  if (invalid == nullptr) return;
  for (const Json& c : invalid->items()) {
    const std::string id = "invalid/" + Str(c.Find("name"));
    std::vector<unsigned char> bytes;
    FrameView frame;
    FrameError ferr;
    if (!FromHex(Str(c.Find("hex")), &bytes) || !DecodeFrame(bytes.data(), bytes.size(), &frame, &ferr)) {
      report.Check(id, false, "the frame itself should be valid");
      continue;
    }
    Message msg;
    const std::string got = DecodeStatusName(DecodeMessage(frame, &msg));
    report.Check(id, got == Str(c.Find("error")), "got " + got + ", want " + Str(c.Find("error")));
  }
}

// Feeds `bytes` cut at `cuts` and compares events and statistics with the golden stream.
bool RunStream(const std::vector<unsigned char>& bytes, const std::vector<size_t>& cuts, bool flush,
               const Json& want_events, const Json& want_stats, std::string* detail) {
  FrameDecoder decoder;
  JsonSink sink;
  size_t at = 0;
  for (size_t k = 0; k <= cuts.size(); k++) {
    const size_t end = k < cuts.size() ? cuts[k] : bytes.size();
    decoder.Push(bytes.data() + at, end - at, sink);
    if (decoder.buffered_bytes() > kMaxFrame + kMaxLine) {
      *detail = "decoder holds more than one frame and one line";
      return false;
    }
    at = end;
  }
  if (flush) decoder.Flush(sink);
  const Json stats = StatsJson(decoder.stats());
  if (!JsonEqual(sink.events, want_events) || !JsonEqual(stats, want_stats)) {
    *detail = " got: " + sink.events.Dump() + " " + stats.Dump() + "\nwant: " + want_events.Dump() + " " + want_stats.Dump();
    return false;
  }
  return true;
}

void StreamCases(const Json& golden, TestReport& report) {
  const Json* streams = golden.Find("streams");
  report.Check("golden/streams-present", streams != nullptr && !streams->items().empty(), "no streams in the file");
  if (streams == nullptr) return;
  for (const Json& c : streams->items()) {
    const std::string id = "streams/" + Str(c.Find("name"));
    std::vector<unsigned char> bytes;
    FromHex(Str(c.Find("hex")), &bytes);
    const Json* flush = c.Find("flush");
    const bool do_flush = flush != nullptr && flush->as_bool();
    const Json empty;
    const Json& events = c.Find("events") ? *c.Find("events") : empty;
    const Json& stats = c.Find("stats") ? *c.Find("stats") : empty;
    std::string detail;
    report.Check(id + "/whole", RunStream(bytes, {}, do_flush, events, stats, &detail), detail);

    std::vector<size_t> every;
    for (size_t i = 1; i < bytes.size(); i++) every.push_back(i);
    detail.clear();
    report.Check(id + "/bytewise", RunStream(bytes, every, do_flush, events, stats, &detail), detail);

    bool all = true;
    for (size_t k = 0; k <= bytes.size() && all; k++) {
      detail.clear();
      all = RunStream(bytes, {k}, do_flush, events, stats, &detail);
      if (!all) detail = "split at " + std::to_string(k) + ": " + detail;
    }
    report.Check(id + "/split-anywhere", all, detail);
  }
}

// xorshift32: deterministic and dependency-free.
struct Rng {
  uint32_t s;
  uint32_t Next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
  uint32_t Below(uint32_t n) { return Next() % n; }
};

void UnitChecks(TestReport& report) {
  const char* digits = "123456789";
  report.Check("unit/crc32-check-value", Crc32(reinterpret_cast<const uint8_t*>(digits), 9) == 0xCBF43926u);
  report.Check("unit/crc16-check-value", Crc16(reinterpret_cast<const uint8_t*>(digits), 9) == 0x29B1u);

  // Str::From cuts at 255 bytes on a character boundary: 200 x "é" (2 bytes) -> 127 characters.
  std::string long_text;
  for (int i = 0; i < 200; i++) long_text += "\xC3\xA9";
  report.Check("unit/str-cut-at-char-boundary", Str::From(long_text.c_str()).len == 254);
  report.Check("unit/str-null-is-empty", Str::From(nullptr).len == 0);

  uint8_t buf[kMaxFrame];
  Message bad(MessageType::kArenaConfig, 1);
  bad.body.arena_config.placement = static_cast<Placement>(7);
  report.Check("unit/encode-rejects-bad-enum", EncodeMessage(bad, buf, sizeof buf) == 0);
  Message big(MessageType::kModelChunk, 1);
  std::vector<uint8_t> data(kMaxPayload - 3);
  big.body.model_chunk.data = Bytes{data.data(), data.size()};
  report.Check("unit/encode-rejects-oversize-payload", EncodeMessage(big, buf, sizeof buf) == 0);
  TensorInfo tensors[kMaxTensors + 1] = {};
  Message many(MessageType::kArenaReady, 1);
  many.body.arena_ready.inputs = TensorList{tensors, nullptr, static_cast<uint8_t>(kMaxTensors + 1), 0};
  report.Check("unit/encode-rejects-17-tensors", EncodeMessage(many, buf, sizeof buf) == 0);

  // Zero-copy path: a reply built in place round-trips.
  Message ack(MessageType::kChunkAck, 77);
  ack.body.chunk_ack.next_offset = 4092;
  ack.simulated = true;
  const size_t n = EncodeMessage(ack, buf, sizeof buf);
  FrameView view;
  FrameError ferr;
  Message back;
  report.Check("unit/round-trip-chunk-ack",
               n == 20 && DecodeFrame(buf, n, &view, &ferr) && DecodeMessage(view, &back) == DecodeStatus::kOk &&
                   back.type == MessageType::kChunkAck && back.request_id == 77 && back.simulated &&
                   back.body.chunk_ack.next_offset == 4092);
  buf[n] = 0;
  report.Check("unit/decode-frame-trailing-bytes", !DecodeFrame(buf, n + 1, &view, &ferr) && ferr == FrameError::kTrailingBytes);
  report.Check("unit/decode-frame-truncated", !DecodeFrame(buf, n - 1, &view, &ferr) && ferr == FrameError::kTruncated);
  buf[14] ^= 1;
  report.Check("unit/decode-frame-crc", !DecodeFrame(buf, n, &view, &ferr) && ferr == FrameError::kCrc);
  buf[6] ^= 1;
  report.Check("unit/decode-frame-bad-header", !DecodeFrame(buf, n, &view, &ferr) && ferr == FrameError::kBadHeader);
  report.Check("unit/error-code-names", std::strcmp(ErrorCodeName(ErrorCode::kArenaTooSmall), "ARENA_TOO_SMALL") == 0 &&
                                            std::strcmp(ErrorCodeName(static_cast<ErrorCode>(99)), "UNKNOWN") == 0);
}

void Fuzz(TestReport& report) {
  // 1. Random bytes: no crash (ASan/UBSan watch), bounded memory, no frame invented.
  {
    Rng rng{1};
    FrameDecoder decoder;
    JsonSink sink;
    std::vector<uint8_t> chunk(5000);
    bool bounded = true;
    for (int round = 0; round < 200; round++) {
      const size_t n = 1 + rng.Below(static_cast<uint32_t>(chunk.size()));
      for (size_t i = 0; i < n; i++) chunk[i] = static_cast<uint8_t>(rng.Next());
      decoder.Push(chunk.data(), n, sink);
      bounded = bounded && decoder.buffered_bytes() <= kMaxFrame + kMaxLine;
    }
    decoder.Flush(sink);
    report.Check("fuzz/random-bytes", bounded && decoder.stats().frames == 0 && decoder.buffered_bytes() == 0,
                 "frames=" + std::to_string(decoder.stats().frames));
  }
  // 2. Frames, corrupted frames, junk and log lines: every intact frame and line survives.
  for (uint32_t seed = 21; seed < 25; seed++) {
    Rng rng{seed};
    std::vector<uint8_t> stream;
    std::vector<std::string> intact;
    std::vector<std::string> lines;
    int corrupted = 0;
    for (int i = 0; i < 400; i++) {
      for (uint32_t k = rng.Below(3); k > 0; k--) {
        std::vector<uint8_t> payload(rng.Below(200));
        for (auto& b : payload) b = static_cast<uint8_t>(rng.Next());
        FrameHeader h{1, static_cast<uint8_t>(rng.Next()), static_cast<uint8_t>(rng.Below(4)),
                      static_cast<uint16_t>(rng.Next()), 0};
        uint8_t frame[kMaxFrame];
        const size_t n = EncodeFrame(h, payload.data(), payload.size(), frame, sizeof frame);
        const uint32_t roll = rng.Below(100);
        if (roll < 45) {
          stream.insert(stream.end(), frame, frame + n);
          intact.push_back(ToHex(frame, n));
        } else if (roll < 85) {
          const size_t at = 2 + rng.Below(static_cast<uint32_t>(n - 2));
          switch (rng.Below(4)) {
            case 0: frame[at] ^= static_cast<uint8_t>(1u << rng.Below(8)); stream.insert(stream.end(), frame, frame + n); break;
            case 1: stream.insert(stream.end(), frame, frame + at); stream.insert(stream.end(), frame + at + 1, frame + n); break;
            case 2:
              stream.insert(stream.end(), frame, frame + at);
              stream.push_back(static_cast<uint8_t>(rng.Next()));
              stream.insert(stream.end(), frame + at, frame + n);
              break;
            default: stream.insert(stream.end(), frame, frame + at); break;
          }
          corrupted++;
        } else {
          for (uint32_t j = rng.Below(100); j > 0; j--) {
            const uint32_t r = rng.Below(10);
            uint8_t b = r == 0 ? kSync0 : r == 1 ? kSync1 : static_cast<uint8_t>(rng.Next());
            if (b == '\n') b = 'n';
            stream.push_back(b);
          }
        }
      }
      std::string line = "I (" + std::to_string(i) + ") fuzz: ";
      for (uint32_t j = rng.Below(80); j > 0; j--) line.push_back(static_cast<char>(32 + rng.Below(95)));
      lines.push_back(line);
      stream.insert(stream.end(), line.begin(), line.end());
      stream.push_back('\r');
      stream.push_back('\n');
    }
    FrameDecoder decoder;
    JsonSink sink;
    bool bounded = true;
    for (size_t at = 0; at < stream.size();) {
      const size_t n = std::min<size_t>(1 + rng.Below(3000), stream.size() - at);
      decoder.Push(stream.data() + at, n, sink);
      bounded = bounded && decoder.buffered_bytes() <= kMaxFrame + kMaxLine;
      at += n;
    }
    decoder.Flush(sink);
    size_t j = 0;
    bool lines_ok = true;
    for (const std::string& line : lines) {
      while (j < sink.lines.size() &&
             !(sink.lines[j].size() >= line.size() &&
               sink.lines[j].compare(sink.lines[j].size() - line.size(), line.size(), line) == 0)) {
        j++;
      }
      if (j == sink.lines.size()) lines_ok = false;
      j++;
    }
    report.Check("fuzz/corrupted-frames-seed-" + std::to_string(seed),
                 bounded && sink.frames == intact && sink.errors >= corrupted && lines_ok,
                 "frames " + std::to_string(sink.frames.size()) + "/" + std::to_string(intact.size()) + ", errors " +
                     std::to_string(sink.errors) + " for " + std::to_string(corrupted) + " corrupted, lines " +
                     (lines_ok ? "ok" : "missing"));
  }
  // 3. Random payloads for every message type decode or are rejected, never overrun.
  {
    Rng rng{5};
    std::vector<uint8_t> payload(400);
    int decoded = 0;
    for (int i = 0; i < 50000; i++) {
      const size_t n = rng.Below(2) ? rng.Below(16) : rng.Below(400);
      for (size_t k = 0; k < n; k++) payload[k] = static_cast<uint8_t>(rng.Next());
      // Exact-size copy so ASan sees any read past the payload.
      std::vector<uint8_t> exact(payload.begin(), payload.begin() + static_cast<long>(n));
      Message msg;
      if (DecodeBody(static_cast<uint8_t>(rng.Next()), exact.data(), exact.size(), &msg) == DecodeStatus::kOk) {
        decoded++;
        uint8_t out[kMaxFrame];
        (void)hil::test::MessageToJson(msg);  // walks every list of the decoded message
        (void)EncodeMessage(msg, out, sizeof out);
      }
    }
    report.Check("fuzz/random-payloads", decoded > 0, "nothing decoded");
  }
}

}  // namespace

int main(int argc, char** argv) {
  TestReport report;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <golden/messages.json> <golden/streams.json>\n", argv[0]);
    return 2;
  }
  Json messages;
  Json streams;
  std::string error;
  const bool read_messages = ReadJsonFile(argv[1], &messages, &error);
  report.Check("golden/read-messages", read_messages, error);
  const bool read_streams = ReadJsonFile(argv[2], &streams, &error);
  report.Check("golden/read-streams", read_streams, error);
  UnitChecks(report);
  if (read_messages) {
    MessageCases(messages, report);
    InvalidCases(messages, report);
  }
  if (read_streams) StreamCases(streams, report);
  Fuzz(report);
  return report.Finish();
}
