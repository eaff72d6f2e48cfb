/**
 * The converter against tfjs itself: both demo architectures (random seeded weights) converted to
 * float .tflite give, in the lab's interpreter, the outputs tfjs gives (max abs diff <= 1e-5), and
 * keep the op structure the demo models promise (fused activations, depthwise path).
 */
import { describe, expect, it } from 'vitest';
import { pickImages } from '../../harness/datasets/image-set.js';
import { loadDemoEvalSet } from '../../harness/datasets/demo-sets.js';
import { readModel } from '../../harness/tflite/reader.js';
import { writeModel } from '../../harness/tflite/writer.js';
import { buildArchitecture, conversionOptions } from '../../scripts/models/architectures.js';
import { convertTfjsModel, floatAgreement } from '../../scripts/models/convert.js';
import { tf, useWasmBackend } from '../../scripts/models/tfjs-wasm.js';

const describeOps = (ops: { op: string; options: { kind: string; value?: unknown } }[]) =>
  ops.map((o) => {
    const act = (o.options.value as { fusedActivation?: string } | undefined)?.fusedActivation;
    return act && act !== 'NONE' ? `${o.op}+${act}` : o.op;
  });

describe('tfjs layers model -> float .tflite', () => {
  it.each(['cnn', 'mobilenet'] as const)('%s: the interpreter agrees with tfjs on 40 evaluation images', async (arch) => {
    await useWasmBackend();
    const model = buildArchitecture(arch, 11);
    // Make the activations non-trivial: scale the random weights so logits spread out, and give
    // batch norm layers statistics far from the identity so folding them is really tested.
    model.setWeights(model.getWeights().map((w) => tf.mul(w, 1.5)));
    let seed = 1;
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const [gamma, beta, mean, variance] = layer.getWeights();
      layer.setWeights([
        tf.randomUniform(gamma.shape, 0.5, 1.5, 'float32', seed++), tf.randomUniform(beta.shape, -0.5, 0.5, 'float32', seed++),
        tf.randomUniform(mean.shape, -0.5, 0.5, 'float32', seed++), tf.randomUniform(variance.shape, 0.5, 2, 'float32', seed++),
      ]);
    }
    const tflite = readModel(writeModel(convertTfjsModel(model, arch, conversionOptions[arch])));
    const set = pickImages(loadDemoEvalSet(), Array.from({ length: 40 }, (_, i) => i));
    const { maxAbsDiff } = floatAgreement(model, tflite, set);
    expect(maxAbsDiff).toBeLessThanOrEqual(1e-5);
    const ops = describeOps(tflite.subgraphs[0].operators);
    if (arch === 'cnn') {
      expect(ops).toEqual(['CONV_2D+RELU', 'MAX_POOL_2D', 'CONV_2D+RELU', 'MAX_POOL_2D', 'CONV_2D+RELU', 'AVERAGE_POOL_2D',
        'RESHAPE', 'FULLY_CONNECTED+RELU', 'FULLY_CONNECTED', 'SOFTMAX']);
    } else {
      // Batch norm folded away, ReLU6 fused: conv, 3 x (depthwise, pointwise), global average pool, the FC head.
      expect(ops).toEqual(['CONV_2D+RELU6', 'DEPTHWISE_CONV_2D+RELU6', 'CONV_2D+RELU6', 'DEPTHWISE_CONV_2D+RELU6', 'CONV_2D+RELU6',
        'DEPTHWISE_CONV_2D+RELU6', 'CONV_2D+RELU6', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED+RELU6', 'FULLY_CONNECTED', 'SOFTMAX']);
    }
  });
});
