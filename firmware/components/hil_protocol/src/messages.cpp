// Payload layouts of every message (PROTOCOL.md section 4), field by field in wire order.
#include "hil_protocol/messages.h"

#include "hil_protocol/wire.h"

namespace hil::protocol {
namespace {

void PutStr(Writer& w, const Str& s) {
  w.U8(s.len);
  w.Raw(reinterpret_cast<const uint8_t*>(s.data), s.len);
}

Str GetStr(Reader& r) {
  Str s;
  s.len = r.U8();
  s.data = reinterpret_cast<const char*>(r.Raw(s.len));
  if (s.data == nullptr) s.len = 0;
  return s;
}

void PutBytes(Writer& w, const Bytes& b) { w.Raw(b.data, b.len); }

Bytes GetRest(Reader& r) {
  Bytes b;
  b.len = r.remaining();
  b.data = r.Raw(b.len);
  return b;
}

// An enumeration value must be below `count` on the wire.
template <typename E>
void PutEnum(Writer& w, E v, uint8_t count) {
  const uint8_t code = static_cast<uint8_t>(v);
  if (code >= count) w.Fail();
  w.U8(code);
}

template <typename E>
E GetEnum(Reader& r, uint8_t count) {
  const uint8_t code = r.U8();
  if (code >= count) r.Fail();
  return static_cast<E>(code);
}

constexpr uint8_t kPlacements = 4;
constexpr uint8_t kSources = 2;
constexpr uint8_t kResetModes = 2;
constexpr uint8_t kLogLevels = 6;

void PutIdentity(Writer& w, const Identity& b) {
  w.U8(b.protocol_min);
  w.U8(b.protocol_max);
  w.U16(b.max_payload);
  w.U8(b.rx_window);
  w.U8(b.simulated ? kHelloFlagSimulated : 0);
  w.U8(b.reset_reason);
  w.U8(b.cores);
  w.U16(b.chip_revision);
  w.U16(b.cpu_mhz);
  w.U32(b.flash_size);
  w.U32(b.psram_size);
  w.U32(b.uptime_ms);
  w.Raw(b.mac.bytes, sizeof b.mac.bytes);
  w.Raw(b.app_sha256.bytes, sizeof b.app_sha256.bytes);
  PutStr(w, b.chip);
  PutStr(w, b.variant);
  PutStr(w, b.kernel_backend);
  PutStr(w, b.app_version);
  PutStr(w, b.project_name);
  PutStr(w, b.idf_version);
  PutStr(w, b.tflm_version);
  PutStr(w, b.esp_nn_version);
}

void GetIdentity(Reader& r, Identity* b) {
  b->protocol_min = r.U8();
  b->protocol_max = r.U8();
  b->max_payload = r.U16();
  b->rx_window = r.U8();
  b->simulated = (r.U8() & kHelloFlagSimulated) != 0;  // other bits: later versions' flags, ignored
  b->reset_reason = r.U8();
  b->cores = r.U8();
  b->chip_revision = r.U16();
  b->cpu_mhz = r.U16();
  b->flash_size = r.U32();
  b->psram_size = r.U32();
  b->uptime_ms = r.U32();
  if (const uint8_t* p = r.Raw(sizeof b->mac.bytes)) std::memcpy(b->mac.bytes, p, sizeof b->mac.bytes);
  if (const uint8_t* p = r.Raw(sizeof b->app_sha256.bytes)) std::memcpy(b->app_sha256.bytes, p, sizeof b->app_sha256.bytes);
  b->chip = GetStr(r);
  b->variant = GetStr(r);
  b->kernel_backend = GetStr(r);
  b->app_version = GetStr(r);
  b->project_name = GetStr(r);
  b->idf_version = GetStr(r);
  b->tflm_version = GetStr(r);
  b->esp_nn_version = GetStr(r);
}

void PutHeap(Writer& w, const HeapStats& h) {
  w.U32(h.total);
  w.U32(h.free);
  w.U32(h.min_free);
  w.U32(h.largest_free);
}

HeapStats GetHeap(Reader& r) {
  HeapStats h;
  h.total = r.U32();
  h.free = r.U32();
  h.min_free = r.U32();
  h.largest_free = r.U32();
  return h;
}

void PutSha(Writer& w, const Sha256& s) { w.Raw(s.bytes, sizeof s.bytes); }

Sha256 GetSha(Reader& r) {
  Sha256 s;
  const uint8_t* p = r.Raw(sizeof s.bytes);
  if (p != nullptr) std::memcpy(s.bytes, p, sizeof s.bytes);
  else std::memset(s.bytes, 0, sizeof s.bytes);
  return s;
}

void PutTensor(Writer& w, const TensorInfo& t) {
  if (t.dtype > kMaxDtype || t.rank > kMaxRank) w.Fail();
  w.U8(t.dtype);
  w.U32(t.bytes);
  w.U8(t.rank);
  for (size_t d = 0; d < t.rank && d < kMaxRank; d++) w.I32(t.dims[d]);
  w.F32(t.scale);
  w.I32(t.zero_point);
}

// Reads one tensor; false (and r failed) when it breaks the v1 limits.
bool GetTensor(Reader& r, TensorInfo* t) {
  std::memset(t, 0, sizeof *t);
  t->dtype = r.U8();
  t->bytes = r.U32();
  t->rank = r.U8();
  if (t->dtype > kMaxDtype || t->rank > kMaxRank) {
    r.Fail();
    return false;
  }
  for (size_t d = 0; d < t->rank; d++) t->dims[d] = r.I32();
  t->scale = r.F32();
  t->zero_point = r.I32();
  return r.ok();
}

void PutTensors(Writer& w, const TensorList& list) {
  if (list.count > kMaxTensors || (list.count > 0 && list.items == nullptr && list.raw == nullptr)) w.Fail();
  w.U8(list.count);
  for (size_t i = 0; i < list.count && w.ok(); i++) {
    TensorInfo t;
    if (!list.Get(i, &t)) w.Fail();
    else PutTensor(w, t);
  }
}

TensorList GetTensors(Reader& r) {
  TensorList list{nullptr, nullptr, 0, 0};
  list.count = r.U8();
  if (list.count > kMaxTensors) r.Fail();
  list.raw = r.Raw(0);  // the first entry; walking them validates every one
  const size_t start = r.remaining();
  TensorInfo t;
  for (size_t i = 0; i < list.count && r.ok(); i++) GetTensor(r, &t);
  list.raw_len = r.ok() ? start - r.remaining() : 0;
  return list;
}

void PutProfile(Writer& w, const ProfileList& list) {
  if (list.count > 0 && list.items == nullptr && list.raw == nullptr) w.Fail();
  w.U16(list.count);
  for (size_t i = 0; i < list.count && w.ok(); i++) {
    ProfileEntry e;
    if (!list.Get(i, &e)) {
      w.Fail();
      break;
    }
    w.U16(e.op_index);
    w.U32(e.cycles);
    PutStr(w, e.name);
  }
}

ProfileEntry GetProfileEntry(Reader& r) {
  ProfileEntry e;
  e.op_index = r.U16();
  e.cycles = r.U32();
  e.name = GetStr(r);
  return e;
}

}  // namespace

Str Str::From(const char* s) { return s == nullptr ? From("", 0) : From(s, std::strlen(s)); }

Str Str::From(const char* s, size_t len) {
  if (len > 255) {
    len = 255;
    // Cut before the character that would be split: back off UTF-8 continuation bytes (10xxxxxx).
    while (len > 0 && (static_cast<uint8_t>(s[len]) & 0xC0) == 0x80) len--;
  }
  return Str{s, static_cast<uint8_t>(len)};
}

bool TensorList::Get(size_t i, TensorInfo* out) const {
  if (i >= count) return false;
  if (items != nullptr) {
    *out = items[i];
    return true;
  }
  if (raw == nullptr) return false;
  Reader r(raw, raw_len);
  for (size_t k = 0; k <= i; k++) {
    if (!GetTensor(r, out)) return false;
  }
  return true;
}

uint32_t U32List::Get(size_t i) const {
  if (i >= count) return 0;
  if (items != nullptr) return items[i];
  const uint8_t* p = raw + 4 * i;
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

bool ProfileList::Get(size_t i, ProfileEntry* out) const {
  if (i >= count) return false;
  if (items != nullptr) {
    *out = items[i];
    return true;
  }
  if (raw == nullptr) return false;
  Reader r(raw, raw_len);
  for (size_t k = 0; k <= i; k++) *out = GetProfileEntry(r);
  return r.ok();
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPing: return "ping";
    case MessageType::kGetInfo: return "get_info";
    case MessageType::kNegotiate: return "negotiate";
    case MessageType::kReset: return "reset";
    case MessageType::kLogLevel: return "log_level";
    case MessageType::kMemoryReport: return "memory_report";
    case MessageType::kModelBegin: return "model_begin";
    case MessageType::kModelChunk: return "model_chunk";
    case MessageType::kModelEnd: return "model_end";
    case MessageType::kModelSelectPartition: return "model_select_partition";
    case MessageType::kArenaConfig: return "arena_config";
    case MessageType::kSetInput: return "set_input";
    case MessageType::kInvoke: return "invoke";
    case MessageType::kGetOutput: return "get_output";
    case MessageType::kAccuracyBegin: return "accuracy_begin";
    case MessageType::kAccuracyInput: return "accuracy_input";
    case MessageType::kAccuracyRun: return "accuracy_run";
    case MessageType::kSimSetVariant: return "sim_set_variant";
    case MessageType::kHello: return "hello";
    case MessageType::kPong: return "pong";
    case MessageType::kInfo: return "info";
    case MessageType::kNegotiated: return "negotiated";
    case MessageType::kOk: return "ok";
    case MessageType::kError: return "error";
    case MessageType::kMemory: return "memory";
    case MessageType::kChunkAck: return "chunk_ack";
    case MessageType::kModelReady: return "model_ready";
    case MessageType::kArenaReady: return "arena_ready";
    case MessageType::kInvokeCycles: return "invoke_cycles";
    case MessageType::kInvokeProfile: return "invoke_profile";
    case MessageType::kInvokeResult: return "invoke_result";
    case MessageType::kOutputData: return "output_data";
    case MessageType::kAccuracyOutput: return "accuracy_output";
    case MessageType::kAccuracyResult: return "accuracy_result";
  }
  return nullptr;
}

bool IsKnownMessageType(uint8_t code) { return MessageTypeName(static_cast<MessageType>(code)) != nullptr; }

bool EncodeBody(const Message& msg, uint8_t* out, size_t cap, size_t* len) {
  Writer w(out, cap < kMaxPayload ? cap : kMaxPayload);
  const Message::Body& b = msg.body;
  switch (msg.type) {
    case MessageType::kGetInfo:
    case MessageType::kMemoryReport:
    case MessageType::kModelEnd:
    case MessageType::kModelSelectPartition:
    case MessageType::kAccuracyRun:
    case MessageType::kOk:
      break;
    case MessageType::kPing: PutBytes(w, b.ping.data); break;
    case MessageType::kPong: PutBytes(w, b.pong.data); break;
    case MessageType::kNegotiate:
      if (b.negotiate.versions.len > 255) w.Fail();
      w.U8(static_cast<uint8_t>(b.negotiate.versions.len));
      PutBytes(w, b.negotiate.versions);
      break;
    case MessageType::kReset: PutEnum(w, b.reset.mode, kResetModes); break;
    case MessageType::kLogLevel:
      PutEnum(w, b.log_level.level, kLogLevels);
      PutStr(w, b.log_level.tag);
      break;
    case MessageType::kModelBegin:
      w.U32(b.model_begin.size);
      PutSha(w, b.model_begin.sha256);
      PutEnum(w, b.model_begin.destination, kPlacements);
      break;
    case MessageType::kModelChunk:
      w.U32(b.model_chunk.offset);
      PutBytes(w, b.model_chunk.data);
      break;
    case MessageType::kAccuracyInput:
      w.U32(b.accuracy_input.offset);
      PutBytes(w, b.accuracy_input.data);
      break;
    case MessageType::kArenaConfig:
      w.U32(b.arena_config.size);
      PutEnum(w, b.arena_config.placement, kPlacements);
      break;
    case MessageType::kSetInput:
      w.U8(b.set_input.tensor);
      w.U32(b.set_input.offset);
      PutBytes(w, b.set_input.data);
      break;
    case MessageType::kInvoke:
      w.U32(b.invoke.warmup);
      w.U32(b.invoke.measured);
      w.U8(b.invoke.profile ? kInvokeFlagProfile : 0);
      break;
    case MessageType::kGetOutput:
      w.U8(b.get_output.tensor);
      w.U32(b.get_output.offset);
      w.U32(b.get_output.length);
      break;
    case MessageType::kAccuracyBegin:
      w.U32(b.accuracy_begin.samples);
      w.U32(b.accuracy_begin.sample_bytes);
      break;
    case MessageType::kSimSetVariant: PutStr(w, b.sim_set_variant.variant); break;
    case MessageType::kHello: PutIdentity(w, b.hello); break;
    case MessageType::kInfo: PutIdentity(w, b.info); break;
    case MessageType::kNegotiated: w.U8(b.negotiated.version); break;
    case MessageType::kError:
      w.U16(b.error.code);
      w.U32(b.error.arg);
      PutStr(w, b.error.message);
      break;
    case MessageType::kMemory:
      w.U32(b.memory.arena_size);
      w.U32(b.memory.arena_used);
      PutEnum(w, b.memory.arena_placement, kPlacements);
      w.U32(b.memory.model_size);
      PutEnum(w, b.memory.model_placement, kPlacements);
      w.U32(b.memory.image_size);
      PutHeap(w, b.memory.internal);
      PutHeap(w, b.memory.psram);
      break;
    case MessageType::kChunkAck: w.U32(b.chunk_ack.next_offset); break;
    case MessageType::kModelReady:
      w.U32(b.model_ready.size);
      PutSha(w, b.model_ready.sha256);
      PutEnum(w, b.model_ready.source, kSources);
      PutEnum(w, b.model_ready.placement, kPlacements);
      break;
    case MessageType::kArenaReady:
      w.U32(b.arena_ready.size);
      PutEnum(w, b.arena_ready.placement, kPlacements);
      w.U32(b.arena_ready.used);
      PutTensors(w, b.arena_ready.inputs);
      PutTensors(w, b.arena_ready.outputs);
      break;
    case MessageType::kInvokeCycles: {
      const U32List& c = b.invoke_cycles.cycles;
      if (c.count > 0 && c.items == nullptr && c.raw == nullptr) w.Fail();
      w.U32(b.invoke_cycles.first);
      for (size_t i = 0; i < c.count && w.ok(); i++) w.U32(c.Get(i));
      break;
    }
    case MessageType::kInvokeProfile: PutProfile(w, b.invoke_profile.entries); break;
    case MessageType::kInvokeResult:
      w.U32(b.invoke_result.warmup);
      w.U32(b.invoke_result.measured);
      w.U16(b.invoke_result.cpu_mhz);
      w.U64(b.invoke_result.total_cycles);
      w.U64(b.invoke_result.wall_us);
      break;
    case MessageType::kOutputData:
      w.U8(b.output_data.tensor);
      w.U32(b.output_data.offset);
      w.U32(b.output_data.total);
      PutBytes(w, b.output_data.data);
      break;
    case MessageType::kAccuracyOutput:
      w.U32(b.accuracy_output.offset);
      w.U32(b.accuracy_output.total);
      PutBytes(w, b.accuracy_output.data);
      break;
    case MessageType::kAccuracyResult:
      w.U32(b.accuracy_result.samples);
      w.U32(b.accuracy_result.output_bytes);
      break;
    default:
      w.Fail();
      break;
  }
  if (!w.ok()) return false;
  *len = w.size();
  return true;
}

size_t EncodeMessage(const Message& msg, uint8_t* out, size_t cap, uint8_t version) {
  if (cap < kHeaderSize + kCrcSize) return 0;
  size_t len = 0;
  if (!EncodeBody(msg, out + kHeaderSize, cap - kHeaderSize - kCrcSize, &len)) return 0;
  FrameHeader h;
  h.version = version;
  h.type = static_cast<uint8_t>(msg.type);
  h.flags = static_cast<uint8_t>((msg.simulated ? kFlagSimulated : 0) | (msg.more ? kFlagMore : 0));
  h.request_id = msg.request_id;
  h.length = static_cast<uint16_t>(len);
  return FinishFrame(h, len, out, cap);
}

const char* DecodeStatusName(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk: return "ok";
    case DecodeStatus::kUnknownType: return "unknown-type";
    case DecodeStatus::kBadPayload: return "bad-payload";
    case DecodeStatus::kUnsupportedVersion: return "unsupported-version";
  }
  return "unknown";
}

DecodeStatus DecodeBody(uint8_t type, const uint8_t* payload, size_t len, Message* out) {
  if (!IsKnownMessageType(type)) return DecodeStatus::kUnknownType;
  const MessageType t = static_cast<MessageType>(type);
  *out = Message(t, out->request_id);
  Message::Body& b = out->body;
  Reader r(payload, len);
  bool lenient_tail = false;  // HELLO and INFO: later versions may append fields
  switch (t) {
    case MessageType::kGetInfo:
    case MessageType::kMemoryReport:
    case MessageType::kModelEnd:
    case MessageType::kModelSelectPartition:
    case MessageType::kAccuracyRun:
    case MessageType::kOk:
      break;
    case MessageType::kPing: b.ping.data = GetRest(r); break;
    case MessageType::kPong: b.pong.data = GetRest(r); break;
    case MessageType::kNegotiate:
      b.negotiate.versions.len = r.U8();
      b.negotiate.versions.data = r.Raw(b.negotiate.versions.len);
      break;
    case MessageType::kReset: b.reset.mode = GetEnum<ResetMode>(r, kResetModes); break;
    case MessageType::kLogLevel:
      b.log_level.level = GetEnum<LogLevel>(r, kLogLevels);
      b.log_level.tag = GetStr(r);
      break;
    case MessageType::kModelBegin:
      b.model_begin.size = r.U32();
      b.model_begin.sha256 = GetSha(r);
      b.model_begin.destination = GetEnum<Placement>(r, kPlacements);
      break;
    case MessageType::kModelChunk:
      b.model_chunk.offset = r.U32();
      b.model_chunk.data = GetRest(r);
      break;
    case MessageType::kAccuracyInput:
      b.accuracy_input.offset = r.U32();
      b.accuracy_input.data = GetRest(r);
      break;
    case MessageType::kArenaConfig:
      b.arena_config.size = r.U32();
      b.arena_config.placement = GetEnum<Placement>(r, kPlacements);
      break;
    case MessageType::kSetInput:
      b.set_input.tensor = r.U8();
      b.set_input.offset = r.U32();
      b.set_input.data = GetRest(r);
      break;
    case MessageType::kInvoke: {
      b.invoke.warmup = r.U32();
      b.invoke.measured = r.U32();
      const uint8_t flags = r.U8();
      if ((flags & ~kInvokeFlagProfile) != 0) r.Fail();
      b.invoke.profile = (flags & kInvokeFlagProfile) != 0;
      break;
    }
    case MessageType::kGetOutput:
      b.get_output.tensor = r.U8();
      b.get_output.offset = r.U32();
      b.get_output.length = r.U32();
      break;
    case MessageType::kAccuracyBegin:
      b.accuracy_begin.samples = r.U32();
      b.accuracy_begin.sample_bytes = r.U32();
      break;
    case MessageType::kSimSetVariant: b.sim_set_variant.variant = GetStr(r); break;
    case MessageType::kHello:
      GetIdentity(r, &b.hello);
      lenient_tail = true;
      break;
    case MessageType::kInfo:
      GetIdentity(r, &b.info);
      lenient_tail = true;
      break;
    case MessageType::kNegotiated: b.negotiated.version = r.U8(); break;
    case MessageType::kError:
      b.error.code = r.U16();
      b.error.arg = r.U32();
      b.error.message = GetStr(r);
      break;
    case MessageType::kMemory:
      b.memory.arena_size = r.U32();
      b.memory.arena_used = r.U32();
      b.memory.arena_placement = GetEnum<Placement>(r, kPlacements);
      b.memory.model_size = r.U32();
      b.memory.model_placement = GetEnum<Placement>(r, kPlacements);
      b.memory.image_size = r.U32();
      b.memory.internal = GetHeap(r);
      b.memory.psram = GetHeap(r);
      break;
    case MessageType::kChunkAck: b.chunk_ack.next_offset = r.U32(); break;
    case MessageType::kModelReady:
      b.model_ready.size = r.U32();
      b.model_ready.sha256 = GetSha(r);
      b.model_ready.source = GetEnum<ModelSource>(r, kSources);
      b.model_ready.placement = GetEnum<Placement>(r, kPlacements);
      break;
    case MessageType::kArenaReady:
      b.arena_ready.size = r.U32();
      b.arena_ready.placement = GetEnum<Placement>(r, kPlacements);
      b.arena_ready.used = r.U32();
      b.arena_ready.inputs = GetTensors(r);
      b.arena_ready.outputs = GetTensors(r);
      break;
    case MessageType::kInvokeCycles: {
      b.invoke_cycles.first = r.U32();
      const size_t rest = r.remaining();
      if (rest % 4 != 0) r.Fail();
      b.invoke_cycles.cycles.count = static_cast<uint16_t>(rest / 4);
      b.invoke_cycles.cycles.raw = r.Raw(rest);
      break;
    }
    case MessageType::kInvokeProfile: {
      ProfileList& list = b.invoke_profile.entries;
      list.count = r.U16();
      list.raw = r.Raw(0);
      const size_t start = r.remaining();
      for (size_t i = 0; i < list.count && r.ok(); i++) GetProfileEntry(r);
      list.raw_len = r.ok() ? start - r.remaining() : 0;
      break;
    }
    case MessageType::kInvokeResult:
      b.invoke_result.warmup = r.U32();
      b.invoke_result.measured = r.U32();
      b.invoke_result.cpu_mhz = r.U16();
      b.invoke_result.total_cycles = r.U64();
      b.invoke_result.wall_us = r.U64();
      break;
    case MessageType::kOutputData:
      b.output_data.tensor = r.U8();
      b.output_data.offset = r.U32();
      b.output_data.total = r.U32();
      b.output_data.data = GetRest(r);
      break;
    case MessageType::kAccuracyOutput:
      b.accuracy_output.offset = r.U32();
      b.accuracy_output.total = r.U32();
      b.accuracy_output.data = GetRest(r);
      break;
    case MessageType::kAccuracyResult:
      b.accuracy_result.samples = r.U32();
      b.accuracy_result.output_bytes = r.U32();
      break;
  }
  if (!r.ok() || (!lenient_tail && !r.AtEnd())) return DecodeStatus::kBadPayload;
  return DecodeStatus::kOk;
}

DecodeStatus DecodeMessage(const FrameView& frame, Message* out) {
  out->request_id = frame.header.request_id;
  if (frame.header.version != kProtocolVersion) return DecodeStatus::kUnsupportedVersion;
  const DecodeStatus status = DecodeBody(frame.header.type, frame.payload, frame.header.length, out);
  out->request_id = frame.header.request_id;
  out->simulated = (frame.header.flags & kFlagSimulated) != 0;
  out->more = (frame.header.flags & kFlagMore) != 0;
  return status;
}

}  // namespace hil::protocol
