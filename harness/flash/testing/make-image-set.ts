/**
 * A realistic ESP-IDF build directory for tests and benches, in a temp dir: what `idf.py build` leaves
 * for `idf.py flash` - bootloader, partition table (nvs, phy_init, factory app, a `model` data
 * partition), the app with a valid image header, segments and `esp_app_desc_t`, a model partition
 * image, and `flasher_args.json`. Contents are seeded pseudo-random "code" so deflate behaves as on a
 * real firmware (about 58 % kept), never all zeros: flashing benches measure something real.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildAppDescription, buildEspImage, codeLikeBytes } from './build-image.js';
import { MODEL_PARTITION_SUBTYPE } from '../model-image.js';
import { buildPartitionTable, PARTITION_TABLE_OFFSET, type PartitionSpec } from '../partition-table.js';
import { FLASH_FREQS, FLASH_SIZES, type FlashSize } from '../image.js';

export interface ImageSetOptions {
  /** Where to write; a fresh temp dir when omitted. */
  dir?: string;
  seed?: number;
  /** Approximate app image size in bytes (default 900 KB). */
  appSize?: number;
  /** Model partition image size in bytes (default 256 KB). */
  modelSize?: number;
  projectName?: string;
  version?: string;
  idfVersion?: string;
  flashSize?: FlashSize;
  /** Make the app image corrupt on purpose, to test that it is caught. */
  corrupt?: 'app-checksum' | 'app-desc-magic';
  /** Chip id written in the image headers (default 9, ESP32-S3). */
  chipId?: number;
}

export interface ImageSetFile {
  name: 'bootloader' | 'partition-table' | 'app' | 'model';
  offset: number;
  /** Path relative to the build dir, as in flasher_args.json. */
  file: string;
  bytes: Uint8Array;
}

export interface ImageSet {
  dir: string;
  flasherArgsPath: string;
  files: ImageSetFile[];
  partitions: PartitionSpec[];
  /** The identity in the app's esp_app_desc_t. */
  appElfSha256: string;
  projectName: string;
  version: string;
  cleanup(): void;
}


function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function makeImageSet(options: ImageSetOptions = {}): ImageSet {
  const seed = options.seed ?? 1;
  const projectName = options.projectName ?? 'tinyml_bench';
  const version = options.version ?? `v1.0.${seed}`;
  const idfVersion = options.idfVersion ?? 'v5.3.2';
  const flashSize = options.flashSize ?? '8MB';
  const appSize = options.appSize ?? 900 * 1024;
  const modelSize = options.modelSize ?? 256 * 1024;
  const chipId = options.chipId;
  const flashSizeFreq = FLASH_SIZES[flashSize] | FLASH_FREQS['80m'];
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'hil-build-'));
  mkdirSync(path.join(dir, 'bootloader'), { recursive: true });
  mkdirSync(path.join(dir, 'partition_table'), { recursive: true });

  // Second-stage bootloader: runs from IRAM/DRAM, ~21 KB like an IDF 5 bootloader.
  const bootloader = buildEspImage({
    entry: 0x403c9908,
    flashSizeFreq,
    chipId,
    segments: [
      { loadAddress: 0x3fce3810, data: codeLikeBytes(3_300, seed * 7 + 1) },
      { loadAddress: 0x403c9700, data: codeLikeBytes(13_600, seed * 7 + 2) },
      { loadAddress: 0x403cc700, data: codeLikeBytes(4_100, seed * 7 + 3) },
    ],
  });

  const appPartitionSize = Math.max(0x100000, Math.ceil((appSize * 1.25) / 0x10000) * 0x10000);
  const modelOffset = 0x10000 + appPartitionSize;
  const modelPartitionSize = Math.max(0x40000, Math.ceil(modelSize / 0x10000) * 0x10000);
  const partitions: PartitionSpec[] = [
    { label: 'nvs', type: 'data', subtype: 'nvs', offset: 0x9000, size: 0x6000 },
    { label: 'phy_init', type: 'data', subtype: 'phy', offset: 0xf000, size: 0x1000 },
    { label: 'factory', type: 'app', subtype: 'factory', offset: 0x10000, size: appPartitionSize },
    { label: 'model', type: 'data', subtype: MODEL_PARTITION_SUBTYPE, offset: modelOffset, size: modelPartitionSize },
  ];
  const table = buildPartitionTable(partitions);

  const appElfSha256 = createHash('sha256').update(`${projectName} ${version} seed ${seed}`).digest('hex');
  const desc = buildAppDescription({
    version, projectName, idfVersion, appElfSha256,
    time: '12:00:00', date: 'Jan  1 2025',
  });
  if (options.corrupt === 'app-desc-magic') desc[0] ^= 0xff;
  const drom = codeLikeBytes(Math.round(appSize * 0.22), seed * 11 + 1);
  drom.set(desc, 0);
  const dram = codeLikeBytes(Math.round(appSize * 0.02), seed * 11 + 2);
  const iram = codeLikeBytes(Math.round(appSize * 0.08), seed * 11 + 3);
  const irom = codeLikeBytes(Math.round(appSize * 0.68), seed * 11 + 4);
  // Flash-mapped segments must sit at file offset == load address (mod 64 KB), as elf2image arranges
  // them; the IROM segment's data starts right after the first three segments here.
  const iromDataOffset = 24 + 8 + drom.length + 8 + dram.length + 8 + iram.length + 8;
  const app = buildEspImage({
    entry: 0x40375a3c,
    flashSizeFreq,
    chipId,
    segments: [
      { loadAddress: 0x3c000020, data: drom },
      { loadAddress: 0x3fc92a00, data: dram },
      { loadAddress: 0x40374000, data: iram },
      { loadAddress: 0x42000000 + (iromDataOffset % 0x10000), data: irom },
    ],
  });
  if (options.corrupt === 'app-checksum') {
    // One flipped bit in the code: the checksum byte and the appended SHA-256 no longer match.
    app[0x4000] ^= 0x10;
  }

  const model = codeLikeBytes(modelSize, seed * 13 + 5).map((b, i) => (i % 3 === 0 ? (b * 37) & 0xff : b));

  const files: ImageSetFile[] = [
    { name: 'bootloader', offset: 0x0, file: 'bootloader/bootloader.bin', bytes: bootloader },
    { name: 'partition-table', offset: PARTITION_TABLE_OFFSET, file: 'partition_table/partition-table.bin', bytes: table },
    { name: 'app', offset: 0x10000, file: `${projectName}.bin`, bytes: app },
    { name: 'model', offset: modelOffset, file: 'model.bin', bytes: model },
  ];
  for (const f of files) writeFileSync(path.join(dir, f.file), f.bytes);

  // The shape ESP-IDF's tools/cmake/flasher_args.json.in produces, plus the entry that
  // esptool_py_flash_to_partition() adds for a data partition image.
  const entry = (f: ImageSetFile) => ({ offset: hex(f.offset), file: f.file, encrypted: 'false' });
  const flasherArgs = {
    write_flash_args: ['--flash_mode', 'dio', '--flash_size', flashSize, '--flash_freq', '80m'],
    flash_settings: { flash_mode: 'dio', flash_size: flashSize, flash_freq: '80m' },
    flash_files: Object.fromEntries(files.map((f) => [hex(f.offset), f.file])),
    bootloader: entry(files[0]!),
    'partition-table': entry(files[1]!),
    app: entry(files[2]!),
    model: entry(files[3]!),
    extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip: 'esp32s3' },
  };
  const flasherArgsPath = path.join(dir, 'flasher_args.json');
  writeFileSync(flasherArgsPath, JSON.stringify(flasherArgs, null, 4) + '\n');

  return {
    dir, flasherArgsPath, files, partitions, appElfSha256, projectName, version,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Total bytes of an image set's files. */
export function imageSetBytes(set: ImageSet): number {
  return set.files.reduce((n, f) => n + f.bytes.length, 0);
}
