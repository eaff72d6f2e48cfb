#include "message_json.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace hil::test {

using namespace hil::protocol;

namespace {

const char* const kPlacements[] = {"none", "internal", "psram", "flash"};
const char* const kSources[] = {"upload", "partition"};
const char* const kResetModes[] = {"app", "download"};
const char* const kLogLevels[] = {"none", "error", "warn", "info", "debug", "verbose"};
const char* const kDtypes[] = {"float32", "float16", "int32",  "uint8",      "int64",  "string",   "bool",
                               "int16",   "complex64", "int8", "float64",    "complex128", "uint64", "resource",
                               "variant", "uint32",  "uint16", "int4",       "bfloat16"};
static_assert(sizeof kDtypes / sizeof kDtypes[0] == kMaxDtype + 1, "one name per TensorType code");

template <size_t N>
Json EnumName(const char* const (&names)[N], unsigned code) {
  return Json::String(code < N ? names[code] : "?");
}

Json Num(double v) { return Json::Number(v); }
Json Text(const Str& s) { return Json::String(Utf8Replace(s.data, s.len)); }
Json Hex(const uint8_t* data, size_t len) { return Json::String(ToHex(data, len)); }

Json MacText(const Mac& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac.bytes[0], mac.bytes[1], mac.bytes[2],
                mac.bytes[3], mac.bytes[4], mac.bytes[5]);
  return Json::String(buf);
}

Json IdentityJson(const char* type, const Identity& b) {
  Json j = Json::Object();
  j.Set("type", Json::String(type));
  j.Set("protocolMin", Num(b.protocol_min)).Set("protocolMax", Num(b.protocol_max));
  j.Set("maxPayload", Num(b.max_payload)).Set("rxWindow", Num(b.rx_window));
  j.Set("simulated", Json::Bool(b.simulated)).Set("resetReason", Num(b.reset_reason));
  j.Set("cores", Num(b.cores)).Set("chipRevision", Num(b.chip_revision)).Set("cpuMhz", Num(b.cpu_mhz));
  j.Set("flashSize", Num(b.flash_size)).Set("psramSize", Num(b.psram_size)).Set("uptimeMs", Num(b.uptime_ms));
  j.Set("mac", MacText(b.mac)).Set("appSha256", Hex(b.app_sha256.bytes, 32));
  j.Set("chip", Text(b.chip)).Set("variant", Text(b.variant)).Set("kernelBackend", Text(b.kernel_backend));
  j.Set("appVersion", Text(b.app_version)).Set("projectName", Text(b.project_name));
  j.Set("idfVersion", Text(b.idf_version)).Set("tflmVersion", Text(b.tflm_version));
  j.Set("espNnVersion", Text(b.esp_nn_version));
  return j;
}

Json HeapJson(const HeapStats& h) {
  Json j = Json::Object();
  j.Set("total", Num(h.total)).Set("free", Num(h.free)).Set("minFree", Num(h.min_free));
  j.Set("largestFree", Num(h.largest_free));
  return j;
}

Json TensorsJson(const TensorList& list) {
  Json arr = Json::Array();
  for (size_t i = 0; i < list.count; i++) {
    TensorInfo t;
    if (!list.Get(i, &t)) break;
    Json shape = Json::Array();
    for (size_t d = 0; d < t.rank; d++) shape.Push(Num(t.dims[d]));
    Json j = Json::Object();
    j.Set("dtype", EnumName(kDtypes, t.dtype)).Set("bytes", Num(t.bytes)).Set("shape", std::move(shape));
    j.Set("scale", Num(static_cast<double>(t.scale))).Set("zeroPoint", Num(t.zero_point));
    arr.Push(std::move(j));
  }
  return arr;
}

// Reads the fields of one JSON object, remembering the first problem.
class Fields {
 public:
  Fields(const Json* obj, std::string what, std::string* error, MessageStorage* storage)
      : obj_(obj), what_(std::move(what)), error_(error), storage_(storage) {
    if (obj_ == nullptr || obj_->kind() != Json::Kind::kObject) Fail("", "must be an object");
  }

  bool ok() const { return ok_; }

  const Json* Get(const char* key, Json::Kind kind, const char* expected) {
    if (!ok_) return nullptr;
    const Json* v = obj_->Find(key);
    if (v == nullptr || v->kind() != kind) {
      Fail(key, expected);
      return nullptr;
    }
    return v;
  }

  uint64_t Uint(const char* key, uint64_t max) {
    const Json* v = Get(key, Json::Kind::kNumber, "a number");
    if (v == nullptr) return 0;
    const double d = v->as_number();
    if (!(d >= 0) || d > static_cast<double>(max) || std::floor(d) != d) {
      Fail(key, ("an integer 0.." + std::to_string(max)).c_str());
      return 0;
    }
    return static_cast<uint64_t>(d);
  }

  int32_t Int32(const char* key) {
    const Json* v = Get(key, Json::Kind::kNumber, "a number");
    if (v == nullptr) return 0;
    const double d = v->as_number();
    if (!(d >= -2147483648.0) || d > 2147483647.0 || std::floor(d) != d) {
      Fail(key, "an i32");
      return 0;
    }
    return static_cast<int32_t>(d);
  }

  bool Bool(const char* key) {
    const Json* v = Get(key, Json::Kind::kBool, "a boolean");
    return v != nullptr && v->as_bool();
  }

  Str Text(const char* key, bool cut = false) {
    const Json* v = Get(key, Json::Kind::kString, "a string");
    if (v == nullptr) return Str{"", 0};
    storage_->strings.push_back(v->as_string());
    const std::string& s = storage_->strings.back();
    if (s.size() > 255 && !cut) {
      Fail(key, "a string of at most 255 UTF-8 bytes");
      return Str{"", 0};
    }
    return Str::From(s.data(), s.size());
  }

  Bytes Data(const char* key) {
    const Json* v = Get(key, Json::Kind::kString, "a hex string");
    if (v == nullptr) return Bytes{nullptr, 0};
    storage_->bytes.emplace_back();
    if (!FromHex(v->as_string(), &storage_->bytes.back())) Fail(key, "a hex string");
    return Bytes{storage_->bytes.back().data(), storage_->bytes.back().size()};
  }

  Sha256 Sha(const char* key) {
    Sha256 sha{};
    const Json* v = Get(key, Json::Kind::kString, "64 hex digits");
    std::vector<unsigned char> raw;
    if (v != nullptr && (!FromHex(v->as_string(), &raw) || raw.size() != 32)) Fail(key, "64 hex digits");
    if (ok_) std::memcpy(sha.bytes, raw.data(), 32);
    return sha;
  }

  Mac MacAddr(const char* key) {
    Mac mac{};
    const Json* v = Get(key, Json::Kind::kString, "aa:bb:cc:dd:ee:ff");
    if (v == nullptr) return mac;
    std::string hex;
    for (char c : v->as_string()) {
      if (c != ':') hex.push_back(c);
    }
    std::vector<unsigned char> raw;
    if (v->as_string().size() != 17 || !FromHex(hex, &raw) || raw.size() != 6) Fail(key, "aa:bb:cc:dd:ee:ff");
    if (ok_) std::memcpy(mac.bytes, raw.data(), 6);
    return mac;
  }

  template <typename E, size_t N>
  E Enum(const char* key, const char* const (&names)[N]) {
    const Json* v = Get(key, Json::Kind::kString, "a name");
    if (v != nullptr) {
      for (size_t i = 0; i < N; i++) {
        if (v->as_string() == names[i]) return static_cast<E>(i);
      }
      Fail(key, "a known name");
    }
    return static_cast<E>(0);
  }

  void Fail(const char* key, const char* expected) {
    if (ok_ && error_ != nullptr) *error_ = what_ + (key[0] ? std::string(": ") + key : "") + " must be " + expected;
    ok_ = false;
  }

  MessageStorage* storage() { return storage_; }
  const std::string& what() const { return what_; }
  std::string* error() { return error_; }

 private:
  const Json* obj_;
  std::string what_;
  std::string* error_;
  MessageStorage* storage_;
  bool ok_ = true;
};

void IdentityFrom(Fields& f, Identity* b) {
  b->protocol_min = static_cast<uint8_t>(f.Uint("protocolMin", 255));
  b->protocol_max = static_cast<uint8_t>(f.Uint("protocolMax", 255));
  b->max_payload = static_cast<uint16_t>(f.Uint("maxPayload", 65535));
  b->rx_window = static_cast<uint8_t>(f.Uint("rxWindow", 255));
  b->simulated = f.Bool("simulated");
  b->reset_reason = static_cast<uint8_t>(f.Uint("resetReason", 255));
  b->cores = static_cast<uint8_t>(f.Uint("cores", 255));
  b->chip_revision = static_cast<uint16_t>(f.Uint("chipRevision", 65535));
  b->cpu_mhz = static_cast<uint16_t>(f.Uint("cpuMhz", 65535));
  b->flash_size = static_cast<uint32_t>(f.Uint("flashSize", 0xFFFFFFFFu));
  b->psram_size = static_cast<uint32_t>(f.Uint("psramSize", 0xFFFFFFFFu));
  b->uptime_ms = static_cast<uint32_t>(f.Uint("uptimeMs", 0xFFFFFFFFu));
  b->mac = f.MacAddr("mac");
  b->app_sha256 = f.Sha("appSha256");
  b->chip = f.Text("chip");
  b->variant = f.Text("variant");
  b->kernel_backend = f.Text("kernelBackend");
  b->app_version = f.Text("appVersion");
  b->project_name = f.Text("projectName");
  b->idf_version = f.Text("idfVersion");
  b->tflm_version = f.Text("tflmVersion");
  b->esp_nn_version = f.Text("espNnVersion");
}

HeapStats HeapFrom(Fields& parent, const char* key) {
  Fields f(parent.Get(key, Json::Kind::kObject, "an object"), parent.what() + "." + key, parent.error(),
           parent.storage());
  HeapStats h{};
  if (!parent.ok()) return h;
  h.total = static_cast<uint32_t>(f.Uint("total", 0xFFFFFFFFu));
  h.free = static_cast<uint32_t>(f.Uint("free", 0xFFFFFFFFu));
  h.min_free = static_cast<uint32_t>(f.Uint("minFree", 0xFFFFFFFFu));
  h.largest_free = static_cast<uint32_t>(f.Uint("largestFree", 0xFFFFFFFFu));
  if (!f.ok()) parent.Fail(key, "valid heap statistics");
  return h;
}

TensorList TensorsFrom(Fields& parent, const char* key) {
  TensorList list{nullptr, nullptr, 0, 0};
  const Json* arr = parent.Get(key, Json::Kind::kArray, "an array");
  if (arr == nullptr) return list;
  if (arr->items().size() > kMaxTensors) {
    parent.Fail(key, "an array of at most 16 tensors");
    return list;
  }
  parent.storage()->tensors.emplace_back();
  std::vector<TensorInfo>& out = parent.storage()->tensors.back();
  for (const Json& item : arr->items()) {
    Fields f(&item, parent.what() + "." + key + "[]", parent.error(), parent.storage());
    TensorInfo t{};
    t.dtype = f.Enum<uint8_t>("dtype", kDtypes);
    t.bytes = static_cast<uint32_t>(f.Uint("bytes", 0xFFFFFFFFu));
    const Json* shape = f.Get("shape", Json::Kind::kArray, "an array");
    if (shape != nullptr && shape->items().size() > kMaxRank) f.Fail("shape", "at most 8 dimensions");
    if (shape != nullptr && f.ok()) {
      t.rank = static_cast<uint8_t>(shape->items().size());
      for (size_t d = 0; d < t.rank; d++) {
        const Json& dim = shape->items()[d];
        if (dim.kind() != Json::Kind::kNumber) f.Fail("shape", "an array of numbers");
        else t.dims[d] = static_cast<int32_t>(dim.as_number());
      }
    }
    const Json* scale = f.Get("scale", Json::Kind::kNumber, "a number");
    if (scale != nullptr) t.scale = static_cast<float>(scale->as_number());
    t.zero_point = f.Int32("zeroPoint");
    if (!f.ok()) {
      parent.Fail(key, "valid tensors");
      return list;
    }
    out.push_back(t);
  }
  list.items = out.data();
  list.count = static_cast<uint8_t>(out.size());
  return list;
}

}  // namespace

Json MessageToJson(const Message& msg) {
  const Message::Body& b = msg.body;
  const char* name = MessageTypeName(msg.type);
  Json body = Json::Object();
  body.Set("type", Json::String(name != nullptr ? name : "?"));
  switch (msg.type) {
    case MessageType::kGetInfo:
    case MessageType::kMemoryReport:
    case MessageType::kModelEnd:
    case MessageType::kModelSelectPartition:
    case MessageType::kAccuracyRun:
    case MessageType::kOk:
      break;
    case MessageType::kPing: body.Set("data", Hex(b.ping.data.data, b.ping.data.len)); break;
    case MessageType::kPong: body.Set("data", Hex(b.pong.data.data, b.pong.data.len)); break;
    case MessageType::kNegotiate: {
      Json versions = Json::Array();
      for (size_t i = 0; i < b.negotiate.versions.len; i++) versions.Push(Num(b.negotiate.versions.data[i]));
      body.Set("versions", std::move(versions));
      break;
    }
    case MessageType::kReset: body.Set("mode", EnumName(kResetModes, static_cast<unsigned>(b.reset.mode))); break;
    case MessageType::kLogLevel:
      body.Set("level", EnumName(kLogLevels, static_cast<unsigned>(b.log_level.level)));
      body.Set("tag", Text(b.log_level.tag));
      break;
    case MessageType::kModelBegin:
      body.Set("size", Num(b.model_begin.size)).Set("sha256", Hex(b.model_begin.sha256.bytes, 32));
      body.Set("destination", EnumName(kPlacements, static_cast<unsigned>(b.model_begin.destination)));
      break;
    case MessageType::kModelChunk:
      body.Set("offset", Num(b.model_chunk.offset)).Set("data", Hex(b.model_chunk.data.data, b.model_chunk.data.len));
      break;
    case MessageType::kAccuracyInput:
      body.Set("offset", Num(b.accuracy_input.offset));
      body.Set("data", Hex(b.accuracy_input.data.data, b.accuracy_input.data.len));
      break;
    case MessageType::kArenaConfig:
      body.Set("size", Num(b.arena_config.size));
      body.Set("placement", EnumName(kPlacements, static_cast<unsigned>(b.arena_config.placement)));
      break;
    case MessageType::kSetInput:
      body.Set("tensor", Num(b.set_input.tensor)).Set("offset", Num(b.set_input.offset));
      body.Set("data", Hex(b.set_input.data.data, b.set_input.data.len));
      break;
    case MessageType::kInvoke:
      body.Set("warmup", Num(b.invoke.warmup)).Set("measured", Num(b.invoke.measured));
      body.Set("profile", Json::Bool(b.invoke.profile));
      break;
    case MessageType::kGetOutput:
      body.Set("tensor", Num(b.get_output.tensor)).Set("offset", Num(b.get_output.offset));
      body.Set("length", Num(b.get_output.length));
      break;
    case MessageType::kAccuracyBegin:
      body.Set("samples", Num(b.accuracy_begin.samples)).Set("sampleBytes", Num(b.accuracy_begin.sample_bytes));
      break;
    case MessageType::kSimSetVariant: body.Set("variant", Text(b.sim_set_variant.variant)); break;
    case MessageType::kHello: body = IdentityJson("hello", b.hello); break;
    case MessageType::kInfo: body = IdentityJson("info", b.info); break;
    case MessageType::kNegotiated: body.Set("version", Num(b.negotiated.version)); break;
    case MessageType::kError:
      body.Set("code", Num(b.error.code)).Set("arg", Num(b.error.arg)).Set("message", Text(b.error.message));
      break;
    case MessageType::kMemory:
      body.Set("arenaSize", Num(b.memory.arena_size)).Set("arenaUsed", Num(b.memory.arena_used));
      body.Set("arenaPlacement", EnumName(kPlacements, static_cast<unsigned>(b.memory.arena_placement)));
      body.Set("modelSize", Num(b.memory.model_size));
      body.Set("modelPlacement", EnumName(kPlacements, static_cast<unsigned>(b.memory.model_placement)));
      body.Set("imageSize", Num(b.memory.image_size));
      body.Set("internal", HeapJson(b.memory.internal)).Set("psram", HeapJson(b.memory.psram));
      break;
    case MessageType::kChunkAck: body.Set("nextOffset", Num(b.chunk_ack.next_offset)); break;
    case MessageType::kModelReady:
      body.Set("size", Num(b.model_ready.size)).Set("sha256", Hex(b.model_ready.sha256.bytes, 32));
      body.Set("source", EnumName(kSources, static_cast<unsigned>(b.model_ready.source)));
      body.Set("placement", EnumName(kPlacements, static_cast<unsigned>(b.model_ready.placement)));
      break;
    case MessageType::kArenaReady:
      body.Set("size", Num(b.arena_ready.size));
      body.Set("placement", EnumName(kPlacements, static_cast<unsigned>(b.arena_ready.placement)));
      body.Set("used", Num(b.arena_ready.used));
      body.Set("inputs", TensorsJson(b.arena_ready.inputs)).Set("outputs", TensorsJson(b.arena_ready.outputs));
      break;
    case MessageType::kInvokeCycles: {
      Json cycles = Json::Array();
      for (size_t i = 0; i < b.invoke_cycles.cycles.count; i++) cycles.Push(Num(b.invoke_cycles.cycles.Get(i)));
      body.Set("first", Num(b.invoke_cycles.first)).Set("cycles", std::move(cycles));
      break;
    }
    case MessageType::kInvokeProfile: {
      Json entries = Json::Array();
      for (size_t i = 0; i < b.invoke_profile.entries.count; i++) {
        ProfileEntry e;
        if (!b.invoke_profile.entries.Get(i, &e)) break;
        Json j = Json::Object();
        j.Set("opIndex", Num(e.op_index)).Set("cycles", Num(e.cycles)).Set("name", Text(e.name));
        entries.Push(std::move(j));
      }
      body.Set("entries", std::move(entries));
      break;
    }
    case MessageType::kInvokeResult:
      body.Set("warmup", Num(b.invoke_result.warmup)).Set("measured", Num(b.invoke_result.measured));
      body.Set("cpuMhz", Num(b.invoke_result.cpu_mhz));
      body.Set("totalCycles", Num(static_cast<double>(b.invoke_result.total_cycles)));
      body.Set("wallUs", Num(static_cast<double>(b.invoke_result.wall_us)));
      break;
    case MessageType::kOutputData:
      body.Set("tensor", Num(b.output_data.tensor)).Set("offset", Num(b.output_data.offset));
      body.Set("total", Num(b.output_data.total)).Set("data", Hex(b.output_data.data.data, b.output_data.data.len));
      break;
    case MessageType::kAccuracyOutput:
      body.Set("offset", Num(b.accuracy_output.offset)).Set("total", Num(b.accuracy_output.total));
      body.Set("data", Hex(b.accuracy_output.data.data, b.accuracy_output.data.len));
      break;
    case MessageType::kAccuracyResult:
      body.Set("samples", Num(b.accuracy_result.samples)).Set("outputBytes", Num(b.accuracy_result.output_bytes));
      break;
  }
  Json j = Json::Object();
  j.Set("requestId", Num(msg.request_id)).Set("simulated", Json::Bool(msg.simulated));
  j.Set("more", Json::Bool(msg.more)).Set("body", std::move(body));
  return j;
}

bool MessageFromJson(const Json& json, Message* out, MessageStorage* storage, std::string* error) {
  Fields top(&json, "message", error, storage);
  const Json* body_json = top.Get("body", Json::Kind::kObject, "an object");
  const Json* type_json = body_json != nullptr ? body_json->Find("type") : nullptr;
  if (type_json == nullptr || type_json->kind() != Json::Kind::kString) {
    top.Fail("body.type", "a string");
    return false;
  }
  const std::string& type_name = type_json->as_string();
  int code = -1;
  for (int c = 0; c < 256; c++) {
    const char* n = MessageTypeName(static_cast<MessageType>(c));
    if (n != nullptr && type_name == n) code = c;
  }
  if (code < 0) {
    top.Fail("body.type", "a known message type");
    return false;
  }
  *out = Message(static_cast<MessageType>(code), static_cast<uint16_t>(top.Uint("requestId", 65535)));
  out->simulated = top.Bool("simulated");
  out->more = top.Bool("more");
  Fields f(body_json, type_name, error, storage);
  Message::Body& b = out->body;
  switch (out->type) {
    case MessageType::kGetInfo:
    case MessageType::kMemoryReport:
    case MessageType::kModelEnd:
    case MessageType::kModelSelectPartition:
    case MessageType::kAccuracyRun:
    case MessageType::kOk:
      break;
    case MessageType::kPing: b.ping.data = f.Data("data"); break;
    case MessageType::kPong: b.pong.data = f.Data("data"); break;
    case MessageType::kNegotiate: {
      const Json* arr = f.Get("versions", Json::Kind::kArray, "an array");
      if (arr == nullptr) break;
      storage->bytes.emplace_back();
      for (const Json& v : arr->items()) {
        if (v.kind() != Json::Kind::kNumber || v.as_number() < 0 || v.as_number() > 255) f.Fail("versions", "bytes");
        else storage->bytes.back().push_back(static_cast<unsigned char>(v.as_number()));
      }
      b.negotiate.versions = Bytes{storage->bytes.back().data(), storage->bytes.back().size()};
      break;
    }
    case MessageType::kReset: b.reset.mode = f.Enum<ResetMode>("mode", kResetModes); break;
    case MessageType::kLogLevel:
      b.log_level.level = f.Enum<LogLevel>("level", kLogLevels);
      b.log_level.tag = f.Text("tag");
      break;
    case MessageType::kModelBegin:
      b.model_begin.size = static_cast<uint32_t>(f.Uint("size", 0xFFFFFFFFu));
      b.model_begin.sha256 = f.Sha("sha256");
      b.model_begin.destination = f.Enum<Placement>("destination", kPlacements);
      break;
    case MessageType::kModelChunk:
      b.model_chunk.offset = static_cast<uint32_t>(f.Uint("offset", 0xFFFFFFFFu));
      b.model_chunk.data = f.Data("data");
      break;
    case MessageType::kAccuracyInput:
      b.accuracy_input.offset = static_cast<uint32_t>(f.Uint("offset", 0xFFFFFFFFu));
      b.accuracy_input.data = f.Data("data");
      break;
    case MessageType::kArenaConfig:
      b.arena_config.size = static_cast<uint32_t>(f.Uint("size", 0xFFFFFFFFu));
      b.arena_config.placement = f.Enum<Placement>("placement", kPlacements);
      break;
    case MessageType::kSetInput:
      b.set_input.tensor = static_cast<uint8_t>(f.Uint("tensor", 255));
      b.set_input.offset = static_cast<uint32_t>(f.Uint("offset", 0xFFFFFFFFu));
      b.set_input.data = f.Data("data");
      break;
    case MessageType::kInvoke:
      b.invoke.warmup = static_cast<uint32_t>(f.Uint("warmup", 0xFFFFFFFFu));
      b.invoke.measured = static_cast<uint32_t>(f.Uint("measured", 0xFFFFFFFFu));
      b.invoke.profile = f.Bool("profile");
      break;
    case MessageType::kGetOutput:
      b.get_output.tensor = static_cast<uint8_t>(f.Uint("tensor", 255));
      b.get_output.offset = static_cast<uint32_t>(f.Uint("offset", 0xFFFFFFFFu));
      b.get_output.length = static_cast<uint32_t>(f.Uint("length", 0xFFFFFFFFu));
      break;
    case MessageType::kAccuracyBegin:
      b.accuracy_begin.samples = static_cast<uint32_t>(f.Uint("samples", 0xFFFFFFFFu));
      b.accuracy_begin.sample_bytes = static_cast<uint32_t>(f.Uint("sampleBytes", 0xFFFFFFFFu));
      break;
    case MessageType::kSimSetVariant: b.sim_set_variant.variant = f.Text("variant"); break;
    case MessageType::kHello: IdentityFrom(f, &b.hello); break;
    case MessageType::kInfo: IdentityFrom(f, &b.info); break;
    case MessageType::kNegotiated: b.negotiated.version = static_cast<uint8_t>(f.Uint("version", 255)); break;
    case MessageType::kError:
      b.error.code = static_cast<uint16_t>(f.Uint("code", 65535));
      b.error.arg = static_cast<uint32_t>(f.Uint("arg", 0xFFFFFFFFu));
      b.error.message = f.Text("message", true);  // cut at 255 bytes, as the TypeScript encoder does
      break;
    case MessageType::kMemory:
      b.memory.arena_size = static_cast<uint32_t>(f.Uint("arenaSize", 0xFFFFFFFFu));
      b.memory.arena_used = static_cast<uint32_t>(f.Uint("arenaUsed", 0xFFFFFFFFu));
      b.memory.arena_placement = f.Enum<Placement>("arenaPlacement", kPlacements);
      b.memory.model_size = static_cast<uint32_t>(f.Uint("modelSize", 0xFFFFFFFFu));
      b.memory.model_placement = f.Enum<Placement>("modelPlacement", kPlacements);
      b.memory.image_size = static_cast<uint32_t>(f.Uint("imageSize", 0xFFFFFFFFu));
      b.memory.internal = HeapFrom(f, "internal");
      b.memory.psram = HeapFrom(f, "psram");
      break;
    case MessageType::kChunkAck:
      b.chunk_ack.next_offset = static_cast<uint32_t>(f.Uint("nextOffset", 0xFFFFFFFFu));
      break;
    case MessageType::kModelReady:
      b.model_ready.size = static_cast<uint32_t>(f.Uint("size", 0xFFFFFFFFu));
      b.model_ready.sha256 = f.Sha("sha256");
      b.model_ready.source = f.Enum<ModelSource>("source", kSources);
      b.model_ready.placement = f.Enum<Placement>("placement", kPlacements);
      break;
    case MessageType::kArenaReady:
      b.arena_ready.size = static_cast<uint32_t>(f.Uint("size", 0xFFFFFFFFu));
      b.arena_ready.placement = f.Enum<Placement>("placement", kPlacements);
      b.arena_ready.used = static_cast<uint32_t>(f.Uint("used", 0xFFFFFFFFu));
      b.arena_ready.inputs = TensorsFrom(f, "inputs");
      b.arena_ready.outputs = TensorsFrom(f, "outputs");
      break;
    case MessageType::kInvokeCycles: {
      b.invoke_cycles.first = static_cast<uint32_t>(f.Uint("first", 0xFFFFFFFFu));
      const Json* arr = f.Get("cycles", Json::Kind::kArray, "an array");
      if (arr == nullptr) break;
      storage->words.emplace_back();
      for (const Json& v : arr->items()) {
        const double d = v.kind() == Json::Kind::kNumber ? v.as_number() : -1;
        if (d < 0 || d > 4294967295.0) f.Fail("cycles", "an array of u32");
        else storage->words.back().push_back(static_cast<uint32_t>(d));
      }
      b.invoke_cycles.cycles = U32List{storage->words.back().data(), nullptr,
                                       static_cast<uint16_t>(storage->words.back().size())};
      break;
    }
    case MessageType::kInvokeProfile: {
      const Json* arr = f.Get("entries", Json::Kind::kArray, "an array");
      if (arr == nullptr) break;
      storage->profiles.emplace_back();
      for (const Json& item : arr->items()) {
        Fields e(&item, type_name + ".entries[]", error, storage);
        ProfileEntry entry{};
        entry.op_index = static_cast<uint16_t>(e.Uint("opIndex", 65535));
        entry.cycles = static_cast<uint32_t>(e.Uint("cycles", 0xFFFFFFFFu));
        entry.name = e.Text("name");
        if (!e.ok()) f.Fail("entries", "valid profile entries");
        storage->profiles.back().push_back(entry);
      }
      b.invoke_profile.entries = ProfileList{storage->profiles.back().data(), nullptr,
                                             static_cast<uint16_t>(storage->profiles.back().size()), 0};
      break;
    }
    case MessageType::kInvokeResult:
      b.invoke_result.warmup = static_cast<uint32_t>(f.Uint("warmup", 0xFFFFFFFFu));
      b.invoke_result.measured = static_cast<uint32_t>(f.Uint("measured", 0xFFFFFFFFu));
      b.invoke_result.cpu_mhz = static_cast<uint16_t>(f.Uint("cpuMhz", 65535));
      b.invoke_result.total_cycles = f.Uint("totalCycles", 9007199254740991ull);
      b.invoke_result.wall_us = f.Uint("wallUs", 9007199254740991ull);
      break;
    case MessageType::kOutputData:
      b.output_data.tensor = static_cast<uint8_t>(f.Uint("tensor", 255));
      b.output_data.offset = static_cast<uint32_t>(f.Uint("offset", 0xFFFFFFFFu));
      b.output_data.total = static_cast<uint32_t>(f.Uint("total", 0xFFFFFFFFu));
      b.output_data.data = f.Data("data");
      break;
    case MessageType::kAccuracyOutput:
      b.accuracy_output.offset = static_cast<uint32_t>(f.Uint("offset", 0xFFFFFFFFu));
      b.accuracy_output.total = static_cast<uint32_t>(f.Uint("total", 0xFFFFFFFFu));
      b.accuracy_output.data = f.Data("data");
      break;
    case MessageType::kAccuracyResult:
      b.accuracy_result.samples = static_cast<uint32_t>(f.Uint("samples", 0xFFFFFFFFu));
      b.accuracy_result.output_bytes = static_cast<uint32_t>(f.Uint("outputBytes", 0xFFFFFFFFu));
      break;
  }
  return top.ok() && f.ok();
}

}  // namespace hil::test
