// A minimal JSON value, parser and writer for host tests only (golden files, recorded sessions).
// The firmware never links this: it uses std::string and std::vector freely.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hil::test {

class Json {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  static Json Bool(bool v);
  static Json Number(double v);
  static Json String(std::string v);
  static Json Array();
  static Json Object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }
  const std::vector<Json>& items() const { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }

  // Object member or nullptr.
  const Json* Find(const std::string& key) const;
  // Adds or replaces an object member; returns *this for chaining.
  Json& Set(const std::string& key, Json value);
  Json& Push(Json value);

  // Compact JSON text; integers up to 2^53 print without a fraction.
  std::string Dump() const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Parses UTF-8 JSON text. On failure returns false and describes the error with its offset.
bool ParseJson(const std::string& text, Json* out, std::string* error);

// Deep equality; object member order does not matter, numbers compare as doubles.
bool JsonEqual(const Json& a, const Json& b);

// Bytes as text the way a WHATWG UTF-8 decoder (TextDecoder, not fatal) reads them: every maximal
// invalid subsequence becomes U+FFFD. This is how both codecs' users see log lines and strings.
std::string Utf8Replace(const char* data, size_t len);

std::string ToHex(const unsigned char* data, size_t len);
// Lower- or upper-case hex; false for an odd length or a non-hex digit.
bool FromHex(const std::string& hex, std::vector<unsigned char>* out);

}  // namespace hil::test
