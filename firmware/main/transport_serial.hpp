// The serial links: UART0 (the DevKitC-1 UART bridge port) and USB-Serial-JTAG (its native USB
// port). Frames and log lines share the line (PROTOCOL.md section 2): both are written whole, under
// one lock per port, through the driver (never through stdio, whose \n -> \r\n translation would
// corrupt binary payloads).
#pragma once

#include <cstddef>
#include <cstdint>

#include "console_log.hpp"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/stream_buffer.h"
#include "freertos/task.h"
#include "hil/transport.hpp"

namespace hil::board {

class SerialTransport : public hil::Transport, public LogOutput {
 public:
  // Installs the driver and starts a receive task on core 0 that moves bytes into a stream buffer
  // of `rxBytes` (sized for the HELLO rx_window) and wakes `wake` (the benchmark task).
  bool start(TaskHandle_t wake, size_t rxBytes);

  bool messageOriented() const override { return false; }
  size_t receive(uint8_t* buffer, size_t capacity, uint32_t timeoutMs) override;
  bool sendFrame(const uint8_t* frame, size_t length) override;
  void drain(uint32_t timeoutMs) override { waitTxDone(timeoutMs); }
  void writeLog(const char* line, size_t length) override;

 protected:
  virtual bool installDriver() = 0;
  // Up to `capacity` bytes, waiting at most `wait`; <= 0 when nothing came.
  virtual int readDriver(uint8_t* buffer, size_t capacity, TickType_t wait) = 0;
  // All `length` bytes or false, waiting at most `wait` for room.
  virtual bool writeDriver(const uint8_t* data, size_t length, TickType_t wait) = 0;
  virtual void waitTxDone(uint32_t timeoutMs) = 0;

 private:
  static void rxTask(void* self);

  SemaphoreHandle_t writeLock_ = nullptr;
  StaticSemaphore_t writeLockStorage_;
  StreamBufferHandle_t rx_ = nullptr;
  StaticStreamBuffer_t rxStorage_;
  TaskHandle_t wake_ = nullptr;
  // Set when the host stopped reading (writes timed out): log lines are then dropped at once
  // instead of each waiting for room, until a write succeeds again.
  volatile bool stalled_ = false;
};

class Uart0Transport final : public SerialTransport {
 public:
  const char* name() const override { return "uart0"; }

 protected:
  bool installDriver() override;
  int readDriver(uint8_t* buffer, size_t capacity, TickType_t wait) override;
  bool writeDriver(const uint8_t* data, size_t length, TickType_t wait) override;
  void waitTxDone(uint32_t timeoutMs) override;
};

class UsbSerialJtagTransport final : public SerialTransport {
 public:
  const char* name() const override { return "usb-serial-jtag"; }

 protected:
  bool installDriver() override;
  int readDriver(uint8_t* buffer, size_t capacity, TickType_t wait) override;
  bool writeDriver(const uint8_t* data, size_t length, TickType_t wait) override;
  void waitTxDone(uint32_t timeoutMs) override;
};

// Storage for a receive buffer: PSRAM when the board has it (only tasks touch it, never an ISR),
// else internal RAM; nullptr when neither has room.
uint8_t* allocateRxStorage(size_t bytes);

}  // namespace hil::board
