// The smallest test framework that does the job: each check prints one line, which
// firmware/test/host/build.ts parses so vitest can assert on every case by name:
//
//   PASS <id>
//   FAIL <id> :: <what differed, newlines escaped as \n>
//   SUMMARY passed=<n> failed=<m>
//
// Reused by every host test program (protocol golden frames now, the command handler later).
#pragma once

#include <cstdio>
#include <string>

namespace hil::test {

class TestReport {
 public:
  void Check(const std::string& id, bool ok, const std::string& detail = "") {
    if (ok) {
      passed_++;
      std::printf("PASS %s\n", id.c_str());
    } else {
      failed_++;
      std::string escaped;
      for (char c : detail) {
        if (c == '\n') escaped += "\\n";
        else escaped.push_back(c);
      }
      std::printf("FAIL %s :: %s\n", id.c_str(), escaped.c_str());
    }
  }

  // Prints the summary; the process exit code (0 only when nothing failed and something ran).
  int Finish() {
    std::printf("SUMMARY passed=%d failed=%d\n", passed_, failed_);
    std::fflush(stdout);
    return failed_ == 0 && passed_ > 0 ? 0 : 1;
  }

 private:
  int passed_ = 0;
  int failed_ = 0;
};

}  // namespace hil::test
