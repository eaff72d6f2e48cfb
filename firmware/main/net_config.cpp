#include "net_config.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "esp_event.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_netif.h"
#include "esp_timer.h"
#include "esp_wifi.h"
#include "nvs.h"
#include "nvs_flash.h"

namespace hil::board {

namespace {

const char* const TAG = "hil.net";

void readString(nvs_handle_t nvs, const char* key, char* out, size_t capacity) {
  size_t length = capacity;
  if (nvs_get_str(nvs, key, out, &length) != ESP_OK) out[0] = '\0';
}

struct WifiState {
  void (*onConnected)(void*) = nullptr;
  void* context = nullptr;
  uint32_t retries = 0;
  esp_timer_handle_t retryTimer = nullptr;
};
WifiState s_wifi;

void retryConnect(void*) { esp_wifi_connect(); }

void onWifiEvent(void*, esp_event_base_t base, int32_t id, void* data) {
  if (base == WIFI_EVENT && id == WIFI_EVENT_STA_START) {
    esp_wifi_connect();
  } else if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED) {
    const auto* d = static_cast<const wifi_event_sta_disconnected_t*>(data);
    // Back off 1, 2, 4 ... 30 s so a missing access point does not flood the log.
    const uint32_t delayMs = s_wifi.retries < 5 ? (1000u << s_wifi.retries) : 30000u;
    ++s_wifi.retries;
    ESP_LOGW(TAG, "Wi-Fi disconnected (reason %d); retrying in %u ms", d != nullptr ? d->reason : -1,
             static_cast<unsigned>(delayMs));
    esp_timer_stop(s_wifi.retryTimer);
    esp_timer_start_once(s_wifi.retryTimer, uint64_t{delayMs} * 1000u);
  } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
    const auto* got = static_cast<const ip_event_got_ip_t*>(data);
    ESP_LOGI(TAG, "Wi-Fi connected, IP " IPSTR, IP2STR(&got->ip_info.ip));
    s_wifi.retries = 0;
    if (s_wifi.onConnected != nullptr) s_wifi.onConnected(s_wifi.context);
  }
}

}  // namespace

void loadNetSettings(NetSettings* s) {
  esp_err_t err = nvs_flash_init();
  if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
    // The partition was written by another NVS version: the documented recovery is to erase it
    // (then the board needs provisioning again, which the log says below).
    ESP_ERROR_CHECK(nvs_flash_erase());
    err = nvs_flash_init();
  }
  ESP_ERROR_CHECK(err);

  nvs_handle_t nvs;
  if (nvs_open("hil", NVS_READONLY, &nvs) == ESP_OK) {
    readString(nvs, "board", s->board, sizeof s->board);
    readString(nvs, "wifi_ssid", s->wifiSsid, sizeof s->wifiSsid);
    readString(nvs, "wifi_password", s->wifiPassword, sizeof s->wifiPassword);
    readString(nvs, "mqtt_uri", s->mqttUri, sizeof s->mqttUri);
    readString(nvs, "mqtt_username", s->mqttUsername, sizeof s->mqttUsername);
    readString(nvs, "mqtt_password", s->mqttPassword, sizeof s->mqttPassword);
    size_t caLength = 0;
    if (nvs_get_str(nvs, "mqtt_ca_pem", nullptr, &caLength) == ESP_OK && caLength > 1) {
      s->mqttCaPem = static_cast<char*>(malloc(caLength));
      if (s->mqttCaPem != nullptr && nvs_get_str(nvs, "mqtt_ca_pem", s->mqttCaPem, &caLength) != ESP_OK) {
        free(s->mqttCaPem);
        s->mqttCaPem = nullptr;
      }
    }
    nvs_close(nvs);
  }
  if (s->board[0] == '\0') {
    uint8_t mac[6] = {};
    esp_efuse_mac_get_default(mac);
    snprintf(s->board, sizeof s->board, "esp32s3-%02x%02x%02x", mac[3], mac[4], mac[5]);
  }
  if (!s->hasWifi()) {
    ESP_LOGI(TAG, "no Wi-Fi settings in NVS namespace \"hil\": serial only (firmware/README.md, provisioning)");
  } else if (!s->hasMqtt()) {
    ESP_LOGW(TAG, "Wi-Fi settings but no mqtt_uri in NVS: MQTT stays off");
  }
}

void startWifi(const NetSettings& settings, void (*onConnected)(void*), void* context) {
  s_wifi.onConnected = onConnected;
  s_wifi.context = context;
  esp_timer_create_args_t timer = {};
  timer.callback = &retryConnect;
  timer.name = "wifi_retry";
  ESP_ERROR_CHECK(esp_timer_create(&timer, &s_wifi.retryTimer));

  ESP_ERROR_CHECK(esp_netif_init());
  ESP_ERROR_CHECK(esp_event_loop_create_default());
  esp_netif_create_default_wifi_sta();
  wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
  ESP_ERROR_CHECK(esp_wifi_init(&init));
  // The credentials live in our NVS namespace; do not let the driver keep a second copy.
  ESP_ERROR_CHECK(esp_wifi_set_storage(WIFI_STORAGE_RAM));
  ESP_ERROR_CHECK(esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, &onWifiEvent, nullptr));
  ESP_ERROR_CHECK(esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, &onWifiEvent, nullptr));

  wifi_config_t config = {};
  // Fixed-size, not necessarily NUL-terminated fields (esp_wifi_types.h wifi_sta_config_t).
  std::memcpy(config.sta.ssid, settings.wifiSsid, strnlen(settings.wifiSsid, sizeof config.sta.ssid));
  std::memcpy(config.sta.password, settings.wifiPassword, strnlen(settings.wifiPassword, sizeof config.sta.password));
  config.sta.threshold.authmode = settings.wifiPassword[0] != '\0' ? WIFI_AUTH_WPA2_PSK : WIFI_AUTH_OPEN;
  ESP_ERROR_CHECK(esp_wifi_set_mode(WIFI_MODE_STA));
  ESP_ERROR_CHECK(esp_wifi_set_config(WIFI_IF_STA, &config));
  ESP_ERROR_CHECK(esp_wifi_start());
  // No modem sleep: MQTT round trips (and the lab's timeouts) should not wait for DTIM beacons.
  esp_wifi_set_ps(WIFI_PS_NONE);
  ESP_LOGI(TAG, "connecting to Wi-Fi \"%s\"", settings.wifiSsid);
}

}  // namespace hil::board
