// The firmware's command handler as a host process: bytes of a serial link on stdin, the board's
// output (frames and log lines, as on the wire) on stdout. Boots like the board: a log line, then
// HELLO. With it, a test drives the real handler with the harness's own TypeScript codec (and a
// recorded session of the simulated board can be replayed against it).
//
//   host_board            reads stdin until EOF
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "hil/command_handler.hpp"
#include "hil/session.hpp"
#include "hil/sha256.hpp"
#include "host_platform.hpp"
#include "host_runner.hpp"

namespace {

// stdout as the serial line: every frame written in one piece, flushed at once.
class StdoutLink final : public hil::Transport {
 public:
  const char* name() const override { return "stdout"; }
  bool messageOriented() const override { return false; }
  size_t receive(uint8_t* buffer, size_t capacity, uint32_t) override {
    const ssize_t n = read(STDIN_FILENO, buffer, capacity);
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  bool sendFrame(const uint8_t* frame, size_t length) override {
    const bool ok = std::fwrite(frame, 1, length, stdout) == length;
    std::fflush(stdout);
    return ok;
  }
  void drain(uint32_t) override { std::fflush(stdout); }
  void log(const char* line) {
    std::fprintf(stdout, "%s\r\n", line);
    std::fflush(stdout);
  }
};

}  // namespace

int main() {
  hil::host::HostPlatform platform;
  hil::host::HostRunner runner;
  runner.setClock(&platform, 240000);  // 1 ms per operator at 240 MHz
  hil::PortableSha256 sha;
  hil::HandlerConfig config;
  hil::CommandHandler handler(platform, runner, sha, config);
  StdoutLink link;
  hil::Session session(handler, link);
  link.log("I (0) hil: host board (firmware/test/host-app): the command handler on the host, numbers simulated");
  session.sendHello();
  uint8_t buffer[4096];
  for (;;) {
    const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n <= 0) break;
    session.pushBytes(buffer, static_cast<size_t>(n));
    hil::ResetMode mode;
    if (handler.resetRequested(&mode)) {
      link.log(mode == hil::ResetMode::Download ? "I (0) hil: reset into download mode requested" : "I (0) hil: reset requested");
      break;
    }
  }
  return 0;
}
