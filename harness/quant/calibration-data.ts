/**
 * Calibration samples from files, for `hil model quantize --calibration <dir|npy>`:
 * - a `.npy` file holding one sample (the model input's shape) or a batch ([N, ...input shape
 *   without the batch dimension], or [N, ...full input shape]);
 * - a directory: every `.npy` file in it, in name order, each one sample or a batch.
 * Float arrays are used as they are. Integer arrays (e.g. uint8 images) are mapped to real values
 * by x * scale + offset, by default x / 255: the [0, 1] input convention of the lab's image models.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { readNpy } from '../datasets/npy.js';
import { shapeSize, type Tensor } from '../tflite/model.js';
import type { CalibrationSample } from './calibrate.js';

export interface CalibrationFileOptions {
  /** Integer data: real = value * scale + offset (default 1/255 and 0). */
  scale?: number;
  offset?: number;
  /** Use at most this many samples (in file order). */
  limit?: number;
}

export interface CalibrationFiles {
  samples: CalibrationSample[];
  files: string[];
  /** How integer data was mapped, when some was (for the summary). */
  integerMapping: { scale: number; offset: number } | null;
}

export function loadCalibrationFiles(location: string, inputs: readonly Tensor[], opts: CalibrationFileOptions = {}): CalibrationFiles {
  if (inputs.length !== 1) {
    throw new LabError('quantize', `${location}: the model has ${inputs.length} inputs; calibration files can feed single-input models only`);
  }
  const input = inputs[0];
  const size = shapeSize(input.shape);
  let stat;
  try {
    stat = statSync(location);
  } catch {
    throw new LabError('quantize', `${location}: no such calibration file or directory; give a .npy file or a folder of .npy files`);
  }
  const files = stat.isDirectory()
    ? readdirSync(location).filter((f) => f.endsWith('.npy')).sort().map((f) => path.join(location, f))
    : [location];
  if (files.length === 0) throw new LabError('quantize', `${location}: the folder holds no .npy files; put calibration samples there as numpy arrays`);
  const scale = opts.scale ?? 1 / 255;
  const offset = opts.offset ?? 0;
  let integerMapping: CalibrationFiles['integerMapping'] = null;
  const samples: CalibrationSample[] = [];
  const limit = opts.limit ?? Infinity;
  for (const file of files) {
    if (samples.length >= limit) break;
    const array = readNpy(file);
    const inner = array.shape.slice(1);
    const batched = array.shape.length >= 1 && shapeSize(inner) === size;
    const count = batched ? array.shape[0] : array.data.length === size ? 1 : -1;
    if (count < 0) {
      throw new LabError('quantize', `${file}: shape [${array.shape.join(', ')}] is neither one input [${input.shape.join(', ')}] of '${input.name}' nor a batch [N, ${input.shape.slice(1).join(', ')}]`);
    }
    const integer = array.dtype !== 'float32' && array.dtype !== 'float64';
    if (integer) integerMapping = { scale, offset };
    for (let k = 0; k < count && samples.length < limit; k++) {
      const slice = array.data.subarray(k * size, (k + 1) * size);
      samples.push([integer ? Float32Array.from(slice, (v) => v * scale + offset) : Float32Array.from(slice)]);
    }
  }
  return { samples, files, integerMapping };
}
