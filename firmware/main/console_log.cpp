#include "console_log.hpp"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "hil/log_text.hpp"

namespace hil::board {

namespace {

constexpr size_t kMaxOutputs = 4;
LogOutput* s_outputs[kMaxOutputs] = {};
std::atomic<size_t> s_outputCount{0};
vprintf_like_t s_original = nullptr;

// Set while this task is inside the hook: a log line written by an output's own code (a driver
// error while writing) goes to the original console function instead of recursing.
thread_local bool t_inHook = false;

// The outputs take a mutex with a timeout and may wait for room in a driver's ring buffer, which
// must not happen in an ISR, with interrupts masked (a critical section) or while the scheduler is
// suspended or not started (FreeRTOS asserts on a blocking take while suspended). ESP_LOG is not
// meant for those contexts, but a stray line from one should cost a line on the original console
// function, not a blocked or asserting output.
bool mayBlock() {
  return xPortCanYield() && xTaskGetSchedulerState() == taskSCHEDULER_RUNNING;
}

int logVprintf(const char* format, va_list args) {
  const size_t count = s_outputCount.load(std::memory_order_acquire);
  if (count == 0 || !mayBlock() || t_inHook) {
    return s_original != nullptr ? s_original(format, args) : vprintf(format, args);
  }
  t_inHook = true;
  // ESP_LOG formats one whole line per call ("I (123) tag: text\n", esp_log_writev).
  char line[256];
  const int n = vsnprintf(line, sizeof line, format, args);
  size_t length = n < 0 ? 0 : (static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1);
  while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) --length;
  for (size_t i = 0; i < count; ++i) s_outputs[i]->writeLog(line, length);
  t_inHook = false;
  return n;
}

// ---- per-task stdio -> log lines

struct TaskStdio {
  hil::LineAssembler lines{&TaskStdio::onLine, this};
  LineObserver observer = nullptr;
  void* observerContext = nullptr;

  static void onLine(void* self, const char* line, size_t length) {
    auto* s = static_cast<TaskStdio*>(self);
    if (s->observer != nullptr) s->observer(s->observerContext, line, length);
    ESP_LOGW("tflm", "%.*s", static_cast<int>(length), line);
  }
};

// One benchmark task redirects its stdio; more would each need their own state.
TaskStdio s_stdio;

int stdioWrite(void* cookie, const char* data, int length) {
  auto* s = static_cast<TaskStdio*>(cookie);
  if (length > 0) s->lines.write(data, static_cast<size_t>(length));
  return length;
}

}  // namespace

void consoleLogInit() {
  if (s_original == nullptr) s_original = esp_log_set_vprintf(&logVprintf);
}

void consoleLogAddOutput(LogOutput* output) {
  const size_t i = s_outputCount.load(std::memory_order_relaxed);
  if (i >= kMaxOutputs) return;
  s_outputs[i] = output;
  s_outputCount.store(i + 1, std::memory_order_release);
}

void consoleRedirectTaskStdio() {
  // newlib's funopen (used the same way by ESP-IDF's examples/network/simple_sniffer); stdout and
  // stderr are per-task pointers in ESP-IDF (docs api-reference/storage/vfs.rst, "Standard Streams
  // and FreeRTOS Tasks"), so this changes them for the calling task only.
  FILE* f = funopen(&s_stdio, nullptr, &stdioWrite, nullptr, nullptr);
  if (f == nullptr) return;
  setvbuf(f, nullptr, _IOLBF, 256);
  stdout = f;
  stderr = f;
}

void consoleSetLineObserver(LineObserver observer, void* context) {
  s_stdio.observer = observer;
  s_stdio.observerContext = context;
}

}  // namespace hil::board
