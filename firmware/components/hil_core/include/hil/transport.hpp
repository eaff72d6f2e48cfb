// A link to the harness as the board sees it: bytes in, whole frames and log lines out.
// Board implementations: main/transport_serial.cpp (UART0 / USB-Serial-JTAG driver, frames and
// log lines share the line), main/transport_mqtt.cpp (lab/<board>/cmd|evt|log). The host tests
// implement it over memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hil {

class Transport {
 public:
  virtual ~Transport() = default;

  // A short name for logs ("uart0", "usb-serial-jtag", "mqtt").
  virtual const char* name() const = 0;

  // true when every receive() returns exactly one whole message that must hold exactly one frame
  // (MQTT, PROTOCOL.md section 6); false for a byte stream with log text around frames.
  virtual bool messageOriented() const = 0;

  // Waits up to `timeoutMs` for incoming bytes and stores up to `capacity` of them.
  // Returns the count, 0 on timeout.
  virtual size_t receive(uint8_t* buffer, size_t capacity, uint32_t timeoutMs) = 0;

  // Sends one complete encoded frame without letting anything else (a log line) into its bytes.
  // false when the link dropped it (not connected, buffer full past the timeout).
  virtual bool sendFrame(const uint8_t* frame, size_t length) = 0;

  // Waits until everything sent has left the board (before a reset), at most `timeoutMs`.
  virtual void drain(uint32_t timeoutMs) = 0;
};

}  // namespace hil
