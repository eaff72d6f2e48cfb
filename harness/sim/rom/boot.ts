/**
 * What a simulated ESP32-S3 prints and finds when it boots from flash: the ROM banner, the ROM
 * loading the second-stage bootloader from 0x0, and the bootloader reading the partition table at
 * 0x8000 and verifying the app (checksum and SHA-256, as ESP-IDF's esp_image_verify does) before
 * handing over. The app it finds - and its esp_app_desc_t - is what the simulated firmware reports
 * in its hello, so a wrong or corrupted image is caught by the harness's identity check exactly as
 * on a real board.
 *
 * Log lines follow the shape of a real S3 boot (ESP-ROM:esp32s3-20210327 banner, ESP-IDF 5.x
 * bootloader `I (ms) boot: ...` lines). Not modelled: OTA data (the bootloader boots `factory`, else
 * `ota_0`, as it does with blank OTA data), secure boot, flash encryption.
 */
import { imageProblems, parseEspImage, type AppDescription, type EspImage } from '../../flash/image.js';
import { appPartitions, parsePartitionTable, PARTITION_TABLE_MAX_LENGTH, PARTITION_TABLE_OFFSET, subtypeName, typeName, type Partition } from '../../flash/partition-table.js';
import { isLabError } from '../../errors.js';
import type { SimFlash } from '../flash-memory.js';
import type { ChipProfile } from './registers.js';

/** Reset causes as the S3 ROM prints them (`rst:0x.. (NAME)`). */
export const ResetReason = {
  POWERON: { code: 0x1, name: 'POWERON' },
  RTC_SW_SYS_RST: { code: 0x3, name: 'RTC_SW_SYS_RST' },
  RTC_SW_CPU_RST: { code: 0xc, name: 'RTC_SW_CPU_RST' },
  RTCWDT_RTC_RST: { code: 0x10, name: 'RTCWDT_RTC_RST' },
} as const;
export type ResetReasonName = keyof typeof ResetReason;

export interface BootedApp {
  partition: Partition;
  image: EspImage;
  description: AppDescription;
  partitions: Partition[];
}

export type BootResult = { ok: true; app: BootedApp; lines: string[] } | { ok: false; reason: string; lines: string[] };

const ROM_BANNER = ['ESP-ROM:esp32s3-20210327', 'Build:Mar 27 2021'];
const MODE_NAMES = ['QIO', 'QOUT', 'DIO', 'DOUT'];
const FREQ_NAMES: Record<number, string> = { 0x0: '40MHz', 0x1: '26.7MHz', 0x2: '20MHz', 0xf: '80MHz' };
/** The largest app image the sim reads (an app partition can be up to 16 MB on the S3). */
const MAX_APP_READ = 16 * 1024 * 1024;

/** The banner of the ROM entering UART download mode ("waiting for download" is what esptool looks for). */
export function downloadBanner(reason: ResetReasonName, gpio0Low: boolean): string[] {
  const r = ResetReason[reason];
  const boot = gpio0Low ? 'boot:0x0 (DOWNLOAD(USB/UART0))' : 'boot:0x8 (SPI_FAST_FLASH_BOOT)';
  return [...ROM_BANNER, `rst:0x${r.code.toString(16)} (${r.name}),${boot}`, 'waiting for download'];
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Boot from flash: returns the log lines a real board would print and the app it would run. */
export function bootFromFlash(flash: SimFlash, chip: ChipProfile, reason: ResetReasonName): BootResult {
  const r = ResetReason[reason];
  const lines = [...ROM_BANNER, `rst:0x${r.code.toString(16)} (${r.name}),boot:0x8 (SPI_FAST_FLASH_BOOT)`];
  const failed = (why: string): BootResult => ({ ok: false, reason: why, lines });
  let t = 24;
  const log = (tag: string, text: string, level: 'I' | 'E' = 'I'): void => {
    lines.push(`${level} (${t}) ${tag}: ${text}`);
    t += 3 + (text.length % 5);
  };

  // ROM: load the second-stage bootloader from 0x0.
  const head = flash.read(0, 24);
  if (head[0] !== 0xe9) {
    const word = new DataView(head.buffer).getUint32(0, true);
    lines.push(`invalid header: 0x${hex8(word)}`);
    return failed(`no bootloader at 0x0 (invalid header 0x${hex8(word)})`);
  }
  let bootloader: EspImage;
  try {
    bootloader = parseEspImage(flash.read(0, 0x8000), 'the bootloader at 0x0');
  } catch (e) {
    if (!isLabError(e)) throw e;
    lines.push('invalid header: 0x' + hex8(new DataView(head.buffer).getUint32(0, true)));
    return failed(e.message);
  }
  lines.push(`SPIWP:0xee`, `mode:${MODE_NAMES[bootloader.header.flashMode] ?? 'DIO'}, clock div:1`);
  for (const s of bootloader.segments) lines.push(`load:0x${hex8(s.loadAddress)},len:0x${s.length.toString(16)}`);
  if (bootloader.storedChecksum !== bootloader.calculatedChecksum) {
    lines.push(`checksum failure. Calculated 0x${bootloader.calculatedChecksum.toString(16)} stored 0x${bootloader.storedChecksum.toString(16)}`);
    return failed('the bootloader at 0x0 has a bad checksum');
  }
  lines.push(`entry 0x${hex8(bootloader.header.entry)}`);

  // Second stage: partition table, then the app.
  log('boot', 'ESP-IDF 2nd stage bootloader');
  log('boot', 'Multicore bootloader');
  log('boot', `chip revision: v${chip.majorRevision}.${chip.minorRevision}`);
  log('boot.esp32s3', `Boot SPI Speed : ${FREQ_NAMES[bootloader.header.flashFreqCode] ?? '80MHz'}`);
  log('boot.esp32s3', `SPI Mode       : ${MODE_NAMES[bootloader.header.flashMode] ?? 'DIO'}`);
  log('boot.esp32s3', `SPI Flash Size : ${1 << (bootloader.header.flashSizeCode >> 4)}MB`);
  let partitions: Partition[];
  try {
    partitions = parsePartitionTable(flash.read(PARTITION_TABLE_OFFSET, PARTITION_TABLE_MAX_LENGTH), 'the partition table at 0x8000');
  } catch (e) {
    if (!isLabError(e)) throw e;
    log('flash_parts', 'partition 0 invalid magic number 0x' + hex8(new DataView(flash.read(PARTITION_TABLE_OFFSET, 4).buffer).getUint32(0, true)), 'E');
    log('boot', 'Failed to verify partition table', 'E');
    log('boot', 'load partition table error!', 'E');
    return failed(e.message);
  }
  log('boot', 'Partition Table:');
  log('boot', '## Label            Usage          Type ST Offset   Length');
  partitions.forEach((p, i) => {
    const usage = `${typeName(p)} ${subtypeName(p)}`.padEnd(16);
    log('boot', `${String(i).padStart(2)} ${p.label.padEnd(16)} ${usage} ${p.type.toString(16).padStart(2, '0')} ${p.subtype.toString(16).padStart(2, '0')} ${hex8(p.offset)} ${hex8(p.size)}`);
  });
  log('boot', 'End of partition table');

  const candidates = appPartitions(partitions);
  if (candidates.length === 0) {
    log('boot', 'No bootable app partitions in the partition table', 'E');
    return failed('the partition table has no app partition');
  }
  const problems: string[] = [];
  for (const p of candidates) {
    const what = `the app in partition ${p.label} at 0x${p.offset.toString(16)}`;
    const bytes = flash.read(p.offset, Math.min(p.size, MAX_APP_READ, flash.size - p.offset));
    let image: EspImage;
    try {
      image = parseEspImage(bytes, what);
    } catch (e) {
      if (!isLabError(e)) throw e;
      log('esp_image', `image at 0x${p.offset.toString(16)} has invalid magic byte (nothing flashed here)`, 'E');
      log('boot', `${p.subtype === 0 ? 'Factory' : 'OTA'} app partition is not bootable`, 'E');
      problems.push(e.message);
      continue;
    }
    const bad = imageProblems(image);
    if (bad.length > 0 || !image.app || image.header.chipId !== 9) {
      if (image.storedChecksum !== image.calculatedChecksum) {
        log('esp_image', `Checksum failed. Calculated 0x${image.calculatedChecksum.toString(16)} read 0x${image.storedChecksum.toString(16)}`, 'E');
      } else if (image.storedDigest !== image.calculatedDigest) {
        log('esp_image', 'Image hash failed - image is corrupt', 'E');
      } else if (image.header.chipId !== 9) {
        log('boot_comm', `mismatch chip ID, expected 9, found ${image.header.chipId}`, 'E');
      } else {
        log('boot', 'app has no esp_app_desc_t', 'E');
      }
      log('boot', `${p.subtype === 0 ? 'Factory' : 'OTA'} app partition is not bootable`, 'E');
      problems.push(`${what}: ${bad.join('; ') || 'not an ESP32-S3 application'}`);
      continue;
    }
    for (const [i, s] of image.segments.entries()) {
      const mapped = s.loadAddress >= 0x3c000000 && s.loadAddress < 0x3e000000 ? ' map' : s.loadAddress >= 0x42000000 && s.loadAddress < 0x44000000 ? ' map' : ' load';
      log('esp_image', `segment ${i}: paddr=${hex8(p.offset + s.dataOffset)} vaddr=${hex8(s.loadAddress)} size=${s.length.toString(16).padStart(5, '0')}h (${String(s.length).padStart(6)})${mapped}`);
    }
    log('boot', `Loaded app from partition at offset 0x${p.offset.toString(16)}`);
    log('boot', 'Disabling RNG early entropy source...');
    return { ok: true, lines, app: { partition: p, image, description: image.app, partitions } };
  }
  log('boot', 'No bootable app partitions in the partition table', 'E');
  return failed(problems.join('; '));
}
