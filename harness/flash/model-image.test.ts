import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/shared.js';
import { readFlasherArgs } from './flasher-args.js';
import { addModelToBuild, modelImage } from './model-image.js';
import { makeImageSet, type ImageSet } from './testing/make-image-set.js';

const MODEL = path.join(repoRoot, 'models/demo/fashion_cnn_int8.tflite');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let set: ImageSet | undefined;
afterEach(() => set?.cleanup());

describe('the model partition image', () => {
  it('is the 64-byte HILMODEL header (size, SHA-256) followed by the model', () => {
    const model = new Uint8Array(readFileSync(MODEL));
    const image = modelImage(model, MODEL);
    expect(image.length).toBe(64 + model.length);
    expect(Buffer.from(image.subarray(0, 8)).toString('latin1')).toBe('HILMODEL');
    expect(new DataView(image.buffer).getUint32(8, true)).toBe(model.length);
    expect(image.subarray(12, 32).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(image.subarray(32, 64)).toString('hex')).toBe(sha256(model));
    expect(sha256(image.subarray(64))).toBe(sha256(model));
  });

  it('refuses a file that is not a .tflite before anything is written', () => {
    expect(() => modelImage(new Uint8Array(100), 'notes.txt')).toThrow(/notes\.txt/);
  });

  it('goes into a firmware build: model.bin at the model partition, flasher_args.json names it, hil flash reads it', () => {
    set = makeImageSet({ seed: 5, appSize: 64 * 1024, modelSize: 16 * 1024 });
    const partition = set.partitions.find((p) => p.label === 'model')!;
    const added = addModelToBuild(set.dir, MODEL);
    expect(added).toMatchObject({ offset: partition.offset, partitionBytes: partition.size, sha256: sha256(new Uint8Array(readFileSync(MODEL))) });
    const build = readFlasherArgs(set.dir);
    const regions = build.regions.filter((r) => r.offset === partition.offset);
    expect(regions).toHaveLength(1); // the build's previous model image is replaced, not overlapped
    expect(regions[0]).toMatchObject({ name: 'model', file: path.join(set.dir, 'model.bin') });
    expect(regions[0].bytes).toEqual(modelImage(new Uint8Array(readFileSync(MODEL)), MODEL));
    const args = JSON.parse(readFileSync(set.flasherArgsPath, 'utf8')) as { model: unknown };
    expect(args.model).toEqual({ offset: `0x${partition.offset.toString(16)}`, file: 'model.bin', encrypted: 'false' });
  });

  it('names the build and the fix when the partition is too small or missing', () => {
    set = makeImageSet({ seed: 6, appSize: 64 * 1024, modelSize: 16 * 1024 });
    const partition = set.partitions.find((p) => p.label === 'model')!;
    const big = path.join(set.dir, 'big.tflite');
    const model = new Uint8Array(readFileSync(MODEL));
    // A valid model padded past the partition: TFLite files may carry trailing bytes.
    writeFileSync(big, Buffer.concat([model, Buffer.alloc(partition.size)]));
    expect(() => addModelToBuild(set!.dir, big)).toThrow(new RegExp(`^${big.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: its partition image is \\d+ bytes but the model partition of .*flasher_args\\.json holds ${partition.size}: make the partition larger in partitions\\.csv, or use "storage": "psram"$`));
    const args = JSON.parse(readFileSync(set.flasherArgsPath, 'utf8')) as { flash_files: Record<string, string> };
    delete args.flash_files['0x8000'];
    writeFileSync(set.flasherArgsPath, JSON.stringify(args));
    expect(() => addModelToBuild(set!.dir, MODEL)).toThrow(/flasher_args\.json: the build has no partition table at 0x8000 in flash_files/);
  });
});
