// A tiny test registry for the firmware's host tests (no framework to install). Each TEST belongs
// to a suite; `host_app_tests <suite>` runs one suite and prints one line per failed check, then a
// summary `suite <name>: <tests> tests, <checks> checks, <failures> failures`. app.test.ts runs
// every suite and shows the failure lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace check {

struct Case {
  const char* suite;
  const char* name;
  void (*run)();
};

std::vector<Case>& registry();
void recordCheck();
void recordFailure(const char* file, int line, const std::string& what);

struct Register {
  Register(const char* suite, const char* name, void (*run)()) {
    registry().push_back({suite, name, run});
  }
};

template <typename T>
std::string show(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return "\"" + v + "\"";
  } else if constexpr (std::is_convertible_v<T, const char*>) {
    return v == nullptr ? std::string("null") : "\"" + std::string(v) + "\"";
  } else if constexpr (std::is_enum_v<T>) {
    return std::to_string(static_cast<long long>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_signed_v<T>) return std::to_string(static_cast<long long>(v));
    else return std::to_string(static_cast<unsigned long long>(v));
  } else {
    return std::to_string(v);
  }
}

}  // namespace check

#define CHECK_CONCAT2(a, b) a##b
#define CHECK_CONCAT(a, b) CHECK_CONCAT2(a, b)

#define TEST(suite, name)                                                                 \
  static void CHECK_CONCAT(test_, __LINE__)();                                            \
  static check::Register CHECK_CONCAT(reg_, __LINE__)(#suite, name, &CHECK_CONCAT(test_, __LINE__)); \
  static void CHECK_CONCAT(test_, __LINE__)()

#define CHECK(cond)                                                   \
  do {                                                                \
    check::recordCheck();                                             \
    if (!(cond)) check::recordFailure(__FILE__, __LINE__, #cond);     \
  } while (0)

#define CHECK_EQ(actual, expected)                                                          \
  do {                                                                                      \
    check::recordCheck();                                                                   \
    const auto& check_a = (actual);                                                         \
    const auto& check_e = (expected);                                                       \
    if (!(check_a == check_e)) {                                                            \
      check::recordFailure(__FILE__, __LINE__,                                              \
                           std::string(#actual " == " #expected ": got ") +                 \
                               check::show(check_a) + ", expected " + check::show(check_e)); \
    }                                                                                       \
  } while (0)
