import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isLabError } from '../errors.js';
import { planBuild, repoFirmwareDir } from './build.js';
import type { IdfInstall } from './idf.js';
import { parsePartitionCsv, parsePartitionSize, parseSizeJson, sizeFirmware, sizeFormatFor } from './size.js';

const fixture = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const idf5: IdfInstall = { idfPath: '/opt/esp/idf', idfPy: '/opt/esp/idf/tools/idf.py', version: { major: 5, minor: 1, patch: 2 } };

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isLabError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a LabError');
}

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('size tool output', () => {
  it('parses the ESP-IDF 5.x `--format json` summary of a real build (S3: one D/IRAM pool, split into code and data)', () => {
    // testdata/size-json.json is what ESP-IDF v5.3.1 (esp-idf-size 1.6.1) printed for variant "dev" built with the esp-kit.
    expect(parseSizeJson(fixture('size-json.json'), 'size.json')).toEqual({
      format: 'json',
      totalSize: 1159199,
      flashCode: 853876,
      flashData: 190865,
      iram: 92727 + 1027,
      dram: 20448 + 18048,
      ram: [{ name: 'D/IRAM', used: 132250, total: 341760 }],
    });
  });

  it('parses the `--format json2` summary into the same figures', () => {
    expect(parseSizeJson(fixture('size-json2.json'), 'size.json2')).toEqual({
      format: 'json2',
      totalSize: 1220976,
      flashCode: 812345,
      flashData: 301490,
      iram: 72310 + 15352 + 1027,
      dram: 45120 + 18452,
      ram: [
        { name: 'DIRAM', used: 135882, total: 341760 },
        { name: 'IRAM', used: 16379, total: 16384 },
      ],
    });
  });

  it('fails with one line on text that is not a size summary', () => {
    expect(failure(() => parseSizeJson('Total sizes:\nUsed static IRAM: 1 bytes', 'out.txt'))).toMatch(/^out\.txt: not JSON \(/);
    expect(failure(() => parseSizeJson('{"version": "1.0"}', 'x.json'))).toBe(
      'x.json: neither the size tool\'s "json" summary (total_size, flash_code, ...) nor its "json2" summary (layout): check the ESP-IDF version.',
    );
    expect(failure(() => parseSizeJson('{"total_size": 1, "flash_code": "big"}', 'x.json'))).toMatch(/^x\.json: field "flash_code" is missing or not a size in bytes/);
  });

  it('asks ESP-IDF 5.x for json and 6.x for json2', () => {
    expect(sizeFormatFor(idf5)).toBe('json');
    expect(sizeFormatFor({ ...idf5, version: { major: 6, minor: 0, patch: 0 } })).toBe('json2');
  });
});

describe('partition tables', () => {
  it('reads the firmware partition tables: 64 KB-aligned app and model partitions that fill the flash', () => {
    for (const [file, flash] of [['partitions.csv', 8 << 20], ['partitions-16mb.csv', 16 << 20]] as const) {
      const table = parsePartitionCsv(readFileSync(path.join(repoFirmwareDir, file), 'utf8'), file);
      expect(table.map((p) => p.name)).toEqual(['nvs', 'phy_init', 'factory', 'model']);
      const app = table.find((p) => p.name === 'factory');
      const model = table.find((p) => p.name === 'model');
      expect(app?.type).toBe('app');
      expect(model).toMatchObject({ type: 'data', subtype: '0x40' });
      for (const p of [app, model]) expect((p?.offset ?? 1) % 0x10000).toBe(0);
      expect((model?.offset ?? 0) + (model?.size ?? 0)).toBe(flash);
      expect((app?.offset ?? 0) + (app?.size ?? 0)).toBeLessThanOrEqual(model?.offset ?? 0);
    }
  });

  it('understands hex, decimal and K/M sizes and names the bad line', () => {
    expect(parsePartitionSize('0x2F0000')).toBe(0x2f0000);
    expect(parsePartitionSize('1M')).toBe(1 << 20);
    expect(parsePartitionSize('24K')).toBe(24 * 1024);
    expect(parsePartitionSize('lots')).toBeUndefined();
    expect(failure(() => parsePartitionCsv('# c\nnvs, data, nvs, 0x9000\n', 'p.csv'))).toBe('p.csv:2: expected "name, type, subtype, offset, size", got "nvs, data, nvs, 0x9000".');
  });
});

describe('sizing a build', () => {
  it('runs idf.py size, reads its JSON and the .bin, and relates the image to the app partition', async () => {
    const fw = mkdtempSync(path.join(os.tmpdir(), 'hil-fw-size-'));
    temps.push(fw);
    for (const f of ['sdkconfig.defaults', 'partitions.csv', 'partitions-16mb.csv']) cpSync(path.join(repoFirmwareDir, f), path.join(fw, f));
    cpSync(path.join(repoFirmwareDir, 'variants'), path.join(fw, 'variants'), { recursive: true });
    cpSync(path.join(repoFirmwareDir, 'main', 'idf_component.yml'), path.join(fw, 'main', 'idf_component.yml'));
    const plan = planBuild({ name: 'esp-nn', kernelBackend: 'esp-nn', espNn: '1.1.2', sdkconfig: ['variants/esp-nn.sdkconfig'] }, { cpuMHz: 240, firmwareDir: fw });
    mkdirSync(plan.buildDir, { recursive: true });
    // What an idf.py build leaves: flasher_args.json naming the app image, the image, the sdkconfig.
    writeFileSync(path.join(plan.buildDir, 'flasher_args.json'), JSON.stringify({ app: { offset: '0x10000', file: 'hil_bench.bin', encrypted: 'false' } }));
    writeFileSync(path.join(plan.buildDir, 'hil_bench.bin'), Buffer.alloc(1221024));
    writeFileSync(path.join(plan.buildDir, 'sdkconfig'), 'CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="partitions.csv"\n');
    const calls: string[][] = [];
    const size = await sizeFirmware(plan, idf5, async (_idf, args) => {
      calls.push([...args]);
      writeFileSync(args[args.indexOf('--output-file') + 1], fixture('size-json.json'));
      return 0;
    });
    expect(calls).toEqual([[...plan.args, 'size', '--format', 'json', '--output-file', path.join(plan.buildDir, 'size.json')]]);
    expect(size).toMatchObject({ build: 'esp-nn', imageBytes: 1221024, appPartitionBytes: 0x2f0000, totalSize: 1159199 });
    expect(size.appPartitionUsed).toBeCloseTo(1221024 / 0x2f0000, 9);
  });

  it('says to build first when the variant was never built', async () => {
    const plan = planBuild({ name: 'esp-nn', kernelBackend: 'esp-nn', espNn: '1.1.2', sdkconfig: ['variants/esp-nn.sdkconfig'] }, { cpuMHz: 80, firmwareDir: repoFirmwareDir });
    await expect(sizeFirmware(plan, idf5, async () => 0)).rejects.toThrow(
      `firmware esp-nn-80mhz is not built (no ${path.join(plan.buildDir, 'flasher_args.json')}): run \`hil firmware build --variant esp-nn --cpu-mhz 80\` first.`,
    );
    const qemu = planBuild({ name: 'never-built', kernelBackend: 'esp-nn', espNn: '1.1.2', sdkconfig: ['variants/esp-nn.sdkconfig'] }, { target: 'qemu', firmwareDir: repoFirmwareDir });
    await expect(sizeFirmware(qemu, idf5, async () => 0)).rejects.toThrow(/: run `hil firmware build --variant never-built --for qemu` first\.$/);
  });
});
