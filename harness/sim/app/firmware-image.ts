/**
 * The simulated firmware's own flash images: bootloader, partition table (firmware/partitions.csv
 * or partitions-16mb.csv) and an app image per variant with a valid `esp_app_desc_t` whose ELF
 * sha256 is a deterministic function of the variant. A fresh board is "factory programmed" with
 * the default variant, and SIM_SET_VARIANT writes another variant's image, exactly like flashing
 * it: so whatever a simulated board runs, its identity comes from the image in its flash, and a
 * wrong or corrupted image written by the flasher is caught by the harness's identity check.
 *
 * The simulated app cannot execute a real build's code. Its images carry a marker string
 * (`HIL_SIM_VARIANT=<name>`) in their read-only data saying which variant to simulate; a flashed
 * image without it (a real ESP-IDF build, a test image) keeps the variant the board simulated
 * before, under the flashed image's identity (see harness/sim/README.md).
 */
import { createHash } from 'node:crypto';
import { buildAppDescription, buildEspImage, codeLikeBytes } from '../../flash/testing/build-image.js';
import { FLASH_FREQS, FLASH_SIZES, type EspImage } from '../../flash/image.js';
import { MODEL_PARTITION_SUBTYPE } from '../../flash/model-image.js';
import { buildPartitionTable, PARTITION_TABLE_OFFSET, type PartitionSpec } from '../../flash/partition-table.js';
import { FLASH_SECTOR_SIZE, type SimFlash } from '../flash-memory.js';
import type { SimVariant } from './variants.js';

export const PROJECT_NAME = 'hil_bench';
/** The app version the simulated firmware reports (esp_app_desc_t.version). */
export const APP_VERSION = 'v0.1.0-sim';
/** The ESP-IDF release the lab's CI builds with (.github workflow: espressif/idf:v5.3.3). */
export const IDF_VERSION = 'v5.3.3';
/** esp-tflite-micro pin (firmware/main/idf_component.yml). */
export const TFLM_VERSION = '1.3.5';
export const APP_OFFSET = 0x10000;
/** Size of the simulated app image: TFLM with every lab op, Wi-Fi, lwIP, esp-mqtt (partitions.csv: 1.3-1.6 MB). */
const APP_BYTES = 1_400_000;
const MARKER = 'HIL_SIM_VARIANT=';

export interface SimulatedImages {
  bootloader: Uint8Array;
  partitionTable: Uint8Array;
  app: Uint8Array;
  appElfSha256: string;
}

const MiB = 1024 * 1024;

/** The partition table of the firmware for this flash size (firmware/partitions.csv, partitions-16mb.csv). */
export function simulatedPartitions(flashBytes: number): PartitionSpec[] {
  const modelOffset = 0x300000;
  const common: PartitionSpec[] = [
    { label: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x6000 },
    { label: 'phy_init', type: 'data', subtype: 'phy', offset: 0xf000, size: 0x1000 },
    { label: 'factory', type: 'app', subtype: 'factory', offset: APP_OFFSET, size: 0x2f0000 },
  ];
  if (flashBytes <= modelOffset) return common;
  return [...common, { label: 'model', type: 'data', subtype: MODEL_PARTITION_SUBTYPE, offset: modelOffset, size: flashBytes - modelOffset }];
}

function flashSizeCode(flashBytes: number): number {
  const mb = `${Math.round(flashBytes / MiB)}MB` as keyof typeof FLASH_SIZES;
  return (FLASH_SIZES[mb] ?? FLASH_SIZES['8MB']) | FLASH_FREQS['80m'];
}

const cache = new Map<string, SimulatedImages>();

/** The images of `variant` for a board with `flashBytes` of flash (deterministic; cached). */
export function simulatedImages(variant: SimVariant, flashBytes: number): SimulatedImages {
  const key = `${variant.name}@${flashBytes}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const sizeFreq = flashSizeCode(flashBytes);
  // ESP-IDF 5.x 2nd-stage bootloader for the S3: ~21 KB in three segments (DRAM, IRAM).
  const bootloader = buildEspImage({
    entry: 0x403c9908,
    flashSizeFreq: sizeFreq,
    segments: [
      { loadAddress: 0x3fce3810, data: codeLikeBytes(3_300, 0xb001) },
      { loadAddress: 0x403c9700, data: codeLikeBytes(13_600, 0xb002) },
      { loadAddress: 0x403cc700, data: codeLikeBytes(4_100, 0xb003) },
    ],
  });
  const partitionTable = buildPartitionTable(simulatedPartitions(flashBytes));
  const appElfSha256 = createHash('sha256').update(`${PROJECT_NAME} ${APP_VERSION} simulated firmware, variant ${variant.name}`).digest('hex');
  const desc = buildAppDescription({
    version: APP_VERSION, projectName: PROJECT_NAME, idfVersion: IDF_VERSION, appElfSha256,
    time: '00:00:00', date: 'Jan  1 2026',
  });
  const seed = Number.parseInt(appElfSha256.slice(0, 8), 16);
  const drom = codeLikeBytes(Math.round(APP_BYTES * 0.22), seed);
  drom.set(desc, 0);
  const marker = new TextEncoder().encode(`\0${MARKER}${variant.name}\0`);
  drom.set(marker, desc.length + 64);
  const dram = codeLikeBytes(Math.round(APP_BYTES * 0.02), seed + 1);
  const iram = codeLikeBytes(Math.round(APP_BYTES * 0.08), seed + 2);
  const irom = codeLikeBytes(Math.round(APP_BYTES * 0.68), seed + 3);
  const iromDataOffset = 24 + 8 + drom.length + 8 + dram.length + 8 + iram.length + 8;
  const app = buildEspImage({
    entry: 0x40375a3c,
    flashSizeFreq: sizeFreq,
    segments: [
      { loadAddress: 0x3c000020, data: drom },
      { loadAddress: 0x3fc92a00, data: dram },
      { loadAddress: 0x40374000, data: iram },
      { loadAddress: 0x42000000 + (iromDataOffset % 0x10000), data: irom },
    ],
  });
  const images = { bootloader, partitionTable, app, appElfSha256 };
  cache.set(key, images);
  return images;
}

function writeRegion(flash: SimFlash, offset: number, bytes: Uint8Array): void {
  const length = Math.ceil(bytes.length / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE;
  const current = flash.read(offset, bytes.length);
  if (Buffer.compare(Buffer.from(current), Buffer.from(bytes)) === 0) return;
  flash.eraseRange(offset, length);
  flash.program(offset, bytes);
}

/**
 * Write `variant`'s bootloader, partition table and app into `flash`, as flashing that build does.
 * The model partition is left alone (its data survives a variant change, as with `idf.py app-flash`).
 */
export function installSimulatedFirmware(flash: SimFlash, variant: SimVariant): SimulatedImages {
  const images = simulatedImages(variant, flash.size);
  writeRegion(flash, 0, images.bootloader);
  writeRegion(flash, PARTITION_TABLE_OFFSET, images.partitionTable);
  writeRegion(flash, APP_OFFSET, images.app);
  return images;
}

/** True when nothing was ever written at the bootloader's address (a new board). */
export function isBlank(flash: SimFlash): boolean {
  return flash.read(0, 4).every((b) => b === 0xff);
}

/** The variant named by a simulated image's marker, or undefined for any other image. */
export function variantMarker(flash: SimFlash, appOffset: number, image: EspImage): string | undefined {
  const first = image.segments[0];
  if (!first) return undefined;
  const scan = flash.read(appOffset + first.dataOffset, Math.min(first.length, 4096));
  const text = Buffer.from(scan).toString('latin1');
  const at = text.indexOf(MARKER);
  if (at < 0) return undefined;
  const end = text.indexOf('\0', at);
  return end < 0 ? undefined : text.slice(at + MARKER.length, end);
}
