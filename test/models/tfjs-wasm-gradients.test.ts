/**
 * The gradient kernels the training script adds to tfjs's wasm backend (scripts/models/tfjs-wasm.ts)
 * must give the gradients tfjs's own CPU kernels give, for every stride / padding case the demo
 * models use and a few they do not.
 */
import { describe, expect, it } from 'vitest';
import { tf, useWasmBackend } from '../../scripts/models/tfjs-wasm.js';

type Shape4 = [number, number, number, number];
type Case = [string, (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor, Shape4, Shape4];

const cases: Case[] = [
  ['conv 3x3 stride 1 same', (x, w) => tf.conv2d(x, w, 1, 'same'), [2, 7, 7, 3], [3, 3, 3, 4]],
  ['conv 3x3 stride 2 same', (x, w) => tf.conv2d(x, w, 2, 'same'), [2, 8, 8, 3], [3, 3, 3, 4]],
  ['conv 3x3 stride 2 valid (odd)', (x, w) => tf.conv2d(x, w, 2, 'valid'), [2, 9, 9, 3], [3, 3, 3, 4]],
  ['conv 1x1', (x, w) => tf.conv2d(x, w, 1, 'same'), [2, 5, 5, 4], [1, 1, 4, 6]],
  ['depthwise 3x3 stride 1 same', (x, w) => tf.depthwiseConv2d(x, w, 1, 'same'), [2, 7, 7, 3], [3, 3, 3, 1]],
  ['depthwise 3x3 stride 2 same (even)', (x, w) => tf.depthwiseConv2d(x, w, 2, 'same'), [2, 8, 8, 3], [3, 3, 3, 1]],
  ['depthwise 3x3 stride 2 same (odd)', (x, w) => tf.depthwiseConv2d(x, w, 2, 'same'), [2, 7, 7, 3], [3, 3, 3, 1]],
  ['depthwise 5x5 stride 1 valid', (x, w) => tf.depthwiseConv2d(x, w, 1, 'valid'), [1, 9, 9, 2], [5, 5, 2, 1]],
];

async function gradients(backend: string, [, fn, xShape, wShape]: Case): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend(backend);
  const x = tf.randomUniform(xShape, -1, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomUniform(wShape, -1, 1, 'float32', 2) as tf.Tensor4D;
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(fn(a as tf.Tensor4D, b as tf.Tensor4D))))([x, w]);
  return [(await gx.data()) as Float32Array, (await gw.data()) as Float32Array];
}

describe('conv gradients on the tfjs wasm backend', () => {
  it.each(cases)('%s: input and filter gradients match the CPU backend', async (...c) => {
    await useWasmBackend();
    const [wasmX, wasmW] = await gradients('wasm', c);
    const [cpuX, cpuW] = await gradients('cpu', c);
    const close = (a: Float32Array, b: Float32Array) => {
      const scale = Math.max(...Array.from(b, Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * scale);
    };
    expect(wasmX.length).toBe(cpuX.length);
    expect(wasmW.length).toBe(cpuW.length);
    close(wasmX, cpuX);
    close(wasmW, cpuW);
  });
});
