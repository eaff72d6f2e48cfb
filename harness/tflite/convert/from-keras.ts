/**
 * Float `.tflite` from a Keras-style layers model (tfjs or Keras), built with GraphBuilder: what
 * the TFLite converter does for the layers small vision models use.
 * - Weight layouts (tensorflow lite/schema: filters OHWI, depthwise [1, kh, kw, in*mult], FC [out, in]):
 *   Conv2D [kh,kw,in,out] -> [out,kh,kw,in]; DepthwiseConv2D [kh,kw,in,mult] -> [1,kh,kw,in*mult]
 *   (the same bytes: channel c*mult+m); Dense [in,out] -> [out,in].
 * - BatchNormalization after a conv / dense is folded into its weights and bias.
 * - ReLU / ReLU6 after a conv, depthwise conv or dense (and the layers' own `activation`) become
 *   the op's fused activation, as the converter fuses them; elsewhere they are RELU / RELU6 ops.
 * - Conv and depthwise conv always get a bias tensor (zeros when the layer has none), as the
 *   converter emits; quantization then gives every conv an int32 bias.
 * - Flatten / Reshape are RESHAPE, GlobalAveragePooling2D is MEAN over H and W (or, on request,
 *   AVERAGE_POOL_2D + RESHAPE), Dropout vanishes.
 * The input is float32 with batch 1. Layers outside this list end in a LabError naming them.
 */
import { LabError } from '../../errors.js';
import { GraphBuilder, options } from '../builder.js';
import type { FusedActivation, Model, OperatorOptions } from '../model.js';
import { shapeSize } from '../model.js';
import type { KerasLayer, KerasModelSpec, WeightArray } from './keras-model.js';

export interface ConvertOptions {
  /** Names the model in errors (e.g. the training script or file). */
  source?: string;
  description?: string;
  /**
   * How GlobalAveragePooling2D becomes TFLite: MEAN over H and W (what the TFLite converter emits,
   * the default) or AVERAGE_POOL_2D over the whole feature map followed by RESHAPE (what
   * MobileNet v1 / person_detect use; ESP-NN accelerates int8 average pooling but not MEAN, and
   * TFLite's int8 MEAN rounds differently from TFLM's).
   */
  globalAveragePooling?: 'MEAN' | 'AVERAGE_POOL_2D';
}

interface IrTensor {
  name: string;
  shape: number[];
  type: 'float32' | 'int32';
  data?: ArrayLike<number>;
}

interface IrOp {
  op: string;
  inputs: number[];
  output: number;
  options: OperatorOptions;
  /** Layer that made the op, for fusions and errors. */
  layer: string;
}

const SUPPORTED_LAYERS = [
  'InputLayer', 'Conv2D', 'DepthwiseConv2D', 'Dense', 'MaxPooling2D', 'AveragePooling2D',
  'GlobalAveragePooling2D', 'Flatten', 'Reshape', 'Dropout', 'BatchNormalization', 'Activation',
  'ReLU', 'LeakyReLU', 'Softmax',
];

/** Reads the layer list of a Keras topology (functional `Model` / `Functional`, or `Sequential`). */
export function kerasLayers(topology: unknown, source: string): { layers: KerasLayer[]; outputs: string[] } {
  const fail = (why: string): never => { throw new LabError('model-convert', `${source}: not a Keras layers topology: ${why}`); };
  const top = topology as { class_name?: unknown; config?: unknown };
  if (typeof top !== 'object' || top === null) return fail('expected an object with class_name and config');
  const config = top.config as { layers?: unknown; output_layers?: unknown } | unknown[];
  const rawLayers = Array.isArray(config) ? config : (config as { layers?: unknown })?.layers;
  if (!Array.isArray(rawLayers)) return fail('config.layers is missing');
  const sequential = top.class_name === 'Sequential';
  const layers: KerasLayer[] = [];
  for (const [i, raw] of rawLayers.entries()) {
    const l = raw as { class_name?: unknown; config?: Record<string, unknown>; name?: unknown; inbound_nodes?: unknown };
    if (typeof l?.class_name !== 'string' || typeof l.config !== 'object' || l.config === null) fail(`layer ${i} has no class_name/config`);
    const name = String(l.name ?? l.config!.name ?? `layer_${i}`);
    let inbound: string[] = [];
    if (sequential) {
      inbound = layers.length === 0 ? [] : [layers[layers.length - 1].name];
    } else {
      const nodes = l.inbound_nodes as unknown[][] | undefined;
      if (nodes && nodes.length > 1) fail(`layer '${name}' is called ${nodes.length} times (shared layers are not supported)`);
      inbound = (nodes?.[0] ?? []).map((n) => String((n as unknown[])[0]));
    }
    layers.push({ name, className: l.class_name as string, config: l.config!, inbound });
  }
  // A Sequential model without an explicit InputLayer declares its input shape on the first layer.
  if (sequential && layers[0] && layers[0].className !== 'InputLayer') {
    const shape = layers[0].config.batch_input_shape;
    if (!Array.isArray(shape)) fail(`the first layer '${layers[0].name}' has no batch_input_shape`);
    layers.unshift({ name: `${layers[0].name}_input`, className: 'InputLayer', config: { batch_input_shape: shape }, inbound: [] });
    layers[1].inbound = [layers[0].name];
  }
  let outputs: string[];
  const outputLayers = (config as { output_layers?: unknown }).output_layers;
  if (!sequential && Array.isArray(outputLayers)) outputs = outputLayers.map((o) => String((o as unknown[])[0]));
  else outputs = [layers[layers.length - 1]?.name ?? fail('no layers')];
  return { layers, outputs };
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

/** Output size of a window op along one axis (TensorFlow's SAME / VALID rules). */
function windowOut(size: number, filter: number, stride: number, dilation: number, padding: 'SAME' | 'VALID'): number {
  return padding === 'SAME' ? Math.ceil(size / stride) : Math.ceil((size - (filter - 1) * dilation) / stride);
}

export function convertKerasModel(spec: KerasModelSpec, opts: ConvertOptions = {}): Model {
  const source = opts.source ?? 'layers model';
  const { layers, outputs } = kerasLayers(spec.topology, source);
  const fail = (layer: KerasLayer, why: string): never => {
    throw new LabError('model-convert', `${source}: layer '${layer.name}' (${layer.className}): ${why}`);
  };
  const tensors: IrTensor[] = [];
  const ops: IrOp[] = [];
  const value = new Map<string, number>(); // layer name -> IR tensor holding its output
  const graphInputs: number[] = [];
  const producer = new Map<number, IrOp>();
  const consumers = new Map<string, number>();
  for (const l of layers) for (const n of l.inbound) consumers.set(n, (consumers.get(n) ?? 0) + 1);
  for (const o of outputs) consumers.set(o, (consumers.get(o) ?? 0) + 1);

  const addTensor = (t: IrTensor): number => tensors.push(t) - 1;
  const addOp = (layer: KerasLayer, op: string, inputs: number[], shape: number[], opOptions: OperatorOptions): number => {
    const output = addTensor({ name: layer.name, shape, type: 'float32' });
    const ir: IrOp = { op, inputs, output, options: opOptions, layer: layer.name };
    ops.push(ir);
    producer.set(output, ir);
    return output;
  };
  const weight = (layer: KerasLayer, name: string, shape?: number[]): WeightArray => {
    const w = spec.weights[layer.name]?.[name];
    if (!w) return fail(layer, `weight '${name}' is missing (has: ${Object.keys(spec.weights[layer.name] ?? {}).join(', ') || 'none'})`);
    if (w.data.length !== shapeSize(w.shape)) fail(layer, `weight '${name}' has ${w.data.length} values for shape [${w.shape.join(', ')}]`);
    if (shape && (w.shape.length !== shape.length || w.shape.some((d, i) => shape[i] >= 0 && d !== shape[i]))) {
      fail(layer, `weight '${name}' has shape [${w.shape.join(', ')}], expected [${shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`);
    }
    return w;
  };
  const input = (layer: KerasLayer): number => {
    if (layer.inbound.length !== 1) fail(layer, `takes ${layer.inbound.length} inputs; only single-input layers are supported`);
    const v = value.get(layer.inbound[0]);
    if (v === undefined) return fail(layer, `its input '${layer.inbound[0]}' comes later in the layer list`);
    return v;
  };
  /**
   * Folds an activation into the op that made `t` when TFLite would: the producer is a conv,
   * depthwise conv or FC with no activation yet, and nothing else reads `t`.
   */
  const tryFuse = (t: number, producerLayer: string, act: FusedActivation, ownActivation: boolean): boolean => {
    const p = producer.get(t);
    if (!p || !['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'].includes(p.op)) return false;
    if (!ownActivation && ((consumers.get(producerLayer) ?? 0) !== 1 || outputs.includes(producerLayer))) return false;
    const o = p.options as { value: { fusedActivation: FusedActivation } };
    if (o.value.fusedActivation !== 'NONE') return false;
    o.value.fusedActivation = act;
    return true;
  };
  const activation = (layer: KerasLayer, t: number, fromLayer: string, name: string): number => {
    const fused: Record<string, FusedActivation> = { relu: 'RELU', relu6: 'RELU6' };
    const standalone: Record<string, string> = { relu: 'RELU', relu6: 'RELU6', sigmoid: 'LOGISTIC', tanh: 'TANH', softmax: 'SOFTMAX' };
    if (name === 'linear') return t;
    if (!(name in standalone)) return fail(layer, `activation '${name}' is not supported (use ${Object.keys(standalone).join(', ')} or linear)`);
    if (fused[name] && tryFuse(t, fromLayer, fused[name], fromLayer === layer.name)) {
      tensors[t].name = layer.name;
      return t;
    }
    const op = standalone[name];
    return addOp(layer, op, [t], tensors[t].shape, op === 'SOFTMAX' ? options.softmax(1) : options.none());
  };

  for (const layer of layers) {
    const c = layer.config;
    switch (layer.className) {
      case 'InputLayer': {
        const shape = (c.batch_input_shape ?? c.batch_shape) as (number | null)[] | undefined;
        if (!Array.isArray(shape) || shape.slice(1).some((d) => typeof d !== 'number' || d <= 0)) {
          fail(layer, `needs a fixed input shape, found ${JSON.stringify(shape)}`);
        }
        if (c.dtype !== undefined && c.dtype !== 'float32') fail(layer, `input dtype ${String(c.dtype)} is not float32`);
        const t = addTensor({ name: layer.name, shape: [1, ...(shape!.slice(1) as number[])], type: 'float32' });
        graphInputs.push(t);
        value.set(layer.name, t);
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const x = input(layer);
        const [, h, w, inC] = tensors[x].shape;
        if (tensors[x].shape.length !== 4) fail(layer, `expects an NHWC input, got [${tensors[x].shape.join(', ')}]`);
        if (c.data_format !== undefined && c.data_format !== 'channels_last') fail(layer, `data_format ${String(c.data_format)} is not channels_last`);
        if (c.groups !== undefined && c.groups !== 1) fail(layer, 'grouped convolution is not supported');
        const [kh, kw] = pair(c.kernel_size, 1);
        const [sh, sw] = pair(c.strides, 1);
        const [dh, dw] = pair(c.dilation_rate, 1);
        const padding = String(c.padding).toUpperCase();
        if (padding !== 'SAME' && padding !== 'VALID') return fail(layer, `padding '${String(c.padding)}' is not same or valid`);
        const depthwise = layer.className === 'DepthwiseConv2D';
        const mult = depthwise ? Number(c.depth_multiplier ?? 1) : 1;
        const outC = depthwise ? inC * mult : Number(c.filters);
        const kernel = depthwise ? weight(layer, 'depthwise_kernel', [kh, kw, inC, mult]) : weight(layer, 'kernel', [kh, kw, inC, outC]);
        let filter: Float32Array;
        let filterShape: number[];
        if (depthwise) {
          filter = kernel.data.slice(); // [kh][kw][in][mult] is already [1][kh][kw][in*mult]
          filterShape = [1, kh, kw, outC];
        } else {
          filter = new Float32Array(outC * kh * kw * inC);
          for (let o = 0; o < outC; o++) for (let i = 0; i < kh * kw * inC; i++) filter[o * kh * kw * inC + i] = kernel.data[i * outC + o];
          filterShape = [outC, kh, kw, inC];
        }
        const bias = c.use_bias === false ? new Float32Array(outC) : weight(layer, 'bias', [outC]).data.slice();
        const f = addTensor({ name: `${layer.name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`, shape: filterShape, type: 'float32', data: filter });
        const b = addTensor({ name: `${layer.name}/bias`, shape: [outC], type: 'float32', data: bias });
        const outShape = [1, windowOut(h, kh, sh, dh, padding), windowOut(w, kw, sw, dw, padding), outC];
        const common = { padding, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } as const;
        const t = addOp(layer, depthwise ? 'DEPTHWISE_CONV_2D' : 'CONV_2D', [x, f, b], outShape,
          depthwise ? options.depthwiseConv2d({ ...common, depthMultiplier: mult }) : options.conv2d(common));
        value.set(layer.name, activation(layer, t, layer.name, String(c.activation ?? 'linear')));
        break;
      }
      case 'Dense': {
        const x = input(layer);
        const inShape = tensors[x].shape;
        if (inShape.length !== 2) fail(layer, `expects a [batch, features] input, got [${inShape.join(', ')}] (add a Flatten before it)`);
        const units = Number(c.units);
        const kernel = weight(layer, 'kernel', [inShape[1], units]);
        const filter = new Float32Array(units * inShape[1]);
        for (let o = 0; o < units; o++) for (let i = 0; i < inShape[1]; i++) filter[o * inShape[1] + i] = kernel.data[i * units + o];
        const f = addTensor({ name: `${layer.name}/kernel`, shape: [units, inShape[1]], type: 'float32', data: filter });
        const b = c.use_bias === false ? -1 : addTensor({ name: `${layer.name}/bias`, shape: [units], type: 'float32', data: weight(layer, 'bias', [units]).data.slice() });
        const t = addOp(layer, 'FULLY_CONNECTED', [x, f, b], [1, units], options.fullyConnected());
        value.set(layer.name, activation(layer, t, layer.name, String(c.activation ?? 'linear')));
        break;
      }
      case 'BatchNormalization': {
        const x = input(layer);
        const p = producer.get(x);
        const from = layer.inbound[0];
        const axis = Number(c.axis ?? -1);
        if (axis !== -1 && axis !== tensors[x].shape.length - 1) fail(layer, `normalises axis ${axis}; only the channel (last) axis can be folded`);
        if (!p || !['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'].includes(p.op) || (consumers.get(from) ?? 0) !== 1
          || (p.options as { value: { fusedActivation: FusedActivation } }).value.fusedActivation !== 'NONE') {
          fail(layer, 'can only be folded into a Conv2D, DepthwiseConv2D or Dense that feeds nothing else and has no activation');
        }
        const channels = tensors[x].shape[tensors[x].shape.length - 1];
        const ones = new Float32Array(channels).fill(1);
        const gamma = c.scale === false ? ones : weight(layer, 'gamma', [channels]).data;
        const beta = c.center === false ? new Float32Array(channels) : weight(layer, 'beta', [channels]).data;
        const mean = weight(layer, 'moving_mean', [channels]).data;
        const variance = weight(layer, 'moving_variance', [channels]).data;
        const epsilon = Number(c.epsilon ?? 1e-3);
        const filter = tensors[p!.inputs[1]];
        let biasIndex = p!.inputs[2];
        if (biasIndex === -1) biasIndex = p!.inputs[2] = addTensor({ name: `${p!.layer}/bias`, shape: [channels], type: 'float32', data: new Float32Array(channels) });
        const bias = tensors[biasIndex].data as Float32Array;
        const w = filter.data as Float32Array;
        // y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta, per output channel: scale the
        // filter's output channel (dim 0 of OHWI / FC, last dim of depthwise) and fix up the bias.
        const perChannel = p!.op === 'DEPTHWISE_CONV_2D';
        const inner = w.length / channels;
        for (let ch = 0; ch < channels; ch++) {
          const s = gamma[ch] / Math.sqrt(variance[ch] + epsilon);
          for (let i = 0; i < inner; i++) w[perChannel ? i * channels + ch : ch * inner + i] *= s;
          bias[ch] = (bias[ch] - mean[ch]) * s + beta[ch];
        }
        tensors[x].name = layer.name;
        value.set(layer.name, x);
        break;
      }
      case 'Activation':
        value.set(layer.name, activation(layer, input(layer), layer.inbound[0], String(c.activation)));
        break;
      case 'ReLU': {
        const maxValue = c.max_value === null || c.max_value === undefined ? null : Number(c.max_value);
        if (Number(c.negative_slope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0) fail(layer, 'negative_slope and threshold must be 0');
        if (maxValue !== null && maxValue !== 6) fail(layer, `max_value ${maxValue} has no TFLite op (only none or 6)`);
        value.set(layer.name, activation(layer, input(layer), layer.inbound[0], maxValue === 6 ? 'relu6' : 'relu'));
        break;
      }
      case 'LeakyReLU': {
        const x = input(layer);
        value.set(layer.name, addOp(layer, 'LEAKY_RELU', [x], tensors[x].shape, options.leakyRelu(Number(c.alpha ?? c.negative_slope ?? 0.3))));
        break;
      }
      case 'Softmax': {
        const x = input(layer);
        const axis = Number(c.axis ?? -1);
        if (axis !== -1 && axis !== tensors[x].shape.length - 1) fail(layer, `softmax over axis ${axis}; TFLite SOFTMAX works on the last axis`);
        value.set(layer.name, addOp(layer, 'SOFTMAX', [x], tensors[x].shape, options.softmax(1)));
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const x = input(layer);
        const [, h, w, ch] = tensors[x].shape;
        const [ph, pw] = pair(c.pool_size, 2);
        const [sh, sw] = c.strides === null || c.strides === undefined ? [ph, pw] : pair(c.strides, 1);
        const padding = String(c.padding ?? 'valid').toUpperCase();
        if (padding !== 'SAME' && padding !== 'VALID') return fail(layer, `padding '${String(c.padding)}' is not same or valid`);
        const shape = [1, windowOut(h, ph, sh, 1, padding), windowOut(w, pw, sw, 1, padding), ch];
        value.set(layer.name, addOp(layer, layer.className === 'MaxPooling2D' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', [x], shape,
          options.pool2d({ padding, strideH: sh, strideW: sw, filterHeight: ph, filterWidth: pw })));
        break;
      }
      case 'GlobalAveragePooling2D': {
        const x = input(layer);
        const [, h, w, ch] = tensors[x].shape;
        const keep = c.keepdims === true;
        if (opts.globalAveragePooling === 'AVERAGE_POOL_2D') {
          const pooledLayer = { ...layer, name: keep ? layer.name : `${layer.name}/pool` };
          let t = addOp(pooledLayer, 'AVERAGE_POOL_2D', [x], [1, 1, 1, ch],
            options.pool2d({ padding: 'VALID', strideH: 1, strideW: 1, filterHeight: h, filterWidth: w }));
          if (!keep) {
            const shapeTensor = addTensor({ name: `${layer.name}/shape`, shape: [2], type: 'int32', data: [1, ch] });
            t = addOp(layer, 'RESHAPE', [t, shapeTensor], [1, ch], options.reshape([1, ch]));
          }
          value.set(layer.name, t);
          break;
        }
        const axes = addTensor({ name: `${layer.name}/axes`, shape: [2], type: 'int32', data: [1, 2] });
        value.set(layer.name, addOp(layer, 'MEAN', [x, axes], keep ? [1, 1, 1, ch] : [1, ch], options.reducer(keep)));
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        const x = input(layer);
        const count = shapeSize(tensors[x].shape);
        let target = layer.className === 'Flatten' ? [count] : (c.target_shape as number[]).map(Number);
        const unknown = target.indexOf(-1);
        if (unknown >= 0) target[unknown] = count / shapeSize(target.filter((d) => d !== -1));
        target = [1, ...target];
        if (shapeSize(target) !== count) fail(layer, `cannot reshape [${tensors[x].shape.join(', ')}] to [${target.join(', ')}]`);
        const shapeTensor = addTensor({ name: `${layer.name}/shape`, shape: [target.length], type: 'int32', data: target });
        value.set(layer.name, addOp(layer, 'RESHAPE', [x, shapeTensor], target, options.reshape(target)));
        break;
      }
      case 'Dropout':
      case 'SpatialDropout2D':
        value.set(layer.name, input(layer));
        break;
      default:
        fail(layer, `is not supported by the converter (supported: ${SUPPORTED_LAYERS.join(', ')})`);
    }
  }

  return emit(tensors, ops, graphInputs, outputs.map((o) => value.get(o)!), opts.description ?? `Converted by the lab from the layers model in ${source} (harness/tflite/convert)`);
}

/** Writes the IR into a GraphBuilder, keeping only tensors that ops or the I/O use. */
function emit(tensors: IrTensor[], ops: IrOp[], inputs: number[], outputs: number[], description: string): Model {
  const g = new GraphBuilder({ name: 'main', description });
  const index = new Map<number, number>();
  const ref = (t: number): number => {
    if (t === -1) return -1;
    let i = index.get(t);
    if (i === undefined) {
      const ir = tensors[t];
      i = ir.data ? g.addConstant(ir.type, ir.shape, ir.data, null, ir.name) : g.addTensor({ name: ir.name, type: ir.type, shape: ir.shape });
      index.set(t, i);
    }
    return i;
  };
  const inputIndices = inputs.map(ref);
  for (const op of ops) g.addOperator(op.op, op.inputs.map(ref), [ref(op.output)], op.options);
  g.setInputs(inputIndices).setOutputs(outputs.map(ref));
  return g.build();
}
