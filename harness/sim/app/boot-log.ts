/**
 * What the simulated app prints while ESP-IDF starts it, after the 2nd-stage bootloader's lines
 * (harness/sim/rom/boot.ts prints the ROM banner and those): the `cpu_start`, `app_init`,
 * `efuse_init`, `heap_init`, `esp_psram`, `spi_flash` and `main_task` lines of an ESP-IDF 5.x app
 * on an ESP32-S3, then the benchmark firmware's own lines (firmware/main/platform_esp.cpp and
 * app_main.cpp print the same). Timestamps are board milliseconds since reset; the PSRAM memory
 * test (CONFIG_SPIRAM_MEMTEST, on by default) takes ~0.1 ms per KiB, which is why a board with
 * 8 MB of PSRAM needs about a second to boot.
 */
import type { HeapRegion } from './heap.js';
import type { SimVariant } from './variants.js';

export interface AppBootInfo {
  board: string;
  variant: SimVariant;
  projectName: string;
  appVersion: string;
  idfVersion: string;
  appElfSha256: string;
  compileDate: string;
  compileTime: string;
  chipRevision: { major: number; minor: number };
  flashBytes: number;
  psramBytes: number;
  psramMode: 'octal' | 'quad' | 'none';
  internalRegions: readonly HeapRegion[];
  imageBytes: number;
  modelPartition: boolean;
  links: number;
  rxWindow: number;
  tflmVersion: string;
}

export interface AppBootLog {
  lines: string[];
  /** Board milliseconds since reset when app_main's links are up (HELLO goes out then). */
  readyMs: number;
}

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

export function appBootLog(info: AppBootInfo): AppBootLog {
  const lines: string[] = [];
  let t = 227;
  const log = (tag: string, text: string, stepMs = 5): void => {
    lines.push(`I (${t}) ${tag}: ${text}`);
    t += stepMs;
  };
  const psramKiB = Math.round(info.psramBytes / 1024);
  if (info.psramBytes > 0) {
    log('esp_psram', `Found ${Math.round(info.psramBytes / (1024 * 1024))}MB PSRAM device`, 4);
    log('esp_psram', 'Speed: 80MHz', 4);
  }
  log('cpu_start', 'Multicore app', 4);
  if (info.psramBytes > 0) {
    t += Math.round(psramKiB * 0.1); // SPI SRAM memory test
    log('esp_psram', 'SPI SRAM memory test OK', 9);
  }
  log('cpu_start', 'Pro cpu start user code', 0);
  log('cpu_start', `cpu freq: ${info.variant.cpuMhz * 1_000_000} Hz`, 0);
  log('app_init', 'Application information:', 3);
  log('app_init', `Project name:     ${info.projectName}`);
  log('app_init', `App version:      ${info.appVersion}`);
  log('app_init', `Compile time:     ${info.compileDate} ${info.compileTime}`);
  log('app_init', `ELF file SHA256:  ${info.appElfSha256.slice(0, 16)}...`);
  log('app_init', `ESP-IDF:          ${info.idfVersion}`);
  log('efuse_init', 'Min chip rev:     v0.0');
  log('efuse_init', 'Max chip rev:     v0.99 ');
  log('efuse_init', `Chip rev:         v${info.chipRevision.major}.${info.chipRevision.minor}`);
  log('heap_init', 'Initializing. RAM available for dynamic allocation:', 7);
  for (const r of info.internalRegions) {
    log('heap_init', `At ${hex8(r.start)} len ${hex8(r.size)} (${Math.floor(r.size / 1024)} KiB): ${r.kind}`, 6);
  }
  if (info.psramBytes > 0) log('esp_psram', `Adding pool of ${psramKiB}K of PSRAM memory to heap allocator`, 7);
  log('spi_flash', 'detected chip: gd', 3);
  log('spi_flash', 'flash io: dio');
  log('sleep', 'Configure to isolate all GPIO pins in sleep state', 6);
  log('sleep', 'Enable automatic switching of GPIO sleep configuration', 8);
  log('main_task', 'Started on CPU0', 10);
  log('main_task', 'Calling app_main()', 1);
  const v = info.variant;
  log('hil.platform',
    `${info.projectName} ${info.appVersion} (variant ${v.name}, kernels ${v.kernelBackend}, esp-nn ${v.espNnVersion}, ` +
    `esp-tflite-micro ${info.tflmVersion}), IDF ${info.idfVersion}, ELF sha256 ${info.appElfSha256}`, 10);
  log('hil.platform',
    `chip rev v${info.chipRevision.major}.${info.chipRevision.minor}, 2 cores, ${v.cpuMhz} MHz, flash ${Math.round(info.flashBytes / 1024)} KB, ` +
    `PSRAM ${psramKiB} KB, image ${info.imageBytes} bytes, model partition ${info.modelPartition ? 'found' : 'missing'}`, 12);
  log('main_task', 'Returned from app_main()', 2);
  log('hil', `board ${info.board} ready on core 1: ${info.links} link(s), rx_window ${info.rxWindow} (simulated ESP32-S3)`, 0);
  return { lines, readyMs: t };
}

/** A line in ESP-IDF's log format (`I (1234) tag: text`), for logs the app prints while running. */
export function logLine(level: 'E' | 'W' | 'I' | 'D', ms: number, tag: string, text: string): string {
  return `${level} (${Math.round(ms)}) ${tag}: ${text}`;
}
