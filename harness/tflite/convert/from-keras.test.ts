import { describe, expect, it } from 'vitest';
import { LabError } from '../../errors.js';
import { Interpreter } from '../interpreter.js';
import type { Model } from '../model.js';
import { readModel } from '../reader.js';
import { writeModel } from '../writer.js';
import { convertKerasModel } from './from-keras.js';
import type { KerasModelSpec } from './keras-model.js';

type Layer = { class_name: string; config: Record<string, unknown>; inbound?: string };

/** A functional Keras topology from a chain of layers (each reads the one before). */
function chain(layers: Layer[]): unknown {
  return {
    class_name: 'Model',
    config: {
      name: 'm',
      layers: layers.map((l, i) => ({
        name: l.config.name, class_name: l.class_name, config: l.config,
        inbound_nodes: i === 0 ? [] : [[[l.inbound ?? layers[i - 1].config.name, 0, 0, {}]]],
      })),
      output_layers: [[layers[layers.length - 1].config.name, 0, 0]],
    },
  };
}

const input = (shape: number[]): Layer => ({ class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, ...shape], dtype: 'float32' } });
const f32 = (values: number[]) => Float32Array.from(values);
const run = (model: Model, x: number[]): number[] => {
  const interpreter = new Interpreter(readModel(writeModel(model)));
  interpreter.setInput(0, x);
  interpreter.invoke();
  return Array.from(interpreter.output(0));
};
const constant = (model: Model, name: string): number[] => {
  const t = model.subgraphs[0].tensors.find((x) => x.name === name)!;
  const b = model.buffers[t.buffer];
  return Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
};

describe('Keras layers -> float TFLite', () => {
  it('lays out a Conv2D kernel [kh,kw,in,out] as OHWI and computes the same convolution', () => {
    // kernel [1, 2, 2, 3]: value = 100*kw + 10*in + out, so OHWI order is checkable by eye.
    const kernel: number[] = [];
    for (let kw = 0; kw < 2; kw++) for (let i = 0; i < 2; i++) for (let o = 0; o < 3; o++) kernel.push(100 * kw + 10 * i + o);
    const spec: KerasModelSpec = {
      topology: chain([input([1, 2, 2]), { class_name: 'Conv2D', config: { name: 'c', filters: 3, kernel_size: [1, 2], strides: [1, 1], padding: 'valid', activation: 'linear', use_bias: true } }]),
      weights: { c: { kernel: { shape: [1, 2, 2, 3], data: f32(kernel) }, bias: { shape: [3], data: f32([1, 2, 3]) } } },
    };
    const model = convertKerasModel(spec);
    expect(model.subgraphs[0].tensors.find((t) => t.name === 'c/kernel')!.shape).toEqual([3, 1, 2, 2]);
    expect(constant(model, 'c/kernel')).toEqual([0, 10, 100, 110, 1, 11, 101, 111, 2, 12, 102, 112]);
    // x = [[a0, a1], [b0, b1]] (w, in): out[o] = sum_kw,i x[kw][i] * k[kw][i][o] + bias[o]
    const x = [1, 2, 3, 4];
    const expected = [0, 1, 2].map((o) => 1 * o + 2 * (10 + o) + 3 * (100 + o) + 4 * (110 + o) + (o + 1));
    expect(run(model, x)).toEqual(expected);
  });

  it('transposes Dense [in,out] to FC [out,in], fuses its relu, and adds a SOFTMAX op for a softmax activation', () => {
    const spec: KerasModelSpec = {
      topology: chain([
        input([3]),
        { class_name: 'Dense', config: { name: 'd', units: 2, activation: 'relu', use_bias: true } },
        { class_name: 'Dense', config: { name: 'p', units: 2, activation: 'softmax', use_bias: false } },
      ]),
      weights: {
        d: { kernel: { shape: [3, 2], data: f32([1, -1, 2, -2, 3, -3]) }, bias: { shape: [2], data: f32([0.5, 0.5]) } },
        p: { kernel: { shape: [2, 2], data: f32([1, 0, 0, 1]) } },
      },
    };
    const model = convertKerasModel(spec);
    const ops = model.subgraphs[0].operators;
    expect(ops.map((o) => o.op)).toEqual(['FULLY_CONNECTED', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(ops[0].options).toMatchObject({ kind: 'FullyConnected', value: { fusedActivation: 'RELU' } });
    expect(ops[1].inputs[2]).toBe(-1);
    expect(constant(model, 'd/kernel')).toEqual([1, 2, 3, -1, -2, -3]);
    // hidden = relu([1+4+9+0.5, -(1+4+9)+0.5]) = [14.5, 0]; softmax([14.5, 0])
    const [a, b] = run(model, [1, 2, 3]);
    expect(a).toBeCloseTo(1 / (1 + Math.exp(-14.5)), 6);
    expect(b).toBeCloseTo(Math.exp(-14.5) / (1 + Math.exp(-14.5)), 6);
  });

  it('keeps a depthwise kernel [kh,kw,in,mult] as [1,kh,kw,in*mult] and folds batch norm into it', () => {
    const spec: KerasModelSpec = {
      topology: chain([
        input([2, 2, 2]),
        { class_name: 'DepthwiseConv2D', config: { name: 'dw', kernel_size: [2, 2], strides: [1, 1], padding: 'valid', depth_multiplier: 1, use_bias: false, activation: 'linear' } },
        { class_name: 'BatchNormalization', config: { name: 'bn', axis: -1, epsilon: 0.25, center: true, scale: true } },
        { class_name: 'ReLU', config: { name: 'r', max_value: 6 } },
      ]),
      weights: {
        dw: { depthwise_kernel: { shape: [2, 2, 2, 1], data: f32([1, 2, 3, 4, 5, 6, 7, 8]) } },
        bn: {
          gamma: { shape: [2], data: f32([2, 1]) }, beta: { shape: [2], data: f32([1, -1]) },
          moving_mean: { shape: [2], data: f32([10, 0]) }, moving_variance: { shape: [2], data: f32([0.75, 3.75]) },
        },
      },
    };
    const model = convertKerasModel(spec);
    const ops = model.subgraphs[0].operators;
    expect(ops.map((o) => o.op)).toEqual(['DEPTHWISE_CONV_2D']);
    expect(ops[0].options).toMatchObject({ kind: 'DepthwiseConv2D', value: { fusedActivation: 'RELU6', depthMultiplier: 1 } });
    // scale = gamma / sqrt(var + eps) = [2 / 1, 1 / 2]; kernel channel 0 *2, channel 1 *0.5.
    expect(model.subgraphs[0].tensors.find((t) => t.name === 'dw/depthwise_kernel')!.shape).toEqual([1, 2, 2, 2]);
    expect(constant(model, 'dw/depthwise_kernel')).toEqual([2, 1, 6, 2, 10, 3, 14, 4]);
    expect(constant(model, 'dw/bias')).toEqual([(0 - 10) * 2 + 1, (0 - 0) * 0.5 - 1]);
    // x = 0.1 everywhere: channel 0: 0.1*(1+3+5+7)=1.6 -> bn (1.6-10)*2+1 = -15.8 -> relu6 0;
    // channel 1: 0.1*(2+4+6+8)=2 -> (2-0)*0.5-1 = 0 -> 0. With x = 1: ch0 16 -> 13 -> 6; ch1 20 -> 9 -> 6.
    expect(run(model, new Array(8).fill(0.1)).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0, 0]);
    expect(run(model, new Array(8).fill(1))).toEqual([6, 6]);
  });

  it('turns pooling, global average pooling and flatten into MAX_POOL_2D, AVERAGE_POOL_2D, MEAN and RESHAPE', () => {
    const spec: KerasModelSpec = {
      topology: chain([
        input([4, 4, 1]),
        { class_name: 'MaxPooling2D', config: { name: 'mp', pool_size: [2, 2], strides: null, padding: 'valid' } },
        { class_name: 'AveragePooling2D', config: { name: 'ap', pool_size: [2, 2], strides: [1, 1], padding: 'same' } },
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        { class_name: 'Flatten', config: { name: 'fl' } },
      ]),
      weights: {},
    };
    const model = convertKerasModel(spec);
    expect(model.subgraphs[0].operators.map((o) => o.op)).toEqual(['MAX_POOL_2D', 'AVERAGE_POOL_2D', 'MEAN', 'RESHAPE']);
    const x = Array.from({ length: 16 }, (_, i) => i);
    // max pool 2x2 -> [[5, 7], [13, 15]]; SAME avg pool 2x2 stride 1 -> [[10, 11], [14, 15]]; mean 12.5
    expect(run(model, x)).toEqual([12.5]);
  });

  it('makes global average pooling AVERAGE_POOL_2D + RESHAPE on request', () => {
    const spec: KerasModelSpec = {
      topology: chain([input([2, 2, 3]), { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } }]),
      weights: {},
    };
    const model = convertKerasModel(spec, { globalAveragePooling: 'AVERAGE_POOL_2D' });
    const ops = model.subgraphs[0].operators;
    expect(ops.map((o) => o.op)).toEqual(['AVERAGE_POOL_2D', 'RESHAPE']);
    expect(ops[0].options).toMatchObject({ kind: 'Pool2D', value: { filterHeight: 2, filterWidth: 2, padding: 'VALID' } });
    expect(model.subgraphs[0].tensors[model.subgraphs[0].outputs[0]].shape).toEqual([1, 3]);
    // channels: (0+3+6+9)/4, (1+4+7+10)/4, (2+5+8+11)/4
    expect(run(model, Array.from({ length: 12 }, (_, i) => i))).toEqual([4.5, 5.5, 6.5]);
  });

  it('keeps a ReLU as its own op when the conv output is read twice', () => {
    const spec: KerasModelSpec = {
      topology: {
        class_name: 'Model',
        config: {
          layers: [
            { name: 'x', class_name: 'InputLayer', config: { batch_input_shape: [null, 2] }, inbound_nodes: [] },
            { name: 'd', class_name: 'Dense', config: { units: 2, activation: 'linear' }, inbound_nodes: [[['x', 0, 0, {}]]] },
            { name: 'r', class_name: 'ReLU', config: { max_value: null }, inbound_nodes: [[['d', 0, 0, {}]]] },
          ],
          output_layers: [['r', 0, 0], ['d', 0, 0]],
        },
      },
      weights: { d: { kernel: { shape: [2, 2], data: f32([1, 0, 0, 1]) }, bias: { shape: [2], data: f32([0, 0]) } } },
    };
    const model = convertKerasModel(spec);
    expect(model.subgraphs[0].operators.map((o) => o.op)).toEqual(['FULLY_CONNECTED', 'RELU']);
    expect(model.subgraphs[0].outputs).toHaveLength(2);
  });

  it('names the layer and the fix when it cannot convert', () => {
    const attempt = (layers: Layer[], weights: KerasModelSpec['weights'] = {}) => {
      try {
        convertKerasModel({ topology: chain(layers), weights }, { source: 'net.json' });
      } catch (e) {
        expect(e).toBeInstanceOf(LabError);
        return (e as Error).message;
      }
      return 'converted';
    };
    expect(attempt([input([4]), { class_name: 'GRU', config: { name: 'g' } }])).toMatch(/^net\.json: layer 'g' \(GRU\): is not supported by the converter \(supported: InputLayer, Conv2D/);
    expect(attempt([input([4]), { class_name: 'Dense', config: { name: 'd', units: 2 } }])).toBe("net.json: layer 'd' (Dense): weight 'kernel' is missing (has: none)");
    expect(attempt([input([2, 2, 1]), { class_name: 'Dense', config: { name: 'd', units: 2 } }])).toMatch(/expects a \[batch, features\] input, got \[1, 2, 2, 1\] \(add a Flatten before it\)/);
    expect(attempt([input([4]), { class_name: 'ReLU', config: { name: 'r', max_value: 3 } }])).toMatch(/max_value 3 has no TFLite op/);
    expect(attempt([input([4]), { class_name: 'Dense', config: { name: 'd', units: 2 } }], { d: { kernel: { shape: [4, 3], data: new Float32Array(12) } } }))
      .toMatch(/weight 'kernel' has shape \[4, 3\], expected \[4, 2\]/);
    expect(attempt([input([4]), { class_name: 'BatchNormalization', config: { name: 'bn' } }])).toMatch(/can only be folded into a Conv2D/);
  });
});
