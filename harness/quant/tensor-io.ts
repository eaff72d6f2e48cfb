/**
 * Feeding real values to a model whatever its input type, and reading its outputs back as real
 * values: the glue between float data (images in [0, 1], calibration samples) and int8 / uint8 /
 * float models. Quantization uses TFLite's AffineQuantize rounding (params.ts).
 */
import { LabError } from '../errors.js';
import type { Tensor } from '../tflite/model.js';
import { quantizeValue } from './params.js';

function perTensor(t: Tensor): { scale: number; zeroPoint: number } {
  const q = t.quantization;
  if (!q || q.scale.length !== 1) {
    throw new LabError('model-input', `tensor '${t.name}' (${t.type}) has no per-tensor quantization parameters to map real values`);
  }
  return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] ?? 0 };
}

/** Real values -> the values `Interpreter.setInput` takes for tensor `t`. */
export function toTensorValues(t: Tensor, real: ArrayLike<number>): ArrayLike<number> {
  if (t.type === 'float32') return real;
  if (t.type !== 'int8' && t.type !== 'uint8' && t.type !== 'int16') {
    throw new LabError('model-input', `tensor '${t.name}' is ${t.type}; real values map only to float32, int8, uint8 or int16`);
  }
  const p = perTensor(t);
  const out = new Int32Array(real.length);
  for (let i = 0; i < real.length; i++) out[i] = quantizeValue(real[i], p, t.type);
  return out;
}

/** Values of tensor `t` -> real values (dequantized unless float). */
export function toRealValues(t: Tensor, values: ArrayLike<number>): Float32Array {
  if (t.type === 'float32') return Float32Array.from(values);
  const p = perTensor(t);
  return Float32Array.from(values, (q) => p.scale * (q - p.zeroPoint));
}
