// Network settings of a board, read from NVS (namespace "hil"). Nothing is compiled in: the lab
// writes them in a provisioning step (firmware/README.md "MQTT over Wi-Fi"). Keys (NVS keys are at
// most 15 characters):
//   board          board name, as in rigs.json (topics lab/<board>/...); default esp32s3-<mac>
//   wifi_ssid      Wi-Fi network                  wifi_password  its passphrase (may be absent)
//   mqtt_uri       e.g. mqtt://192.168.1.10:1883 or mqtts://broker.lab:8883
//   mqtt_username  mqtt_password                  broker credentials (optional)
//   mqtt_ca_pem    PEM CA certificate for mqtts:// (optional; without it mqtts uses the
//                  ESP x509 certificate bundle when that is enabled)
#pragma once

#include <cstddef>

namespace hil::board {

struct NetSettings {
  char board[33] = {};
  char wifiSsid[33] = {};      // wifi_sta_config_t.ssid is 32 bytes
  char wifiPassword[65] = {};  // and password 64
  char mqttUri[129] = {};
  char mqttUsername[65] = {};
  char mqttPassword[129] = {};
  char* mqttCaPem = nullptr;  // heap, NUL-terminated, or nullptr

  bool hasWifi() const { return wifiSsid[0] != '\0'; }
  bool hasMqtt() const { return hasWifi() && mqttUri[0] != '\0'; }
};

// Initialises NVS (erasing it only when its format is from another IDF version) and reads the
// settings. Missing keys stay empty; `board` falls back to esp32s3-<last 3 MAC bytes>.
void loadNetSettings(NetSettings* settings);

// Connects to Wi-Fi (station mode) in the background, reconnecting with back-off. Calls
// `onConnected` from the event task each time the board gets an IP address.
void startWifi(const NetSettings& settings, void (*onConnected)(void* context), void* context);

}  // namespace hil::board
