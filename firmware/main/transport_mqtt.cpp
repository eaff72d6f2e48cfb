#include "transport_mqtt.hpp"

#include <cstdio>
#include <cstring>

#include "esp_log.h"
#include "hil_protocol/frame.h"
#include "sdkconfig.h"
#include "transport_serial.hpp"

namespace hil::board {

namespace {

const char* const TAG = "hil.mqtt";

struct LogLine {
  uint16_t length;
  char text[254];
};

}  // namespace

bool MqttTransport::init(const NetSettings& settings, TaskHandle_t wake, size_t rxBytes) {
  settings_ = &settings;
  wake_ = wake;
  std::snprintf(topicCmd_, sizeof topicCmd_, "lab/%s/cmd", settings.board);
  std::snprintf(topicEvt_, sizeof topicEvt_, "lab/%s/evt", settings.board);
  std::snprintf(topicLog_, sizeof topicLog_, "lab/%s/log", settings.board);
  std::snprintf(topicStatus_, sizeof topicStatus_, "lab/%s/status", settings.board);

  uint8_t* storage = allocateRxStorage(rxBytes + 1);
  assembly_ = allocateRxStorage(protocol::kMaxFrame);
  logQueue_ = xQueueCreate(32, sizeof(LogLine));
  if (storage == nullptr || assembly_ == nullptr || logQueue_ == nullptr) {
    ESP_LOGE(TAG, "no memory for the MQTT buffers");
    return false;
  }
  rx_ = xMessageBufferCreateStatic(rxBytes, storage, &rxStorage_);

  esp_mqtt_client_config_t config = {};
  config.broker.address.uri = settings.mqttUri;
  if (settings.mqttCaPem != nullptr) config.broker.verification.certificate = settings.mqttCaPem;
  config.credentials.client_id = settings.board;
  if (settings.mqttUsername[0] != '\0') config.credentials.username = settings.mqttUsername;
  if (settings.mqttPassword[0] != '\0') config.credentials.authentication.password = settings.mqttPassword;
#if CONFIG_MQTT_PROTOCOL_5
  config.session.protocol_ver = MQTT_PROTOCOL_V_5;
#else
  config.session.protocol_ver = MQTT_PROTOCOL_V_3_1_1;
#endif
  config.session.keepalive = 30;
  config.session.last_will.topic = topicStatus_;
  config.session.last_will.msg = "offline";
  config.session.last_will.qos = 1;
  config.session.last_will.retain = 1;
  // Large enough for a whole frame plus topic in one piece (bigger messages still reassemble).
  config.buffer.size = 8192;
  config.task.stack_size = 6144;
  client_ = esp_mqtt_client_init(&config);
  if (client_ == nullptr) {
    ESP_LOGE(TAG, "esp_mqtt_client_init failed for %s", settings.mqttUri);
    return false;
  }
  esp_mqtt_client_register_event(client_, MQTT_EVENT_ANY, &MqttTransport::onEvent, this);
  // Log lines are published from their own task on core 0, never from the task that logged them
  // (that may be esp-mqtt's own task, holding its lock).
  if (xTaskCreatePinnedToCore(&MqttTransport::logTask, "mqtt_log", 3072, this, 3, &logTask_, 0) != pdPASS) return false;
  return true;
}

void MqttTransport::connect() {
  if (client_ == nullptr) return;
  if (!started_) {
    started_ = esp_mqtt_client_start(client_) == ESP_OK;
    if (!started_) ESP_LOGE(TAG, "esp_mqtt_client_start failed");
  }
  // After the first start the client reconnects by itself (network.disable_auto_reconnect false).
}

void MqttTransport::onEvent(void* arg, esp_event_base_t, int32_t id, void* data) {
  auto* self = static_cast<MqttTransport*>(arg);
  const auto* event = static_cast<const esp_mqtt_event_t*>(data);
  switch (static_cast<esp_mqtt_event_id_t>(id)) {
    case MQTT_EVENT_CONNECTED:
      ESP_LOGI(TAG, "connected to %s as %s", self->settings_->mqttUri, self->settings_->board);
      esp_mqtt_client_subscribe_single(self->client_, self->topicCmd_, 1);
      esp_mqtt_client_publish(self->client_, self->topicStatus_, "online", 0, 1, 1);
      self->connected_ = true;
      self->connectedEdge_ = true;
      xTaskNotifyGive(self->wake_);
      break;
    case MQTT_EVENT_DISCONNECTED:
      self->connected_ = false;
      ESP_LOGW(TAG, "disconnected from the broker; esp-mqtt reconnects");
      break;
    case MQTT_EVENT_DATA:
      self->onData(*event);
      break;
    case MQTT_EVENT_ERROR:
      ESP_LOGW(TAG, "MQTT error (type %d)", event != nullptr && event->error_handle != nullptr ? static_cast<int>(event->error_handle->error_type) : -1);
      break;
    default:
      break;
  }
}

void MqttTransport::onData(const esp_mqtt_event_t& e) {
  // mqtt_client.h: one message may come as several MQTT_EVENT_DATA events; only the first carries
  // the topic; current_data_offset and total_data_len place each piece.
  if (e.current_data_offset == 0) {
    assemblyForUs_ = e.topic_len == static_cast<int>(std::strlen(topicCmd_)) &&
                     std::memcmp(e.topic, topicCmd_, static_cast<size_t>(e.topic_len)) == 0 &&
                     e.total_data_len > 0 && static_cast<size_t>(e.total_data_len) <= protocol::kMaxFrame;
    assemblyTotal_ = assemblyForUs_ ? static_cast<size_t>(e.total_data_len) : 0;
  }
  if (!assemblyForUs_ || e.current_data_offset < 0 || e.data_len < 0 ||
      static_cast<size_t>(e.current_data_offset) + static_cast<size_t>(e.data_len) > assemblyTotal_) {
    return;  // not ours, or too big to be a frame: the host sees no reply and its timeout fires
  }
  std::memcpy(assembly_ + e.current_data_offset, e.data, static_cast<size_t>(e.data_len));
  if (static_cast<size_t>(e.current_data_offset + e.data_len) == assemblyTotal_) {
    // Whole message: hand it over; full means the host exceeded rx_window, the message is dropped.
    if (xMessageBufferSend(rx_, assembly_, assemblyTotal_, 0) == 0) ESP_LOGW(TAG, "request dropped: receive buffer full");
    xTaskNotifyGive(wake_);
    assemblyForUs_ = false;
  }
}

size_t MqttTransport::receive(uint8_t* buffer, size_t capacity, uint32_t timeoutMs) {
  if (rx_ == nullptr) return 0;
  return xMessageBufferReceive(rx_, buffer, capacity, pdMS_TO_TICKS(timeoutMs));
}

bool MqttTransport::sendFrame(const uint8_t* frame, size_t length) {
  if (client_ == nullptr || !connected_) return false;
  // QoS 1: esp-mqtt keeps it in its outbox until the broker acknowledges it.
  return esp_mqtt_client_publish(client_, topicEvt_, reinterpret_cast<const char*>(frame), static_cast<int>(length), 1, 0) >= 0;
}

void MqttTransport::drain(uint32_t timeoutMs) {
  // QoS 1 acknowledgements take one round trip; give the outbox that long before a reset.
  vTaskDelay(pdMS_TO_TICKS(timeoutMs < 500 ? timeoutMs : 500));
}

void MqttTransport::writeLog(const char* line, size_t length) {
  if (logQueue_ == nullptr || !connected_) return;
  // Lines logged while publishing a line (esp-mqtt's own logs) would loop forever.
  if (xTaskGetCurrentTaskHandle() == logTask_) return;
  LogLine entry;
  entry.length = static_cast<uint16_t>(length < sizeof entry.text ? length : sizeof entry.text);
  std::memcpy(entry.text, line, entry.length);
  if (xQueueSend(logQueue_, &entry, 0) != pdTRUE) ++droppedLogs_;
}

void MqttTransport::logTask(void* arg) {
  auto* self = static_cast<MqttTransport*>(arg);
  LogLine entry;
  for (;;) {
    if (xQueueReceive(self->logQueue_, &entry, portMAX_DELAY) != pdTRUE) continue;
    if (!self->connected_) continue;
    // QoS 0 and enqueue: a log line never waits for the network.
    esp_mqtt_client_enqueue(self->client_, self->topicLog_, entry.text, entry.length, 0, 0, true);
  }
}

}  // namespace hil::board
