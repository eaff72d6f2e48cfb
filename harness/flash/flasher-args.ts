/**
 * Read an ESP-IDF build's `flasher_args.json` (what `idf.py flash` itself reads) into a validated
 * firmware build: the regions to write, the flash settings, and the app identity to check after boot.
 *
 * Shape (ESP-IDF `tools/cmake/flasher_args.json.in`, FACTS.md "Flash layout"):
 *   flash_files        { "0x0": "bootloader/bootloader.bin", "0x8000": "...", "0x10000": "app.bin", ... }
 *   flash_settings     { flash_mode, flash_size, flash_freq }
 *   extra_esptool_args { before, after, stub, chip }
 *   bootloader / app / partition-table / <partition name>: { offset, file, encrypted }
 * Every problem a user can cause ends in one LabError naming the file, the field and the fix.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LabError } from '../errors.js';
import {
  applyFlashSettings, chipName, ESP_IMAGE_MAGIC, ESP32S3_CHIP_ID, FLASH_FREQS, FLASH_MODES, FLASH_SIZES, flashSizeBytes, imageProblems, parseEspImage,
  type AppDescription, type EspImage, type FlashFreq, type FlashMode, type FlashSize,
} from './image.js';
import { appPartitions, parsePartitionTable, partitionTableProblems, PARTITION_TABLE_OFFSET, type Partition } from './partition-table.js';

export const FLASHER_ARGS_FILE = 'flasher_args.json';
const SECTOR = 0x1000;

export interface FlashSettings {
  flashMode: FlashMode | 'keep';
  flashFreq: FlashFreq | 'keep';
  flashSize: FlashSize | 'keep' | 'detect';
}

export interface BuildRegion {
  /** `bootloader`, `partition-table`, `app`, a partition name (`model`, `otadata`) or the file's name. */
  name: string;
  offset: number;
  /** Absolute path of the file. */
  file: string;
  bytes: Uint8Array;
}

export interface FirmwareBuild {
  /** The flasher_args.json that was read. */
  flasherArgsPath: string;
  dir: string;
  chip: string;
  settings: FlashSettings;
  /** Regions sorted by offset, bytes as in the files. */
  regions: BuildRegion[];
  app: { region: BuildRegion; image: EspImage; description: AppDescription };
  partitions?: Partition[];
  before?: string;
  after?: string;
}

/** A region ready to write: bytes exactly as they will be in flash, and their MD5. */
export interface PreparedRegion extends BuildRegion {
  md5: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseOffset(text: unknown, where: string, file: string): number {
  const s = typeof text === 'number' ? String(text) : typeof text === 'string' ? text.trim() : '';
  const n = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? parseInt(s, 10) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new LabError('flasher-args', `${file}: ${where} "${String(text)}" is not a flash offset (write it as hex, e.g. "0x10000")`);
  }
  return n;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Accepts a build directory or the path of its flasher_args.json. */
export function readFlasherArgs(buildDirOrFile: string): FirmwareBuild {
  const flasherArgsPath = buildDirOrFile.endsWith('.json') ? path.resolve(buildDirOrFile) : path.resolve(buildDirOrFile, FLASHER_ARGS_FILE);
  const dir = path.dirname(flasherArgsPath);
  if (!existsSync(flasherArgsPath)) {
    throw new LabError('flasher-args', `${flasherArgsPath} does not exist: point --build at an ESP-IDF build directory (run \`idf.py build\` for this variant first)`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(flasherArgsPath, 'utf8'));
  } catch (e) {
    throw new LabError('flasher-args', `${flasherArgsPath} is not valid JSON (${(e as Error).message}): rebuild with \`idf.py build\` to regenerate it`, { cause: e });
  }
  const fail = (msg: string): never => {
    throw new LabError('flasher-args', `${flasherArgsPath}: ${msg}`);
  };
  if (!isObject(doc)) return fail('the top level must be a JSON object: rebuild with `idf.py build` to regenerate it');

  const extra = isObject(doc.extra_esptool_args) ? doc.extra_esptool_args : {};
  const chip = typeof extra.chip === 'string' ? extra.chip : 'esp32s3';
  if (chip !== 'esp32s3') {
    fail(`extra_esptool_args.chip is "${chip}" but the lab's boards are ESP32-S3: run \`idf.py set-target esp32s3\` and build again`);
  }

  const settingsDoc = isObject(doc.flash_settings) ? doc.flash_settings : {};
  const settings: FlashSettings = {
    flashMode: pick(settingsDoc.flash_mode, [...Object.keys(FLASH_MODES), 'keep'], 'flash_settings.flash_mode', 'keep', fail) as FlashSettings['flashMode'],
    flashFreq: pick(settingsDoc.flash_freq, [...Object.keys(FLASH_FREQS), 'keep'], 'flash_settings.flash_freq', 'keep', fail) as FlashSettings['flashFreq'],
    flashSize: pick(settingsDoc.flash_size, [...Object.keys(FLASH_SIZES), 'keep', 'detect'], 'flash_settings.flash_size', 'keep', fail) as FlashSettings['flashSize'],
  };

  if (!isObject(doc.flash_files) || Object.keys(doc.flash_files).length === 0) {
    fail('flash_files is missing or empty: it must map offsets to files, e.g. {"0x10000": "app.bin"}');
  }
  const flashFiles = doc.flash_files as Json;

  // Named entries (bootloader, app, partition-table, model, otadata, ...) give regions their names.
  const names = new Map<number, string>();
  let appOffset: number | undefined;
  for (const [key, value] of Object.entries(doc)) {
    if (!isObject(value) || !('offset' in value) || !('file' in value)) continue;
    const offset = parseOffset(value.offset, `${key}.offset`, flasherArgsPath);
    if (value.encrypted === 'true' || value.encrypted === true) {
      fail(`${key} is marked encrypted: flash encryption is not supported by the lab; build the variant without CONFIG_SECURE_FLASH_ENC_ENABLED`);
    }
    names.set(offset, key);
    if (key === 'app') appOffset = offset;
  }

  const regions: BuildRegion[] = [];
  for (const [offsetText, fileValue] of Object.entries(flashFiles)) {
    const offset = parseOffset(offsetText, 'flash_files key', flasherArgsPath);
    if (typeof fileValue !== 'string' || fileValue === '') fail(`flash_files["${offsetText}"] must be a file path`);
    if (offset % SECTOR !== 0) {
      fail(`flash_files["${offsetText}"] (${String(fileValue)}) is not on a 4 KB sector boundary, so writing it would erase the bytes before it: fix the offset in partitions.csv`);
    }
    const file = path.resolve(dir, fileValue as string);
    if (!existsSync(file) || !statSync(file).isFile()) {
      fail(`flash_files["${offsetText}"] names ${fileValue as string}, which does not exist in ${dir}: run \`idf.py build\` again`);
    }
    const bytes = new Uint8Array(readFileSync(file));
    if (bytes.length === 0) fail(`${fileValue as string} (flash_files["${offsetText}"]) is empty: run \`idf.py build\` again`);
    regions.push({ name: names.get(offset) ?? path.basename(file, '.bin'), offset, file, bytes });
  }
  regions.sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < regions.length; i++) {
    const a = regions[i - 1]!;
    const b = regions[i]!;
    if (a.offset + a.bytes.length > b.offset) {
      fail(`${path.relative(dir, a.file)} (${hex(a.offset)}, ${a.bytes.length} bytes) overlaps ${path.relative(dir, b.file)} at ${hex(b.offset)}: fix the offsets in partitions.csv or the image sizes`);
    }
  }
  if (settings.flashSize !== 'keep' && settings.flashSize !== 'detect') {
    checkFits(regions, flashSizeBytes(settings.flashSize), `flash_settings.flash_size ${settings.flashSize}`, flasherArgsPath);
  }

  // Images the ROM or the bootloader will boot must be for the S3 and intact.
  for (const r of regions) {
    if (r.name !== 'bootloader' && r.name !== 'app') continue;
    const image = parseEspImage(r.bytes, r.file);
    if (image.header.chipId !== ESP32S3_CHIP_ID) {
      fail(`${path.relative(dir, r.file)} is built for ${chipName(image.header.chipId)}, not ESP32-S3: run \`idf.py set-target esp32s3\` and build again`);
    }
    const problems = imageProblems(image);
    if (problems.length > 0) {
      throw new LabError('image', `${r.file} is corrupted: ${problems.join('; ')}: rebuild it with \`idf.py build\``);
    }
  }

  if (appOffset === undefined) fail('has no "app" entry, so the lab cannot tell which image is the application: regenerate it with `idf.py build`');
  const appRegion = regions.find((r) => r.offset === appOffset);
  if (!appRegion) fail(`app.offset ${hex(appOffset!)} is not one of the flash_files offsets: regenerate it with \`idf.py build\``);
  const appImage = parseEspImage(appRegion!.bytes, appRegion!.file);
  if (!appImage.app) {
    throw new LabError('image', `${appRegion!.file} has no esp_app_desc_t (magic 0xABCD5432) at offset 32, so the lab cannot check which firmware the board runs after flashing: is this an ESP-IDF application image?`);
  }

  let partitions: Partition[] | undefined;
  const tableRegion = regions.find((r) => r.offset === PARTITION_TABLE_OFFSET);
  if (tableRegion) {
    partitions = parsePartitionTable(tableRegion.bytes, tableRegion.file);
    const fs = settings.flashSize !== 'keep' && settings.flashSize !== 'detect' ? flashSizeBytes(settings.flashSize) : Number.MAX_SAFE_INTEGER;
    const problems = partitionTableProblems(partitions, fs);
    if (problems.length > 0) throw new LabError('partition-table', `${tableRegion.file}: ${problems[0]}: fix partitions.csv`);
    const apps = appPartitions(partitions);
    const home = apps.find((p) => p.offset === appOffset);
    if (!home) {
      fail(`the app is written at ${hex(appOffset!)} but ${path.relative(dir, tableRegion.file)} has no app partition there (${apps.map((p) => `${p.label} at ${hex(p.offset)}`).join(', ') || 'none'}), so the board would not boot it: fix partitions.csv or the app offset`);
    }
    for (const r of regions) {
      if (r.offset < PARTITION_TABLE_OFFSET + SECTOR) continue; // bootloader and the table itself
      const p = partitions.find((q) => r.offset >= q.offset && r.offset < q.offset + q.size);
      if (!p) fail(`${path.relative(dir, r.file)} at ${hex(r.offset)} is outside every partition of ${path.relative(dir, tableRegion.file)}: fix partitions.csv or the offset`);
      else if (r.offset + r.bytes.length > p.offset + p.size) {
        fail(`${path.relative(dir, r.file)} (${r.bytes.length} bytes) does not fit partition ${p.label} (${p.size} bytes at ${hex(p.offset)}): make the partition larger in partitions.csv`);
      }
    }
  }

  return {
    flasherArgsPath, dir, chip, settings, regions, partitions,
    app: { region: appRegion!, image: appImage, description: appImage.app },
    before: typeof extra.before === 'string' ? extra.before : undefined,
    after: typeof extra.after === 'string' ? extra.after : undefined,
  };
}

function pick(value: unknown, allowed: string[], field: string, fallback: string, fail: (m: string) => never): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    return fail(`${field} is ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`);
  }
  return value;
}

function checkFits(regions: BuildRegion[], flashBytes: number, what: string, where: string): void {
  for (const r of regions) {
    if (r.offset + r.bytes.length > flashBytes) {
      throw new LabError('flasher-args', `${where}: ${path.basename(r.file)} (${r.bytes.length} bytes at ${hex(r.offset)}) ends past the ${flashBytes / (1024 * 1024)} MB flash (${what}): use a board with more flash or a smaller image`);
    }
  }
}

/**
 * The exact bytes each region will have in flash, for a board whose flash size is known: the
 * bootloader header gets the build's flash settings (as `esptool write_flash --flash_mode/_freq/_size`
 * would write them), every image is padded to 4 bytes with 0xFF (esptool-js pads the same way before
 * it writes and hashes: esploader.js `padTo(image, 4)`), and each region gets its MD5.
 */
export function prepareRegions(build: FirmwareBuild, board: { name: string; flashSize: FlashSize }): PreparedRegion[] {
  const size = build.settings.flashSize === 'detect' || build.settings.flashSize === 'keep' ? board.flashSize : build.settings.flashSize;
  const boardBytes = flashSizeBytes(board.flashSize);
  for (const r of build.regions) {
    if (r.offset + r.bytes.length > boardBytes) {
      throw new LabError('flasher-args', `${r.file} (${r.bytes.length} bytes at ${hex(r.offset)}) does not fit board ${board.name}'s ${board.flashSize} flash: use a board with more flash or a smaller image`);
    }
  }
  if (build.settings.flashSize !== 'keep' && build.settings.flashSize !== 'detect' && flashSizeBytes(build.settings.flashSize) > boardBytes) {
    throw new LabError('flasher-args', `${build.flasherArgsPath}: flash_settings.flash_size is ${build.settings.flashSize} but board ${board.name} has ${board.flashSize} of flash: build the variant for ${board.flashSize} (CONFIG_ESPTOOLPY_FLASHSIZE) or use another board`);
  }
  return build.regions.map((r) => {
    let bytes = r.bytes;
    // The ROM reads flash settings from the image at 0x0 only (esptool BOOTLOADER_FLASH_OFFSET for the S3).
    if (r.offset === 0 && bytes[0] === ESP_IMAGE_MAGIC) {
      bytes = applyFlashSettings(bytes, { flashMode: build.settings.flashMode, flashFreq: build.settings.flashFreq, flashSize: size as FlashSize | 'keep' }, r.file);
    }
    if (bytes.length % 4 !== 0) {
      const padded = new Uint8Array(bytes.length + (4 - (bytes.length % 4))).fill(0xff);
      padded.set(bytes);
      bytes = padded;
    }
    return { ...r, bytes, md5: createHash('md5').update(bytes).digest('hex') };
  });
}
