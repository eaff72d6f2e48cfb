// The board's side of protocol v1 (firmware/protocol/PROTOCOL.md sections 3-5): a state machine
// that takes decoded request frames and sends reply frames. Portable: the board drives it from the
// pinned benchmark task (main/app_main.cpp), the host tests drive it from a byte stream.
//
// States (PROTOCOL.md "Board state"): idle -> MODEL_BEGIN -> receiving model -> MODEL_END ->
// model ready (also by MODEL_SELECT_PARTITION) -> ARENA_CONFIG -> ready.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hil/buffers.hpp"
#include "hil/model_runner.hpp"
#include "hil/op_profile.hpp"
#include "hil/platform.hpp"
#include "hil/sha256.hpp"
#include "hil_protocol/protocol.h"

namespace hil {

// Where reply frames go: one call per complete encoded frame.
class FrameSink {
 public:
  virtual bool sendFrame(const uint8_t* frame, size_t length) = 0;

 protected:
  ~FrameSink() = default;
};

enum class BoardState : uint8_t { Idle, ReceivingModel, ModelReady, Ready };
const char* boardStateName(BoardState state);

struct HandlerConfig {
  uint8_t rxWindow = 2;        // HELLO rx_window
  uint16_t maxPayload = 4096;  // HELLO max_payload
  // Partial replies of long requests at least this often (PROTOCOL.md "Progress": 1 s).
  uint32_t progressIntervalUs = 1000000;
};

class CommandHandler {
 public:
  CommandHandler(Platform& platform, ModelRunner& runner, Sha256& sha256, const HandlerConfig& config);
  ~CommandHandler();
  CommandHandler(const CommandHandler&) = delete;
  CommandHandler& operator=(const CommandHandler&) = delete;

  // HELLO with request id 0: after boot, and after each (re)connection to an MQTT broker.
  void sendHello(FrameSink& out);

  // One frame from the stream decoder (or one MQTT message). Replies go to `out`.
  void handleFrame(const protocol::FrameView& frame, FrameSink& out);

  // A rejected frame candidate: when its header was valid the request is answered with
  // ERROR BAD_FRAME at once (PROTOCOL.md "Damaged requests").
  void handleFrameError(protocol::FrameError error, const protocol::FrameHeader* header, FrameSink& out);

  // After RESET was answered: true and the mode. The caller drains its transports, then calls
  // Platform::restart(mode).
  bool resetRequested(ResetMode* mode) const;

  BoardState state() const { return state_; }
  uint8_t version() const { return version_; }

 private:
  void dispatch(const protocol::Message& request, FrameSink& out);
  bool send(FrameSink& out, const protocol::Message& msg);
  void sendError(FrameSink& out, uint16_t requestId, protocol::ErrorCode code, uint32_t arg, const char* fmt, ...)
      __attribute__((format(printf, 6, 7)));
  void sendBadState(FrameSink& out, uint16_t requestId, uint32_t arg, const char* request);
  void fillIdentity(protocol::Identity* identity);

  void onNegotiate(const protocol::Message& m, FrameSink& out);
  void onReset(const protocol::Message& m, FrameSink& out);
  void onLogLevel(const protocol::Message& m, FrameSink& out);
  void onMemoryReport(const protocol::Message& m, FrameSink& out);
  void onModelBegin(const protocol::Message& m, FrameSink& out);
  void onModelChunk(const protocol::Message& m, FrameSink& out);
  void onModelEnd(const protocol::Message& m, FrameSink& out);
  void onSelectPartition(const protocol::Message& m, FrameSink& out);
  void onArenaConfig(const protocol::Message& m, FrameSink& out);
  void onSetInput(const protocol::Message& m, FrameSink& out);
  void onInvoke(const protocol::Message& m, FrameSink& out);
  void onGetOutput(const protocol::Message& m, FrameSink& out);
  void onAccuracyBegin(const protocol::Message& m, FrameSink& out);
  void onAccuracyInput(const protocol::Message& m, FrameSink& out);
  void onAccuracyRun(const protocol::Message& m, FrameSink& out);

  // Drops interpreter, arena, accuracy batch and model, in that order (each depends on the next).
  void dropModel();
  void dropInterpreter();
  // Sends the collected cycles of INVOKE as one INVOKE_CYCLES frame with MORE.
  bool flushCycles(FrameSink& out, uint16_t requestId);
  bool sendProfile(FrameSink& out, uint16_t requestId);
  uint32_t inputBytes() const;
  uint32_t outputBytes() const;

  Platform& platform_;
  ModelRunner& runner_;
  Sha256& sha_;
  HandlerConfig config_;
  OpProfiler profiler_;

  BoardState state_ = BoardState::Idle;
  uint8_t version_ = protocol::kProtocolVersion;
  bool resetRequested_ = false;
  ResetMode resetMode_ = ResetMode::App;

  // The model: an uploaded block, or the mapped partition.
  Block modelBlock_;
  SequentialUpload modelUpload_;
  uint8_t expectedSha_[kSha256Bytes] = {};
  uint8_t modelSha_[kSha256Bytes] = {};
  const uint8_t* model_ = nullptr;
  uint32_t modelSize_ = 0;
  Placement modelPlacement_ = Placement::None;
  bool modelFromPartition_ = false;

  Block arena_;
  uint32_t arenaUsed_ = 0;

  // The inputs as the host set them (SET_INPUT), all input tensors back to back. TFLM's memory
  // planner reuses an input tensor's bytes for later tensors once the input has been read, so an
  // Invoke() can leave garbage there: every Invoke() of INVOKE starts from this copy (restoreInputs),
  // outside the measured cycles. PSRAM when the board has it.
  Block inputCopy_;
  void restoreInputs();

  // Accuracy batch (PSRAM when the board has it).
  Block batch_;
  SequentialUpload batchUpload_;
  uint32_t batchSamples_ = 0;
  uint32_t sampleBytes_ = 0;

  // INVOKE cycles collected for the next INVOKE_CYCLES frame.
  static constexpr size_t kCyclesPerFrame = 1023;  // (4096 - 4) / 4
  uint32_t cycles_[kCyclesPerFrame] = {};
  size_t cyclesCount_ = 0;
  uint32_t cyclesFirst_ = 0;

  // ACCURACY_OUTPUT data collected for the next frame.
  static constexpr size_t kAccuracyDataPerFrame = 4088;  // 4096 - offset - total
  uint8_t stage_[kAccuracyDataPerFrame] = {};

  // INVOKE_PROFILE entries of one frame.
  static constexpr size_t kProfileEntriesPerFrame = 128;
  protocol::ProfileEntry profileEntries_[kProfileEntriesPerFrame] = {};

  uint8_t frame_[protocol::kMaxFrame];
};

}  // namespace hil
