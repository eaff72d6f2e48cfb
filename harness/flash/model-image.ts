/**
 * The image of the firmware's `model` flash partition (PROTOCOL.md "Model partition",
 * firmware/components/hil_core/include/hil/model_image.hpp): a 64-byte header - magic "HILMODEL",
 * size u32 LE, 20 reserved zero bytes, the model's SHA-256 - then the .tflite at offset 64. The
 * board checks size and digest before it runs the model in place (MODEL_SELECT_PARTITION), so a
 * scenario model with `"storage": "partition"` is used without an upload.
 *
 * `addModelToBuild` puts such an image into an ESP-IDF build: it writes `model.bin` beside the
 * build's other images and the `model` entry into its flasher_args.json, so `hil flash` writes it
 * (and skips it next time when the board's flash already holds it).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { readModel } from '../tflite/reader.js';
import { readFlasherArgs } from './flasher-args.js';

export const MODEL_IMAGE_MAGIC = 'HILMODEL';
export const MODEL_IMAGE_HEADER_BYTES = 64;
/** Data subtype of the firmware's `model` partition (firmware/partitions.csv). */
export const MODEL_PARTITION_SUBTYPE = 0x40;
export const MODEL_IMAGE_FILE = 'model.bin';

/** Header + model. `source` names the model in errors. */
export function modelImage(model: Uint8Array, source: string): Uint8Array {
  readModel(model, { source }); // a file the board would refuse (not TFL3, truncated, ...) stops here
  const image = new Uint8Array(MODEL_IMAGE_HEADER_BYTES + model.length);
  image.set(Buffer.from(MODEL_IMAGE_MAGIC, 'latin1'), 0);
  new DataView(image.buffer).setUint32(8, model.length, true);
  image.set(createHash('sha256').update(model).digest(), 32);
  image.set(model, MODEL_IMAGE_HEADER_BYTES);
  return image;
}

export interface AddedModel {
  /** The image file written into the build. */
  file: string;
  offset: number;
  imageBytes: number;
  partitionBytes: number;
  sha256: string;
}

/**
 * Writes `model.bin` for `modelFile` into the build directory and makes flasher_args.json flash it
 * at the `model` partition of the build's own partition table.
 */
export function addModelToBuild(buildDir: string, modelFile: string): AddedModel {
  const build = readFlasherArgs(buildDir);
  const argsFile = build.flasherArgsPath;
  const partition = build.partitions?.find((p) => p.type === 0x01 && p.subtype === MODEL_PARTITION_SUBTYPE && p.label === 'model');
  if (!build.partitions) {
    throw new LabError('flasher-args', `${argsFile}: the build has no partition table at 0x8000 in flash_files, so the model partition cannot be found: rebuild with \`idf.py build\``);
  }
  if (!partition) {
    throw new LabError('flasher-args', `${argsFile}: the build's partition table has no \`model\` data partition (subtype 0x40): build a firmware whose partitions.csv has one (firmware/partitions.csv)`);
  }
  const model = new Uint8Array(readFileSync(modelFile));
  const image = modelImage(model, modelFile);
  if (image.length > partition.size) {
    throw new LabError('model-format', `${modelFile}: its partition image is ${image.length} bytes but the model partition of ${argsFile} holds ${partition.size}: make the partition larger in partitions.csv, or use "storage": "psram"`);
  }
  const file = path.join(build.dir, MODEL_IMAGE_FILE);
  writeFileSync(file, image);

  const doc = JSON.parse(readFileSync(argsFile, 'utf8')) as Record<string, unknown> & { flash_files: Record<string, string> };
  const offsetText = `0x${partition.offset.toString(16)}`;
  // Whatever the build flashed at the model partition before (e.g. a placeholder) is replaced.
  for (const key of Object.keys(doc.flash_files)) {
    if (parseInt(key, 16) === partition.offset) delete doc.flash_files[key];
  }
  doc.flash_files[offsetText] = MODEL_IMAGE_FILE;
  doc.model = { offset: offsetText, file: MODEL_IMAGE_FILE, encrypted: 'false' };
  const tmp = `${argsFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 4)}\n`);
  renameSync(tmp, argsFile);
  readFlasherArgs(buildDir); // the result must still be a build hil flash accepts
  return {
    file, offset: partition.offset, imageBytes: image.length, partitionBytes: partition.size,
    sha256: createHash('sha256').update(model).digest('hex'),
  };
}

