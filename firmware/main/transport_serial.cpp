#include "transport_serial.hpp"

#include <cstring>

#include "driver/uart.h"
#include "driver/usb_serial_jtag.h"
#include "esp_heap_caps.h"
#include "esp_idf_version.h"
#include "esp_log.h"
#include "sdkconfig.h"
#include "soc/uart_pins.h"
#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(5, 3, 0)
#include "driver/uart_vfs.h"
#include "driver/usb_serial_jtag_vfs.h"
#else
#include "esp_vfs_dev.h"
#endif

namespace hil::board {

namespace {

const char* const TAG = "hil.serial";

constexpr TickType_t kFrameLockWait = pdMS_TO_TICKS(2000);
constexpr TickType_t kLogLockWait = pdMS_TO_TICKS(500);
constexpr TickType_t kFrameWriteWait = pdMS_TO_TICKS(200);
constexpr TickType_t kLogWriteWait = pdMS_TO_TICKS(20);

#ifdef CONFIG_HIL_UART0_BAUD
constexpr int kUart0Baud = CONFIG_HIL_UART0_BAUD;
#else
constexpr int kUart0Baud = 115200;  // HIL_SERIAL_UART0 off: the class is compiled but not used
#endif

}  // namespace

uint8_t* allocateRxStorage(size_t bytes) {
  void* p = heap_caps_malloc(bytes, MALLOC_CAP_SPIRAM);
  if (p == nullptr) p = heap_caps_malloc(bytes, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
  return static_cast<uint8_t*>(p);
}

// ------------------------------------------------------------------------------------- common

bool SerialTransport::start(TaskHandle_t wake, size_t rxBytes) {
  wake_ = wake;
  writeLock_ = xSemaphoreCreateMutexStatic(&writeLockStorage_);
  uint8_t* storage = allocateRxStorage(rxBytes + 1);  // a stream buffer needs one spare byte
  if (storage == nullptr) {
    ESP_LOGE(TAG, "%s: no memory for a %u-byte receive buffer", name(), static_cast<unsigned>(rxBytes));
    return false;
  }
  rx_ = xStreamBufferCreateStatic(rxBytes, 1, storage, &rxStorage_);
  if (!installDriver()) {
    ESP_LOGE(TAG, "%s: driver install failed", name());
    return false;
  }
  // Core 0: the benchmark task owns core 1 (app_main.cpp); receiving must never run there.
  if (xTaskCreatePinnedToCore(&SerialTransport::rxTask, name(), 3072, this, 10, nullptr, 0) != pdPASS) {
    ESP_LOGE(TAG, "%s: cannot start the receive task", name());
    return false;
  }
  return true;
}

void SerialTransport::rxTask(void* arg) {
  auto* self = static_cast<SerialTransport*>(arg);
  uint8_t buffer[512];
  for (;;) {
    const int n = self->readDriver(buffer, sizeof buffer, pdMS_TO_TICKS(50));
    if (n <= 0) continue;
    // Blocks when the benchmark task is busy and the buffer is full: the driver's own buffer then
    // fills, and the host, which keeps at most rx_window requests in flight, stops sending.
    size_t sent = 0;
    while (sent < static_cast<size_t>(n)) {
      sent += xStreamBufferSend(self->rx_, buffer + sent, static_cast<size_t>(n) - sent, portMAX_DELAY);
    }
    xTaskNotifyGive(self->wake_);
  }
}

size_t SerialTransport::receive(uint8_t* buffer, size_t capacity, uint32_t timeoutMs) {
  if (rx_ == nullptr) return 0;
  return xStreamBufferReceive(rx_, buffer, capacity, pdMS_TO_TICKS(timeoutMs));
}

bool SerialTransport::sendFrame(const uint8_t* frame, size_t length) {
  if (writeLock_ == nullptr || xSemaphoreTake(writeLock_, kFrameLockWait) != pdTRUE) return false;
  const bool ok = writeDriver(frame, length, kFrameWriteWait);
  stalled_ = !ok;
  xSemaphoreGive(writeLock_);
  return ok;
}

void SerialTransport::writeLog(const char* line, size_t length) {
  if (writeLock_ == nullptr) return;
  char buffer[260];
  if (length > sizeof buffer - 2) length = sizeof buffer - 2;
  std::memcpy(buffer, line, length);
  buffer[length++] = '\r';
  buffer[length++] = '\n';
  if (xSemaphoreTake(writeLock_, kLogLockWait) != pdTRUE) return;
  const bool ok = writeDriver(reinterpret_cast<const uint8_t*>(buffer), length, stalled_ ? 0 : kLogWriteWait);
  if (ok) stalled_ = false;
  xSemaphoreGive(writeLock_);
}

// ------------------------------------------------------------------------------------- UART0

bool Uart0Transport::installDriver() {
  uart_config_t config = {};
  config.baud_rate = kUart0Baud;
  config.data_bits = UART_DATA_8_BITS;
  config.parity = UART_PARITY_DISABLE;
  config.stop_bits = UART_STOP_BITS_1;
  config.flow_ctrl = UART_HW_FLOWCTRL_DISABLE;
  config.source_clk = UART_SCLK_DEFAULT;
  // TX buffer larger than the largest frame (4112 bytes), so a frame is queued in one call.
  if (uart_driver_install(UART_NUM_0, 2048, 8192, 0, nullptr, 0) != ESP_OK) return false;
  if (uart_param_config(UART_NUM_0, &config) != ESP_OK) return false;
  if (uart_set_pin(UART_NUM_0, U0TXD_GPIO_NUM, U0RXD_GPIO_NUM, UART_PIN_NO_CHANGE, UART_PIN_NO_CHANGE) != ESP_OK) return false;
#if CONFIG_ESP_CONSOLE_UART && CONFIG_ESP_CONSOLE_UART_NUM == 0
  // Stray stdio of other tasks goes through the driver too, never past it into the FIFO.
#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(5, 3, 0)
  uart_vfs_dev_use_driver(UART_NUM_0);
#else
  esp_vfs_dev_uart_use_driver(UART_NUM_0);
#endif
#endif
  return true;
}

int Uart0Transport::readDriver(uint8_t* buffer, size_t capacity, TickType_t wait) {
  // uart_read_bytes blocks until it has `length` bytes or times out, so asking for a whole
  // buffer would hold a short request back for the full timeout: wait for one byte, then take
  // what has already arrived.
  int n = uart_read_bytes(UART_NUM_0, buffer, 1, wait);
  if (n <= 0 || capacity < 2) return n;
  size_t buffered = 0;
  if (uart_get_buffered_data_len(UART_NUM_0, &buffered) != ESP_OK || buffered == 0) return n;
  if (buffered > capacity - 1) buffered = capacity - 1;
  const int more = uart_read_bytes(UART_NUM_0, buffer + 1, static_cast<uint32_t>(buffered), 0);
  return more > 0 ? n + more : n;
}

bool Uart0Transport::writeDriver(const uint8_t* data, size_t length, TickType_t /*wait*/) {
  // Blocks only while the 8 KB TX ring buffer is full; the driver's TX mutex makes the call atomic
  // with respect to other uart_write_bytes callers.
  return uart_write_bytes(UART_NUM_0, data, length) == static_cast<int>(length);
}

void Uart0Transport::waitTxDone(uint32_t timeoutMs) { uart_wait_tx_done(UART_NUM_0, pdMS_TO_TICKS(timeoutMs)); }

// ------------------------------------------------------------------------------------- USB-Serial-JTAG

bool UsbSerialJtagTransport::installDriver() {
  usb_serial_jtag_driver_config_t config = {};
  config.tx_buffer_size = 4096;
  config.rx_buffer_size = 2048;
  if (usb_serial_jtag_driver_install(&config) != ESP_OK) return false;
#if CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG
#if ESP_IDF_VERSION >= ESP_IDF_VERSION_VAL(5, 3, 0)
  usb_serial_jtag_vfs_use_driver();
#else
  esp_vfs_usb_serial_jtag_use_driver();
#endif
#endif
  return true;
}

int UsbSerialJtagTransport::readDriver(uint8_t* buffer, size_t capacity, TickType_t wait) {
  return usb_serial_jtag_read_bytes(buffer, static_cast<uint32_t>(capacity), wait);
}

bool UsbSerialJtagTransport::writeDriver(const uint8_t* data, size_t length, TickType_t wait) {
  // The driver puts each call into its TX ring buffer as a whole or not at all (xRingbufferSend),
  // so write in pieces smaller than the buffer; when no host reads the port the buffer stays full
  // and the write times out.
  constexpr size_t kPiece = 1024;
  while (length > 0) {
    const size_t n = length < kPiece ? length : kPiece;
    if (usb_serial_jtag_write_bytes(data, n, wait) != static_cast<int>(n)) return false;
    data += n;
    length -= n;
  }
  return true;
}

void UsbSerialJtagTransport::waitTxDone(uint32_t timeoutMs) {
  // No wait-for-TX-done call in the 5.1 driver: USB moves 64-byte packets every millisecond, so a
  // full 4 KB buffer empties in well under 100 ms when a host reads.
  vTaskDelay(pdMS_TO_TICKS(timeoutMs < 100 ? timeoutMs : 100));
}

}  // namespace hil::board
