#include <cstdlib>

#include "check.hpp"

namespace check {

namespace {
int g_checks = 0;
int g_failures = 0;
const Case* g_current = nullptr;
}  // namespace

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

void recordCheck() { ++g_checks; }

void recordFailure(const char* file, int line, const std::string& what) {
  ++g_failures;
  const char* base = std::strrchr(file, '/');
  std::printf("FAIL %s > %s (%s:%d): %s\n", g_current != nullptr ? g_current->suite : "?",
              g_current != nullptr ? g_current->name : "?", base != nullptr ? base + 1 : file, line,
              what.c_str());
}

}  // namespace check

int main(int argc, char** argv) {
  if (argc != 2) {
    std::printf("usage: %s <suite> | --list\n", argv[0]);
    return 2;
  }
  const std::string wanted = argv[1];
  if (wanted == "--list") {
    for (const auto& c : check::registry()) std::printf("%s > %s\n", c.suite, c.name);
    return 0;
  }
  int tests = 0;
  for (const auto& c : check::registry()) {
    if (wanted != c.suite) continue;
    check::g_current = &c;
    ++tests;
    c.run();
  }
  std::printf("suite %s: %d tests, %d checks, %d failures\n", wanted.c_str(), tests, check::g_checks,
              check::g_failures);
  return (tests == 0 || check::g_failures > 0) ? 1 : 0;
}
