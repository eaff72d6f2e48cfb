// Messages as JSON, in the exact form of firmware/protocol/golden/messages.json and of
// harness/protocol/json.ts (camelCase fields, `data` and digests as lower-case hex, enumerations
// as names). Host tests use it to compare the C++ codec with the golden files, and to replay
// recorded sessions against the firmware's command handler.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "hil_protocol/messages.h"
#include "json.h"

namespace hil::test {

// Owns the bytes, strings and lists a Message built from JSON points to. Keep it alive as long as
// the messages; it never moves what it already holds.
struct MessageStorage {
  std::deque<std::vector<unsigned char>> bytes;
  std::deque<std::string> strings;
  std::deque<std::vector<protocol::TensorInfo>> tensors;
  std::deque<std::vector<uint32_t>> words;
  std::deque<std::vector<protocol::ProfileEntry>> profiles;
};

// {requestId, simulated, more, body: {type, ...}}
Json MessageToJson(const protocol::Message& msg);

// The reverse; false with a message naming the field when `json` does not describe a valid message.
bool MessageFromJson(const Json& json, protocol::Message* out, MessageStorage* storage, std::string* error);

}  // namespace hil::test
