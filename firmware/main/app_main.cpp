// The benchmark firmware's entry point: wires the ESP-IDF glue (platform, TFLM runner, mbedtls
// SHA-256, serial and MQTT transports) to the portable protocol core (components/hil_core) and
// runs it on one task pinned to one core.
//
// Why one pinned task: latency is the CPU cycle counter read around Invoke() (FACTS.md "Timing":
// per-core 32-bit CCOUNT), so the task that invokes must never migrate between cores; and the
// protocol is handled one request at a time in arrival order (PROTOCOL.md section 3), so the same
// task decodes requests, runs them and sends the replies.
//
// Why app_main sets the links up and not the benchmark task: an interrupt is allocated on the core
// that installs its driver (esp_intr_alloc.h: "always allocated on the core that runs this
// function"; driver/uart.h: the UART ISR "will be attached to the same CPU core that this function
// is running on"; usb_serial_jtag_driver_install calls esp_intr_alloc itself, and the Wi-Fi driver
// sets and enables its handler with xt_set_interrupt_handler / esp_cpu_intr_enable, which act on
// the calling core: esp_wifi/esp32s3/esp_adapter.c).
// app_main runs on core 0 (CONFIG_ESP_MAIN_TASK_AFFINITY_CPU0), so the UART, USB-Serial-JTAG and
// Wi-Fi interrupts stay there with Wi-Fi, lwIP, esp-mqtt, esp_timer and the links' receive tasks
// (sdkconfig.defaults): no link or Wi-Fi interrupt lands inside a measured Invoke() on the
// benchmark core (its own tick interrupt still does).
#include <cstddef>
#include <cstdint>
#include <new>

#include "console_log.hpp"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "hil/command_handler.hpp"
#include "hil/session.hpp"
#include "hil_protocol/frame.h"
#include "net_config.hpp"
#include "platform_esp.hpp"
#include "runner_tflm.hpp"
#include "sdkconfig.h"
#include "sha256_mbedtls.hpp"
#include "transport_mqtt.hpp"
#include "transport_serial.hpp"

namespace {

using namespace hil::board;

const char* const TAG = "hil";

// Big, long-lived objects go to PSRAM when the board has it, so internal SRAM stays free for
// tensor arenas placed there (the lab compares internal vs PSRAM arenas).
template <typename T, typename... Args>
T* makeLongLived(Args&&... args) {
  void* p = heap_caps_malloc(sizeof(T), MALLOC_CAP_SPIRAM);
  if (p == nullptr) p = heap_caps_malloc(sizeof(T), MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
  return p != nullptr ? new (p) T(static_cast<Args&&>(args)...) : nullptr;
}

struct Board {
  NetSettings settings;
  EspPlatform* platform = nullptr;
  TflmRunner* runner = nullptr;
  MbedtlsSha256 sha;
  hil::CommandHandler* handler = nullptr;
  hil::Session* sessions[3] = {};
  size_t sessionCount = 0;
  MqttTransport* mqtt = nullptr;
  hil::Session* mqttSession = nullptr;
};

Board s_board;

// Given by app_main once every link is set up; until then the benchmark task waits.
StaticSemaphore_t s_linksReadyStorage;
SemaphoreHandle_t s_linksReady = nullptr;

// Receive buffer per link: the requests the host may have in flight, plus room for log noise.
constexpr size_t kRxBytes = CONFIG_HIL_RX_WINDOW * hil::protocol::kMaxFrame + 1024;

// Runs in app_main (core 0): the driver's interrupt is allocated there (see the top of this file).
void addSerial(SerialTransport* transport, TaskHandle_t benchTask) {
  if (transport == nullptr || !transport->start(benchTask, kRxBytes)) return;
  consoleLogAddOutput(transport);
  hil::Session* session = makeLongLived<hil::Session>(*s_board.handler, *transport);
  if (session != nullptr) s_board.sessions[s_board.sessionCount++] = session;
}

void onWifiConnected(void* mqtt) { static_cast<MqttTransport*>(mqtt)->connect(); }

void benchTask(void*) {
  // TFLM's MicroPrintf writes to stderr: make this task's stdio log lines, so they never cut into
  // a frame on the serial line, and runner_tflm.cpp can read arena shortfall reports.
  consoleRedirectTaskStdio();
  // The links are set up by app_main on core 0; their receive tasks may already have notified
  // this task, which the first ulTaskNotifyTake below then returns at once for.
  xSemaphoreTake(s_linksReady, portMAX_DELAY);

  ESP_LOGI(TAG, "board %s ready on core %d: %u link(s), rx_window %d", s_board.settings.board, xPortGetCoreID(),
           static_cast<unsigned>(s_board.sessionCount), CONFIG_HIL_RX_WINDOW);
  // After the boot log, the HELLO (PROTOCOL.md section 3, "Boot"); MQTT sends its own on connect.
  for (size_t i = 0; i < s_board.sessionCount; ++i) {
    if (s_board.sessions[i] != s_board.mqttSession) s_board.sessions[i]->sendHello();
  }

  for (;;) {
    // Receive tasks and the MQTT event handler notify this task when bytes arrive; the timeout
    // only bounds how late a missed notification could be noticed.
    ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(100));
    if (s_board.mqtt != nullptr && s_board.mqtt->takeConnected() && s_board.mqttSession != nullptr) {
      s_board.mqttSession->sendHello();  // after every (re)connection (PROTOCOL.md section 6)
    }
    hil::ResetMode mode = hil::ResetMode::App;
    for (size_t i = 0; i < s_board.sessionCount && !s_board.handler->resetRequested(nullptr); ++i) {
      while (s_board.sessions[i]->poll(0) > 0 && !s_board.handler->resetRequested(nullptr)) {
      }
    }
    if (s_board.handler->resetRequested(&mode)) {
      // The OK reply must leave before the chip resets (PROTOCOL.md "Reset").
      for (size_t i = 0; i < s_board.sessionCount; ++i) s_board.sessions[i]->transport().drain(200);
      ESP_LOGI(TAG, "restarting%s", mode == hil::ResetMode::Download ? " into the ROM download mode" : "");
      s_board.platform->restart(mode);
    }
  }
}

}  // namespace

extern "C" void app_main(void) {
  consoleLogInit();
  loadNetSettings(&s_board.settings);  // initialises NVS (Wi-Fi needs it too)
  s_board.platform = makeLongLived<EspPlatform>();
  // The interpreter object stays in internal RAM: Invoke() reads it for every operator.
  void* runnerMemory = heap_caps_malloc(sizeof(TflmRunner), MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
  if (runnerMemory != nullptr) s_board.runner = new (runnerMemory) TflmRunner();
  if (s_board.platform == nullptr || s_board.runner == nullptr) {
    ESP_LOGE(TAG, "no memory for the platform or the interpreter");
    return;
  }
  hil::HandlerConfig config;
  config.rxWindow = CONFIG_HIL_RX_WINDOW;
  s_board.handler = makeLongLived<hil::CommandHandler>(*s_board.platform, *s_board.runner, s_board.sha, config);
  if (s_board.handler == nullptr) {
    ESP_LOGE(TAG, "no memory for the command handler");
    return;
  }

  // The benchmark task first (the links' receive tasks wake it), held until the links are up. Its
  // stack stays in internal RAM (default for xTaskCreate*): a PSRAM stack would slow every kernel
  // that spills registers.
  s_linksReady = xSemaphoreCreateBinaryStatic(&s_linksReadyStorage);
  TaskHandle_t bench = nullptr;
  if (xTaskCreatePinnedToCore(&benchTask, "hil_bench", CONFIG_HIL_BENCH_TASK_STACK, nullptr,
                              CONFIG_HIL_BENCH_TASK_PRIORITY, &bench, CONFIG_HIL_BENCH_CORE) != pdPASS) {
    ESP_LOGE(TAG, "cannot create the benchmark task");
    return;
  }
  if (xPortGetCoreID() == CONFIG_HIL_BENCH_CORE) {
    ESP_LOGW(TAG, "the links are set up on the benchmark core %d: their interrupts will land inside measurements",
             CONFIG_HIL_BENCH_CORE);
  }

#if CONFIG_HIL_SERIAL_UART0
  addSerial(makeLongLived<Uart0Transport>(), bench);
#endif
#if CONFIG_HIL_SERIAL_USB_SERIAL_JTAG
  addSerial(makeLongLived<UsbSerialJtagTransport>(), bench);
#endif
#if CONFIG_HIL_MQTT
  if (s_board.settings.hasMqtt()) {
    s_board.mqtt = makeLongLived<MqttTransport>();
    if (s_board.mqtt != nullptr && s_board.mqtt->init(s_board.settings, bench, kRxBytes)) {
      consoleLogAddOutput(s_board.mqtt);
      s_board.mqttSession = makeLongLived<hil::Session>(*s_board.handler, *s_board.mqtt);
      if (s_board.mqttSession != nullptr) s_board.sessions[s_board.sessionCount++] = s_board.mqttSession;
      startWifi(s_board.settings, &onWifiConnected, s_board.mqtt);
    }
  }
#endif
  xSemaphoreGive(s_linksReady);
}
