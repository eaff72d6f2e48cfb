/**
 * The op test-model catalogue: one small model per supported operator and edge case (SAME/VALID,
 * strides, dilation, depth multiplier, fused activations, broadcasting, per-channel and per-tensor
 * weights), in an int8 and a float32 variant, built with `GraphBuilder`. The interpreter's tests
 * run them against TFLM reference outputs and the real TFLite runtime (test/reference/); the
 * quantizer reuses the float variants.
 *
 * Weights and biases come from a seeded PRNG (one seed per model name), so every build is
 * byte-identical. int8 quantization is chosen like a converter would: per-channel weight scales,
 * bias scale = input scale x weight scale, and an output scale that makes the outputs span the
 * int8 range with a little saturation at the ends (saturation is an edge case worth covering).
 */
import { mulberry32 } from '../../datasets/random.js';
import { GraphBuilder, options } from '../builder.js';
import type { FusedActivation, Model, OperatorOptions, Padding, TensorType } from '../model.js';
import { shapeSize } from '../model.js';

export type OpModelType = 'int8' | 'float32';

export interface OpModel {
  /** Unique name, e.g. `conv2d_same_stride2_int8`. */
  name: string;
  /** The operator under test. */
  op: string;
  type: OpModelType;
  /** The edge case it covers, in words. */
  what: string;
  build(): Model;
  /** Range of the random real values fed to float32 inputs (default [-3, 3]). */
  inputRange?: [number, number];
}

/** Seed derived from a model name (FNV-1a), so adding a model does not change the others. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

interface Act { index: number; shape: number[]; scale: number; zeroPoint: number }

/** GraphBuilder plus the quantization conventions of the catalogue. */
class Net {
  readonly g: GraphBuilder;
  readonly random: () => number;
  private readonly inputs: number[] = [];

  constructor(readonly name: string, readonly type: OpModelType) {
    this.g = new GraphBuilder({ name, description: `Op test model ${name} (harness/tflite/testing/op-models.ts)` });
    this.random = mulberry32(seedOf(name));
  }

  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.random(); }

  ints(n: number, lo: number, hi: number): number[] {
    return Array.from({ length: n }, () => lo + Math.floor(this.random() * (hi - lo + 1)));
  }

  /** An activation tensor (int8 with the given quantization, or float32). */
  tensor(name: string, shape: number[], scale = 0.04, zeroPoint = -5, type: TensorType = this.type): Act {
    const quantization = type === 'float32' ? null : { scale, zeroPoint };
    const index = this.g.addTensor({ name, type, shape, quantization });
    return { index, shape, scale: Math.fround(scale), zeroPoint };
  }

  input(name: string, shape: number[], scale = 0.04, zeroPoint = -5, type: TensorType = this.type): Act {
    const t = this.tensor(name, shape, scale, zeroPoint, type);
    this.inputs.push(t.index);
    return t;
  }

  /** Convolution-style weights: int8 per-channel (or per-tensor) along `dim`, or float32. */
  weights(name: string, shape: number[], dim: number, perChannel = true): { index: number; scales: number[] } {
    const n = shapeSize(shape);
    if (this.type === 'float32') {
      return { index: this.g.addConstant('float32', shape, Array.from({ length: n }, () => this.uniform(-0.5, 0.5)), null, name), scales: [] };
    }
    const channels = shape[dim];
    const scales = perChannel
      ? Array.from({ length: channels }, () => Math.fround(this.uniform(0.004, 0.02)))
      : [Math.fround(this.uniform(0.004, 0.02))];
    const q = { scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: perChannel ? dim : 0 };
    return { index: this.g.addConstant('int8', shape, this.ints(n, -127, 127), q, name), scales };
  }

  /** Bias for `channels` outputs: int32 at input scale x weight scale, or float32. */
  bias(name: string, channels: number, inputScale: number, weightScales: number[]): number {
    if (this.type === 'float32') {
      return this.g.addConstant('float32', [channels], Array.from({ length: channels }, () => this.uniform(-1, 1)), null, name);
    }
    const scales = Array.from({ length: channels }, (_, c) => inputScale * (weightScales.length === 1 ? weightScales[0] : weightScales[c]));
    return this.g.addConstant('int32', [channels], this.ints(channels, -3000, 3000), { scale: scales, zeroPoint: scales.map(() => 0) }, name);
  }

  /**
   * Output scale for an accumulation over `depth` products of int8 inputs and weights: about 2.5
   * standard deviations of the real accumulator span the int8 range.
   */
  accScale(depth: number, inputScale: number, weightScales: number[]): number {
    const meanW = weightScales.reduce((a, b) => a + b, 0) / Math.max(weightScales.length, 1);
    return (2.5 * Math.sqrt(depth) * 73.6 * 73.3 * inputScale * meanW) / 127;
  }

  op(op: string, inputs: number[], outputs: Act[], opts?: OperatorOptions): void {
    this.g.addOperator(op, inputs, outputs.map((o) => o.index), opts);
  }

  done(outputs: Act[]): Model {
    this.g.setInputs(this.inputs).setOutputs(outputs.map((o) => o.index));
    return this.g.build();
  }
}

type Builder = (n: Net) => Act[];

function variants(op: string, base: string, what: string, build: Builder, extra: Partial<OpModel> = {}, types: OpModelType[] = ['int8', 'float32']): OpModel[] {
  return types.map((type) => {
    const name = `${base}_${type}`;
    return { name, op, type, what, build: () => { const n = new Net(name, type); return n.done(build(n)); }, ...extra };
  });
}

// ---- windowed ops ----

interface ConvCase {
  input: number[]; filters: number; kernel: [number, number]; padding: Padding;
  stride?: [number, number]; dilation?: [number, number]; activation?: FusedActivation; perChannel?: boolean; bias?: boolean;
}

function outSize(padding: Padding, size: number, k: number, s: number, d: number): number {
  const eff = (k - 1) * d + 1;
  return padding === 'SAME' ? Math.ceil(size / s) : Math.floor((size - eff + s) / s);
}

function conv(c: ConvCase): Builder {
  return (n) => {
    const [b, h, w, ch] = c.input;
    const [sh, sw] = c.stride ?? [1, 1];
    const [dh, dw] = c.dilation ?? [1, 1];
    const x = n.input('input', c.input);
    const wt = n.weights('weights', [c.filters, c.kernel[0], c.kernel[1], ch], 0, c.perChannel ?? true);
    // Without a bias the operator gets two inputs: TFLite (not TFLM) rejects an omitted (-1) one.
    const inputs = [x.index, wt.index];
    if (c.bias !== false) inputs.push(n.bias('bias', c.filters, x.scale, wt.scales));
    const oh = outSize(c.padding, h, c.kernel[0], sh, dh);
    const ow = outSize(c.padding, w, c.kernel[1], sw, dw);
    const y = n.tensor('output', [b, oh, ow, c.filters], n.accScale(c.kernel[0] * c.kernel[1] * ch, x.scale, wt.scales), 3);
    n.op('CONV_2D', inputs, [y], options.conv2d({
      padding: c.padding, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, fusedActivation: c.activation ?? 'NONE',
    }));
    return [y];
  };
}

interface DepthwiseCase {
  input: number[]; multiplier: number; kernel: [number, number]; padding: Padding;
  stride?: [number, number]; dilation?: [number, number]; activation?: FusedActivation;
}

function depthwise(c: DepthwiseCase): Builder {
  return (n) => {
    const [b, h, w, ch] = c.input;
    const [sh, sw] = c.stride ?? [1, 1];
    const [dh, dw] = c.dilation ?? [1, 1];
    const outC = ch * c.multiplier;
    const x = n.input('input', c.input);
    const wt = n.weights('weights', [1, c.kernel[0], c.kernel[1], outC], 3);
    const bias = n.bias('bias', outC, x.scale, wt.scales);
    const oh = outSize(c.padding, h, c.kernel[0], sh, dh);
    const ow = outSize(c.padding, w, c.kernel[1], sw, dw);
    const y = n.tensor('output', [b, oh, ow, outC], n.accScale(c.kernel[0] * c.kernel[1], x.scale, wt.scales), -2);
    n.op('DEPTHWISE_CONV_2D', [x.index, wt.index, bias], [y], options.depthwiseConv2d({
      padding: c.padding, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, depthMultiplier: c.multiplier,
      fusedActivation: c.activation ?? 'NONE',
    }));
    return [y];
  };
}

function fullyConnected(input: number[], units: number, activation: FusedActivation = 'NONE', withBias = true): Builder {
  return (n) => {
    const depth = input[input.length - 1] * (input.length > 2 ? input.slice(1, -1).reduce((a, b) => a * b, 1) : 1);
    const batches = shapeSize(input) / depth;
    const x = n.input('input', input);
    // FULLY_CONNECTED weights are per-tensor (quantization spec).
    const wt = n.weights('weights', [units, depth], 0, false);
    const inputs = [x.index, wt.index];
    if (withBias) inputs.push(n.bias('bias', units, x.scale, wt.scales));
    const y = n.tensor('output', [batches, units], n.accScale(depth, x.scale, wt.scales), 1);
    n.op('FULLY_CONNECTED', inputs, [y], options.fullyConnected({ fusedActivation: activation }));
    return [y];
  };
}

function pool(op: 'AVERAGE_POOL_2D' | 'MAX_POOL_2D', input: number[], k: [number, number], s: [number, number], padding: Padding, activation: FusedActivation = 'NONE'): Builder {
  return (n) => {
    const x = n.input('input', input);
    const oh = outSize(padding, input[1], k[0], s[0], 1);
    const ow = outSize(padding, input[2], k[1], s[1], 1);
    // TFLM requires int8 pooling to keep the input quantization.
    const y = n.tensor('output', [input[0], oh, ow, input[3]], x.scale, x.zeroPoint);
    n.op(op, [x.index], [y], options.pool2d({ filterHeight: k[0], filterWidth: k[1], strideH: s[0], strideW: s[1], padding, fusedActivation: activation }));
    return [y];
  };
}

// ---- elementwise ----

function binary(op: 'ADD' | 'SUB' | 'MUL', a: number[], b: number[] | 'const', out: number[], activation: FusedActivation = 'NONE', constShape: number[] = []): Builder {
  return (n) => {
    const x = n.input('a', a, 0.05, -7);
    let y: Act;
    if (b === 'const') {
      const count = shapeSize(constShape);
      if (n.type === 'float32') {
        const index = n.g.addConstant('float32', constShape, Array.from({ length: count }, () => n.uniform(-2, 2)), null, 'b');
        y = { index, shape: constShape, scale: 1, zeroPoint: 0 };
      } else {
        const scale = Math.fround(0.03);
        const index = n.g.addConstant('int8', constShape, n.ints(count, -128, 127), { scale, zeroPoint: 4 }, 'b');
        y = { index, shape: constShape, scale, zeroPoint: 4 };
      }
    } else {
      y = n.input('b', b, 0.02, 9);
    }
    const outScale = op === 'MUL' ? 0.6 * 128 * x.scale * y.scale : op === 'ADD' ? 0.8 * (x.scale + y.scale) : x.scale + y.scale;
    const z = n.tensor('output', out, outScale, op === 'MUL' ? 0 : -3);
    n.op(op, [x.index, y.index], [z], options.elementwise(activation));
    return [z];
  };
}

function unary(op: string, shape: number[], out: { scale: number; zeroPoint: number } | 'same', opts?: OperatorOptions, inScale = 0.04, inZero = -5): Builder {
  return (n) => {
    const x = n.input('input', shape, inScale, inZero);
    const q = out === 'same' ? { scale: x.scale, zeroPoint: x.zeroPoint } : out;
    const y = n.tensor('output', shape, q.scale, q.zeroPoint);
    n.op(op, [x.index], [y], opts);
    return [y];
  };
}

function reshape(op: 'RESHAPE' | 'SQUEEZE', input: number[], output: number[], opts: OperatorOptions): Builder {
  return (n) => {
    const x = n.input('input', input);
    const y = n.tensor('output', output, x.scale, x.zeroPoint);
    const inputs = [x.index];
    if (op === 'RESHAPE') inputs.push(n.g.addConstant('int32', [output.length], output, null, 'shape'));
    n.op(op, inputs, [y], opts);
    return [y];
  };
}

function softmax(shape: number[], beta: number): Builder {
  return (n) => {
    const x = n.input('input', shape, 0.1, 7);
    const y = n.tensor('output', shape, 1 / 256, -128);
    n.op('SOFTMAX', [x.index], [y], options.softmax(beta));
    return [y];
  };
}

function pad(input: number[], paddings: [number, number][]): Builder {
  return (n) => {
    const x = n.input('input', input);
    const p = n.g.addConstant('int32', [input.length, 2], paddings.flat(), null, 'paddings');
    const y = n.tensor('output', input.map((d, i) => d + paddings[i][0] + paddings[i][1]), x.scale, x.zeroPoint);
    n.op('PAD', [x.index, p], [y]);
    return [y];
  };
}

function mean(input: number[], axes: number[], keepDims: boolean): Builder {
  return (n) => {
    const x = n.input('input', input);
    const axis = n.g.addConstant('int32', [axes.length], axes, null, 'axis');
    const out = keepDims ? input.map((d, i) => (axes.includes(i) ? 1 : d)) : input.filter((_, i) => !axes.includes(i));
    const y = n.tensor('output', out, x.scale * 0.45, 2);
    n.op('MEAN', [x.index, axis], [y], options.reducer(keepDims));
    return [y];
  };
}

function concat(shapes: number[][], axis: number): Builder {
  return (n) => {
    const xs = shapes.map((s, i) => n.input(`input${i}`, s));
    const out = [...shapes[0]];
    out[axis] = shapes.reduce((a, s) => a + s[axis], 0);
    const y = n.tensor('output', out, xs[0].scale, xs[0].zeroPoint);
    n.op('CONCATENATION', xs.map((x) => x.index), [y], options.concatenation(axis));
    return [y];
  };
}

function quantizeModel(): OpModel[] {
  return [
    {
      name: 'quantize_float_to_int8', op: 'QUANTIZE', type: 'int8', what: 'float32 -> int8 with rounding and saturation', inputRange: [-6, 6],
      build: () => {
        const n = new Net('quantize_float_to_int8', 'int8');
        const x = n.input('input', [1, 4, 4, 3], 1, 0, 'float32');
        const y = n.tensor('output', [1, 4, 4, 3], 0.031, -6);
        n.op('QUANTIZE', [x.index], [y]);
        return n.done([y]);
      },
    },
    {
      name: 'quantize_int8_requantize', op: 'QUANTIZE', type: 'int8', what: 'int8 -> int8 with a new scale and zero point',
      build: () => {
        const n = new Net('quantize_int8_requantize', 'int8');
        const x = n.input('input', [1, 4, 4, 3], 0.05, -9);
        const y = n.tensor('output', [1, 4, 4, 3], 0.07, 10);
        n.op('QUANTIZE', [x.index], [y]);
        return n.done([y]);
      },
    },
    {
      name: 'dequantize_int8_to_float', op: 'DEQUANTIZE', type: 'int8', what: 'int8 -> float32',
      build: () => {
        const n = new Net('dequantize_int8_to_float', 'int8');
        const x = n.input('input', [1, 4, 4, 3], 0.05, -9);
        const y = n.tensor('output', [1, 4, 4, 3], 1, 0, 'float32');
        n.op('DEQUANTIZE', [x.index], [y]);
        return n.done([y]);
      },
    },
  ];
}

export const OP_MODELS: readonly OpModel[] = [
  ...variants('CONV_2D', 'conv2d_valid_3x3', 'VALID padding, 3x3, stride 1, per-channel weights',
    conv({ input: [1, 7, 7, 3], filters: 4, kernel: [3, 3], padding: 'VALID' })),
  ...variants('CONV_2D', 'conv2d_same_stride2', 'SAME padding with stride 2 (odd padding goes after)',
    conv({ input: [1, 8, 8, 3], filters: 5, kernel: [3, 3], padding: 'SAME', stride: [2, 2] })),
  ...variants('CONV_2D', 'conv2d_dilation2', 'SAME padding with dilation 2',
    conv({ input: [1, 9, 9, 2], filters: 3, kernel: [3, 3], padding: 'SAME', dilation: [2, 2] })),
  // Every conv model has a bias: the TFLite runtime (unlike TFLM) refuses an int8 CONV_2D without one
  // (tensorflow lite/kernels/conv.cc: "has_bias was not true"); conv.test.ts covers the bias-less case.
  ...variants('CONV_2D', 'conv2d_relu6', 'fused RELU6, 2x3 kernel, 1x2 stride',
    conv({ input: [1, 6, 6, 4], filters: 6, kernel: [2, 3], padding: 'SAME', stride: [1, 2], activation: 'RELU6' })),
  ...variants('CONV_2D', 'conv2d_per_tensor', 'per-tensor weight scale, fused RELU',
    conv({ input: [1, 5, 5, 3], filters: 4, kernel: [3, 3], padding: 'VALID', perChannel: false, activation: 'RELU' }), {}, ['int8']),
  ...variants('CONV_2D', 'conv2d_pointwise', '1x1 pointwise convolution, 2 batches',
    conv({ input: [2, 4, 4, 16], filters: 8, kernel: [1, 1], padding: 'VALID' })),
  ...variants('DEPTHWISE_CONV_2D', 'depthwise_same_3x3', 'SAME padding, 3x3, stride 1',
    depthwise({ input: [1, 8, 8, 4], multiplier: 1, kernel: [3, 3], padding: 'SAME' })),
  ...variants('DEPTHWISE_CONV_2D', 'depthwise_valid_stride2', 'VALID padding with stride 2',
    depthwise({ input: [1, 9, 9, 3], multiplier: 1, kernel: [3, 3], padding: 'VALID', stride: [2, 2] })),
  ...variants('DEPTHWISE_CONV_2D', 'depthwise_multiplier2', 'depth multiplier 2, fused RELU6',
    depthwise({ input: [1, 6, 6, 3], multiplier: 2, kernel: [3, 3], padding: 'SAME', activation: 'RELU6' })),
  ...variants('DEPTHWISE_CONV_2D', 'depthwise_dilation2', 'dilation 2 with SAME padding, fused RELU',
    depthwise({ input: [1, 10, 10, 4], multiplier: 1, kernel: [3, 3], padding: 'SAME', dilation: [2, 2], activation: 'RELU' })),
  ...variants('FULLY_CONNECTED', 'fully_connected_basic', '16 inputs -> 8 units',
    fullyConnected([1, 16], 8)),
  ...variants('FULLY_CONNECTED', 'fully_connected_relu_batched', '3 batches, fused RELU',
    fullyConnected([3, 10], 4, 'RELU')),
  ...variants('FULLY_CONNECTED', 'fully_connected_flatten_nobias', '4-D input flattened, no bias',
    fullyConnected([1, 2, 2, 4], 5, 'NONE', false)),
  ...variants('AVERAGE_POOL_2D', 'average_pool_2x2_stride2', '2x2 window, stride 2, VALID',
    pool('AVERAGE_POOL_2D', [1, 8, 8, 3], [2, 2], [2, 2], 'VALID')),
  ...variants('AVERAGE_POOL_2D', 'average_pool_3x3_same', '3x3 window clipped at the borders (SAME), fused RELU6',
    pool('AVERAGE_POOL_2D', [1, 7, 7, 2], [3, 3], [1, 1], 'SAME', 'RELU6')),
  ...variants('MAX_POOL_2D', 'max_pool_2x2_stride2', '2x2 window, stride 2, VALID',
    pool('MAX_POOL_2D', [1, 8, 8, 3], [2, 2], [2, 2], 'VALID')),
  ...variants('MAX_POOL_2D', 'max_pool_3x3_same_stride2', '3x3 window, stride 2, SAME, fused RELU',
    pool('MAX_POOL_2D', [1, 7, 7, 2], [3, 3], [2, 2], 'SAME', 'RELU')),
  ...variants('ADD', 'add_two_inputs', 'two inputs with different scales (requantizing add)',
    binary('ADD', [1, 4, 4, 3], [1, 4, 4, 3], [1, 4, 4, 3])),
  ...variants('ADD', 'add_broadcast_channel', 'broadcast a per-channel constant, fused RELU',
    binary('ADD', [1, 4, 4, 3], 'const', [1, 4, 4, 3], 'RELU', [3])),
  ...variants('ADD', 'add_broadcast_4d', 'broadcast along different axes of both inputs',
    binary('ADD', [1, 4, 1, 3], [1, 1, 5, 3], [1, 4, 5, 3])),
  ...variants('SUB', 'sub_two_inputs', 'two inputs with different scales',
    binary('SUB', [1, 4, 4, 3], [1, 4, 4, 3], [1, 4, 4, 3])),
  ...variants('SUB', 'sub_broadcast', 'broadcast the second input',
    binary('SUB', [1, 3, 3, 2], [1, 1, 1, 2], [1, 3, 3, 2])),
  ...variants('MUL', 'mul_two_inputs', 'two inputs',
    binary('MUL', [1, 4, 4, 3], [1, 4, 4, 3], [1, 4, 4, 3])),
  ...variants('MUL', 'mul_broadcast_relu6', 'broadcast a constant row, fused RELU6',
    binary('MUL', [2, 3, 4], 'const', [2, 3, 4], 'RELU6', [1, 4])),
  ...variants('RESHAPE', 'reshape', '4-D to 2-D',
    reshape('RESHAPE', [1, 2, 3, 4], [1, 24], options.reshape([1, 24]))),
  ...variants('SQUEEZE', 'squeeze', 'drop dimensions 1 and 2',
    reshape('SQUEEZE', [1, 1, 1, 10], [1, 10], options.squeeze([1, 2]))),
  ...variants('SOFTMAX', 'softmax_1x10', 'one row of 10', softmax([1, 10], 1), { inputRange: [-6, 6] }),
  ...variants('SOFTMAX', 'softmax_beta_rows', 'beta 0.5, 3 rows of 7', softmax([3, 7], 0.5), { inputRange: [-6, 6] }),
  ...variants('LOGISTIC', 'logistic', 'gemmlowp logistic (int8) / cut-offs (float)',
    unary('LOGISTIC', [1, 8, 8, 1], { scale: 1 / 256, zeroPoint: -128 }, undefined, 0.08, 3), { inputRange: [-12, 12] }),
  ...variants('TANH', 'tanh', 'gemmlowp tanh', unary('TANH', [1, 8, 8, 1], { scale: 1 / 128, zeroPoint: 0 }, undefined, 0.03, -2)),
  ...variants('RELU', 'relu', 'requantizing RELU', unary('RELU', [1, 6, 6, 2], { scale: 0.03, zeroPoint: -128 })),
  ...variants('RELU6', 'relu6', 'RELU6 (input and output share quantization, as TFLM assumes)', unary('RELU6', [1, 6, 6, 2], 'same', undefined, 0.05, -10), { inputRange: [-8, 8] }),
  ...variants('LEAKY_RELU', 'leaky_relu', 'alpha 0.2', unary('LEAKY_RELU', [1, 6, 6, 2], { scale: 0.035, zeroPoint: -60 }, options.leakyRelu(0.2))),
  ...variants('HARD_SWISH', 'hard_swish', 'int16 fixed-point hard swish', unary('HARD_SWISH', [1, 6, 6, 2], { scale: 0.03, zeroPoint: -100 }, undefined, 0.05, -5), { inputRange: [-6, 6] }),
  ...quantizeModel(),
  ...variants('PAD', 'pad', 'asymmetric padding of H and W', pad([1, 4, 4, 2], [[0, 0], [1, 2], [2, 1], [0, 0]])),
  ...variants('MEAN', 'mean_hw_keepdims', 'mean over H and W, keep_dims (global average)', mean([1, 5, 5, 4], [1, 2], true)),
  ...variants('MEAN', 'mean_channels', 'mean over the last axis, keep_dims false', mean([1, 3, 3, 6], [3], false)),
  ...variants('CONCATENATION', 'concatenation_channels', 'two inputs along the channel axis', concat([[1, 3, 3, 2], [1, 3, 3, 3]], 3)),
  ...variants('CONCATENATION', 'concatenation_rows', 'three inputs along axis 1', concat([[1, 1, 4, 2], [1, 2, 4, 2], [1, 3, 4, 2]], 1)),
];

/** Deterministic random inputs for a model: uniform int8/uint8/int16 values, or floats in `range`. */
export function randomInputs(model: Model, seed: number, range: [number, number] = [-3, 3]): (Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array)[] {
  const random = mulberry32(seed);
  const graph = model.subgraphs[0];
  return graph.inputs.map((i) => {
    const t = graph.tensors[i];
    const n = shapeSize(t.shape);
    switch (t.type) {
      case 'int8': return Int8Array.from({ length: n }, () => Math.floor(random() * 256) - 128);
      case 'uint8': return Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
      case 'int16': return Int16Array.from({ length: n }, () => Math.floor(random() * 65536) - 32768);
      case 'float32': return Float32Array.from({ length: n }, () => range[0] + (range[1] - range[0]) * random());
      default: throw new Error(`randomInputs: input type ${t.type} is not supported`);
    }
  });
}
