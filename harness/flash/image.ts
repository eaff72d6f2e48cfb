/**
 * ESP32-S3 firmware images (`.bin` as written by esptool's elf2image / ESP-IDF): header, segments,
 * checksum, appended SHA-256, and the app's `esp_app_desc_t` - the build identity the harness
 * compares with what the board says in its hello after flashing (FACTS.md "Build identity").
 *
 * Layout, from espressif/esptool `esptool/bin_image.py` (ESP32FirmwareImage.save / load) and ESP-IDF
 * `components/bootloader_support/include/esp_app_format.h`:
 *   0   u8  magic 0xE9            1  u8 segment count        2 u8 SPI flash mode (qio/qout/dio/dout)
 *   3   u8  flash size (hi nibble) | flash freq (lo nibble) 4 u32 entry point
 *   8   extended header (16 bytes): wp_pin, 3 drive bytes, u16 chip_id (S3 = 9), u8 min_rev (legacy),
 *       u16 min_chip_rev_full, u16 max_chip_rev_full, 4 reserved, u8 hash_appended
 *   24  segments: u32 load address, u32 length, data
 *   then zero padding so the 1-byte checksum (0xEF XOR every segment byte) is the last byte of a
 *   16-byte line, then (hash_appended) the SHA-256 of everything before it.
 * An app's first segment (DROM) starts with the 256-byte `esp_app_desc_t`, so it sits at offset 32
 * (24 header + 8 segment header) of the file.
 */
import { createHash } from 'node:crypto';
import { LabError } from '../errors.js';

export const ESP_IMAGE_MAGIC = 0xe9;
export const ESP_CHECKSUM_MAGIC = 0xef;
export const ESP32S3_CHIP_ID = 9;
export const APP_DESC_MAGIC = 0xabcd5432;
export const APP_DESC_OFFSET = 32;
export const APP_DESC_SIZE = 256;
export const IMAGE_HEADER_SIZE = 24;
export const SEGMENT_HEADER_SIZE = 8;
/** A sanity bound: no real ESP32-S3 image has more segments (esptool's ESP_IMAGE_MAX_SEGMENTS is 16). */
const MAX_SEGMENTS = 16;

/** Chip ids of esp_image_header_t.chip_id (ESP-IDF `esp_chip_id_t`), for naming the wrong chip in errors. */
const CHIP_NAMES: Record<number, string> = {
  0: 'ESP32', 2: 'ESP32-S2', 5: 'ESP32-C3', 9: 'ESP32-S3', 12: 'ESP32-C2', 13: 'ESP32-C6', 16: 'ESP32-H2', 18: 'ESP32-P4', 20: 'ESP32-C61', 23: 'ESP32-C5',
};

export function chipName(chipId: number): string {
  return CHIP_NAMES[chipId] ?? `unknown chip id ${chipId}`;
}

export const FLASH_MODES = { qio: 0, qout: 1, dio: 2, dout: 3 } as const;
export type FlashMode = keyof typeof FLASH_MODES;
/** ESP32-S3 flash frequency nibble (esptool targets/esp32s3.py via ESP32ROM.FLASH_FREQUENCY). */
export const FLASH_FREQS = { '80m': 0xf, '40m': 0x0, '26m': 0x1, '20m': 0x2 } as const;
export type FlashFreq = keyof typeof FLASH_FREQS;
/** Flash size nibble, shifted into the high nibble of header byte 3 (esptool ROM.FLASH_SIZES). */
export const FLASH_SIZES = { '1MB': 0x00, '2MB': 0x10, '4MB': 0x20, '8MB': 0x30, '16MB': 0x40, '32MB': 0x50, '64MB': 0x60, '128MB': 0x70 } as const;
export type FlashSize = keyof typeof FLASH_SIZES;

export function flashSizeBytes(size: FlashSize): number {
  return parseInt(size, 10) * 1024 * 1024;
}

export interface ImageHeader {
  segmentCount: number;
  flashMode: number;
  /** Flash size code (high nibble of byte 3, already shifted: 0x00..0x70). */
  flashSizeCode: number;
  /** Flash frequency code (low nibble of byte 3). */
  flashFreqCode: number;
  entry: number;
  chipId: number;
  minChipRevFull: number;
  maxChipRevFull: number;
  hashAppended: boolean;
}

export interface ImageSegment {
  loadAddress: number;
  /** File offset of the segment's data (after its 8-byte header). */
  dataOffset: number;
  length: number;
}

export interface AppDescription {
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  /** SHA-256 of the app ELF, lowercase hex: what `esp_app_get_elf_sha256()` reports on the board. */
  appElfSha256: string;
  minEfuseBlkRevFull: number;
  maxEfuseBlkRevFull: number;
}

export interface EspImage {
  header: ImageHeader;
  segments: ImageSegment[];
  storedChecksum: number;
  calculatedChecksum: number;
  /** Bytes up to and including the checksum byte (what the appended SHA-256 covers). */
  dataLength: number;
  /** dataLength plus the 32-byte digest when one is appended. */
  imageLength: number;
  storedDigest?: string;
  calculatedDigest?: string;
  /** Present when the first segment starts with an esp_app_desc_t (an app, not the bootloader). */
  app?: AppDescription;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

/**
 * Parse an image. `what` names it in errors (a file path, or "app partition at 0x10000 of board b1").
 * Format errors throw a LabError; checksum / digest mismatches are reported by `imageProblems`.
 */
export function parseEspImage(bytes: Uint8Array, what: string): EspImage {
  const fail = (why: string): never => {
    throw new LabError('image', `${what} is not a valid ESP32 firmware image: ${why} (rebuild it with idf.py build)`);
  };
  if (bytes.length < IMAGE_HEADER_SIZE) fail(`it is only ${bytes.length} bytes long`);
  if (bytes[0] !== ESP_IMAGE_MAGIC) fail(`it starts with 0x${bytes[0]!.toString(16).padStart(2, '0')}, not the image magic 0xe9`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header: ImageHeader = {
    segmentCount: bytes[1]!,
    flashMode: bytes[2]!,
    flashSizeCode: bytes[3]! & 0xf0,
    flashFreqCode: bytes[3]! & 0x0f,
    entry: view.getUint32(4, true),
    chipId: view.getUint16(12, true),
    minChipRevFull: view.getUint16(15, true),
    maxChipRevFull: view.getUint16(17, true),
    hashAppended: bytes[23] === 1,
  };
  if (bytes[23]! > 1) fail(`its hash_appended byte is 0x${bytes[23]!.toString(16)} (must be 0 or 1)`);
  if (header.segmentCount === 0 || header.segmentCount > MAX_SEGMENTS) fail(`it declares ${header.segmentCount} segments`);
  const segments: ImageSegment[] = [];
  let pos = IMAGE_HEADER_SIZE;
  let checksum = ESP_CHECKSUM_MAGIC;
  for (let i = 0; i < header.segmentCount; i++) {
    if (pos + SEGMENT_HEADER_SIZE > bytes.length) fail(`segment ${i} header at offset ${pos} is past the end of the file`);
    const loadAddress = view.getUint32(pos, true);
    const length = view.getUint32(pos + 4, true);
    const dataOffset = pos + SEGMENT_HEADER_SIZE;
    if (dataOffset + length > bytes.length) fail(`segment ${i} (${length} bytes at offset ${dataOffset}) is past the end of the file`);
    for (let j = dataOffset; j < dataOffset + length; j++) checksum ^= bytes[j]!;
    segments.push({ loadAddress, dataOffset, length });
    pos = dataOffset + length;
  }
  // esptool bin_image.py align_file_position(f, 16): the checksum is the last byte of a 16-byte line.
  const checksumAt = pos + (15 - (pos % 16));
  if (checksumAt >= bytes.length) fail('the file ends before its checksum byte');
  const dataLength = checksumAt + 1;
  const image: EspImage = {
    header,
    segments,
    storedChecksum: bytes[checksumAt]!,
    calculatedChecksum: checksum,
    dataLength,
    imageLength: dataLength + (header.hashAppended ? 32 : 0),
  };
  if (header.hashAppended) {
    if (dataLength + 32 > bytes.length) fail('the file ends inside its appended SHA-256 digest');
    image.storedDigest = Buffer.from(bytes.subarray(dataLength, dataLength + 32)).toString('hex');
    image.calculatedDigest = createHash('sha256').update(bytes.subarray(0, dataLength)).digest('hex');
  }
  const first = segments[0]!;
  if (first.length >= APP_DESC_SIZE && first.dataOffset === APP_DESC_OFFSET && view.getUint32(APP_DESC_OFFSET, true) === APP_DESC_MAGIC) {
    image.app = parseAppDescription(bytes.subarray(APP_DESC_OFFSET, APP_DESC_OFFSET + APP_DESC_SIZE));
  }
  return image;
}

/** Decode the 256-byte esp_app_desc_t (ESP-IDF `components/esp_app_format/include/esp_app_desc.h`). */
export function parseAppDescription(desc: Uint8Array): AppDescription {
  const view = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  return {
    secureVersion: view.getUint32(4, true),
    version: cString(desc.subarray(16, 48)),
    projectName: cString(desc.subarray(48, 80)),
    time: cString(desc.subarray(80, 96)),
    date: cString(desc.subarray(96, 112)),
    idfVersion: cString(desc.subarray(112, 144)),
    appElfSha256: Buffer.from(desc.subarray(144, 176)).toString('hex'),
    minEfuseBlkRevFull: view.getUint16(176, true),
    maxEfuseBlkRevFull: view.getUint16(178, true),
  };
}

/** What is wrong with an image's integrity, as sentences; empty when checksum and digest match. */
export function imageProblems(image: EspImage): string[] {
  const problems: string[] = [];
  if (image.storedChecksum !== image.calculatedChecksum) {
    problems.push(`image checksum is 0x${image.storedChecksum.toString(16).padStart(2, '0')} but its segments sum to 0x${image.calculatedChecksum.toString(16).padStart(2, '0')}`);
  }
  if (image.storedDigest !== undefined && image.storedDigest !== image.calculatedDigest) {
    problems.push(`appended SHA-256 ${image.storedDigest.slice(0, 16)}... does not match the image (${image.calculatedDigest!.slice(0, 16)}...)`);
  }
  return problems;
}

/**
 * Set the flash mode / frequency / size in a bootloader header, as `esptool write_flash --flash_mode
 * --flash_freq --flash_size` does, recomputing the appended SHA-256 (esptool `_update_image_flash_params`:
 * digest over image[:datalength]). Returns the input unchanged when nothing differs.
 *
 * The harness does this itself and hands esptool-js "keep": esptool-js 0.7.0's own version
 * (esploader.js `_updateImageFlashParams`) tests hash_appended against the character '1' (0x31) instead
 * of the byte 1, so it never refreshes the digest, and its refresh code would hash the bytes *after*
 * the digest rather than before it - either way the bootloader would be left with a stale SHA-256.
 * Doing it here also lets the flasher know the exact bytes (and MD5) that will be in flash before it
 * connects, which the skip-if-unchanged check needs.
 */
export function applyFlashSettings(bootloader: Uint8Array, settings: { flashMode?: FlashMode | 'keep'; flashFreq?: FlashFreq | 'keep'; flashSize?: FlashSize | 'keep' }, what: string): Uint8Array {
  const image = parseEspImage(bootloader, what);
  let mode = bootloader[2]!;
  let sizeFreq = bootloader[3]!;
  if (settings.flashMode && settings.flashMode !== 'keep') mode = FLASH_MODES[settings.flashMode];
  if (settings.flashFreq && settings.flashFreq !== 'keep') sizeFreq = (sizeFreq & 0xf0) | FLASH_FREQS[settings.flashFreq];
  if (settings.flashSize && settings.flashSize !== 'keep') sizeFreq = (sizeFreq & 0x0f) | FLASH_SIZES[settings.flashSize];
  if (mode === bootloader[2] && sizeFreq === bootloader[3]) return bootloader;
  const out = new Uint8Array(bootloader);
  out[2] = mode;
  out[3] = sizeFreq;
  if (image.header.hashAppended) {
    out.set(createHash('sha256').update(out.subarray(0, image.dataLength)).digest(), image.dataLength);
  }
  return out;
}
