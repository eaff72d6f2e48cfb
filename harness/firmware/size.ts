/**
 * `hil firmware size`: what a firmware build takes in flash and static RAM.
 *
 * ESP-IDF 5.x: `idf.py size --format json` (esp-idf-size's legacy summary, flat keys:
 * `used_iram`, `iram_total`, `used_diram`, `diram_total`, `flash_code`, `flash_rodata`,
 * `total_size`, ...). ESP-IDF >= 6 only has `--format json2` (esp-idf-size 2.x: `{version,
 * total_size?, layout: [{name, total, used, free, parts}]}`). Both are parsed; the image size
 * also comes from the .bin itself and the partition it must fit in from the build's partition CSV.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { DEFAULT_CPU_MHZ, type BuildPlan } from './build.js';
import type { IdfInstall, IdfRunner } from './idf.js';

export interface MemoryRegionUse {
  /** e.g. "IRAM", "D/IRAM", "DRAM", "Flash Code", "Flash Data". */
  name: string;
  used: number;
  /** Bytes available in the region; 0 when the tool does not say. */
  total: number;
}

export interface SizeSummary {
  format: 'json' | 'json2';
  /** Image size as the size tool computes it (the .bin may be padded larger); undefined if not given. */
  totalSize?: number;
  flashCode: number;
  flashData: number;
  /**
   * Internal RAM taken statically, split by use. On the S3, IRAM and DRAM are one pool (D/IRAM,
   * 341,760 bytes for the app): code placed in RAM (`.text`, `.vectors`: IRAM_ATTR functions,
   * interrupt vectors, FreeRTOS) and static data (`.data`, `.bss`, RAM `.rodata`) share it, and
   * whatever neither takes is the heap a tensor arena in internal RAM comes from.
   */
  iram: number;
  dram: number;
  /** RAM regions with a known total, in the tool's order. */
  ram: MemoryRegionUse[];
}

export interface FirmwareSize extends SizeSummary {
  build: string;
  /** Size of build/<id>/<project>.bin, the image that is flashed. */
  imageBytes: number;
  /** Size of the factory app partition it must fit in. */
  appPartitionBytes: number;
  /** imageBytes / appPartitionBytes. */
  appPartitionUsed: number;
}

function num(obj: Record<string, unknown>, key: string, label: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new LabError('firmware', `${label}: field "${key}" is missing or not a size in bytes; the size tool's format changed (re-run \`idf.py size --format json\` and check its output).`);
  }
  return v;
}

/** Parses the output of `idf.py size --format json` or `--format json2`. */
export function parseSizeJson(text: string, label: string): SizeSummary {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new LabError('firmware', `${label}: not JSON (${(e as Error).message}); run \`idf.py size --format json\` again.`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new LabError('firmware', `${label}: expected a JSON object from the size tool.`);
  }
  const obj = data as Record<string, unknown>;
  if (Array.isArray(obj.layout)) {
    const ram: MemoryRegionUse[] = [];
    let flashCode = 0;
    let flashData = 0;
    let iram = 0;
    let dram = 0;
    obj.layout.forEach((entry, i) => {
      if (typeof entry !== 'object' || entry === null) {
        throw new LabError('firmware', `${label}: /layout/${i} is not a memory region object.`);
      }
      const region = entry as Record<string, unknown>;
      const name = typeof region.name === 'string' ? region.name : `region ${i}`;
      const used = num(region, 'used', `${label} /layout/${i}`);
      const total = num(region, 'total', `${label} /layout/${i}`);
      if (name.startsWith('Flash Code')) flashCode += used;
      else if (name.startsWith('Flash Data')) flashData += used;
      else {
        ram.push({ name, used, total });
        const parts = typeof region.parts === 'object' && region.parts !== null ? (region.parts as Record<string, { size?: unknown }>) : {};
        const code = ['.text', '.vectors'].reduce((sum, k) => sum + (typeof parts[k]?.size === 'number' ? (parts[k].size as number) : 0), 0);
        iram += code;
        dram += used - code;
      }
    });
    const summary: SizeSummary = { format: 'json2', flashCode, flashData, iram, dram, ram };
    if (typeof obj.total_size === 'number') summary.totalSize = obj.total_size;
    return summary;
  }
  if ('total_size' in obj && 'flash_code' in obj) {
    const ram: MemoryRegionUse[] = [];
    // Legacy keys per region; a region whose total is 0 does not exist on the chip (e.g. plain
    // DRAM on the S3, whose data RAM is the shared D/IRAM).
    for (const [name, usedKey, totalKey] of [
      ['IRAM', 'used_iram', 'iram_total'],
      ['D/IRAM', 'used_diram', 'diram_total'],
      ['DRAM', 'used_dram', 'dram_total'],
    ] as const) {
      const total = typeof obj[totalKey] === 'number' ? (obj[totalKey] as number) : 0;
      if (total > 0) ram.push({ name, used: num(obj, usedKey, label), total });
    }
    const opt = (key: string): number => (typeof obj[key] === 'number' ? (obj[key] as number) : 0);
    return {
      format: 'json',
      totalSize: num(obj, 'total_size', label),
      flashCode: num(obj, 'flash_code', label),
      flashData: num(obj, 'flash_rodata', label),
      iram: opt('used_iram') + opt('diram_text') + opt('diram_vectors'),
      dram: opt('used_dram') + opt('diram_data') + opt('diram_bss') + opt('diram_rodata') + opt('diram_other'),
      ram,
    };
  }
  throw new LabError('firmware', `${label}: neither the size tool's "json" summary (total_size, flash_code, ...) nor its "json2" summary (layout): check the ESP-IDF version.`);
}

/** Sizes accepted by partitions.csv: decimal, 0x hex, or with K/M suffix. */
export function parsePartitionSize(text: string): number | undefined {
  const m = /^(0x[0-9a-f]+|\d+)([km]?)$/i.exec(text.trim());
  if (!m) return undefined;
  const base = m[1].toLowerCase().startsWith('0x') ? Number.parseInt(m[1], 16) : Number.parseInt(m[1], 10);
  const unit = m[2].toLowerCase();
  return base * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

export interface PartitionEntry {
  name: string;
  type: string;
  subtype: string;
  offset?: number;
  size: number;
}

/** Rows of an ESP-IDF partitions.csv (comments and blank lines skipped). */
export function parsePartitionCsv(text: string, label: string): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const cols = line.split(',').map((c) => c.trim());
    const size = parsePartitionSize(cols[4] ?? '');
    if (cols.length < 5 || cols[0] === '' || size === undefined) {
      throw new LabError('firmware', `${label}:${i + 1}: expected "name, type, subtype, offset, size", got "${raw.trim()}".`);
    }
    const entry: PartitionEntry = { name: cols[0], type: cols[1], subtype: cols[2], size };
    const offset = cols[3] === '' ? undefined : parsePartitionSize(cols[3]);
    if (offset !== undefined) entry.offset = offset;
    out.push(entry);
  });
  return out;
}

/** The partition CSV a build used, from its sdkconfig (CONFIG_PARTITION_TABLE_CUSTOM_FILENAME). */
export function partitionCsvOf(plan: BuildPlan): string {
  const sdkconfig = path.join(plan.buildDir, 'sdkconfig');
  const text = existsSync(sdkconfig) ? readFileSync(sdkconfig, 'utf8') : '';
  const m = /^CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="([^"]+)"$/m.exec(text);
  return path.join(plan.firmwareDir, m ? m[1] : 'partitions.csv');
}

/** The command that builds `plan`. */
export function buildCommand(plan: BuildPlan): string {
  return `hil firmware build --variant ${plan.variant}${plan.cpuMHz === DEFAULT_CPU_MHZ ? '' : ` --cpu-mhz ${plan.cpuMHz}`}${plan.target === 'board' ? '' : ` --for ${plan.target}`}`;
}

/** The app .bin of a build: `app` in flasher_args.json (`{"app": {"offset", "file"}}`). */
export function appBinOf(plan: BuildPlan): string {
  const flasherArgs = path.join(plan.buildDir, 'flasher_args.json');
  if (!existsSync(flasherArgs)) {
    throw new LabError('firmware', `firmware ${plan.id} is not built (no ${flasherArgs}): run \`${buildCommand(plan)}\` first.`);
  }
  const data = JSON.parse(readFileSync(flasherArgs, 'utf8')) as { app?: { file?: string } };
  const file = data.app?.file;
  if (typeof file !== 'string') {
    throw new LabError('firmware', `${flasherArgs}: no "app" entry; rebuild with \`${buildCommand(plan)}\`.`);
  }
  return path.join(plan.buildDir, file);
}

/** The size-tool format to ask for: ESP-IDF 5.x has `json` (legacy summary), 6.x only `json2`. */
export function sizeFormatFor(idf: IdfInstall): 'json' | 'json2' {
  return idf.version.major >= 6 ? 'json2' : 'json';
}

/** Runs `idf.py size` for a built firmware and combines it with the .bin and the partition table. */
export async function sizeFirmware(plan: BuildPlan, idf: IdfInstall, runIdf: IdfRunner): Promise<FirmwareSize> {
  const bin = appBinOf(plan);
  const format = sizeFormatFor(idf);
  const out = path.join(plan.buildDir, `size.${format}`);
  const code = await runIdf(idf, [...plan.args, 'size', '--format', format, '--output-file', out]);
  if (code !== 0 || !existsSync(out)) {
    throw new LabError('firmware', `idf.py size of firmware ${plan.id} failed (exit ${code}): see its output above.`);
  }
  const summary = parseSizeJson(readFileSync(out, 'utf8'), out);
  return withImage(plan, summary, statSync(bin).size);
}

/** Where a build keeps its size report (read back by the lab for each run's firmware identity). */
export const SIZE_REPORT_FILE = 'size-report.json';

/** Writes `size` beside the build (firmware/build/<id>/size-report.json). */
export function writeSizeReport(plan: BuildPlan, size: FirmwareSize): string {
  const file = path.join(plan.buildDir, SIZE_REPORT_FILE);
  writeFileSync(file, `${JSON.stringify(size, null, 2)}\n`);
  return file;
}

/** Adds the image and the app partition it must fit in to a size summary. */
export function withImage(plan: BuildPlan, summary: SizeSummary, imageBytes: number): FirmwareSize {
  const csvFile = partitionCsvOf(plan);
  const table = parsePartitionCsv(readFileSync(csvFile, 'utf8'), path.relative(plan.firmwareDir, csvFile));
  const app = table.find((p) => p.type === 'app');
  if (!app) throw new LabError('firmware', `${csvFile}: no app partition.`);
  return { build: plan.id, ...summary, imageBytes, appPartitionBytes: app.size, appPartitionUsed: imageBytes / app.size };
}
