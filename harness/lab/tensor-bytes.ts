/**
 * Tensor values <-> the little-endian bytes the board protocol carries (SET_INPUT, OUTPUT_DATA,
 * ACCURACY_*: raw tensor memory, PROTOCOL.md section 4; the ESP32-S3 is little-endian, as is
 * every host the lab runs on, so typed-array views are the wire layout).
 */
import { LabError } from '../errors.js';
import type { TensorType } from '../tflite/model.js';

export type TensorValues = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array;

/** Bytes per element of the tensor types the lab moves to and from boards. */
export function bytesPerElement(type: TensorType): number {
  switch (type) {
    case 'int8': case 'uint8': case 'bool': return 1;
    case 'int16': case 'float16': case 'uint16': return 2;
    case 'int32': case 'float32': case 'uint32': return 4;
    default: throw new LabError('model-input', `tensors of type ${type} cannot be sent to or read from a board by the lab`);
  }
}

/** A typed view of tensor bytes (copied so the view is aligned). */
export function valuesOf(type: TensorType, bytes: Uint8Array): TensorValues {
  const copy = new Uint8Array(bytes);
  const buf = copy.buffer;
  switch (type) {
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return copy;
    case 'int16': return new Int16Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'float32': return new Float32Array(buf);
    default: throw new LabError('model-input', `tensors of type ${type} cannot be read back from a board by the lab`);
  }
}

/** The bytes of tensor values of `type`. */
export function bytesOf(type: TensorType, values: ArrayLike<number>): Uint8Array {
  let typed: TensorValues;
  switch (type) {
    case 'int8': typed = Int8Array.from(values); break;
    case 'uint8': case 'bool': typed = Uint8Array.from(values); break;
    case 'int16': typed = Int16Array.from(values); break;
    case 'int32': typed = Int32Array.from(values); break;
    case 'float32': typed = Float32Array.from(values); break;
    default: throw new LabError('model-input', `tensors of type ${type} cannot be sent to a board by the lab`);
  }
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/**
 * The classes ranked by score, best first, at most k; ties go to the lower index (the argmax tie
 * rule of harness/stats/accuracy.ts, numpy and tf.math.top_k).
 */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i).filter((i) => !Number.isNaN(scores[i]));
  idx.sort((a, b) => (scores[b] - scores[a]) || (a - b));
  return idx.slice(0, k);
}
