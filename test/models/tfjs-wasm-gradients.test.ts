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
  ['conv 5x5 stride 1 valid', (x, w) => tf.conv2d(x, w, 1, 'valid'), [2, 9, 9, 2], [5, 5, 2, 3]],
  ['conv 2x3 stride 1 same (padding after only)', (x, w) => tf.conv2d(x, w, 1, 'same'), [2, 6, 7, 3], [2, 3, 3, 4]],
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

describe('Tile on the tfjs wasm backend (fast path for batch-norm gradients)', () => {
  it.each([
    ['leading dims of a [1,1,1,C] statistic', [1, 1, 1, 3], [2, 4, 5, 1]],
    ['a general tile (falls back to the wasm kernel)', [2, 3], [3, 2]],
  ])('%s gives what the CPU backend gives', async (_, shape, reps) => {
    await useWasmBackend();
    const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 1);
    await tf.setBackend('wasm');
    const wasm = Array.from(await tf.tile(tf.tensor(values, shape), reps).data());
    await tf.setBackend('cpu');
    const cpu = Array.from(await tf.tile(tf.tensor(values, shape), reps).data());
    expect(wasm).toEqual(cpu);
  });

  it('trains through batch norm: gradients match the CPU backend', async () => {
    await useWasmBackend();
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.randomUniform([4, 5, 5, 3], -1, 1, 'float32', 7);
      const scale = tf.randomUniform([3], 0.5, 1.5, 'float32', 8);
      const g = tf.grads((a: tf.Tensor, s: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(tf.square(tf.batchNorm(a, mean, variance, tf.zeros([3]), s, 1e-3)));
      })([x, scale]);
      return Promise.all(g.map((t) => t.data()));
    };
    const [wx, ws] = await grads('wasm');
    const [cx, cs] = await grads('cpu');
    wx.forEach((v, i) => expect(v).toBeCloseTo(cx[i], 4));
    ws.forEach((v, i) => expect(Math.abs(v - cs[i])).toBeLessThan(1e-5 * Math.abs(cs[i]) + 1e-4));
  });
});
