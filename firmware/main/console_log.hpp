// Board log routing. Protocol frames and log lines share the serial line (PROTOCOL.md section 2),
// so no log byte may land inside a frame: every ESP_LOG line is formatted whole and handed to each
// registered output, which writes it under the same lock as its frames (transport_serial.cpp) or
// publishes it on lab/<board>/log (transport_mqtt.cpp).
#pragma once

#include <cstddef>

namespace hil::board {

class LogOutput {
 public:
  // One line without its terminator. Called from any task, never from an ISR.
  virtual void writeLog(const char* line, size_t length) = 0;

 protected:
  ~LogOutput() = default;
};

// Installs the esp_log_set_vprintf hook. Until an output is added, lines go where they always went.
void consoleLogInit();
// Adds an output (at most 4; they live for the program's lifetime).
void consoleLogAddOutput(LogOutput* output);

// Sends the calling task's stdout and stderr (TFLM's MicroPrintf writes to stderr) through the
// same line routing, as log lines with tag "tflm", instead of straight to the console UART.
void consoleRedirectTaskStdio();

// Lines the calling task's redirected stdio produced are also shown to `observer` while set
// (main/runner_tflm.cpp reads TFLM's arena shortfall reports this way). nullptr removes it.
using LineObserver = void (*)(void* context, const char* line, size_t length);
void consoleSetLineObserver(LineObserver observer, void* context);

}  // namespace hil::board
