import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { prepareRegions, readFlasherArgs } from './flasher-args.js';
import { makeImageSet, type ImageSet } from './testing/make-image-set.js';
import { LabError } from '../errors.js';
import { parseEspImage, imageProblems } from './image.js';

const sets: ImageSet[] = [];
function imageSet(options: Parameters<typeof makeImageSet>[0] = {}): ImageSet {
  const s = makeImageSet({ appSize: 120 * 1024, modelSize: 64 * 1024, ...options });
  sets.push(s);
  return s;
}
afterEach(() => {
  for (const s of sets.splice(0)) s.cleanup();
});

function editArgs(set: ImageSet, edit: (doc: Record<string, any>) => void): void {
  const doc = JSON.parse(readFileSync(set.flasherArgsPath, 'utf8'));
  edit(doc);
  writeFileSync(set.flasherArgsPath, JSON.stringify(doc));
}

describe('readFlasherArgs', () => {
  it('reads the regions, settings, partition table and app identity of an ESP-IDF build', () => {
    const set = imageSet({ seed: 5 });
    const build = readFlasherArgs(set.dir);
    expect(build.chip).toBe('esp32s3');
    expect(build.settings).toEqual({ flashMode: 'dio', flashFreq: '80m', flashSize: '8MB' });
    expect(build.regions.map((r) => [r.name, r.offset, path.relative(set.dir, r.file)])).toEqual([
      ['bootloader', 0x0, 'bootloader/bootloader.bin'],
      ['partition-table', 0x8000, 'partition_table/partition-table.bin'],
      ['app', 0x10000, 'tinyml_bench.bin'],
      ['model', set.files[3]!.offset, 'model.bin'],
    ]);
    expect(build.app.description.appElfSha256).toBe(set.appElfSha256);
    expect(build.app.description.projectName).toBe('tinyml_bench');
    expect(build.partitions?.map((p) => p.label)).toEqual(['nvs', 'phy_init', 'factory', 'model']);
    expect(build.after).toBe('hard_reset');
  });

  it('prepares the exact flash bytes: bootloader header with the build settings, MD5 per region', () => {
    const set = imageSet();
    editArgs(set, (d) => (d.flash_settings.flash_size = '16MB'));
    const regions = prepareRegions(readFlasherArgs(set.dir), { name: 'b1', flashSize: '16MB' });
    const boot = regions[0]!;
    expect(boot.bytes[3]).toBe(0x4f); // 16MB | 80m
    expect(imageProblems(parseEspImage(boot.bytes, 'bootloader'))).toEqual([]); // digest refreshed
    expect(regions[2]!.md5).toBe(createHash('md5').update(set.files[2]!.bytes).digest('hex'));
    expect(() => prepareRegions(readFlasherArgs(set.dir), { name: 'b2', flashSize: '8MB' })).toThrow(/flash_size is 16MB but board b2 has 8MB of flash/);
  });

  it('names the missing file, the malformed JSON, and the missing flash_files', () => {
    const set = imageSet();
    expect(() => readFlasherArgs(path.join(set.dir, 'nope'))).toThrow(/nope\/flasher_args\.json does not exist: point --build at an ESP-IDF build directory/);
    writeFileSync(set.flasherArgsPath, '{"flash_files": {');
    expect(() => readFlasherArgs(set.dir)).toThrow(LabError);
    expect(() => readFlasherArgs(set.dir)).toThrow(/flasher_args\.json is not valid JSON/);
    writeFileSync(set.flasherArgsPath, '{"flash_settings": {}}');
    expect(() => readFlasherArgs(set.dir)).toThrow(/flash_files is missing or empty/);
  });

  it('refuses an image file that is missing, for another chip, or corrupted', () => {
    const set = imageSet();
    rmSync(path.join(set.dir, 'model.bin'));
    expect(() => readFlasherArgs(set.dir)).toThrow(/flash_files\["0x[0-9a-f]+"\] names model\.bin, which does not exist/);

    const esp32 = imageSet({ chipId: 0 });
    expect(() => readFlasherArgs(esp32.dir)).toThrow(/bootloader\/bootloader\.bin is built for ESP32, not ESP32-S3: run `idf\.py set-target esp32s3`/);

    const other = imageSet();
    editArgs(other, (d) => (d.extra_esptool_args.chip = 'esp32c3'));
    expect(() => readFlasherArgs(other.dir)).toThrow(/extra_esptool_args\.chip is "esp32c3"/);

    const corrupt = imageSet({ corrupt: 'app-checksum' });
    expect(() => readFlasherArgs(corrupt.dir)).toThrow(/tinyml_bench\.bin is corrupted: image checksum is 0x.. but its segments sum to 0x..; appended SHA-256/);

    const noDesc = imageSet({ corrupt: 'app-desc-magic' });
    expect(() => readFlasherArgs(noDesc.dir)).toThrow(/has no esp_app_desc_t \(magic 0xABCD5432\) at offset 32/);
  });

  it('refuses images larger than the flash, overlapping regions, and an app outside its partition', () => {
    const big = imageSet();
    editArgs(big, (d) => (d.flash_settings.flash_size = '1MB'));
    expect(() => readFlasherArgs(big.dir)).toThrow(/model\.bin \(65536 bytes at 0x[0-9a-f]+\) ends past the 1 MB flash \(flash_settings\.flash_size 1MB\)/);

    const overlap = imageSet();
    editArgs(overlap, (d) => {
      d.flash_files['0x9000'] = d.flash_files['0x10000'];
    });
    expect(() => readFlasherArgs(overlap.dir)).toThrow(/tinyml_bench\.bin \(0x9000, \d+ bytes\) overlaps tinyml_bench\.bin at 0x10000/);

    const moved = imageSet();
    editArgs(moved, (d) => {
      d.flash_files['0x20000'] = d.flash_files['0x10000'];
      delete d.flash_files['0x10000'];
      d.app.offset = '0x20000';
    });
    expect(() => readFlasherArgs(moved.dir)).toThrow(/the app is written at 0x20000 but partition_table\/partition-table\.bin has no app partition there \(factory at 0x10000\)/);

    const unaligned = imageSet();
    editArgs(unaligned, (d) => {
      d.flash_files['0x9100'] = 'model.bin';
    });
    expect(() => readFlasherArgs(unaligned.dir)).toThrow(/flash_files\["0x9100"\] \(model\.bin\) is not on a 4 KB sector boundary/);
  });
});
