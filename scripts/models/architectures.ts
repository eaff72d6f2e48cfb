/**
 * The two demo architectures (Keras-style tfjs layers). Both take a float32 [1,28,28,1] image in
 * [0, 1] and end in a 10-way softmax. They are sized for an ESP32-S3: INT8 weights well under
 * 100 KB, activations a few tens of KB, and millions of MACs so latency is worth measuring.
 * Initialisers are seeded per layer so training is reproducible.
 */
import type { ConvertOptions } from '../../harness/tflite/convert/from-keras.js';
import type { tf as TF } from './tfjs-wasm.js';
import { tf } from './tfjs-wasm.js';

export type Architecture = 'cnn' | 'mobilenet';

export const architectureNotes: Record<Architecture, string> = {
  cnn: 'CONV_2D 3x3 (16, ReLU) -> MAX_POOL_2D 2x2 -> CONV_2D 3x3 (32, ReLU) -> MAX_POOL_2D 2x2 -> '
    + 'CONV_2D 3x3 (64, ReLU) -> AVERAGE_POOL_2D 2x2 -> RESHAPE -> FULLY_CONNECTED 64 (ReLU) -> FULLY_CONNECTED 10 -> SOFTMAX',
  mobilenet: 'CONV_2D 3x3 (16, ReLU6) -> 3 x [DEPTHWISE_CONV_2D 3x3 (ReLU6) -> CONV_2D 1x1 (ReLU6)] '
    + '(strides 2, 2, 1; 32, 64, 128 channels) -> global AVERAGE_POOL_2D 7x7 -> RESHAPE -> FULLY_CONNECTED 256 (ReLU6) -> FULLY_CONNECTED 10 -> SOFTMAX; '
    + 'batch norm after every convolution, folded into it by the converter',
};

/**
 * How each architecture is converted. The MobileNet's global average pooling becomes
 * AVERAGE_POOL_2D + RESHAPE, as in MobileNet v1 / person_detect: ESP-NN accelerates int8 average
 * pooling (channels % 4 == 0) but not MEAN, and TFLite's int8 MEAN rounds differently from TFLM's.
 */
export const conversionOptions: Record<Architecture, ConvertOptions> = {
  cnn: {},
  mobilenet: { globalAveragePooling: 'AVERAGE_POOL_2D' },
};

export function buildArchitecture(arch: Architecture, seed: number): TF.LayersModel {
  let layerSeed = seed;
  const init = () => tf.initializers.heNormal({ seed: layerSeed++ });
  const glorot = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  let x: TF.SymbolicTensor;
  if (arch === 'cnn') {
    x = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'conv1' }).apply(input) as TF.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'conv2' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'conv3' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.averagePooling2d({ poolSize: 2, name: 'pool3' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(), name: 'fc1' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.dense({ units: 10, kernelInitializer: glorot(), name: 'logits' }).apply(x) as TF.SymbolicTensor;
  } else {
    // Batch norm after every convolution, as in MobileNet; the converter folds it into the
    // convolution's weights and bias, so the .tflite has no trace of it.
    const convRelu6 = (t: TF.SymbolicTensor, name: string, filters: number, kernelSize: number, strides: number) => {
      t = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init(), name }).apply(t) as TF.SymbolicTensor;
      t = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(t) as TF.SymbolicTensor;
      return tf.layers.reLU({ maxValue: 6, name: `${name}_relu6` }).apply(t) as TF.SymbolicTensor;
    };
    const dwRelu6 = (t: TF.SymbolicTensor, name: string, strides: number) => {
      t = tf.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: init(), name }).apply(t) as TF.SymbolicTensor;
      t = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(t) as TF.SymbolicTensor;
      return tf.layers.reLU({ maxValue: 6, name: `${name}_relu6` }).apply(t) as TF.SymbolicTensor;
    };
    x = convRelu6(input, 'conv1', 16, 3, 1);
    const blocks: [number, number][] = [[2, 32], [2, 64], [1, 128]];
    blocks.forEach(([stride, filters], i) => {
      x = dwRelu6(x, `block${i + 1}_dw`, stride);
      x = convRelu6(x, `block${i + 1}_pw`, filters, 1, 1);
    });
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.dense({ units: 256, activation: 'relu6', kernelInitializer: init(), name: 'fc1' }).apply(x) as TF.SymbolicTensor;
    x = tf.layers.dense({ units: 10, kernelInitializer: glorot(), name: 'logits' }).apply(x) as TF.SymbolicTensor;
  }
  const output = tf.layers.softmax({ name: 'softmax' }).apply(x) as TF.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: `fashion_${arch}` });
}
