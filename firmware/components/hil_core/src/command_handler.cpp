// Protocol v1 request handling (firmware/protocol/PROTOCOL.md sections 3-5). Every request ends
// in exactly one frame without MORE: its result or an ERROR.
#include "hil/command_handler.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "hil/cycles.hpp"
#include "hil/model_image.hpp"

namespace hil {

namespace p = protocol;
using p::ErrorCode;
using p::Message;
using p::MessageType;

namespace {

constexpr size_t kOutputDataPerFrame = 4087;  // 4096 - tensor u8 - offset u32 - total u32
constexpr uint32_t kAllBytes = 0xFFFFFFFFu;

p::Placement wire(Placement placement) { return static_cast<p::Placement>(placement); }

Placement local(p::Placement placement) { return static_cast<Placement>(placement); }

const char* placementName(Placement placement) {
  switch (placement) {
    case Placement::Internal:
      return "internal";
    case Placement::Psram:
      return "psram";
    case Placement::Flash:
      return "flash";
    case Placement::None:
      break;
  }
  return "none";
}

p::HeapStats heapStats(const HeapFigures& f) { return p::HeapStats{f.total, f.free, f.minimumFree, f.largestFree}; }

uint16_t mhz(uint32_t hz) { return static_cast<uint16_t>((hz + 500000u) / 1000000u); }

p::TensorInfo wireTensor(const TensorInfo& t) {
  p::TensorInfo w;
  std::memset(&w, 0, sizeof w);
  w.dtype = t.dtype;
  w.bytes = t.bytes;
  w.rank = t.rank;
  for (size_t i = 0; i < t.rank && i < p::kMaxRank; ++i) w.dims[i] = t.dims[i];
  w.scale = t.scale;
  w.zero_point = t.zeroPoint;
  return w;
}

// A message type as PROTOCOL.md writes it (MODEL_BEGIN); MessageTypeName gives the golden-JSON
// name (model_begin).
void protocolName(MessageType type, char* out, size_t capacity) {
  const char* name = p::MessageTypeName(type);
  size_t i = 0;
  for (; name != nullptr && name[i] != '\0' && i + 1 < capacity; ++i) {
    out[i] = name[i] >= 'a' && name[i] <= 'z' ? static_cast<char>(name[i] - 'a' + 'A') : name[i];
  }
  out[i] = '\0';
}

}  // namespace

const char* boardStateName(BoardState state) {
  switch (state) {
    case BoardState::Idle:
      return "idle";
    case BoardState::ReceivingModel:
      return "receiving model";
    case BoardState::ModelReady:
      return "model ready";
    case BoardState::Ready:
      return "ready";
  }
  return "unknown";
}

CommandHandler::CommandHandler(Platform& platform, ModelRunner& runner, Sha256& sha256, const HandlerConfig& config)
    : platform_(platform), runner_(runner), sha_(sha256), config_(config), profiler_(platform) {}

CommandHandler::~CommandHandler() { dropModel(); }

bool CommandHandler::resetRequested(ResetMode* mode) const {
  if (resetRequested_ && mode != nullptr) *mode = resetMode_;
  return resetRequested_;
}

// ------------------------------------------------------------------------------------------ sending

bool CommandHandler::send(FrameSink& out, const Message& msg) {
  Message m = msg;
  m.simulated = platform_.identity().simulated;
  const size_t length = p::EncodeMessage(m, frame_, sizeof frame_, version_);
  if (length == 0) {
    // Only a handler bug gets here (every reply is sized to fit): say so instead of going silent.
    Message e(MessageType::kError, msg.request_id);
    e.simulated = m.simulated;
    e.body.error.code = static_cast<uint16_t>(ErrorCode::kInternal);
    e.body.error.message = p::Str::From("the board could not encode its reply (a firmware bug)");
    const size_t n = p::EncodeMessage(e, frame_, sizeof frame_, version_);
    return n > 0 && out.sendFrame(frame_, n);
  }
  return out.sendFrame(frame_, length);
}

void CommandHandler::sendError(FrameSink& out, uint16_t requestId, ErrorCode code, uint32_t arg, const char* fmt, ...) {
  char text[256];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  Message m(MessageType::kError, requestId);
  m.body.error.code = static_cast<uint16_t>(code);
  m.body.error.arg = arg;
  m.body.error.message = p::Str::From(text);
  send(out, m);
}

void CommandHandler::sendBadState(FrameSink& out, uint16_t requestId, uint32_t arg, const char* request) {
  const char* hint = "";
  switch (state_) {
    case BoardState::Idle:
      hint = " (send MODEL_BEGIN or MODEL_SELECT_PARTITION first)";
      break;
    case BoardState::ReceivingModel:
      hint = " (finish the upload with MODEL_END first)";
      break;
    case BoardState::ModelReady:
      hint = " (send ARENA_CONFIG first)";
      break;
    case BoardState::Ready:
      break;
  }
  sendError(out, requestId, ErrorCode::kBadState, arg, "%s is not allowed while the board is %s%s", request,
            boardStateName(state_), hint);
}

void CommandHandler::fillIdentity(p::Identity* id) {
  const BoardIdentity& b = platform_.identity();
  id->protocol_min = p::kProtocolVersion;
  id->protocol_max = p::kProtocolVersion;
  id->max_payload = config_.maxPayload;
  id->rx_window = config_.rxWindow;
  id->simulated = b.simulated;
  id->reset_reason = b.resetReason;
  id->cores = b.cores;
  id->chip_revision = b.chipRevision;
  id->cpu_mhz = mhz(platform_.cpuHz());
  id->flash_size = b.flashSize;
  id->psram_size = b.psramSize;
  id->uptime_ms = static_cast<uint32_t>(platform_.microseconds() / 1000u);
  std::memcpy(id->mac.bytes, b.mac, sizeof id->mac.bytes);
  std::memcpy(id->app_sha256.bytes, b.appSha256, sizeof id->app_sha256.bytes);
  id->chip = p::Str::From(b.chip);
  id->variant = p::Str::From(b.variant);
  id->kernel_backend = p::Str::From(b.kernelBackend);
  id->app_version = p::Str::From(b.appVersion);
  id->project_name = p::Str::From(b.projectName);
  id->idf_version = p::Str::From(b.idfVersion);
  id->tflm_version = p::Str::From(b.tflmVersion);
  id->esp_nn_version = p::Str::From(b.espNnVersion);
}

void CommandHandler::sendHello(FrameSink& out) {
  Message m(MessageType::kHello, 0);
  fillIdentity(&m.body.hello);
  send(out, m);
}

// ------------------------------------------------------------------------------------------ intake

void CommandHandler::handleFrameError(p::FrameError error, const p::FrameHeader* header, FrameSink& out) {
  if (header == nullptr) return;  // no trustworthy request id: the host's timeout handles it
  switch (error) {
    // The texts name only what PROTOCOL.md section 2 rule 7 says a decoder reports with an error
    // (reason, type, request id), so every implementation (harness/sim/app too) words them alike.
    case p::FrameError::kCrc:
      sendError(out, header->request_id, ErrorCode::kBadFrame, 0, "frame CRC-32 failed (type 0x%02x): resend the request",
                header->type);
      break;
    case p::FrameError::kOversize:
      sendError(out, header->request_id, ErrorCode::kBadFrame, 0,
                "frame (type 0x%02x) announces more payload than the %u bytes this board accepts", header->type,
                static_cast<unsigned>(p::kMaxPayload));
      break;
    case p::FrameError::kTruncated:
    case p::FrameError::kTrailingBytes:
      sendError(out, header->request_id, ErrorCode::kBadFrame, 0,
                "frame (type 0x%02x) was cut short or followed by extra bytes: resend the request", header->type);
      break;
    case p::FrameError::kBadHeader:
      break;
  }
}

void CommandHandler::handleFrame(const p::FrameView& frame, FrameSink& out) {
  Message request;
  const p::DecodeStatus status = p::DecodeMessage(frame, &request);
  const uint16_t id = frame.header.request_id;
  switch (status) {
    case p::DecodeStatus::kOk:
      break;
    case p::DecodeStatus::kUnknownType:
      sendError(out, id, ErrorCode::kUnknownCommand, frame.header.type,
                "this board does not know message type 0x%02x", frame.header.type);
      return;
    case p::DecodeStatus::kBadPayload: {
      char name[32];
      protocolName(static_cast<MessageType>(frame.header.type), name, sizeof name);
      sendError(out, id, ErrorCode::kBadFrame, 0, "the payload of a %s request does not match its layout", name);
      return;
    }
    case p::DecodeStatus::kUnsupportedVersion: {
      // Sent with version 1, which every receiver reads (PROTOCOL.md "Version negotiation").
      const uint8_t saved = version_;
      version_ = p::kProtocolVersion;
      sendError(out, id, ErrorCode::kUnsupportedVersion, p::kProtocolVersion,
                "frame has protocol version %u; this board speaks version %u", frame.header.version,
                static_cast<unsigned>(p::kProtocolVersion));
      version_ = saved;
      return;
    }
  }
  dispatch(request, out);
}

void CommandHandler::dispatch(const Message& m, FrameSink& out) {
  switch (m.type) {
    case MessageType::kPing: {
      Message r(MessageType::kPong, m.request_id);
      r.body.pong.data = m.body.ping.data;
      send(out, r);
      return;
    }
    case MessageType::kGetInfo: {
      Message r(MessageType::kInfo, m.request_id);
      fillIdentity(&r.body.info);
      send(out, r);
      return;
    }
    case MessageType::kNegotiate:
      return onNegotiate(m, out);
    case MessageType::kReset:
      return onReset(m, out);
    case MessageType::kLogLevel:
      return onLogLevel(m, out);
    case MessageType::kMemoryReport:
      return onMemoryReport(m, out);
    case MessageType::kModelBegin:
      return onModelBegin(m, out);
    case MessageType::kModelChunk:
      return onModelChunk(m, out);
    case MessageType::kModelEnd:
      return onModelEnd(m, out);
    case MessageType::kModelSelectPartition:
      return onSelectPartition(m, out);
    case MessageType::kArenaConfig:
      return onArenaConfig(m, out);
    case MessageType::kSetInput:
      return onSetInput(m, out);
    case MessageType::kInvoke:
      return onInvoke(m, out);
    case MessageType::kGetOutput:
      return onGetOutput(m, out);
    case MessageType::kAccuracyBegin:
      return onAccuracyBegin(m, out);
    case MessageType::kAccuracyInput:
      return onAccuracyInput(m, out);
    case MessageType::kAccuracyRun:
      return onAccuracyRun(m, out);
    case MessageType::kSimSetVariant:
      sendError(out, m.request_id, ErrorCode::kUnsupported, 0,
                "this is real firmware: a variant is changed by flashing its build (hil flash)");
      return;
    default:
      // A reply type sent to the board: known to the codec, not a command the board takes.
      sendError(out, m.request_id, ErrorCode::kUnknownCommand, static_cast<uint32_t>(m.type),
                "message type 0x%02x is a reply, not a request", static_cast<unsigned>(m.type));
      return;
  }
}

// ------------------------------------------------------------------------------------------ session

void CommandHandler::onNegotiate(const Message& m, FrameSink& out) {
  int best = -1;
  for (size_t i = 0; i < m.body.negotiate.versions.len; ++i) {
    const uint8_t v = m.body.negotiate.versions.data[i];
    if (v == p::kProtocolVersion && v > best) best = v;
  }
  if (best < 0) {
    sendError(out, m.request_id, ErrorCode::kUnsupportedVersion, p::kProtocolVersion,
              "no common protocol version: this board speaks version %u only", static_cast<unsigned>(p::kProtocolVersion));
    return;
  }
  Message r(MessageType::kNegotiated, m.request_id);
  r.body.negotiated.version = static_cast<uint8_t>(best);
  send(out, r);  // in the old version
  version_ = static_cast<uint8_t>(best);
}

void CommandHandler::onReset(const Message& m, FrameSink& out) {
  const ResetMode mode = m.body.reset.mode == p::ResetMode::kDownload ? ResetMode::Download : ResetMode::App;
  if (mode == ResetMode::Download && !platform_.canResetToDownload()) {
    sendError(out, m.request_id, ErrorCode::kUnsupported, 0, "this board cannot restart into the ROM download mode");
    return;
  }
  send(out, Message(MessageType::kOk, m.request_id));
  resetRequested_ = true;
  resetMode_ = mode;
}

void CommandHandler::onLogLevel(const Message& m, FrameSink& out) {
  char tag[256];
  const p::Str& t = m.body.log_level.tag;
  if (t.len == 0) {
    std::strcpy(tag, "*");
  } else {
    std::memcpy(tag, t.data, t.len);
    tag[t.len] = '\0';
  }
  platform_.setLogLevel(tag, static_cast<uint8_t>(m.body.log_level.level));
  send(out, Message(MessageType::kOk, m.request_id));
}

void CommandHandler::onMemoryReport(const Message& m, FrameSink& out) {
  Message r(MessageType::kMemory, m.request_id);
  p::MemoryBody& b = r.body.memory;
  b.arena_size = arena_.size();
  b.arena_used = arenaUsed_;
  b.arena_placement = wire(arena_.placement());
  b.model_size = model_ != nullptr ? modelSize_ : 0;
  b.model_placement = wire(model_ != nullptr ? modelPlacement_ : Placement::None);
  b.image_size = platform_.imageSize();
  b.internal = heapStats(platform_.heap(Placement::Internal));
  b.psram = platform_.identity().psramSize > 0 ? heapStats(platform_.heap(Placement::Psram)) : p::HeapStats{0, 0, 0, 0};
  send(out, r);
}

// ------------------------------------------------------------------------------------------ model

void CommandHandler::dropInterpreter() {
  runner_.reset();
  arena_.release();
  inputCopy_.release();
  arenaUsed_ = 0;
  if (state_ == BoardState::Ready) state_ = BoardState::ModelReady;
}

void CommandHandler::dropModel() {
  runner_.reset();
  arena_.release();
  inputCopy_.release();
  arenaUsed_ = 0;
  batch_.release();
  batchUpload_.clear();
  batchSamples_ = 0;
  sampleBytes_ = 0;
  modelUpload_.clear();
  modelBlock_.release();
  if (modelFromPartition_) platform_.unmapModelPartition();
  modelFromPartition_ = false;
  model_ = nullptr;
  modelSize_ = 0;
  modelPlacement_ = Placement::None;
  state_ = BoardState::Idle;
}

void CommandHandler::onModelBegin(const Message& m, FrameSink& out) {
  const p::ModelBeginBody& b = m.body.model_begin;
  dropModel();
  const Placement destination = local(b.destination);
  if (destination != Placement::Internal && destination != Placement::Psram) {
    sendError(out, m.request_id, ErrorCode::kBadArgument, 0,
              "MODEL_BEGIN destination must be internal or psram, not %s", placementName(destination));
    return;
  }
  if (b.size == 0) {
    sendError(out, m.request_id, ErrorCode::kBadArgument, 0, "MODEL_BEGIN size is 0");
    return;
  }
  if (destination == Placement::Psram && platform_.identity().psramSize == 0) {
    sendError(out, m.request_id, ErrorCode::kModelTooLarge, 0, "this board has no PSRAM: upload the model to internal RAM");
    return;
  }
  const Block::Status status = modelBlock_.allocate(platform_, b.size, destination);
  if (status != Block::Status::Ok) {
    const uint32_t fits = largestAlignedAllocation(platform_.heap(destination).largestFree);
    sendError(out, m.request_id, ErrorCode::kModelTooLarge, fits,
              "a %u-byte model does not fit in %s RAM (largest block that fits: %u bytes)", static_cast<unsigned>(b.size),
              placementName(destination), static_cast<unsigned>(fits));
    return;
  }
  std::memcpy(expectedSha_, b.sha256.bytes, kSha256Bytes);
  modelUpload_.begin(modelBlock_.data(), b.size, &sha_);
  modelPlacement_ = destination;
  state_ = BoardState::ReceivingModel;
  Message r(MessageType::kChunkAck, m.request_id);
  r.body.chunk_ack.next_offset = 0;
  send(out, r);
}

void CommandHandler::onModelChunk(const Message& m, FrameSink& out) {
  if (state_ != BoardState::ReceivingModel) return sendBadState(out, m.request_id, 0, "MODEL_CHUNK");
  const p::ChunkBody& c = m.body.model_chunk;
  switch (modelUpload_.write(c.offset, c.data.data, c.data.len)) {
    case SequentialUpload::Result::Ok: {
      Message r(MessageType::kChunkAck, m.request_id);
      r.body.chunk_ack.next_offset = modelUpload_.next();
      send(out, r);
      return;
    }
    case SequentialUpload::Result::BadOffset:
      sendError(out, m.request_id, ErrorCode::kBadOffset, modelUpload_.next(),
                "MODEL_CHUNK at offset %u, the board expects offset %u", static_cast<unsigned>(c.offset),
                static_cast<unsigned>(modelUpload_.next()));
      return;
    case SequentialUpload::Result::PastEnd:
    case SequentialUpload::Result::NotStarted:
      sendError(out, m.request_id, ErrorCode::kBadArgument, 0,
                "MODEL_CHUNK of %u bytes at offset %u passes the model's %u bytes", static_cast<unsigned>(c.data.len),
                static_cast<unsigned>(c.offset), static_cast<unsigned>(modelUpload_.size()));
      return;
  }
}

void CommandHandler::onModelEnd(const Message& m, FrameSink& out) {
  if (state_ != BoardState::ReceivingModel) return sendBadState(out, m.request_id, 0, "MODEL_END");
  if (!modelUpload_.complete()) {
    sendError(out, m.request_id, ErrorCode::kBadState, modelUpload_.next(),
              "MODEL_END after %u of %u bytes: send the rest first", static_cast<unsigned>(modelUpload_.next()),
              static_cast<unsigned>(modelUpload_.size()));
    return;
  }
  uint8_t digest[kSha256Bytes];
  sha_.finish(digest);
  const uint32_t size = modelUpload_.size();
  if (std::memcmp(digest, expectedSha_, kSha256Bytes) != 0) {
    char hex[2 * kSha256Bytes + 1];
    sha256Hex(digest, hex);
    dropModel();
    sendError(out, m.request_id, ErrorCode::kModelShaMismatch, 0,
              "the %u bytes received hash to %s, not the SHA-256 of MODEL_BEGIN: upload the model again",
              static_cast<unsigned>(size), hex);
    return;
  }
  if (!hasTfliteIdentifier(modelBlock_.data(), size)) {
    dropModel();
    sendError(out, m.request_id, ErrorCode::kModelInvalid, 0, "the model has no TFL3 file identifier: not a .tflite file");
    return;
  }
  std::memcpy(modelSha_, digest, kSha256Bytes);
  model_ = modelBlock_.data();
  modelSize_ = size;
  modelUpload_.clear();
  state_ = BoardState::ModelReady;
  Message r(MessageType::kModelReady, m.request_id);
  r.body.model_ready.size = size;
  std::memcpy(r.body.model_ready.sha256.bytes, digest, kSha256Bytes);
  r.body.model_ready.source = p::ModelSource::kUpload;
  r.body.model_ready.placement = wire(modelPlacement_);
  send(out, r);
}

void CommandHandler::onSelectPartition(const Message& m, FrameSink& out) {
  dropModel();
  size_t partitionBytes = 0;
  const uint8_t* header = platform_.mapModelPartition(kModelImageHeaderBytes, &partitionBytes);
  if (header == nullptr) {
    sendError(out, m.request_id, ErrorCode::kModelPartitionEmpty, 0,
              "this board has no `model` data partition (flash a build whose partitions.csv has one)");
    return;
  }
  ModelImageHeader image;
  const ModelImageStatus status = parseModelImageHeader(header, partitionBytes, &image);
  if (status != ModelImageStatus::Ok) {
    platform_.unmapModelPartition();
    if (status == ModelImageStatus::Empty) {
      sendError(out, m.request_id, ErrorCode::kModelPartitionEmpty, 0,
                "the model partition holds no model image (no HILMODEL header): write one with the flasher");
    } else {
      sendError(out, m.request_id, ErrorCode::kModelInvalid, 0,
                "the model image header gives a size of 0 or more than the %u-byte partition holds",
                static_cast<unsigned>(partitionBytes));
    }
    return;
  }
  const uint8_t* mapped = platform_.mapModelPartition(kModelImageHeaderBytes + image.modelBytes, &partitionBytes);
  if (mapped == nullptr) {
    sendError(out, m.request_id, ErrorCode::kModelPartitionEmpty, 0, "the model partition could not be mapped");
    return;
  }
  modelFromPartition_ = true;
  const uint8_t* model = mapped + kModelImageHeaderBytes;
  uint8_t digest[kSha256Bytes];
  sha_.begin();
  sha_.update(model, image.modelBytes);
  sha_.finish(digest);
  if (std::memcmp(digest, image.sha256, kSha256Bytes) != 0) {
    char hex[2 * kSha256Bytes + 1];
    sha256Hex(digest, hex);
    dropModel();
    sendError(out, m.request_id, ErrorCode::kModelInvalid, 0,
              "the model in the partition hashes to %s, not the SHA-256 in its header: flash the image again", hex);
    return;
  }
  if (!hasTfliteIdentifier(model, image.modelBytes)) {
    dropModel();
    sendError(out, m.request_id, ErrorCode::kModelInvalid, 0, "the model in the partition has no TFL3 file identifier");
    return;
  }
  std::memcpy(modelSha_, digest, kSha256Bytes);
  model_ = model;
  modelSize_ = image.modelBytes;
  modelPlacement_ = Placement::Flash;
  state_ = BoardState::ModelReady;
  Message r(MessageType::kModelReady, m.request_id);
  r.body.model_ready.size = modelSize_;
  std::memcpy(r.body.model_ready.sha256.bytes, digest, kSha256Bytes);
  r.body.model_ready.source = p::ModelSource::kPartition;
  r.body.model_ready.placement = p::Placement::kFlash;
  send(out, r);
}

// ------------------------------------------------------------------------------------------ arena

void CommandHandler::onArenaConfig(const Message& m, FrameSink& out) {
  if (state_ != BoardState::ModelReady && state_ != BoardState::Ready) {
    return sendBadState(out, m.request_id, 0, "ARENA_CONFIG");
  }
  const p::ArenaConfigBody& b = m.body.arena_config;
  const Placement placement = local(b.placement);
  dropInterpreter();  // frees the previous arena first (PROTOCOL.md "Board state")
  if (placement != Placement::Internal && placement != Placement::Psram) {
    sendError(out, m.request_id, ErrorCode::kBadArgument, 0, "the arena goes to internal or psram, not %s",
              placementName(placement));
    return;
  }
  if (b.size == 0) {
    sendError(out, m.request_id, ErrorCode::kBadArgument, 0, "ARENA_CONFIG size is 0");
    return;
  }
  if (placement == Placement::Psram && platform_.identity().psramSize == 0) {
    sendError(out, m.request_id, ErrorCode::kOutOfMemory, 0, "this board has no PSRAM: put the arena in internal RAM");
    return;
  }
  if (arena_.allocate(platform_, b.size, placement) != Block::Status::Ok) {
    // arg: the largest free block there (PROTOCOL.md "Arena"); an aligned arena of a little less fits.
    const uint32_t largest = platform_.heap(placement).largestFree;
    sendError(out, m.request_id, ErrorCode::kOutOfMemory, largest,
              "no %u-byte block in %s RAM for the arena (largest free block: %u bytes, an arena of %u fits)",
              static_cast<unsigned>(b.size), placementName(placement), static_cast<unsigned>(largest),
              static_cast<unsigned>(largestAlignedAllocation(largest)));
    return;
  }
  const RunnerResult result = runner_.prepare(model_, modelSize_, arena_.data(), arena_.size(), &profiler_);
  if (!result.ok()) {
    runner_.reset();
    arena_.release();
    ErrorCode code = ErrorCode::kModelInvalid;
    switch (result.error) {
      case RunnerError::UnsupportedOp:
        code = ErrorCode::kUnsupportedOp;
        break;
      case RunnerError::ArenaTooSmall:
        code = ErrorCode::kArenaTooSmall;
        break;
      case RunnerError::ModelInvalid:
      case RunnerError::TooManyTensors:
      case RunnerError::None:
        code = ErrorCode::kModelInvalid;
        break;
    }
    sendError(out, m.request_id, code, result.arg, "%s", result.message[0] != '\0' ? result.message : "the interpreter rejected the model");
    return;
  }
  const size_t ni = runner_.inputCount();
  const size_t no = runner_.outputCount();
  if (ni > p::kMaxTensors || no > p::kMaxTensors) {
    runner_.reset();
    arena_.release();
    sendError(out, m.request_id, ErrorCode::kModelInvalid, 0, "the model has %u inputs and %u outputs; at most %u each",
              static_cast<unsigned>(ni), static_cast<unsigned>(no), static_cast<unsigned>(p::kMaxTensors));
    return;
  }
  arenaUsed_ = runner_.arenaUsedBytes();
  // The copy the inputs are restored from before each Invoke(); it starts as the tensors are now.
  const uint32_t copyBytes = inputBytes();
  if (copyBytes > 0) {
    const Placement copyPlacement = platform_.identity().psramSize > 0 ? Placement::Psram : Placement::Internal;
    if (inputCopy_.allocate(platform_, copyBytes, copyPlacement) != Block::Status::Ok) {
      runner_.reset();
      arena_.release();
      sendError(out, m.request_id, ErrorCode::kOutOfMemory, copyBytes, "no room for a %u-byte copy of the model's inputs in %s RAM",
                static_cast<unsigned>(copyBytes), placementName(copyPlacement));
      return;
    }
    uint8_t* to = inputCopy_.data();
    for (size_t i = 0; i < ni; ++i) {
      const uint32_t n = runner_.input(i).bytes;
      std::memcpy(to, runner_.inputData(i), n);
      to += n;
    }
  }
  state_ = BoardState::Ready;

  p::TensorInfo inputs[p::kMaxTensors];
  p::TensorInfo outputs[p::kMaxTensors];
  for (size_t i = 0; i < ni; ++i) inputs[i] = wireTensor(runner_.input(i));
  for (size_t i = 0; i < no; ++i) outputs[i] = wireTensor(runner_.output(i));
  Message r(MessageType::kArenaReady, m.request_id);
  r.body.arena_ready.size = arena_.size();
  r.body.arena_ready.placement = wire(placement);
  r.body.arena_ready.used = arenaUsed_;
  r.body.arena_ready.inputs.items = inputs;
  r.body.arena_ready.inputs.count = static_cast<uint8_t>(ni);
  r.body.arena_ready.outputs.items = outputs;
  r.body.arena_ready.outputs.count = static_cast<uint8_t>(no);
  send(out, r);
}

// ------------------------------------------------------------------------------------------ tensors

void CommandHandler::onSetInput(const Message& m, FrameSink& out) {
  if (state_ != BoardState::Ready) return sendBadState(out, m.request_id, 0, "SET_INPUT");
  const p::SetInputBody& b = m.body.set_input;
  if (b.tensor >= runner_.inputCount()) {
    sendError(out, m.request_id, ErrorCode::kBadTensor, b.tensor, "the model has %u inputs, no input %u",
              static_cast<unsigned>(runner_.inputCount()), static_cast<unsigned>(b.tensor));
    return;
  }
  const uint32_t bytes = runner_.input(b.tensor).bytes;
  uint32_t copyAt = 0;
  for (size_t i = 0; i < b.tensor; ++i) copyAt += runner_.input(i).bytes;
  if (!writeRange(inputCopy_.data() + copyAt, bytes, b.offset, b.data.data, b.data.len)) {
    sendError(out, m.request_id, ErrorCode::kBadTensor, b.tensor, "%u bytes at offset %u pass the end of input %u (%u bytes)",
              static_cast<unsigned>(b.data.len), static_cast<unsigned>(b.offset), static_cast<unsigned>(b.tensor),
              static_cast<unsigned>(bytes));
    return;
  }
  Message r(MessageType::kChunkAck, m.request_id);
  r.body.chunk_ack.next_offset = b.offset + static_cast<uint32_t>(b.data.len);
  send(out, r);
}

void CommandHandler::onGetOutput(const Message& m, FrameSink& out) {
  if (state_ != BoardState::Ready) return sendBadState(out, m.request_id, 0, "GET_OUTPUT");
  const p::GetOutputBody& b = m.body.get_output;
  if (b.tensor >= runner_.outputCount()) {
    sendError(out, m.request_id, ErrorCode::kBadTensor, b.tensor, "the model has %u outputs, no output %u",
              static_cast<unsigned>(runner_.outputCount()), static_cast<unsigned>(b.tensor));
    return;
  }
  const uint32_t total = runner_.output(b.tensor).bytes;
  const uint32_t length = b.length == kAllBytes ? (b.offset <= total ? total - b.offset : 0) : b.length;
  if (!rangeFits(total, b.offset, length)) {
    sendError(out, m.request_id, ErrorCode::kBadTensor, b.tensor, "bytes %u..%u pass the end of output %u (%u bytes)",
              static_cast<unsigned>(b.offset), static_cast<unsigned>(b.offset + static_cast<uint64_t>(length)),
              static_cast<unsigned>(b.tensor), static_cast<unsigned>(total));
    return;
  }
  const uint8_t* data = runner_.outputData(b.tensor);
  uint32_t at = b.offset;
  const uint32_t end = b.offset + length;
  do {
    const uint32_t n = end - at > kOutputDataPerFrame ? static_cast<uint32_t>(kOutputDataPerFrame) : end - at;
    Message r(MessageType::kOutputData, m.request_id);
    r.body.output_data.tensor = b.tensor;
    r.body.output_data.offset = at;
    r.body.output_data.total = total;
    r.body.output_data.data = p::Bytes{data + at, n};
    at += n;
    r.more = at < end;
    if (!send(out, r)) return;
  } while (at < end);
}

// ------------------------------------------------------------------------------------------ invoke

bool CommandHandler::flushCycles(FrameSink& out, uint16_t requestId) {
  Message r(MessageType::kInvokeCycles, requestId);
  r.body.invoke_cycles.first = cyclesFirst_;
  r.body.invoke_cycles.cycles.items = cycles_;
  r.body.invoke_cycles.cycles.count = static_cast<uint16_t>(cyclesCount_);
  r.more = true;
  cyclesFirst_ += static_cast<uint32_t>(cyclesCount_);
  cyclesCount_ = 0;
  return send(out, r);
}

bool CommandHandler::sendProfile(FrameSink& out, uint16_t requestId) {
  // INVOKE_PROFILE: count u16, then per entry op_index u16, cycles u32, name str.
  p::ProfileEntry* entries = profileEntries_;
  size_t next = 0;
  const size_t count = profiler_.count();
  while (next < count) {
    size_t bytes = 2;
    size_t n = 0;
    while (next + n < count && n < kProfileEntriesPerFrame) {
      const p::Str name = p::Str::From(profiler_.event(next + n).name);
      const size_t entryBytes = 2 + 4 + 1 + name.len;
      if (bytes + entryBytes > p::kMaxPayload) break;
      entries[n].op_index = static_cast<uint16_t>(next + n);
      entries[n].cycles = profiler_.event(next + n).cycles;
      entries[n].name = name;
      bytes += entryBytes;
      ++n;
    }
    Message r(MessageType::kInvokeProfile, requestId);
    r.body.invoke_profile.entries.items = entries;
    r.body.invoke_profile.entries.count = static_cast<uint16_t>(n);
    r.more = true;
    if (!send(out, r)) return false;
    next += n;
  }
  return true;
}

void CommandHandler::restoreInputs() {
  const uint8_t* from = inputCopy_.data();
  if (from == nullptr) return;
  for (size_t i = 0; i < runner_.inputCount(); ++i) {
    const uint32_t n = runner_.input(i).bytes;
    std::memcpy(runner_.inputData(i), from, n);
    from += n;
  }
}

void CommandHandler::onInvoke(const Message& m, FrameSink& out) {
  if (state_ != BoardState::Ready) return sendBadState(out, m.request_id, 0, "INVOKE");
  const p::InvokeBody& b = m.body.invoke;
  const uint32_t cpuHz = platform_.cpuHz();
  uint64_t lastFrameUs = platform_.microseconds();
  cyclesCount_ = 0;
  cyclesFirst_ = 0;

  for (uint32_t i = 0; i < b.warmup; ++i) {
    restoreInputs();
    if (!runner_.invoke()) {
      sendError(out, m.request_id, ErrorCode::kInvokeFailed, i, "Invoke() failed in warm-up inference %u",
                static_cast<unsigned>(i));
      return;
    }
    const uint64_t now = platform_.microseconds();
    if (now - lastFrameUs >= config_.progressIntervalUs) {
      // Nothing measured yet: an empty INVOKE_CYCLES says the board is alive (PROTOCOL.md "Progress").
      if (!flushCycles(out, m.request_id)) return;
      lastFrameUs = now;
    }
  }

  uint64_t totalCycles = 0;
  const uint64_t loopStart = platform_.microseconds();
  for (uint32_t k = 0; k < b.measured; ++k) {
    // The cycle counter is read right around Invoke(), on this task's core; esp_timer around that
    // only decides whether the interval wrapped the 32-bit counter (cycles.hpp). The inputs are put
    // back first, outside the measured interval.
    restoreInputs();
    const uint64_t t0 = platform_.microseconds();
    const uint32_t c0 = platform_.cycleCount();
    const bool ok = runner_.invoke();
    const uint32_t c1 = platform_.cycleCount();
    const uint64_t t1 = platform_.microseconds();
    if (!ok) {
      sendError(out, m.request_id, ErrorCode::kInvokeFailed, b.warmup + k, "Invoke() failed in measured inference %u",
                static_cast<unsigned>(k));
      return;
    }
    const uint32_t cycles = reportedCycles(c0, c1, t1 - t0, cpuHz);
    cycles_[cyclesCount_++] = cycles;
    totalCycles += cycles;
    if (cyclesCount_ == kCyclesPerFrame || t1 - lastFrameUs >= config_.progressIntervalUs) {
      if (!flushCycles(out, m.request_id)) return;
      lastFrameUs = t1;
    }
  }
  const uint64_t wallUs = platform_.microseconds() - loopStart;
  if (cyclesCount_ > 0 && !flushCycles(out, m.request_id)) return;

  if (b.profile) {
    // One extra inference, never among the measured ones.
    restoreInputs();
    profiler_.start();
    const bool ok = runner_.invoke();
    profiler_.stop();
    if (!ok) {
      sendError(out, m.request_id, ErrorCode::kInvokeFailed, b.warmup + b.measured, "Invoke() failed in the profiled inference");
      return;
    }
    if (!sendProfile(out, m.request_id)) return;
  }

  Message r(MessageType::kInvokeResult, m.request_id);
  r.body.invoke_result.warmup = b.warmup;
  r.body.invoke_result.measured = b.measured;
  r.body.invoke_result.cpu_mhz = mhz(cpuHz);
  r.body.invoke_result.total_cycles = totalCycles;
  r.body.invoke_result.wall_us = wallUs;
  send(out, r);
}

// ------------------------------------------------------------------------------------------ accuracy

uint32_t CommandHandler::inputBytes() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < runner_.inputCount(); ++i) sum += runner_.input(i).bytes;
  return sum > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(sum);
}

uint32_t CommandHandler::outputBytes() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < runner_.outputCount(); ++i) sum += runner_.output(i).bytes;
  return sum > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(sum);
}

void CommandHandler::onAccuracyBegin(const Message& m, FrameSink& out) {
  if (state_ != BoardState::Ready) return sendBadState(out, m.request_id, 0, "ACCURACY_BEGIN");
  const p::AccuracyBeginBody& b = m.body.accuracy_begin;
  batch_.release();
  batchUpload_.clear();
  batchSamples_ = 0;
  sampleBytes_ = 0;
  const uint32_t expected = inputBytes();
  if (b.sample_bytes != expected) {
    sendError(out, m.request_id, ErrorCode::kBadArgument, 0,
              "sample_bytes %u differs from the model's inputs, %u bytes together", static_cast<unsigned>(b.sample_bytes),
              static_cast<unsigned>(expected));
    return;
  }
  if (b.samples == 0) {
    sendError(out, m.request_id, ErrorCode::kBadArgument, 0, "ACCURACY_BEGIN with 0 samples");
    return;
  }
  const uint64_t total = uint64_t{b.samples} * b.sample_bytes;
  const uint64_t totalOutput = uint64_t{b.samples} * outputBytes();
  const Placement placement = platform_.identity().psramSize > 0 ? Placement::Psram : Placement::Internal;
  const uint32_t fits = largestAlignedAllocation(platform_.heap(placement).largestFree);
  const uint32_t fitsBatch = b.sample_bytes > 0 ? (fits / b.sample_bytes) * b.sample_bytes : 0;
  if (total > 0xFFFFFFFFu || totalOutput > 0xFFFFFFFFu ||
      batch_.allocate(platform_, static_cast<uint32_t>(total), placement) != Block::Status::Ok) {
    sendError(out, m.request_id, ErrorCode::kOutOfMemory, fitsBatch,
              "a batch of %u samples (%llu bytes) does not fit in %s RAM: send batches of at most %u bytes",
              static_cast<unsigned>(b.samples), static_cast<unsigned long long>(total), placementName(placement),
              static_cast<unsigned>(fitsBatch));
    return;
  }
  batchUpload_.begin(batch_.data(), batch_.size(), nullptr);
  batchSamples_ = b.samples;
  sampleBytes_ = b.sample_bytes;
  Message r(MessageType::kChunkAck, m.request_id);
  r.body.chunk_ack.next_offset = 0;
  send(out, r);
}

void CommandHandler::onAccuracyInput(const Message& m, FrameSink& out) {
  if (state_ != BoardState::Ready) return sendBadState(out, m.request_id, 0, "ACCURACY_INPUT");
  if (!batchUpload_.started()) {
    sendError(out, m.request_id, ErrorCode::kBadState, 0, "ACCURACY_INPUT before ACCURACY_BEGIN");
    return;
  }
  const p::ChunkBody& c = m.body.accuracy_input;
  switch (batchUpload_.write(c.offset, c.data.data, c.data.len)) {
    case SequentialUpload::Result::Ok: {
      Message r(MessageType::kChunkAck, m.request_id);
      r.body.chunk_ack.next_offset = batchUpload_.next();
      send(out, r);
      return;
    }
    case SequentialUpload::Result::BadOffset:
      sendError(out, m.request_id, ErrorCode::kBadOffset, batchUpload_.next(),
                "ACCURACY_INPUT at offset %u, the board expects offset %u", static_cast<unsigned>(c.offset),
                static_cast<unsigned>(batchUpload_.next()));
      return;
    case SequentialUpload::Result::PastEnd:
    case SequentialUpload::Result::NotStarted:
      sendError(out, m.request_id, ErrorCode::kBadArgument, 0,
                "ACCURACY_INPUT of %u bytes at offset %u passes the batch's %u bytes", static_cast<unsigned>(c.data.len),
                static_cast<unsigned>(c.offset), static_cast<unsigned>(batchUpload_.size()));
      return;
  }
}

void CommandHandler::onAccuracyRun(const Message& m, FrameSink& out) {
  if (state_ != BoardState::Ready) return sendBadState(out, m.request_id, 0, "ACCURACY_RUN");
  if (!batchUpload_.complete()) {
    sendError(out, m.request_id, ErrorCode::kBadState, batchUpload_.next(),
              "ACCURACY_RUN with %u of %u batch bytes received", static_cast<unsigned>(batchUpload_.next()),
              static_cast<unsigned>(batchUpload_.size()));
    return;
  }
  const uint32_t perSample = outputBytes();
  const uint32_t total = batchSamples_ * perSample;  // checked to fit at ACCURACY_BEGIN
  uint32_t streamOffset = 0;
  size_t staged = 0;
  uint64_t lastFrameUs = platform_.microseconds();
  auto flush = [&]() -> bool {
    Message r(MessageType::kAccuracyOutput, m.request_id);
    r.body.accuracy_output.offset = streamOffset;
    r.body.accuracy_output.total = total;
    r.body.accuracy_output.data = p::Bytes{stage_, staged};
    r.more = true;
    streamOffset += static_cast<uint32_t>(staged);
    staged = 0;
    lastFrameUs = platform_.microseconds();
    return send(out, r);
  };
  const uint8_t* sample = batch_.data();
  for (uint32_t s = 0; s < batchSamples_; ++s, sample += sampleBytes_) {
    const uint8_t* from = sample;
    for (size_t i = 0; i < runner_.inputCount(); ++i) {
      const uint32_t n = runner_.input(i).bytes;
      std::memcpy(runner_.inputData(i), from, n);
      from += n;
    }
    if (!runner_.invoke()) {
      sendError(out, m.request_id, ErrorCode::kInvokeFailed, s, "Invoke() failed on sample %u", static_cast<unsigned>(s));
      return;
    }
    for (size_t o = 0; o < runner_.outputCount(); ++o) {
      const uint8_t* data = runner_.outputData(o);
      uint32_t left = runner_.output(o).bytes;
      while (left > 0) {
        const size_t room = kAccuracyDataPerFrame - staged;
        const size_t n = left < room ? left : room;
        std::memcpy(stage_ + staged, data, n);
        staged += n;
        data += n;
        left -= static_cast<uint32_t>(n);
        if (staged == kAccuracyDataPerFrame && !flush()) return;
      }
    }
    if (staged > 0 && platform_.microseconds() - lastFrameUs >= config_.progressIntervalUs && !flush()) return;
  }
  if (staged > 0 && !flush()) return;
  Message r(MessageType::kAccuracyResult, m.request_id);
  r.body.accuracy_result.samples = batchSamples_;
  r.body.accuracy_result.output_bytes = perSample;
  send(out, r);
}

}  // namespace hil
