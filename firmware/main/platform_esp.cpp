#include "platform_esp.hpp"

#include <cstring>

#include "esp_app_desc.h"
#include "esp_chip_info.h"
#include "esp_clk_tree.h"
#include "esp_cpu.h"
#include "esp_flash.h"
#include "esp_heap_caps.h"
#include "esp_image_format.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_ota_ops.h"
#include "esp_rom_sys.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "sdkconfig.h"
#include "soc/rtc_cntl_reg.h"
#if CONFIG_SPIRAM
#include "esp_psram.h"
#endif

// Set by main/CMakeLists.txt from the build (variant) and the component manager (versions).
#ifndef HIL_VARIANT
#define HIL_VARIANT "unknown"
#endif
#ifndef HIL_ESP_NN_VERSION
#define HIL_ESP_NN_VERSION "unknown"
#endif
#ifndef HIL_TFLM_VERSION
#define HIL_TFLM_VERSION "unknown"
#endif

namespace hil::board {

namespace {

const char* const TAG = "hil.platform";

// The `model` data partition (partitions.csv: type data, subtype 0x40, label "model").
constexpr esp_partition_subtype_t kModelSubtype = static_cast<esp_partition_subtype_t>(0x40);

uint32_t capsFor(Placement placement) {
  // Internal SRAM, byte-accessible (excludes IRAM-only memory); or the PSRAM heap.
  return placement == Placement::Psram ? MALLOC_CAP_SPIRAM : (MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
}

// The kernel backend esp-nn was configured with (espressif/esp-nn Kconfig.projbuild, choice
// NN_OPTIMIZATIONS): the symbols reach every component through sdkconfig.h.
const char* kernelBackend() {
#if defined(CONFIG_NN_ANSI_C)
  return "reference";
#elif defined(CONFIG_NN_OPTIMIZED)
  return "esp-nn";
#else
  return "unknown";
#endif
}

uint32_t runningImageSize() {
  const esp_partition_t* running = esp_ota_get_running_partition();
  if (running == nullptr) return 0;
  const esp_partition_pos_t pos = {running->address, running->size};
  esp_image_metadata_t metadata;
  std::memset(&metadata, 0, sizeof metadata);
  if (esp_image_get_metadata(&pos, &metadata) != ESP_OK) return 0;
  return metadata.image_len;
}

}  // namespace

EspPlatform::EspPlatform() {
  const esp_app_desc_t* app = esp_app_get_description();
  esp_chip_info_t chip;
  esp_chip_info(&chip);
  identity_.resetReason = static_cast<uint8_t>(esp_reset_reason());
  identity_.cores = chip.cores;
  identity_.chipRevision = chip.revision;  // major * 100 + minor (esp_chip_info.h)
  uint32_t flashBytes = 0;
  if (esp_flash_get_size(nullptr, &flashBytes) == ESP_OK) identity_.flashSize = flashBytes;
#if CONFIG_SPIRAM
  identity_.psramSize = esp_psram_is_initialized() ? static_cast<uint32_t>(esp_psram_get_size()) : 0;
#endif
  esp_efuse_mac_get_default(identity_.mac);
  std::memcpy(identity_.appSha256, app->app_elf_sha256, sizeof identity_.appSha256);
  identity_.chip = "esp32s3";
  identity_.variant = HIL_VARIANT;
  identity_.kernelBackend = kernelBackend();
  identity_.appVersion = app->version;
  identity_.projectName = app->project_name;
  identity_.idfVersion = app->idf_ver;
  identity_.tflmVersion = HIL_TFLM_VERSION;
  identity_.espNnVersion = HIL_ESP_NN_VERSION;
  identity_.simulated = false;
  imageSize_ = runningImageSize();
  modelPartition_ = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, kModelSubtype, "model");

  char sha[65];
  esp_app_get_elf_sha256(sha, sizeof sha);
  ESP_LOGI(TAG, "%s %s (variant %s, kernels %s, esp-nn %s, esp-tflite-micro %s), IDF %s, ELF sha256 %s",
           app->project_name, app->version, HIL_VARIANT, identity_.kernelBackend, HIL_ESP_NN_VERSION, HIL_TFLM_VERSION,
           app->idf_ver, sha);
  ESP_LOGI(TAG, "chip rev v%u.%u, %u cores, %u MHz, flash %u KB, PSRAM %u KB, image %u bytes, model partition %s",
           static_cast<unsigned>(chip.revision / 100), static_cast<unsigned>(chip.revision % 100),
           static_cast<unsigned>(chip.cores), static_cast<unsigned>(cpuHz() / 1000000u),
           static_cast<unsigned>(identity_.flashSize / 1024), static_cast<unsigned>(identity_.psramSize / 1024),
           static_cast<unsigned>(imageSize_), modelPartition_ != nullptr ? "found" : "missing");
  const uint32_t registers = clockTreeCpuHz();
  if (registers != cpuHz()) {
    // Seen on Espressif's QEMU: say it once at boot rather than report a wrong clock.
    ESP_LOGW(TAG, "the clock registers read %u MHz, the startup code set %u MHz (an emulator that does not model the clock tree?): reporting %u MHz",
             static_cast<unsigned>(registers / 1000000u), static_cast<unsigned>(cpuHz() / 1000000u), static_cast<unsigned>(cpuHz() / 1000000u));
  }
}

uint32_t EspPlatform::cycleCount() {
  // Per-core CCOUNT: only meaningful because the benchmark task is pinned (app_main.cpp).
  return esp_cpu_get_cycle_count();
}

uint64_t EspPlatform::microseconds() { return static_cast<uint64_t>(esp_timer_get_time()); }

uint32_t EspPlatform::cpuHz() {
  // The clock the startup code set (rtc_clk_cpu_freq_set_config records it as the ROM's ticks per
  // microsecond): the rate the cycle counter runs at, and what ESP-IDF itself uses for esp_clk_cpu_freq()
  // and esp_rom_delay_us() - the "cpu freq: 240000000 Hz" line of the boot log. Not the clock tree's
  // register readback (esp_clk_tree_src_get_freq_hz(SOC_MOD_CLK_CPU)): on silicon both agree, but an
  // emulator that does not model the SYSTEM clock registers (Espressif's QEMU) reads back the reset
  // value, and the board then reported 80 MHz while running its 240 MHz build.
  return esp_rom_get_cpu_ticks_per_us() * 1000000u;
}

uint32_t EspPlatform::clockTreeCpuHz() {
  uint32_t hz = 0;
  if (esp_clk_tree_src_get_freq_hz(SOC_MOD_CLK_CPU, ESP_CLK_TREE_SRC_FREQ_PRECISION_CACHED, &hz) != ESP_OK) return 0;
  return hz;
}

HeapFigures EspPlatform::heap(Placement placement) {
  HeapFigures f;
  if (placement != Placement::Internal && placement != Placement::Psram) return f;
  if (placement == Placement::Psram && identity_.psramSize == 0) return f;
  const uint32_t caps = capsFor(placement);
  f.total = static_cast<uint32_t>(heap_caps_get_total_size(caps));
  f.free = static_cast<uint32_t>(heap_caps_get_free_size(caps));
  f.minimumFree = static_cast<uint32_t>(heap_caps_get_minimum_free_size(caps));
  f.largestFree = static_cast<uint32_t>(heap_caps_get_largest_free_block(caps));
  return f;
}

void* EspPlatform::allocate(size_t bytes, Placement placement) {
  if (placement != Placement::Internal && placement != Placement::Psram) return nullptr;
  // 16-byte aligned for TFLM (micro_arena_constants.h); freed with heap_caps_free.
  return heap_caps_aligned_alloc(16, bytes, capsFor(placement));
}

void EspPlatform::release(void* block) { heap_caps_free(block); }

const uint8_t* EspPlatform::mapModelPartition(size_t bytes, size_t* partitionSize) {
  unmapModelPartition();
  if (modelPartition_ == nullptr) return nullptr;
  *partitionSize = modelPartition_->size;
  if (bytes > modelPartition_->size) return nullptr;
  const void* p = nullptr;
  // ESP-IDF 5.x signature: partition, offset, size, memory, out_ptr, out_handle. The partition is
  // 64 KB aligned (partitions.csv), so the mapping starts at its first byte.
  if (esp_partition_mmap(modelPartition_, 0, bytes, ESP_PARTITION_MMAP_DATA, &p, &mapping_) != ESP_OK) {
    ESP_LOGE(TAG, "esp_partition_mmap of %u bytes of the model partition failed", static_cast<unsigned>(bytes));
    return nullptr;
  }
  mapped_ = true;
  return static_cast<const uint8_t*>(p);
}

void EspPlatform::unmapModelPartition() {
  if (mapped_) esp_partition_munmap(mapping_);
  mapped_ = false;
}

void EspPlatform::setLogLevel(const char* tag, uint8_t level) {
  const uint8_t clamped = level > static_cast<uint8_t>(ESP_LOG_VERBOSE) ? static_cast<uint8_t>(ESP_LOG_VERBOSE) : level;
  esp_log_level_set(tag, static_cast<esp_log_level_t>(clamped));
}

void EspPlatform::restart(ResetMode mode) {
  if (mode == ResetMode::Download) {
    // The ROM checks this bit after a software reset and stays in the serial download mode,
    // on UART0 and on USB-Serial-JTAG (as esp_system's S3 usb_console.c does for DFU/bootloader).
    REG_WRITE(RTC_CNTL_OPTION1_REG, RTC_CNTL_FORCE_DOWNLOAD_BOOT);
  }
  esp_restart();
}

}  // namespace hil::board
