/**
 * What the full TFLite runtime computes where its int8 kernels are not TFLM's reference kernels, so
 * the comparison can say why an output differs instead of tolerating it:
 * - CONV_2D and FULLY_CONNECTED: TFLite runs them as a ruy GEMM (after im2col for convolution),
 *   and ruy requantizes with ONE
 *   rounding, (acc * multiplier + 2^(30 - shift)) >> (31 - shift) (google/ruy
 *   `ruy/apply_multiplier.cc`), where TFLM rounds twice (SaturatingRoundingDoublingHighMul, then
 *   RoundingDivideByPOT: FACTS.md). The two differ by one step on a few outputs.
 * - MEAN over H and W of a 4-D int8 tensor with keep_dims: TFLite picks `optimized_integer_ops::Mean`
 *   (tensorflow `lite/kernels/reduce.cc`), which in the TFLite inside tfjs-tflite 0.0.1-alpha.10
 *   computes like the old uint8 `reference_ops::Mean`: one multiplier for in_scale / (n * out_scale)
 *   applied to the raw int8 sum, plus bias = out_zp - (int)(in_zp * in_scale / out_scale) taken in
 *   float and truncated; TFLM (`reduce_common.cc`) subtracts zp * n in integers and folds 1/n into
 *   the multiplier. (Later TFLite versions changed this kernel again, to float math.)
 * Both functions take a one-operator model (see sliceOperator) and its int8 input.
 */
import type { Model, Tensor } from '../../harness/tflite/model.js';
import { computeWindow } from '../../harness/tflite/kernels/padding.js';
import { activationRangeQuantized, multiplyByQuantizedMultiplier, quantizeMultiplier } from '../../harness/tflite/quant-math.js';

function constantValues(model: Model, t: Tensor): number[] {
  const b = model.buffers[t.buffer];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = t.shape.reduce((a, d) => a * d, 1);
  return Array.from({ length: n }, (_, i) => (t.type === 'int8' ? view.getInt8(i) : view.getInt32(i * 4, true)));
}

/** ruy's single-rounding MultiplyByQuantizedMultiplier. */
export function ruyMultiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const total = BigInt(31 - shift);
  return Number((BigInt(x) * BigInt(multiplier) + (1n << (total - 1n))) >> total);
}

export function tfliteConvInt8(model: Model, input: ArrayLike<number>): number[] {
  const g = model.subgraphs[0];
  const op = g.operators[0];
  if (op.op !== 'CONV_2D' || op.options.kind !== 'Conv2D') throw new Error('tfliteConvInt8 needs a CONV_2D model');
  const o = op.options.value;
  const [x, w, b] = [0, 1, 2].map((i) => (op.inputs[i] !== undefined && op.inputs[i] >= 0 ? g.tensors[op.inputs[i]] : null));
  const y = g.tensors[op.outputs[0]];
  if (!x || !w) throw new Error('conv without input or filter');
  const weights = constantValues(model, w);
  const bias = b ? constantValues(model, b) : null;
  const [batches, inH, inW, inC] = x.shape;
  const [outC, fH, fW] = w.shape;
  const win = computeWindow(o.padding, inH, inW, fH, fW, o.strideH, o.strideW, o.dilationH, o.dilationW);
  const inZp = x.quantization!.zeroPoint[0];
  const outQ = y.quantization!;
  const wq = w.quantization!;
  const q = Array.from({ length: outC }, (_, c) =>
    quantizeMultiplier(x.quantization!.scale[0] * wq.scale[wq.scale.length === 1 ? 0 : c] / outQ.scale[0]));
  const range = activationRangeQuantized(o.fusedActivation, outQ.scale[0], outQ.zeroPoint[0], -128, 127);
  const out: number[] = [];
  for (let n = 0; n < batches; n++) {
    for (let oy = 0; oy < win.outHeight; oy++) {
      for (let ox = 0; ox < win.outWidth; ox++) {
        for (let c = 0; c < outC; c++) {
          let acc = bias ? bias[c] : 0;
          for (let fy = 0; fy < fH; fy++) {
            const iy = oy * o.strideH - win.padTop + fy * o.dilationH;
            if (iy < 0 || iy >= inH) continue;
            for (let fx = 0; fx < fW; fx++) {
              const ix = ox * o.strideW - win.padLeft + fx * o.dilationW;
              if (ix < 0 || ix >= inW) continue;
              for (let ic = 0; ic < inC; ic++) {
                acc += weights[((c * fH + fy) * fW + fx) * inC + ic] * (input[((n * inH + iy) * inW + ix) * inC + ic] - inZp);
              }
            }
          }
          const v = ruyMultiplyByQuantizedMultiplier(acc, q[c].multiplier, q[c].shift) + outQ.zeroPoint[0];
          out.push(Math.min(range.max, Math.max(range.min, v)));
        }
      }
    }
  }
  return out;
}

/** FULLY_CONNECTED int8 (per-tensor weights) with ruy's requantization. */
export function tfliteFullyConnectedInt8(model: Model, input: ArrayLike<number>): number[] {
  const g = model.subgraphs[0];
  const op = g.operators[0];
  if (op.op !== 'FULLY_CONNECTED') throw new Error('tfliteFullyConnectedInt8 needs a FULLY_CONNECTED model');
  const x = g.tensors[op.inputs[0]];
  const w = g.tensors[op.inputs[1]];
  const b = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? g.tensors[op.inputs[2]] : null;
  const y = g.tensors[op.outputs[0]];
  const weights = constantValues(model, w);
  const bias = b ? constantValues(model, b) : null;
  const [units, depth] = w.shape;
  const batches = input.length / depth;
  const inQ = x.quantization!;
  const wQ = w.quantization!;
  const outQ = y.quantization!;
  // kernel_util.cc GetQuantizedConvolutionMultipler: the scale product is a float product.
  const m = quantizeMultiplier(Math.fround(inQ.scale[0] * wQ.scale[0]) / outQ.scale[0]);
  const activation = op.options.kind === 'FullyConnected' ? op.options.value.fusedActivation : 'NONE';
  const range = activationRangeQuantized(activation, outQ.scale[0], outQ.zeroPoint[0], -128, 127);
  const out: number[] = [];
  for (let n = 0; n < batches; n++) {
    for (let u = 0; u < units; u++) {
      let acc = bias ? bias[u] : 0;
      for (let d = 0; d < depth; d++) acc += (weights[u * depth + d] - wQ.zeroPoint[0]) * (input[n * depth + d] - inQ.zeroPoint[0]);
      const v = ruyMultiplyByQuantizedMultiplier(acc, m.multiplier, m.shift) + outQ.zeroPoint[0];
      out.push(Math.min(range.max, Math.max(range.min, v)));
    }
  }
  return out;
}

export function tfliteMeanInt8(model: Model, input: ArrayLike<number>): number[] {
  const g = model.subgraphs[0];
  const op = g.operators[0];
  const x = g.tensors[op.inputs[0]];
  const y = g.tensors[op.outputs[0]];
  const [batches, h, w, depth] = x.shape;
  const inQ = x.quantization!;
  const outQ = y.quantization!;
  const inScale = Math.fround(inQ.scale[0]);
  const outScale = Math.fround(outQ.scale[0]);
  // bias = output_zero_point - (int32)(input_zero_point * input_scale / output_scale), in float.
  const bias = outQ.zeroPoint[0] - Math.trunc(Math.fround(Math.fround(inQ.zeroPoint[0] * inScale) / outScale));
  const m = quantizeMultiplier(Math.fround(inScale / Math.fround(h * w * outScale)));
  const out: number[] = [];
  for (let n = 0; n < batches; n++) {
    for (let c = 0; c < depth; c++) {
      let sum = 0;
      for (let i = 0; i < h * w; i++) sum += input[(n * h * w + i) * depth + c];
      out.push(Math.min(127, Math.max(-128, multiplyByQuantizedMultiplier(sum, m.multiplier, m.shift) + bias)));
    }
  }
  return out;
}
