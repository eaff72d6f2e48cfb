// The command handler driven the way the board drives it: encoded request frames through a
// Session, replies decoded with the protocol codec (firmware/protocol/PROTOCOL.md).
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench.hpp"
#include "check.hpp"
#include "hil/cycles.hpp"

using bench::Bench;
using bench::Replies;
using hil::Placement;
namespace p = hil::protocol;
using p::ErrorCode;
using p::MessageType;

namespace {

std::vector<uint8_t> fcInt8() { return bench::hostModelFile("fc_int8.tflite"); }

bool isType(const Replies& r, size_t i, MessageType t) { return i < r.size() && r[i]->msg.type == t; }

std::string errorText(const Replies& r) {
  const bench::Reply* one = bench::single(r);
  if (one == nullptr || one->msg.type != MessageType::kError) return "";
  return std::string(one->msg.body.error.message.data, one->msg.body.error.message.len);
}

// A model uploaded, an arena allocated: the board is ready.
void makeReady(Bench& b, const std::vector<uint8_t>& model, uint32_t arena = 4096) {
  const Replies up = b.upload(model);
  CHECK(isType(up, 0, MessageType::kModelReady));
  const Replies ar = b.arena(arena);
  CHECK(isType(ar, 0, MessageType::kArenaReady));
}

}  // namespace

// ---------------------------------------------------------------------------- identity, session

TEST(handler, "HELLO carries the build identity with request id 0") {
  Bench b;
  const Replies r = b.hello();
  CHECK_EQ(r.size(), 1u);
  const p::Identity& id = r[0]->msg.body.hello;
  CHECK(r[0]->msg.type == MessageType::kHello);
  CHECK_EQ(r[0]->header.request_id, 0);
  CHECK_EQ(id.protocol_min, 1);
  CHECK_EQ(id.protocol_max, 1);
  CHECK_EQ(id.max_payload, 4096);
  CHECK_EQ(id.rx_window, 2);
  CHECK_EQ(id.cpu_mhz, 240);
  CHECK_EQ(id.cores, 2);
  CHECK_EQ(std::string(id.chip.data, id.chip.len), std::string("esp32s3"));
  CHECK_EQ(std::string(id.variant.data, id.variant.len), std::string("host"));
  // The host board's numbers are made on the host: flagged simulated in the identity and header.
  CHECK(id.simulated);
  CHECK((r[0]->header.flags & p::kFlagSimulated) != 0);
}

TEST(handler, "PING echoes, GET_INFO answers INFO, LOG_LEVEL reaches the platform") {
  Bench b;
  p::Message ping(MessageType::kPing, 0);
  const uint8_t hi[] = {'h', 'i'};
  ping.body.ping.data = p::Bytes{hi, 2};
  Replies r = b.request(ping);
  CHECK(isType(r, 0, MessageType::kPong));
  CHECK_EQ(r[0]->header.request_id, b.lastId());
  CHECK_EQ(r[0]->msg.body.pong.data.len, 2u);
  CHECK((r[0]->header.flags & p::kFlagMore) == 0);
  r = b.request(p::Message(MessageType::kGetInfo, 0));
  CHECK(isType(r, 0, MessageType::kInfo));
  CHECK_EQ(std::string(r[0]->msg.body.info.project_name.data, r[0]->msg.body.info.project_name.len), std::string("hil_bench"));
  p::Message level(MessageType::kLogLevel, 0);
  level.body.log_level.level = p::LogLevel::kDebug;
  level.body.log_level.tag = p::Str::From("");
  CHECK(isType(b.request(level), 0, MessageType::kOk));
  level.body.log_level.level = p::LogLevel::kError;
  level.body.log_level.tag = p::Str::From("wifi");
  CHECK(isType(b.request(level), 0, MessageType::kOk));
  CHECK_EQ(b.platform.logLevels.size(), 2u);
  CHECK_EQ(b.platform.logLevels[0].first, std::string("*"));
  CHECK_EQ(b.platform.logLevels[0].second, 4);
  CHECK_EQ(b.platform.logLevels[1].first, std::string("wifi"));
}

TEST(handler, "NEGOTIATE picks version 1; no common version and foreign frame versions are refused") {
  Bench b;
  p::Message n(MessageType::kNegotiate, 0);
  const uint8_t both[] = {2, 1};
  n.body.negotiate.versions = p::Bytes{both, 2};
  Replies r = b.request(n);
  CHECK(isType(r, 0, MessageType::kNegotiated));
  CHECK_EQ(r[0]->msg.body.negotiated.version, 1);
  const uint8_t future[] = {2, 3};
  n.body.negotiate.versions = p::Bytes{future, 2};
  CHECK_ERROR(b.request(n), ErrorCode::kUnsupportedVersion, 1);
  p::Message ping(MessageType::kPing, 77);
  r = b.pushBytes(bench::encode(ping, 2));
  CHECK_ERROR(r, ErrorCode::kUnsupportedVersion, 1);
  CHECK_EQ(r[0]->header.request_id, 77);
  CHECK_EQ(r[0]->header.version, 1);
}

TEST(handler, "damaged, malformed, unknown and reply-type frames get typed errors with their request id") {
  Bench b;
  p::Message ping(MessageType::kPing, 41);
  const uint8_t data[] = {1, 2, 3, 4};
  ping.body.ping.data = p::Bytes{data, 4};
  std::vector<uint8_t> frame = bench::encode(ping);
  frame[13] ^= 0xFF;  // a payload byte: the header CRC still holds, the frame CRC fails
  Replies r = b.pushBytes(frame);
  CHECK_ERROR(r, ErrorCode::kBadFrame, 0);
  CHECK_EQ(r[0]->header.request_id, 41);

  // MODEL_END with a payload byte: valid CRC, layout does not match its type.
  p::FrameHeader h{1, static_cast<uint8_t>(MessageType::kModelEnd), 0, 42, 0};
  const uint8_t extra = 9;
  std::vector<uint8_t> bad(p::kMaxFrame);
  bad.resize(p::EncodeFrame(h, &extra, 1, bad.data(), bad.size()));
  CHECK_ERROR(b.pushBytes(bad), ErrorCode::kBadFrame, 0);

  h.type = 0x55;
  std::vector<uint8_t> unknown(p::kMaxFrame);
  unknown.resize(p::EncodeFrame(h, nullptr, 0, unknown.data(), unknown.size()));
  CHECK_ERROR(b.pushBytes(unknown), ErrorCode::kUnknownCommand, 0x55);

  CHECK_ERROR(b.request(p::Message(MessageType::kOk, 0)), ErrorCode::kUnknownCommand, 0x84);
  p::Message sim(MessageType::kSimSetVariant, 0);
  sim.body.sim_set_variant.variant = p::Str::From("esp-nn");
  CHECK_ERROR(b.request(sim), ErrorCode::kUnsupported, 0);
}

TEST(handler, "frames split at every byte and surrounded by text are still answered") {
  Bench b;
  p::Message ping(MessageType::kPing, 7);
  const uint8_t data[] = {'x'};
  ping.body.ping.data = p::Bytes{data, 1};
  std::vector<uint8_t> stream;
  const std::string junk = "I (123) boot: some text\r\n";
  stream.insert(stream.end(), junk.begin(), junk.end());
  const auto f = bench::encode(ping);
  stream.insert(stream.end(), f.begin(), f.end());
  stream.push_back('\n');
  stream.insert(stream.end(), f.begin(), f.end());
  const Replies r = b.pushBytes(stream, 1);
  CHECK_EQ(r.size(), 2u);
  CHECK(isType(r, 0, MessageType::kPong));
  CHECK(isType(r, 1, MessageType::kPong));
  CHECK(b.session.stats().log_lines >= 1u);
}

TEST(handler, "a message link takes exactly one frame per message") {
  Bench b(true);
  p::Message ping(MessageType::kPing, 5);
  const auto f = bench::encode(ping);
  CHECK(isType(b.pushMessage(f), 0, MessageType::kPong));
  std::vector<uint8_t> two = f;
  two.insert(two.end(), f.begin(), f.end());
  CHECK_EQ(b.pushMessage(two).size(), 0u);
  std::vector<uint8_t> text = {'h', 'i', '\n'};
  CHECK_EQ(b.pushMessage(text).size(), 0u);
  CHECK_EQ(b.session.badMessages(), 2u);
}

TEST(handler, "RESET is answered before the restart; download mode is requested") {
  Bench b;
  p::Message reset(MessageType::kReset, 0);
  reset.body.reset.mode = p::ResetMode::kDownload;
  CHECK(!b.handler.resetRequested(nullptr));
  CHECK(isType(b.request(reset), 0, MessageType::kOk));
  hil::ResetMode mode = hil::ResetMode::App;
  CHECK(b.handler.resetRequested(&mode));
  CHECK(mode == hil::ResetMode::Download);
  CHECK(b.platform.restarts.empty());  // the caller restarts after draining its links
}

// ---------------------------------------------------------------------------- state machine

TEST(handler, "requests in the wrong state get BAD_STATE naming the state") {
  Bench b;
  Replies r = b.invoke(0, 1);
  CHECK_ERROR(r, ErrorCode::kBadState, 0);
  CHECK_EQ(errorText(r), std::string("INVOKE is not allowed while the board is idle (send MODEL_BEGIN or MODEL_SELECT_PARTITION first)"));
  CHECK_ERROR(b.setInput(0, 0, {1}), ErrorCode::kBadState, 0);
  CHECK_ERROR(b.getOutput(0), ErrorCode::kBadState, 0);
  CHECK_ERROR(b.arena(1024), ErrorCode::kBadState, 0);
  CHECK_ERROR(b.request(p::Message(MessageType::kModelEnd, 0)), ErrorCode::kBadState, 0);
  CHECK_ERROR(b.request(p::Message(MessageType::kAccuracyRun, 0)), ErrorCode::kBadState, 0);
  CHECK(b.handler.state() == hil::BoardState::Idle);
  // With a model but no arena.
  CHECK(isType(b.upload(fcInt8()), 0, MessageType::kModelReady));
  r = b.invoke(0, 1);
  CHECK_ERROR(r, ErrorCode::kBadState, 0);
  CHECK_EQ(errorText(r), std::string("INVOKE is not allowed while the board is model ready (send ARENA_CONFIG first)"));
  // Memory report and ping work in every state.
  CHECK(isType(b.request(p::Message(MessageType::kMemoryReport, 0)), 0, MessageType::kMemory));
}

// ---------------------------------------------------------------------------- model upload

TEST(handler, "a model uploads in chunks, is hashed and lands 16-byte aligned in PSRAM") {
  Bench b;
  const auto model = fcInt8();
  const Replies r = b.upload(model, Placement::Psram, 100);
  CHECK(isType(r, 0, MessageType::kModelReady));
  const p::ModelReadyBody& ready = r[0]->msg.body.model_ready;
  CHECK_EQ(ready.size, model.size());
  CHECK(std::memcmp(ready.sha256.bytes, bench::sha256Of(model).data(), 32) == 0);
  CHECK(ready.source == p::ModelSource::kUpload);
  CHECK(ready.placement == p::Placement::kPsram);
  CHECK(b.handler.state() == hil::BoardState::ModelReady);
  CHECK_EQ(b.platform.heap(Placement::Psram).free, (8u << 20) - static_cast<uint32_t>(model.size()));
}

TEST(handler, "a SHA-256 mismatch drops the upload and frees its memory") {
  Bench b;
  auto model = fcInt8();
  p::Message begin(MessageType::kModelBegin, 0);
  begin.body.model_begin.size = static_cast<uint32_t>(model.size());
  const auto digest = bench::sha256Of(model);
  std::memcpy(begin.body.model_begin.sha256.bytes, digest.data(), 32);
  begin.body.model_begin.destination = p::Placement::kInternal;
  CHECK(isType(b.request(begin), 0, MessageType::kChunkAck));
  model[20] ^= 1;  // one bit flipped on the way
  p::Message chunk(MessageType::kModelChunk, 0);
  chunk.body.model_chunk.offset = 0;
  chunk.body.model_chunk.data = p::Bytes{model.data(), model.size()};
  CHECK(isType(b.request(chunk), 0, MessageType::kChunkAck));
  const Replies r = b.request(p::Message(MessageType::kModelEnd, 0));
  CHECK_ERROR(r, ErrorCode::kModelShaMismatch, 0);
  const std::string hex = [&] {
    char h[65];
    const auto d = bench::sha256Of(model);
    hil::sha256Hex(d.data(), h);
    return std::string(h);
  }();
  CHECK(errorText(r).find(hex) != std::string::npos);
  CHECK(b.handler.state() == hil::BoardState::Idle);
  CHECK_EQ(b.platform.liveAllocations(), 0u);
}

TEST(handler, "chunks out of order, past the end, or an early MODEL_END are refused") {
  Bench b;
  const auto model = fcInt8();
  p::Message begin(MessageType::kModelBegin, 0);
  begin.body.model_begin.size = static_cast<uint32_t>(model.size());
  begin.body.model_begin.destination = p::Placement::kPsram;
  CHECK(isType(b.request(begin), 0, MessageType::kChunkAck));
  p::Message chunk(MessageType::kModelChunk, 0);
  chunk.body.model_chunk.offset = 10;
  chunk.body.model_chunk.data = p::Bytes{model.data(), 10};
  CHECK_ERROR(b.request(chunk), ErrorCode::kBadOffset, 0);
  chunk.body.model_chunk.offset = 0;
  chunk.body.model_chunk.data = p::Bytes{model.data(), 100};
  Replies r = b.request(chunk);
  CHECK(isType(r, 0, MessageType::kChunkAck));
  CHECK_EQ(r[0]->msg.body.chunk_ack.next_offset, 100u);
  CHECK_ERROR(b.request(chunk), ErrorCode::kBadOffset, 100);  // a resend of the same chunk
  std::vector<uint8_t> big(model.size(), 0);
  chunk.body.model_chunk.offset = 100;
  chunk.body.model_chunk.data = p::Bytes{big.data(), big.size()};
  CHECK_ERROR(b.request(chunk), ErrorCode::kBadArgument, 0);
  CHECK_ERROR(b.request(p::Message(MessageType::kModelEnd, 0)), ErrorCode::kBadState, 100);
}

TEST(handler, "MODEL_BEGIN refuses flash or none, size 0, and what does not fit") {
  Bench b;
  p::Message begin(MessageType::kModelBegin, 0);
  begin.body.model_begin.size = 1000;
  begin.body.model_begin.destination = p::Placement::kFlash;
  CHECK_ERROR(b.request(begin), ErrorCode::kBadArgument, 0);
  begin.body.model_begin.destination = p::Placement::kInternal;
  begin.body.model_begin.size = 0;
  CHECK_ERROR(b.request(begin), ErrorCode::kBadArgument, 0);
  begin.body.model_begin.size = 400000;  // internal budget is 320 KiB
  const Replies r = b.request(begin);
  CHECK_ERROR(r, ErrorCode::kModelTooLarge, hil::largestAlignedAllocation(320u * 1024));
  CHECK_EQ(b.platform.liveAllocations(), 0u);
}

TEST(handler, "a model without the TFL3 identifier is MODEL_INVALID") {
  Bench b;
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0};
  CHECK_ERROR(b.upload(png), ErrorCode::kModelInvalid, 0);
  CHECK(b.handler.state() == hil::BoardState::Idle);
}

// ---------------------------------------------------------------------------- arena

TEST(handler, "ARENA_CONFIG: too small, out of memory, unsupported op, then ready with the tensors") {
  Bench b;
  CHECK(isType(b.upload(fcInt8()), 0, MessageType::kModelReady));
  Replies r = b.arena(8);
  CHECK_ERROR(r, ErrorCode::kArenaTooSmall, -1);
  const uint32_t needed = r[0]->msg.body.error.arg;
  CHECK(needed > 8u);
  CHECK(b.handler.state() == hil::BoardState::ModelReady);
  CHECK_ERROR(b.arena(400000), ErrorCode::kOutOfMemory, 320u * 1024);  // arg: the largest free block (all of it)
  CHECK_ERROR(b.arena(1024, Placement::Flash), ErrorCode::kBadArgument, 0);
  r = b.arena(needed);
  CHECK(isType(r, 0, MessageType::kArenaReady));
  const p::ArenaReadyBody& a = r[0]->msg.body.arena_ready;
  CHECK_EQ(a.size, needed);
  CHECK(a.placement == p::Placement::kInternal);
  CHECK_EQ(a.used, needed);
  CHECK_EQ(a.inputs.count, 1);
  CHECK_EQ(a.outputs.count, 1);
  p::TensorInfo in, out;
  CHECK(a.inputs.Get(0, &in));
  CHECK(a.outputs.Get(0, &out));
  CHECK_EQ(in.dtype, 9);  // int8
  CHECK_EQ(in.bytes, 8u);
  CHECK_EQ(in.rank, 2);
  CHECK_EQ(in.dims[1], 8);
  CHECK_EQ(in.scale, 0.05f);
  CHECK_EQ(in.zero_point, -3);
  CHECK_EQ(out.bytes, 4u);
  CHECK_EQ(out.zero_point, 2);
  CHECK(b.handler.state() == hil::BoardState::Ready);

  Bench c;
  CHECK(isType(c.upload(bench::hostModelFile("conv_int8.tflite")), 0, MessageType::kModelReady));
  r = c.arena(65536);
  CHECK_ERROR(r, ErrorCode::kUnsupportedOp, 3);
  CHECK(errorText(r).find("CONV_2D") != std::string::npos);
  CHECK_EQ(c.platform.heap(Placement::Internal).free, 320u * 1024);  // the arena was given back
}

// ---------------------------------------------------------------------------- inference

TEST(handler, "SET_INPUT, INVOKE and GET_OUTPUT give the reference interpreter's int8 output") {
  for (const char* name : {"fc_int8", "fc_int8_pc", "mlp_int8", "fc_float"}) {
    Bench b;
    makeReady(b, bench::hostModelFile(std::string(name) + ".tflite"));
    const auto input = bench::hostModelFile(std::string(name) + ".in.bin");
    const auto expected = bench::hostModelFile(std::string(name) + ".out.bin");
    Replies r = b.setInput(0, 0, input);
    CHECK(isType(r, 0, MessageType::kChunkAck));
    CHECK_EQ(r[0]->msg.body.chunk_ack.next_offset, static_cast<uint32_t>(input.size()));
    r = b.invoke(0, 1);
    CHECK(isType(r, r.size() - 1, MessageType::kInvokeResult));
    CHECK(Bench::outputBytes(b.getOutput(0)) == expected);
  }
}

TEST(handler, "every inference of INVOKE starts from the inputs the host set, even when the interpreter reuses their memory") {
  // TFLM's planner hands an input's bytes to later tensors once the input has been read; found on
  // the real firmware in QEMU, where person_detect's second measured inference ran on garbage.
  Bench b;
  makeReady(b, fcInt8());
  b.runner.reuseInputMemory(true);
  const auto input = bench::hostModelFile("fc_int8.in.bin");
  const auto expected = bench::hostModelFile("fc_int8.out.bin");
  CHECK(isType(b.setInput(0, 0, input), 0, MessageType::kChunkAck));
  const Replies r = b.invoke(2, 3);
  CHECK(isType(r, r.size() - 1, MessageType::kInvokeResult));
  CHECK_EQ(b.runner.invokeCount(), 5u);
  CHECK(Bench::outputBytes(b.getOutput(0)) == expected);
  // A second INVOKE without a new SET_INPUT still runs on the same inputs.
  b.invoke(0, 2);
  CHECK(Bench::outputBytes(b.getOutput(0)) == expected);
}

TEST(handler, "input chunks may arrive in any order; ranges past a tensor are BAD_TENSOR") {
  Bench b;
  makeReady(b, fcInt8());
  const auto input = bench::hostModelFile("fc_int8.in.bin");
  CHECK(isType(b.setInput(0, 4, std::vector<uint8_t>(input.begin() + 4, input.end())), 0, MessageType::kChunkAck));
  CHECK(isType(b.setInput(0, 0, std::vector<uint8_t>(input.begin(), input.begin() + 4)), 0, MessageType::kChunkAck));
  b.invoke(0, 1);
  CHECK(Bench::outputBytes(b.getOutput(0)) == bench::hostModelFile("fc_int8.out.bin"));
  CHECK_ERROR(b.setInput(0, 6, {1, 2, 3}), ErrorCode::kBadTensor, 0);
  CHECK_ERROR(b.setInput(1, 0, {1}), ErrorCode::kBadTensor, 1);
  CHECK_ERROR(b.getOutput(3), ErrorCode::kBadTensor, 3);
  CHECK_ERROR(b.getOutput(0, 2, 3), ErrorCode::kBadTensor, 0);
  const Replies part = b.getOutput(0, 1, 2);
  CHECK_EQ(Bench::outputBytes(part).size(), 2u);
  CHECK_EQ(part[0]->msg.body.output_data.offset, 1u);
  CHECK_EQ(part[0]->msg.body.output_data.total, 4u);
}

TEST(handler, "INVOKE reports each measured inference's cycles, then the result") {
  Bench b;
  makeReady(b, fcInt8());
  b.runner.setClock(&b.platform, 1200000);  // 5 ms per operator at 240 MHz
  const Replies r = b.invoke(2, 5);
  CHECK_EQ(r.size(), 2u);
  CHECK(isType(r, 0, MessageType::kInvokeCycles));
  CHECK((r[0]->header.flags & p::kFlagMore) != 0);
  const p::InvokeCyclesBody& c = r[0]->msg.body.invoke_cycles;
  CHECK_EQ(c.first, 0u);
  CHECK_EQ(c.cycles.count, 5);
  for (size_t i = 0; i < c.cycles.count; ++i) CHECK_EQ(c.cycles.Get(i), 1200000u);
  CHECK(isType(r, 1, MessageType::kInvokeResult));
  CHECK((r[1]->header.flags & p::kFlagMore) == 0);
  const p::InvokeResultBody& res = r[1]->msg.body.invoke_result;
  CHECK_EQ(res.warmup, 2u);
  CHECK_EQ(res.measured, 5u);
  CHECK_EQ(res.cpu_mhz, 240);
  CHECK_EQ(res.total_cycles, 6000000ull);
  CHECK_EQ(res.wall_us, 25000ull);
  CHECK_EQ(b.runner.invokeCount(), 7u);
}

TEST(handler, "cycle counts stay exact across the 32-bit wrap; longer than a wrap is 0xFFFFFFFF") {
  Bench b;
  makeReady(b, fcInt8());
  b.platform.setCycleCounter(0xFFFFFFFFu - 500000u);
  b.runner.setClock(&b.platform, 1000000);
  Replies r = b.invoke(0, 3);
  CHECK_EQ(r[0]->msg.body.invoke_cycles.cycles.Get(0), 1000000u);
  CHECK_EQ(r[0]->msg.body.invoke_cycles.cycles.Get(1), 1000000u);
  b.runner.setClock(&b.platform, 5808000000ull);  // a 24.2 s inference (esp-nn #36)
  r = b.invoke(0, 1);
  CHECK_EQ(r[0]->msg.body.invoke_cycles.cycles.Get(0), hil::kCyclesOverflow);
}

TEST(handler, "INVOKE_CYCLES frames hold at most 1023 values and go out at least once a second") {
  Bench b;
  makeReady(b, fcInt8());
  b.runner.setClock(&b.platform, 240);  // 1 us per inference
  Replies r = b.invoke(0, 2500);
  CHECK_EQ(r.size(), 4u);
  CHECK_EQ(r[0]->msg.body.invoke_cycles.first, 0u);
  CHECK_EQ(r[0]->msg.body.invoke_cycles.cycles.count, 1023);
  CHECK_EQ(r[1]->msg.body.invoke_cycles.first, 1023u);
  CHECK_EQ(r[2]->msg.body.invoke_cycles.first, 2046u);
  CHECK_EQ(r[2]->msg.body.invoke_cycles.cycles.count, 454);
  CHECK_EQ(r[3]->msg.body.invoke_result.total_cycles, 2500ull * 240);
  // 0.6 s inferences: a frame after every second inference at the latest; warm-up sends empty
  // INVOKE_CYCLES frames so the host's inactivity timeout never fires.
  b.runner.setClock(&b.platform, 144000000);
  r = b.invoke(4, 3);
  size_t values = 0;
  for (size_t i = 0; i + 1 < r.size(); ++i) {
    CHECK(r[i]->msg.type == MessageType::kInvokeCycles);
    values += r[i]->msg.body.invoke_cycles.cycles.count;
  }
  CHECK_EQ(values, 3u);
  CHECK(r.size() >= 1u + 2u + 2u);
  CHECK(isType(r, r.size() - 1, MessageType::kInvokeResult));
}

TEST(handler, "PROFILE adds one unmeasured inference with per-operator cycles") {
  Bench b;
  makeReady(b, bench::hostModelFile("mlp_int8.tflite"));
  b.runner.setClock(&b.platform, 2400);
  const Replies r = b.invoke(1, 4, true);
  CHECK_EQ(r.size(), 3u);
  CHECK(isType(r, 0, MessageType::kInvokeCycles));
  CHECK_EQ(r[0]->msg.body.invoke_cycles.cycles.Get(0), 3u * 2400);  // three operators
  CHECK(isType(r, 1, MessageType::kInvokeProfile));
  CHECK((r[1]->header.flags & p::kFlagMore) != 0);
  const p::ProfileList& list = r[1]->msg.body.invoke_profile.entries;
  CHECK_EQ(list.count, 3);
  const char* names[] = {"FULLY_CONNECTED", "RESHAPE", "FULLY_CONNECTED"};
  for (size_t i = 0; i < 3; ++i) {
    p::ProfileEntry e;
    CHECK(list.Get(i, &e));
    CHECK_EQ(e.op_index, i);
    CHECK_EQ(e.cycles, 2400u);
    CHECK_EQ(std::string(e.name.data, e.name.len), std::string(names[i]));
  }
  CHECK_EQ(r[2]->msg.body.invoke_result.measured, 4u);
  CHECK_EQ(b.runner.invokeCount(), 1u + 4u + 1u);
}

TEST(handler, "a failing Invoke() ends INVOKE with INVOKE_FAILED naming the inference") {
  Bench b;
  makeReady(b, fcInt8());
  b.runner.failInvokeAfter(0);
  CHECK_ERROR(b.invoke(3, 3), ErrorCode::kInvokeFailed, 0);  // the first warm-up
  // The 3rd measured inference after 2 warm-ups is inference 4. The request ends with the ERROR
  // (cycles collected before it are not sent: no second passed).
  b.runner.failInvokeAfter(4);
  const Replies r = b.invoke(2, 5);
  CHECK_ERROR(r, ErrorCode::kInvokeFailed, 4);
  CHECK(isType(b.invoke(0, 1), 1, MessageType::kInvokeResult));  // the board carries on
}

TEST(handler, "GET_OUTPUT splits a large tensor into OUTPUT_DATA frames of 4087 bytes") {
  Bench b;
  makeReady(b, bench::hostModelFile("fc_wide.tflite"), 16384);
  b.setInput(0, 0, bench::hostModelFile("fc_wide.in.bin"));
  b.invoke(0, 1);
  const Replies r = b.getOutput(0);
  CHECK_EQ(r.size(), 2u);
  CHECK_EQ(r[0]->msg.body.output_data.data.len, 4087u);
  CHECK((r[0]->header.flags & p::kFlagMore) != 0);
  CHECK_EQ(r[1]->msg.body.output_data.offset, 4087u);
  CHECK_EQ(r[1]->msg.body.output_data.total, 5000u);
  CHECK((r[1]->header.flags & p::kFlagMore) == 0);
  CHECK(Bench::outputBytes(r) == bench::hostModelFile("fc_wide.out.bin"));
}

// ---------------------------------------------------------------------------- accuracy

TEST(handler, "an accuracy batch runs every sample and streams the outputs in order") {
  Bench b;
  makeReady(b, fcInt8());
  const uint32_t samples = 1500;  // 6000 output bytes: two ACCURACY_OUTPUT frames
  std::vector<uint8_t> batch(samples * 8);
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<uint8_t>((i * 37 + 11) & 0xFF);
  p::Message begin(MessageType::kAccuracyBegin, 0);
  begin.body.accuracy_begin.samples = samples;
  begin.body.accuracy_begin.sample_bytes = 7;
  CHECK_ERROR(b.request(begin), ErrorCode::kBadArgument, 0);
  CHECK_ERROR(b.request(p::Message(MessageType::kAccuracyInput, 0)), ErrorCode::kBadState, 0);
  begin.body.accuracy_begin.sample_bytes = 8;
  CHECK(isType(b.request(begin), 0, MessageType::kChunkAck));
  CHECK_ERROR(b.request(p::Message(MessageType::kAccuracyRun, 0)), ErrorCode::kBadState, 0);
  for (size_t at = 0; at < batch.size(); at += 4092) {
    p::Message in(MessageType::kAccuracyInput, 0);
    in.body.accuracy_input.offset = static_cast<uint32_t>(at);
    in.body.accuracy_input.data = p::Bytes{batch.data() + at, std::min<size_t>(4092, batch.size() - at)};
    CHECK(isType(b.request(in), 0, MessageType::kChunkAck));
  }
  const Replies r = b.request(p::Message(MessageType::kAccuracyRun, 0));
  CHECK_EQ(r.size(), 3u);
  std::vector<uint8_t> stream;
  for (size_t i = 0; i + 1 < r.size(); ++i) {
    CHECK(r[i]->msg.type == MessageType::kAccuracyOutput);
    CHECK_EQ(r[i]->msg.body.accuracy_output.offset, static_cast<uint32_t>(stream.size()));
    CHECK_EQ(r[i]->msg.body.accuracy_output.total, samples * 4u);
    const p::Bytes& d = r[i]->msg.body.accuracy_output.data;
    stream.insert(stream.end(), d.data, d.data + d.len);
  }
  CHECK(isType(r, 2, MessageType::kAccuracyResult));
  CHECK_EQ(r[2]->msg.body.accuracy_result.samples, samples);
  CHECK_EQ(r[2]->msg.body.accuracy_result.output_bytes, 4u);
  CHECK_EQ(stream.size(), samples * 4u);
  // Sample 777 alone through SET_INPUT / INVOKE gives the same 4 bytes.
  b.setInput(0, 0, std::vector<uint8_t>(batch.begin() + 777 * 8, batch.begin() + 778 * 8));
  b.invoke(0, 1);
  CHECK(Bench::outputBytes(b.getOutput(0)) == std::vector<uint8_t>(stream.begin() + 777 * 4, stream.begin() + 778 * 4));
}

TEST(handler, "an accuracy batch too big for PSRAM says how big a batch fits") {
  Bench b;
  makeReady(b, fcInt8());
  p::Message begin(MessageType::kAccuracyBegin, 0);
  begin.body.accuracy_begin.samples = 2000000;  // 16 MB of 8-byte samples, PSRAM is 8 MB
  begin.body.accuracy_begin.sample_bytes = 8;
  const uint32_t fits = hil::largestAlignedAllocation(b.platform.heap(Placement::Psram).largestFree);
  CHECK_ERROR(b.request(begin), ErrorCode::kOutOfMemory, (fits / 8) * 8);
}

// ---------------------------------------------------------------------------- memory, partition

TEST(handler, "MEMORY reports arena, model and both heaps") {
  Bench b;
  const auto model = fcInt8();
  makeReady(b, model, 2048);
  const Replies r = b.request(p::Message(MessageType::kMemoryReport, 0));
  CHECK(isType(r, 0, MessageType::kMemory));
  const p::MemoryBody& m = r[0]->msg.body.memory;
  CHECK_EQ(m.arena_size, 2048u);
  CHECK(m.arena_placement == p::Placement::kInternal);
  CHECK(m.arena_used > 0u && m.arena_used <= 2048u);
  CHECK_EQ(m.model_size, model.size());
  CHECK(m.model_placement == p::Placement::kPsram);
  CHECK_EQ(m.internal.total, 320u * 1024);
  CHECK_EQ(m.internal.free, 320u * 1024 - 2048u);
  // PSRAM holds the model and the copy of its inputs every inference starts from.
  const auto inputCopy = static_cast<uint32_t>(bench::hostModelFile("fc_int8.in.bin").size());
  CHECK_EQ(m.psram.free, (8u << 20) - static_cast<uint32_t>(model.size()) - inputCopy);
  CHECK_EQ(m.image_size, 1234567u);
}

TEST(handler, "MODEL_SELECT_PARTITION maps, checks and runs the flashed model") {
  Bench none;
  none.platform.removeModelPartition();
  CHECK_ERROR(none.request(p::Message(MessageType::kModelSelectPartition, 0)), ErrorCode::kModelPartitionEmpty, 0);

  Bench erased;
  erased.platform.setModelPartition(std::vector<uint8_t>(65536, 0xFF));
  CHECK_ERROR(erased.request(p::Message(MessageType::kModelSelectPartition, 0)), ErrorCode::kModelPartitionEmpty, 0);

  Bench damaged;
  auto image = bench::modelImage(fcInt8(), 65536);
  image[64 + 30] ^= 0x40;
  damaged.platform.setModelPartition(image);
  CHECK_ERROR(damaged.request(p::Message(MessageType::kModelSelectPartition, 0)), ErrorCode::kModelInvalid, 0);
  CHECK(!damaged.platform.partitionMapped());

  Bench b;
  const auto model = fcInt8();
  b.platform.setModelPartition(bench::modelImage(model, 65536));
  const Replies r = b.request(p::Message(MessageType::kModelSelectPartition, 0));
  CHECK(isType(r, 0, MessageType::kModelReady));
  CHECK(r[0]->msg.body.model_ready.source == p::ModelSource::kPartition);
  CHECK(r[0]->msg.body.model_ready.placement == p::Placement::kFlash);
  CHECK_EQ(r[0]->msg.body.model_ready.size, model.size());
  CHECK(isType(b.arena(4096), 0, MessageType::kArenaReady));
  b.setInput(0, 0, bench::hostModelFile("fc_int8.in.bin"));
  b.invoke(0, 1);
  CHECK(Bench::outputBytes(b.getOutput(0)) == bench::hostModelFile("fc_int8.out.bin"));
  // A new upload replaces it and unmaps the partition.
  CHECK(isType(b.upload(model), 0, MessageType::kModelReady));
  CHECK(!b.platform.partitionMapped());
}

// ---------------------------------------------------------------------------- real models (../shared)

TEST(shared, "hello_world_int8 gives TFLM's outputs (FACTS.md: 89, 125, 93, 4)") {
  const char* dir = std::getenv("HIL_SHARED_MODELS");
  CHECK(dir != nullptr);
  if (dir == nullptr) return;
  Bench b;
  makeReady(b, bench::readFile(std::string(dir) + "/tflite-micro/hello_world_int8.tflite"));
  const int8_t inputs[] = {-96, -63, -34, 0};
  const int8_t expected[] = {89, 125, 93, 4};
  for (size_t i = 0; i < 4; ++i) {
    b.setInput(0, 0, {static_cast<uint8_t>(inputs[i])});
    b.invoke(0, 1);
    const auto out = Bench::outputBytes(b.getOutput(0));
    CHECK_EQ(out.size(), 1u);
    if (!out.empty()) CHECK_EQ(static_cast<int8_t>(out[0]), expected[i]);
  }
}
