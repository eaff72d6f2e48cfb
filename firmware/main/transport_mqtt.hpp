// The MQTT link (PROTOCOL.md section 6): esp-mqtt over Wi-Fi, MQTT 5 (CONFIG_MQTT_PROTOCOL_5) or
// 3.1.1. Topics per board: lab/<board>/cmd (requests in, QoS 1), lab/<board>/evt (replies and
// HELLO out, QoS 1), lab/<board>/log (log lines, QoS 0), lab/<board>/status (retained "online",
// last will "offline"). One frame per message, the same bytes as on serial.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "console_log.hpp"
#include "freertos/FreeRTOS.h"
#include "freertos/message_buffer.h"
#include "freertos/queue.h"
#include "freertos/task.h"
#include "hil/transport.hpp"
#include "mqtt_client.h"
#include "net_config.hpp"

namespace hil::board {

class MqttTransport final : public hil::Transport, public LogOutput {
 public:
  // Prepares topics and buffers; the client starts when Wi-Fi has an address (connect()).
  bool init(const NetSettings& settings, TaskHandle_t wake, size_t rxBytes);
  // Starts the client (first call) or lets it reconnect by itself (later calls).
  void connect();

  const char* name() const override { return "mqtt"; }
  bool messageOriented() const override { return true; }
  size_t receive(uint8_t* buffer, size_t capacity, uint32_t timeoutMs) override;
  bool sendFrame(const uint8_t* frame, size_t length) override;
  void drain(uint32_t timeoutMs) override;
  void writeLog(const char* line, size_t length) override;

  // True once after each (re)connection: the benchmark task then sends HELLO on this link.
  bool takeConnected() { return connectedEdge_.exchange(false); }

 private:
  static void onEvent(void* self, esp_event_base_t base, int32_t id, void* data);
  static void logTask(void* self);
  void onData(const esp_mqtt_event_t& event);

  esp_mqtt_client_handle_t client_ = nullptr;
  bool started_ = false;
  TaskHandle_t wake_ = nullptr;
  TaskHandle_t logTask_ = nullptr;
  MessageBufferHandle_t rx_ = nullptr;
  StaticMessageBuffer_t rxStorage_;
  QueueHandle_t logQueue_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<bool> connectedEdge_{false};
  std::atomic<uint32_t> droppedLogs_{0};

  // A request may arrive in several MQTT_EVENT_DATA pieces (longer than the client's buffer).
  uint8_t* assembly_ = nullptr;
  size_t assemblyTotal_ = 0;
  bool assemblyForUs_ = false;

  char topicCmd_[64] = {};
  char topicEvt_[64] = {};
  char topicLog_[64] = {};
  char topicStatus_[64] = {};
  const NetSettings* settings_ = nullptr;
};

}  // namespace hil::board
