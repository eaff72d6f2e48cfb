/**
 * Every trial's fingerprint (issue 4): what could change its numbers besides the variant, so
 * comparisons refuse to mix trials that differ outside the declared axes (harness/stats/
 * fingerprint.ts). Sources, most trusted first:
 *
 * - the board's own HELLO/INFO (app ELF sha256, kernel backend, CPU clock, chip revision, IDF /
 *   TFLM / ESP-NN versions, PSRAM size): what actually runs;
 * - the firmware build directory, when the lab has it (`firmware/build/<build>/`): the sdkconfig
 *   the image was built from (hashed, and its flash, PSRAM and cache settings read from it) and
 *   flasher_args.json's flash mode and frequency;
 * - the trial itself: arena placement and the size ARENA_READY confirmed, the model's sha256,
 *   and `modelStorage: "partition"` when the board ran the model from its flash partition;
 * - the rigs: the board's provenance (board, emulated, simulated - provenance.ts), which the
 *   firmware in an emulator cannot report itself.
 *
 * A setting the lab cannot know is left out, never guessed: a missing field only matches a missing
 * field (checkComparable), so an unknown cannot pass for a known one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readSdkconfigLines } from '../firmware/build.js';
import { SIZE_REPORT_FILE } from '../firmware/size.js';
import { readFlasherArgs, FLASHER_ARGS_FILE } from '../flash/flasher-args.js';
import type { BoardIdentity } from '../protocol/index.js';
import type { Fingerprint } from '../stats/fingerprint.js';
import type { Provenance } from './provenance.js';

/** What the lab knows of a firmware build from its build directory. */
export interface BuildInfo {
  id: string;
  dir: string;
  /** esp_app_desc_t.app_elf_sha256 of the app image (offset 32 of the .bin, FACTS.md). */
  appSha256: string;
  sdkconfigSha256?: string;
  flashMode?: string;
  flashFreqMhz?: number;
  psram?: string;
  cache?: string;
  /** What the build takes statically (its size-report.json, written by hil firmware build / size). */
  size?: BuildSize;
}

/** A build's static footprint: flash image, code and data in flash, code (IRAM) and data (DRAM) in internal RAM. */
export interface BuildSize {
  imageBytes: number;
  flashCodeBytes: number;
  flashDataBytes: number;
  iramBytes: number;
  dramBytes: number;
}

/** The build's size-report.json (harness/firmware/size.ts FirmwareSize), or undefined when absent or not one. */
export function readBuildSize(dir: string): BuildSize | undefined {
  try {
    const r = JSON.parse(readFileSync(path.join(dir, SIZE_REPORT_FILE), 'utf8')) as Record<string, unknown>;
    const n = (k: string): number | undefined => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined);
    const [imageBytes, flashCodeBytes, flashDataBytes, iramBytes, dramBytes] = ['imageBytes', 'flashCode', 'flashData', 'iram', 'dram'].map(n);
    if ([imageBytes, flashCodeBytes, flashDataBytes, iramBytes, dramBytes].some((v) => v === undefined)) return undefined;
    return { imageBytes: imageBytes!, flashCodeBytes: flashCodeBytes!, flashDataBytes: flashDataBytes!, iramBytes: iramBytes!, dramBytes: dramBytes! };
  } catch {
    return undefined;
  }
}

const MHZ = (freq: string): number | undefined => {
  const m = /^(\d+)m$/i.exec(freq);
  return m ? Number(m[1]) : undefined;
};

/** The build directory's identity, or undefined when it has no flasher_args.json (not built here). */
export function readBuildInfo(firmwareDir: string, buildId: string): BuildInfo | undefined {
  const dir = path.join(firmwareDir, 'build', buildId);
  if (!existsSync(path.join(dir, FLASHER_ARGS_FILE))) return undefined;
  const build = readFlasherArgs(dir);
  const info: BuildInfo = { id: buildId, dir, appSha256: build.app.description.appElfSha256 };
  const size = readBuildSize(dir);
  if (size) info.size = size;
  if (build.settings.flashMode !== 'keep') info.flashMode = build.settings.flashMode;
  if (build.settings.flashFreq !== 'keep') {
    const f = MHZ(build.settings.flashFreq);
    if (f !== undefined) info.flashFreqMhz = f;
  }
  const sdkconfigFile = path.join(dir, 'sdkconfig');
  if (existsSync(sdkconfigFile)) {
    const text = readFileSync(sdkconfigFile, 'utf8');
    info.sdkconfigSha256 = createHash('sha256').update(text).digest('hex');
    const s = readSdkconfigLines([text]);
    const on = (k: string) => s.get(k) === 'y';
    if (on('CONFIG_SPIRAM')) {
      const mode = on('CONFIG_SPIRAM_MODE_OCT') ? 'octal' : on('CONFIG_SPIRAM_MODE_QUAD') ? 'quad' : 'unknown-mode';
      const speed = [...s.keys()].find((k) => k.startsWith('CONFIG_SPIRAM_SPEED_') && on(k))?.slice('CONFIG_SPIRAM_SPEED_'.length).toLowerCase();
      info.psram = speed ? `${mode} ${speed}` : mode;
    } else if (s.size > 0) {
      info.psram = 'disabled';
    }
    // ESP32-S3 cache sizes (Kconfig ESP32S3_INSTRUCTION_CACHE_* / ESP32S3_DATA_CACHE_*): PSRAM arenas live behind the data cache.
    const icache = s.get('CONFIG_ESP32S3_INSTRUCTION_CACHE_SIZE');
    const dcache = s.get('CONFIG_ESP32S3_DATA_CACHE_SIZE');
    if (icache || dcache) info.cache = `i${icache ? Number(icache) / 1024 : '?'}k d${dcache ? Number(dcache) / 1024 : '?'}k`;
  }
  return info;
}

function revision(r: number): string {
  // HELLO chip_revision is major*100 + minor (PROTOCOL.md "Identity").
  return `v${Math.floor(r / 100)}.${r % 100}`;
}

export interface FingerprintInput {
  identity: BoardIdentity;
  /** The board's class (provenanceOf its rigs entry and identity). */
  provenance: Provenance;
  /** CPU clock the measured inferences ran at (INVOKE_RESULT), when known. */
  cpuMhz?: number;
  arena: { bytes: number; placement: 'internal' | 'psram' };
  modelSha256: string;
  /** Where the board got the model (scenario `storage`): an upload into PSRAM, or its flash partition. */
  modelStorage?: 'psram' | 'partition';
  build?: BuildInfo;
  /** PSRAM mode of a simulated board's profile (there is no sdkconfig to read it from). */
  simulatedPsram?: string;
}

export function trialFingerprint(x: FingerprintInput): Fingerprint {
  const id = x.identity;
  const fp: Record<string, string | number | boolean> = {
    firmwareSha256: id.appSha256,
    kernelBackend: id.kernelBackend,
    cpuMhz: x.cpuMhz ?? id.cpuMhz,
    arenaPlacement: x.arena.placement,
    arenaBytes: x.arena.bytes,
    idfVersion: id.idfVersion,
    tflmVersion: id.tflmVersion,
    espNnVersion: id.espNnVersion,
    chipRevision: revision(id.chipRevision),
    modelSha256: x.modelSha256,
    simulated: id.simulated,
    // Always recorded: a missing provenance is read as `simulated` said (report/collect.ts), so
    // older board and simulated baselines still match their own class, and never an emulated one.
    provenance: x.provenance,
  };
  // Only the partition is recorded: an uploaded model is what every trial had before the field
  // existed, and a missing field matches only a missing one, so "psram" would refuse every
  // comparison with an older baseline. A model read from flash (through the cache) and one in
  // PSRAM may run at different speeds: their trials differ in this field.
  if (x.modelStorage === 'partition') fp.modelStorage = 'partition';
  const b = x.build && x.build.appSha256 === id.appSha256 ? x.build : undefined;
  if (b?.sdkconfigSha256) fp.sdkconfigSha256 = b.sdkconfigSha256;
  if (b?.flashMode) fp.flashMode = b.flashMode;
  if (b?.flashFreqMhz !== undefined) fp.flashFreqMhz = b.flashFreqMhz;
  const psram = b?.psram ?? x.simulatedPsram;
  fp.psram = id.psramSize === 0 ? 'none' : `${id.psramSize / (1024 * 1024)} MB${psram ? ` ${psram}` : ''}`;
  if (b?.cache) fp.cache = b.cache;
  return fp as Fingerprint;
}
