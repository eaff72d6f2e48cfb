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
import { buildArchitecture } from '../../scripts/models/architectures.js';
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
    // Make the activations non-trivial: scale the random weights so logits spread out.
    model.setWeights(model.getWeights().map((w) => tf.mul(w, 1.5)));
    const tflite = readModel(writeModel(convertTfjsModel(model, arch)));
    const set = pickImages(loadDemoEvalSet(), Array.from({ length: 40 }, (_, i) => i));
    const { maxAbsDiff } = floatAgreement(model, tflite, set);
    expect(maxAbsDiff).toBeLessThanOrEqual(1e-5);
    const ops = describeOps(tflite.subgraphs[0].operators);
    if (arch === 'cnn') {
      expect(ops).toEqual(['CONV_2D+RELU', 'MAX_POOL_2D', 'CONV_2D+RELU', 'MAX_POOL_2D', 'CONV_2D+RELU', 'AVERAGE_POOL_2D',
        'RESHAPE', 'FULLY_CONNECTED+RELU', 'FULLY_CONNECTED', 'SOFTMAX']);
    } else {
      expect(ops.filter((o) => o === 'DEPTHWISE_CONV_2D+RELU6')).toHaveLength(4);
      expect(ops.slice(-3)).toEqual(['MEAN', 'FULLY_CONNECTED', 'SOFTMAX']);
    }
  });
});
