/**
 * The arithmetic of full-integer post-training quantization (FACTS.md "TFLite int8 arithmetic";
 * tensorflow `lite/g3doc/performance/quantization_spec.md`), following the TFLite quantizer
 * `tensorflow/lite/tools/optimize/quantization_utils.cc` step by step, in float32 where it works
 * in float (Math.fround) and with its rounding (TfLiteRound = round half away from zero):
 * - activations: asymmetric per-tensor, range widened to include 0, zero point nudged to an
 *   integer so that real 0 is exact (GetAsymmetricQuantizationParams);
 * - weights: symmetric int8 in [-127, 127], zero point 0, per channel (SymmetricPerChannelQuantization)
 *   or per tensor (tensor_utils::SymmetricQuantizeFloats);
 * - biases: int32, scale = input_scale * weight_scale, zero point 0 (SymmetricPer*BiasQuantize),
 *   with the weight scale widened first if the bias would not fit in the middle half of int32
 *   (AdjustWeightsForBiasScale).
 */
import { INT32_MAX, tfliteRound } from '../tflite/quant-math.js';

export type ActivationType = 'int8' | 'uint8';

export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

export function typeLimits(type: ActivationType | 'int16'): { qmin: number; qmax: number } {
  switch (type) {
    case 'int8': return { qmin: -128, qmax: 127 };
    case 'uint8': return { qmin: 0, qmax: 255 };
    case 'int16': return { qmin: -32768, qmax: 32767 };
  }
}

/**
 * Scale and zero point of an activation observed in [min, max] (GetAsymmetricQuantizationParams).
 * A range that is exactly {0} gets scale 1.0, as the MLIR quantizer does (FakeQuantSupport.cc):
 * the legacy quantizer would write scale 0, which TFLite kernels divide by.
 */
export function asymmetricParams(min: number, max: number, type: ActivationType = 'int8'): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new Error(`asymmetricParams: [${min}, ${max}] is not a range`);
  }
  const { qmin, qmax } = typeLimits(type);
  const lo = Math.fround(Math.min(Math.fround(min), 0));
  const hi = Math.fround(Math.max(Math.fround(max), 0));
  const scale = Math.fround(Math.fround(hi - lo) / (qmax - qmin));
  if (scale === 0) return { scale: 1, zeroPoint: qmin };
  const zeroPointFromMin = Math.fround(qmin - Math.fround(lo / scale));
  let zeroPoint: number;
  if (zeroPointFromMin < qmin) zeroPoint = qmin;
  else if (zeroPointFromMin > qmax) zeroPoint = qmax;
  else zeroPoint = tfliteRound(zeroPointFromMin) + 0; // + 0 turns a rounded -0 into 0
  return { scale, zeroPoint };
}

/** real -> quantized with TFLite's AffineQuantize: round(x / scale) + zero point, clamped. */
export function quantizeValue(x: number, p: QuantParams, type: ActivationType | 'int16' = 'int8'): number {
  const { qmin, qmax } = typeLimits(type);
  const v = tfliteRound(Math.fround(Math.fround(x) / Math.fround(p.scale))) + p.zeroPoint;
  return Math.min(qmax, Math.max(qmin, v));
}

export function dequantizeValue(q: number, p: QuantParams): number {
  return p.scale * (q - p.zeroPoint);
}

export interface SymmetricWeights {
  /** int8 values in [-127, 127], same layout as the float data. */
  values: Int8Array;
  /** One scale per channel along `axis` (one in total when per-tensor). */
  scales: number[];
  /** The quantized dimension (0 when per-tensor). */
  axis: number;
}

/**
 * Symmetric int8 weights. `axis` = the channel dimension for per-channel quantization (CONV_2D: 0,
 * DEPTHWISE_CONV_2D: 3), or null for one scale over the whole tensor (FULLY_CONNECTED).
 * `minScales` lets the bias widen a channel's scale (see `biasSafeWeightScales`).
 */
export function quantizeWeightsSymmetric(data: Float32Array, shape: readonly number[], axis: number | null, minScales?: readonly number[]): SymmetricWeights {
  const channels = axis === null ? 1 : shape[axis];
  const inner = axis === null ? data.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const halfRange = new Array<number>(channels).fill(0);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    const a = Math.abs(data[i]);
    if (a > halfRange[c]) halfRange[c] = a;
  }
  const scales: number[] = [];
  const inverse: number[] = [];
  for (let c = 0; c < channels; c++) {
    const range = Math.fround(halfRange[c]);
    const floor = Math.fround(minScales?.[c] ?? 0);
    if (floor > Math.fround(range / 127)) {
      // Widened so the bias fits: quantize with the widened scale.
      scales.push(floor);
      inverse.push(Math.fround(1 / floor));
    } else if (range > 0) {
      scales.push(Math.fround(range / 127));
      inverse.push(Math.fround(127 / range));
    } else {
      // An all-zero channel (and zero bias) would get scale 0, which TFLite kernels cannot use;
      // any positive scale quantizes it to zeros.
      scales.push(1);
      inverse.push(0);
    }
  }
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const q = tfliteRound(Math.fround(Math.fround(data[i]) * inverse[channelOf(i)]));
    values[i] = Math.max(-127, Math.min(127, q));
  }
  return { values, scales, axis: axis ?? 0 };
}

/**
 * The smallest weight scale per channel at which the bias still fits in the middle half of int32
 * (AdjustWeightsForBiasScale: |bias| < 0.5 * input_scale * weight_scale * INT32_MAX).
 */
export function biasSafeWeightScales(bias: Float32Array, inputScale: number): number[] {
  return Array.from(bias, (b) => (2 * Math.abs(b)) / (INT32_MAX * inputScale));
}

/**
 * int32 bias: per channel scale = input_scale * weight_scale[c] (float32 product), zero point 0,
 * value round(b * (1 / scale)) clamped to +-INT32_MAX. One weight scale = per-tensor.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: readonly number[]): { values: Int32Array; scales: number[] } {
  const scales = Array.from(bias, (_, c) => Math.fround(Math.fround(inputScale) * Math.fround(weightScales[weightScales.length === 1 ? 0 : c])));
  const values = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const inv = scales[c] === 0 ? 0 : Math.fround(1 / scales[c]);
    const q = tfliteRound(Math.fround(Math.fround(bias[c]) * inv));
    values[c] = Math.max(-INT32_MAX, Math.min(INT32_MAX, q));
  }
  return { values, scales: weightScales.length === 1 ? [Math.fround(Math.fround(inputScale) * Math.fround(weightScales[0]))] : scales };
}
