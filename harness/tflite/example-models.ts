/**
 * Small models the lab makes itself with `GraphBuilder`: the example `npm start` inspects, and the
 * models the toolkit's own tests (round trip, fuzzing, planner, profile) run on without ../shared.
 * Weights come from a seeded PRNG, so every build is byte-identical.
 */
import { mulberry32 } from '../datasets/random.js';
import { GraphBuilder, options } from './builder.js';
import type { Model } from './model.js';

function ints(n: number, lo: number, hi: number, random: () => number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(random() * (hi - lo + 1)));
}

/**
 * A tiny int8 image classifier in the shape of person_detect: 8x8x1 input -> CONV_2D 3x3 (4 ch,
 * per-channel weights, RELU6) -> DEPTHWISE_CONV_2D 3x3 stride 2 -> AVERAGE_POOL_2D 2x2 -> RESHAPE
 * -> FULLY_CONNECTED (3 classes) -> SOFTMAX.
 */
export function tinyConvInt8(): Model {
  const random = mulberry32(20240601);
  const g = new GraphBuilder({ name: 'tiny_conv_int8', description: 'Example int8 model made by the lab' });
  const act = (name: string, shape: number[], scale: number, zeroPoint: number): number =>
    g.addTensor({ name, type: 'int8', shape, quantization: { scale, zeroPoint } });

  const input = act('input', [1, 8, 8, 1], 1 / 127.5, -1);
  const convScales = [0.011, 0.009, 0.013, 0.01];
  const convW = g.addConstant('int8', [4, 3, 3, 1], ints(36, -127, 127, random),
    { scale: convScales, zeroPoint: [0, 0, 0, 0], quantizedDimension: 0 }, 'conv/weights');
  const convB = g.addConstant('int32', [4], ints(4, -500, 500, random),
    { scale: convScales.map((s) => s / 127.5), zeroPoint: [0, 0, 0, 0] }, 'conv/bias');
  const conv = act('conv/relu6', [1, 8, 8, 4], 6 / 255, -128);
  g.addOperator('CONV_2D', [input, convW, convB], [conv], options.conv2d({ padding: 'SAME', fusedActivation: 'RELU6' }), { version: 3 });

  const dwScales = [0.02, 0.015, 0.018, 0.021];
  const dwW = g.addConstant('int8', [1, 3, 3, 4], ints(36, -127, 127, random),
    { scale: dwScales, zeroPoint: [0, 0, 0, 0], quantizedDimension: 3 }, 'dw/weights');
  const dwB = g.addConstant('int32', [4], ints(4, -300, 300, random),
    { scale: dwScales.map((s) => (s * 6) / 255), zeroPoint: [0, 0, 0, 0] }, 'dw/bias');
  const dw = act('dw/relu6', [1, 4, 4, 4], 6 / 255, -128);
  g.addOperator('DEPTHWISE_CONV_2D', [conv, dwW, dwB], [dw],
    options.depthwiseConv2d({ padding: 'SAME', strideW: 2, strideH: 2, fusedActivation: 'RELU6' }), { version: 3 });

  const pool = act('pool', [1, 2, 2, 4], 6 / 255, -128);
  g.addOperator('AVERAGE_POOL_2D', [dw], [pool], options.pool2d({ filterWidth: 2, filterHeight: 2, strideW: 2, strideH: 2 }), { version: 2 });

  const shape = g.addConstant('int32', [2], [1, 16], null, 'reshape/shape');
  const flat = act('flat', [1, 16], 6 / 255, -128);
  g.addOperator('RESHAPE', [pool, shape], [flat], options.reshape([1, 16]));

  const fcW = g.addConstant('int8', [3, 16], ints(48, -127, 127, random), { scale: 0.012, zeroPoint: 0 }, 'fc/weights');
  const fcB = g.addConstant('int32', [3], ints(3, -200, 200, random), { scale: (0.012 * 6) / 255, zeroPoint: 0 }, 'fc/bias');
  const logits = act('logits', [1, 3], 0.05, 3);
  g.addOperator('FULLY_CONNECTED', [flat, fcW, fcB], [logits], options.fullyConnected(), { version: 4 });

  const probs = act('probs', [1, 3], 1 / 256, -128);
  g.addOperator('SOFTMAX', [logits], [probs], options.softmax(1), { version: 2 });
  g.setInputs([input]).setOutputs([probs]);
  return g.build();
}

/** A float32 two-layer perceptron: [1,4] -> FC 8 (RELU) -> FC 2, like hello_world_float. */
export function mlpFloat(): Model {
  const random = mulberry32(7);
  const floats = (n: number): number[] => Array.from({ length: n }, () => Math.fround(random() * 2 - 1));
  const g = new GraphBuilder({ name: 'mlp_float' });
  const x = g.addTensor({ name: 'x', type: 'float32', shape: [1, 4] });
  const w1 = g.addConstant('float32', [8, 4], floats(32), null, 'w1');
  const b1 = g.addConstant('float32', [8], floats(8), null, 'b1');
  const h = g.addTensor({ name: 'h', type: 'float32', shape: [1, 8] });
  g.addOperator('FULLY_CONNECTED', [x, w1, b1], [h], options.fullyConnected({ fusedActivation: 'RELU' }));
  const w2 = g.addConstant('float32', [2, 8], floats(16), null, 'w2');
  const y = g.addTensor({ name: 'y', type: 'float32', shape: [1, 2] });
  g.addOperator('FULLY_CONNECTED', [h, w2, -1], [y]);
  g.setInputs([x]).setOutputs([y]);
  return g.build();
}
