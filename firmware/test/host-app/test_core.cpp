// Host tests of hil_core's building blocks: cycle arithmetic, SHA-256, buffers and chunking,
// the model partition header, log text and the per-op profiler.
#include <string>
#include <vector>

#include "check.hpp"
#include "hil/buffers.hpp"
#include "hil/cycles.hpp"
#include "hil/log_text.hpp"
#include "hil/model_image.hpp"
#include "hil/op_profile.hpp"
#include "hil/sha256.hpp"
#include "hil/tensor_type.hpp"
#include "host_platform.hpp"

using hil::Placement;
using hil::host::HostPlatform;

namespace {

std::string sha256Of(const std::string& text, size_t piece = 0) {
  hil::PortableSha256 sha;
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  if (piece == 0) {
    sha.update(bytes, text.size());
  } else {
    for (size_t at = 0; at < text.size(); at += piece) {
      sha.update(bytes + at, std::min(piece, text.size() - at));
    }
  }
  uint8_t digest[32];
  sha.finish(digest);
  char hex[65];
  hil::sha256Hex(digest, hex);
  return hex;
}

}  // namespace

// ---------------------------------------------------------------------------- cycles

TEST(cycles, "a difference across the 32-bit wrap is exact") {
  // Counter 100 cycles before the wrap, inference of 1,000 cycles.
  CHECK_EQ(hil::cyclesBetween(0xFFFFFF9Cu, 0x00000384u), 1000u);
  CHECK_EQ(hil::cyclesBetween(5u, 5u), 0u);
  CHECK_EQ(hil::cyclesBetween(0u, 0xFFFFFFFFu), 0xFFFFFFFFu);
}

TEST(cycles, "the wall clock at 240 MHz predicts cycles") {
  CHECK_EQ(hil::expectedCycles(1000000u, 240000000u), 240000000ull);
  CHECK_EQ(hil::expectedCycles(17895697u, 240000000u), 4294967280ull);  // just below one wrap
  // A clock that is not a whole number of MHz (e.g. 80.5 MHz).
  CHECK_EQ(hil::expectedCycles(2000000u, 80500000u), 161000000ull);
}

TEST(cycles, "reconcile adds the wraps the wall clock saw") {
  // person_detect with reference kernels: ~2.3 s = 552e6 cycles, no wrap.
  CHECK_EQ(hil::reconcileCycles(1000u, 1000u + 552000000u, 2300000u, 240000000u), 552000000ull);
  // A 24.2 s LSTM inference (esp-nn #36): 5,808,000,000 cycles = one wrap + 1,513,032,704.
  const uint32_t start = 0x80000000u;
  const uint64_t full = 5808000000ull;
  const uint32_t end = static_cast<uint32_t>(start + full);
  CHECK_EQ(hil::reconcileCycles(start, end, 24200000u, 240000000u), full);
  // Timer read a few microseconds late: still the right number of wraps.
  CHECK_EQ(hil::reconcileCycles(start, end, 24200000u + 7u, 240000000u), full);
  // Three wraps (a 60 s inference).
  const uint64_t longest = 14400000000ull;
  CHECK_EQ(hil::reconcileCycles(0u, static_cast<uint32_t>(longest), 60000000u, 240000000u), longest);
}

TEST(cycles, "an inference longer than one wrap is reported as 0xFFFFFFFF") {
  const uint32_t start = 10u;
  CHECK_EQ(hil::reportedCycles(start, start + 552000000u, 2300000u, 240000000u), 552000000u);
  CHECK_EQ(hil::reportedCycles(start, static_cast<uint32_t>(start + 5808000000ull), 24200000u, 240000000u),
           hil::kCyclesOverflow);
  // Exactly the marker value measured: reported one lower so 0xFFFFFFFF stays unambiguous.
  CHECK_EQ(hil::reportedCycles(0u, 0xFFFFFFFFu, 17895697u, 240000000u), 0xFFFFFFFEu);
}

TEST(cycles, "cycles convert to microseconds") {
  CHECK_EQ(hil::cyclesToMicroseconds(12960000u, 240000000u), 54000ull);  // 54 ms (FACTS.md)
  CHECK_EQ(hil::cyclesToMicroseconds(120u, 240000000u), 1ull);           // 0.5 us rounds up
  CHECK_EQ(hil::cyclesToMicroseconds(5u, 0u), 0ull);
  // 2^50 cycles (54 days at 240 MHz): cycles * 1e6 does not fit in 64 bits, the answer does.
  CHECK_EQ(hil::cyclesToMicroseconds(1ull << 50, 240000000u), 4691249611844ull);
  // Rounding still to nearest past whole seconds: 1 s + 180 cycles = 1 s + 0.75 us.
  CHECK_EQ(hil::cyclesToMicroseconds(240000180u, 240000000u), 1000001ull);
}

// ---------------------------------------------------------------------------- sha256

TEST(sha256, "NIST FIPS 180-2 test vectors") {
  CHECK_EQ(sha256Of(""), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK_EQ(sha256Of("abc"), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK_EQ(sha256Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  CHECK_EQ(sha256Of(std::string(1000000, 'a')),
           std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

TEST(sha256, "chunked updates give the same digest at every split") {
  const std::string text =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  const std::string expected = "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1";
  for (size_t piece = 1; piece <= text.size(); ++piece) CHECK_EQ(sha256Of(text, piece), expected);
}

TEST(sha256, "begin() restarts a used hash") {
  hil::PortableSha256 sha;
  sha.update(reinterpret_cast<const uint8_t*>("junk"), 4);
  sha.begin();
  sha.update(reinterpret_cast<const uint8_t*>("abc"), 3);
  uint8_t digest[32];
  sha.finish(digest);
  char hex[65];
  hil::sha256Hex(digest, hex);
  CHECK_EQ(std::string(hex), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

// ---------------------------------------------------------------------------- buffers

TEST(buffers, "blocks are 16-byte aligned, placed and accounted") {
  HostPlatform platform;
  {
    hil::Block arena;
    CHECK(arena.allocate(platform, 100000, Placement::Internal) == hil::Block::Status::Ok);
    CHECK(hil::isAligned(arena.data()));
    CHECK_EQ(arena.size(), 100000u);
    CHECK(arena.placement() == Placement::Internal);
    CHECK_EQ(platform.heap(Placement::Internal).free, 320u * 1024 - 100000u);
    hil::Block batch;
    CHECK(batch.allocate(platform, 3000000, Placement::Psram) == hil::Block::Status::Ok);
    CHECK_EQ(platform.liveAllocations(), 2u);
  }
  CHECK_EQ(platform.liveAllocations(), 0u);  // released by the destructors
  CHECK_EQ(platform.heap(Placement::Internal).minimumFree, 320u * 1024 - 100000u);
}

TEST(buffers, "a block refuses no size, flash or none, and reports out of memory") {
  HostPlatform platform;
  hil::Block b;
  CHECK(b.allocate(platform, 0, Placement::Internal) == hil::Block::Status::BadArgument);
  CHECK(b.allocate(platform, 16, Placement::Flash) == hil::Block::Status::BadArgument);
  CHECK(b.allocate(platform, 16, Placement::None) == hil::Block::Status::BadArgument);
  CHECK(b.allocate(platform, 400u * 1024, Placement::Internal) == hil::Block::Status::OutOfMemory);
  CHECK(b.empty());
  // Reallocation frees the previous block first, so a block can be resized to what is left.
  CHECK(b.allocate(platform, 300u * 1024, Placement::Internal) == hil::Block::Status::Ok);
  CHECK(b.allocate(platform, 310u * 1024, Placement::Internal) == hil::Block::Status::Ok);
  CHECK_EQ(platform.liveAllocations(), 1u);
}

TEST(buffers, "the largest aligned allocation is conservative and 16-byte rounded") {
  CHECK_EQ(hil::largestAlignedAllocation(0), 0u);
  CHECK_EQ(hil::largestAlignedAllocation(32), 0u);
  CHECK_EQ(hil::largestAlignedAllocation(100000), 99968u);
  CHECK_EQ(hil::largestAlignedAllocation(100000) % 16, 0u);
}

TEST(buffers, "sequential chunks reassemble a model and hash it on the way") {
  std::vector<uint8_t> model(10000);
  for (size_t i = 0; i < model.size(); ++i) model[i] = static_cast<uint8_t>(i * 7 + 3);
  std::vector<uint8_t> target(model.size(), 0);
  hil::PortableSha256 running;
  hil::SequentialUpload upload;
  CHECK(upload.write(0, model.data(), 1) == hil::SequentialUpload::Result::NotStarted);
  upload.begin(target.data(), static_cast<uint32_t>(target.size()), &running);
  uint32_t offset = 0;
  while (offset < model.size()) {
    const size_t n = std::min<size_t>(4092, model.size() - offset);
    CHECK(upload.write(offset, model.data() + offset, n) == hil::SequentialUpload::Result::Ok);
    offset += static_cast<uint32_t>(n);
    CHECK_EQ(upload.next(), offset);
  }
  CHECK(upload.complete());
  CHECK(target == model);
  uint8_t a[32], b[32];
  running.finish(a);
  hil::PortableSha256 whole;
  whole.update(model.data(), model.size());
  whole.finish(b);
  CHECK(std::memcmp(a, b, 32) == 0);
}

TEST(buffers, "a chunk at the wrong offset or past the end changes nothing") {
  std::vector<uint8_t> target(100, 0);
  const std::vector<uint8_t> chunk(60, 0x11);
  hil::SequentialUpload upload;
  upload.begin(target.data(), 100, nullptr);
  CHECK(upload.write(0, chunk.data(), 60) == hil::SequentialUpload::Result::Ok);
  CHECK(upload.write(0, chunk.data(), 10) == hil::SequentialUpload::Result::BadOffset);  // a resend
  CHECK(upload.write(70, chunk.data(), 10) == hil::SequentialUpload::Result::BadOffset);  // a gap
  CHECK(upload.write(60, chunk.data(), 41) == hil::SequentialUpload::Result::PastEnd);
  CHECK_EQ(upload.next(), 60u);
  CHECK_EQ(target[60], 0);
  CHECK(upload.write(60, chunk.data(), 40) == hil::SequentialUpload::Result::Ok);
  CHECK(upload.complete());
  CHECK(upload.write(100, chunk.data(), 0) == hil::SequentialUpload::Result::Ok);  // empty chunk at the end
}

TEST(buffers, "ranges are checked without overflow") {
  CHECK(hil::rangeFits(100, 0, 100));
  CHECK(hil::rangeFits(100, 100, 0));
  CHECK(!hil::rangeFits(100, 101, 0));
  CHECK(!hil::rangeFits(100, 50, 51));
  CHECK(!hil::rangeFits(100, 0xFFFFFFF0u, 0x20));  // offset + length would wrap in 32 bits
  uint8_t buffer[8] = {};
  const uint8_t data[3] = {1, 2, 3};
  CHECK(hil::writeRange(buffer, 8, 5, data, 3));
  CHECK_EQ(buffer[7], 3);
  CHECK(!hil::writeRange(buffer, 8, 6, data, 3));
}

// ---------------------------------------------------------------------------- model image

namespace {
std::vector<uint8_t> modelImage(const std::vector<uint8_t>& model, size_t partitionBytes) {
  std::vector<uint8_t> image(partitionBytes, 0xFF);  // erased flash
  std::memcpy(image.data(), "HILMODEL", 8);
  const uint32_t size = static_cast<uint32_t>(model.size());
  for (int i = 0; i < 4; ++i) image[8 + i] = static_cast<uint8_t>(size >> (8 * i));
  std::memset(image.data() + 12, 0, 20);
  hil::PortableSha256 sha;
  sha.update(model.data(), model.size());
  sha.finish(image.data() + 32);
  std::memcpy(image.data() + 64, model.data(), model.size());
  return image;
}
}  // namespace

TEST(model_image, "a partition image header is parsed") {
  const std::vector<uint8_t> model = {0x1c, 0, 0, 0, 'T', 'F', 'L', '3', 1, 2, 3, 4};
  const auto image = modelImage(model, 4096);
  hil::ModelImageHeader header;
  CHECK(hil::parseModelImageHeader(image.data(), image.size(), &header) == hil::ModelImageStatus::Ok);
  CHECK_EQ(header.modelBytes, 12u);
  hil::PortableSha256 sha;
  sha.update(model.data(), model.size());
  uint8_t digest[32];
  sha.finish(digest);
  CHECK(std::memcmp(digest, header.sha256, 32) == 0);
  CHECK(hil::hasTfliteIdentifier(image.data() + 64, header.modelBytes));
}

TEST(model_image, "erased flash is empty and a size past the partition is bad") {
  const std::vector<uint8_t> erased(4096, 0xFF);
  hil::ModelImageHeader header;
  CHECK(hil::parseModelImageHeader(erased.data(), erased.size(), &header) == hil::ModelImageStatus::Empty);
  auto image = modelImage(std::vector<uint8_t>(100, 1), 4096);
  image[8] = 0xC1;  // size 4033 > 4096 - 64
  image[9] = 0x0F;
  CHECK(hil::parseModelImageHeader(image.data(), image.size(), &header) == hil::ModelImageStatus::BadSize);
  image[8] = 0;
  image[9] = 0;
  CHECK(hil::parseModelImageHeader(image.data(), image.size(), &header) == hil::ModelImageStatus::BadSize);
  CHECK(hil::parseModelImageHeader(image.data(), 32, &header) == hil::ModelImageStatus::Empty);
}

TEST(model_image, "only TFL3 flatbuffers are models") {
  const uint8_t tflite[8] = {0x1c, 0, 0, 0, 'T', 'F', 'L', '3'};
  const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  CHECK(hil::hasTfliteIdentifier(tflite, 8));
  CHECK(!hil::hasTfliteIdentifier(tflite, 7));
  CHECK(!hil::hasTfliteIdentifier(png, 8));
}

// ---------------------------------------------------------------------------- log text

namespace {
struct Lines {
  std::vector<std::string> got;
  static void sink(void* self, const char* line, size_t length) {
    static_cast<Lines*>(self)->got.emplace_back(line, length);
  }
};
}  // namespace

TEST(log_text, "pieces become lines, CRLF and long lines handled") {
  Lines lines;
  hil::LineAssembler assembler(&Lines::sink, &lines);
  assembler.write("Failed to resize buffer. Req", 28);
  assembler.write("uested: 10, available 4, missing: 6", 35);
  assembler.write("\r\n", 2);
  assembler.write("two\nthree", 9);
  CHECK_EQ(lines.got.size(), 2u);
  assembler.flush();
  CHECK_EQ(lines.got.size(), 3u);
  CHECK_EQ(lines.got[0], std::string("Failed to resize buffer. Requested: 10, available 4, missing: 6"));
  CHECK_EQ(lines.got[1], std::string("two"));
  CHECK_EQ(lines.got[2], std::string("three"));
  const std::string big(hil::LineAssembler::kMaxLine + 10, 'x');
  assembler.write(big.data(), big.size());
  assembler.write("\n", 1);
  CHECK_EQ(lines.got.size(), 5u);
  CHECK_EQ(lines.got[3].size(), hil::LineAssembler::kMaxLine);
  CHECK_EQ(lines.got[4].size(), 10u);
}

TEST(log_text, "TFLM's arena shortfall reports are parsed") {
  const std::string tail = "Failed to allocate tail memory. Requested: 20000, available 1234, missing: 18766";
  const std::string temp = "Failed to allocate temp memory. Requested: 512, available 0, missing: 512";
  const std::string other = "Didn't find op for builtin opcode 'GELU'";
  CHECK_EQ(hil::parseArenaShortfall(tail.data(), tail.size()), 18766u);
  CHECK_EQ(hil::parseArenaShortfall(temp.data(), temp.size()), 512u);
  CHECK_EQ(hil::parseArenaShortfall(other.data(), other.size()), 0u);
  const std::string huge = "missing: 99999999999";
  CHECK_EQ(hil::parseArenaShortfall(huge.data(), huge.size()), 0u);
}

// ---------------------------------------------------------------------------- op profile

TEST(op_profile, "events keep execution order, names and cycles; stopped costs nothing") {
  HostPlatform platform;
  platform.setCyclesPerRead(1000);
  hil::OpProfiler profiler(platform);
  CHECK_EQ(profiler.begin("CONV_2D"), 0xFFFFFFFFu);  // not started: no event
  CHECK_EQ(profiler.count(), 0u);
  profiler.start();
  const uint32_t conv = profiler.begin("CONV_2D");
  profiler.end(conv);
  const uint32_t fc = profiler.begin("FULLY_CONNECTED");
  const uint32_t inner = profiler.begin("RESHAPE");  // nested (a subgraph op)
  profiler.end(inner);
  profiler.end(fc);
  profiler.stop();
  CHECK_EQ(profiler.count(), 3u);
  CHECK_EQ(std::string(profiler.event(0).name), std::string("CONV_2D"));
  CHECK_EQ(profiler.event(0).cycles, 1000u);
  CHECK_EQ(std::string(profiler.event(1).name), std::string("FULLY_CONNECTED"));
  CHECK_EQ(profiler.event(1).cycles, 3000u);
  CHECK_EQ(profiler.event(2).cycles, 1000u);
}

TEST(op_profile, "events past capacity are counted, not written") {
  HostPlatform platform;
  hil::OpProfiler profiler(platform);
  profiler.start();
  for (size_t i = 0; i < hil::OpProfiler::kMaxEvents + 5; ++i) profiler.end(profiler.begin("ADD"));
  CHECK_EQ(profiler.count(), hil::OpProfiler::kMaxEvents);
  CHECK_EQ(profiler.dropped(), 5u);
  profiler.start();
  CHECK_EQ(profiler.count(), 0u);
  CHECK_EQ(profiler.dropped(), 0u);
}

// ---------------------------------------------------------------------------- tensor types

TEST(tensor_type, "TfLiteType maps to the schema TensorType the protocol carries") {
  CHECK_EQ(hil::schemaTensorType(1), 0);    // kTfLiteFloat32 -> FLOAT32
  CHECK_EQ(hil::schemaTensorType(9), 9);    // kTfLiteInt8 -> INT8
  CHECK_EQ(hil::schemaTensorType(10), 1);   // kTfLiteFloat16 -> FLOAT16
  CHECK_EQ(hil::schemaTensorType(11), 10);  // kTfLiteFloat64 -> FLOAT64
  CHECK_EQ(hil::schemaTensorType(19), 18);  // kTfLiteBFloat16 -> BFLOAT16
  CHECK_EQ(hil::schemaTensorType(0), hil::kNoSchemaType);
  CHECK_EQ(hil::schemaTensorType(20), hil::kNoSchemaType);  // kTfLiteInt2: no protocol dtype
  CHECK_EQ(hil::schemaTensorType(-1), hil::kNoSchemaType);
}
