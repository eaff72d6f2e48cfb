/**
 * tfjs on its WebAssembly backend in Node, ready to train the demo models.
 *
 * tfjs-backend-wasm 4.9.0 runs inference kernels only for some gradients: it has no
 * `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropInput` or
 * `DepthwiseConv2dNativeBackpropFilter` (see node_modules/@tensorflow/tfjs-backend-wasm/dist/kernels),
 * so `model.fit` on a conv net stops with "Kernel ... not registered for backend 'wasm'". The CPU
 * backend's versions are scalar loops through `TensorBuffer.get` (seconds per batch). Here each
 * missing kernel is registered for 'wasm': the conv filter gradient as a convolution (XNNPACK),
 * the cheap depthwise gradients as plain loops. Checked against the CPU backend's kernels in
 * test/models/tfjs-wasm-gradients.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

type Attrs = Record<string, unknown>;
type Pad = 'same' | 'valid';

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, depthwise: boolean) {
  const pad = attrs.pad as Pad | number;
  if (typeof pad !== 'string') throw new Error(`wasm gradient kernels support 'same' and 'valid' padding, not ${JSON.stringify(pad)}`);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    pair(attrs.strides), pair(attrs.dilations ?? 1), pad, undefined, depthwise,
  );
}

/**
 * dW[i,j,ci,co] = sum over b,y,x of xpad[b, y*s + i, x*s + j, ci] * dy[b,y,x,co]. That is itself a
 * convolution once batch and channels swap roles: input xpad^T [ci, Hp, Wp, B], filter
 * dy^T [oh, ow, B, co] dilated by the stride, output [ci, kh', kw', co] (kh' >= kh, cropped).
 * XNNPACK runs it ~7x faster than an im2col matMul would here.
 */
function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor {
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, { ...attrs, dilations: 1 }, false);
  const { top, bottom, left, right } = info.padInfo;
  const xt = tf.transpose(tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const full = tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
  const [kh, kw, ci, co] = filterShape;
  return tf.transpose(full.slice([0, 0, 0, 0], [ci, kh, kw, co]), [1, 2, 0, 3]);
}

/**
 * Depthwise gradients are few MACs (one channel per tap), so plain loops over the float data beat
 * any composition of wasm ops (each op is a full pass over a batch-sized tensor).
 * Depth multiplier 1 only: what the demo MobileNet uses.
 */
function depthwiseGeometry(xShape: number[], filterShape: number[], attrs: Attrs) {
  const info = convInfo(xShape, filterShape, attrs, true);
  if (filterShape[3] !== 1) throw new Error('wasm depthwise gradient kernels: depth multiplier 1 only');
  return info;
}

/** dW[i,j,c] = sum over b,y,x of x[b, y*s + i*d - top, x*s + j*d - left, c] * dy[b,y,x,c]. */
function depthwiseBackpropFilter(x: Float32Array, dy: Float32Array, xShape: number[], attrs: Attrs): { shape: number[]; values: Float32Array } {
  const filterShape = attrs.filterShape as number[];
  const g = depthwiseGeometry(xShape, filterShape, attrs);
  const [batch, h, w, c] = xShape;
  const dw = new Float32Array(g.filterHeight * g.filterWidth * c);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        const dyBase = ((b * g.outHeight + oy) * g.outWidth + ox) * c;
        for (let i = 0; i < g.filterHeight; i++) {
          const iy = oy * g.strideHeight + i * g.dilationHeight - g.padInfo.top;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < g.filterWidth; j++) {
            const ix = ox * g.strideWidth + j * g.dilationWidth - g.padInfo.left;
            if (ix < 0 || ix >= w) continue;
            const xBase = ((b * h + iy) * w + ix) * c;
            const wBase = (i * g.filterWidth + j) * c;
            for (let ch = 0; ch < c; ch++) dw[wBase + ch] += x[xBase + ch] * dy[dyBase + ch];
          }
        }
      }
    }
  }
  return { shape: filterShape, values: dw };
}

/** dx[b, iy, ix, c] = sum of dy[b,y,x,c] * w[i,j,c] over the taps that read (iy, ix). */
function depthwiseBackpropInput(dy: Float32Array, filter: Float32Array, filterShape: number[], attrs: Attrs): { shape: number[]; values: Float32Array } {
  const inputShape = attrs.inputShape as number[];
  const g = depthwiseGeometry(inputShape, filterShape, attrs);
  const [batch, h, w, c] = inputShape;
  const dx = new Float32Array(batch * h * w * c);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < g.outHeight; oy++) {
      for (let ox = 0; ox < g.outWidth; ox++) {
        const dyBase = ((b * g.outHeight + oy) * g.outWidth + ox) * c;
        for (let i = 0; i < g.filterHeight; i++) {
          const iy = oy * g.strideHeight + i * g.dilationHeight - g.padInfo.top;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < g.filterWidth; j++) {
            const ix = ox * g.strideWidth + j * g.dilationWidth - g.padInfo.left;
            if (ix < 0 || ix >= w) continue;
            const xBase = ((b * h + iy) * w + ix) * c;
            const wBase = (i * g.filterWidth + j) * c;
            for (let ch = 0; ch < c; ch++) dx[xBase + ch] += dy[dyBase + ch] * filter[wBase + ch];
          }
        }
      }
    }
  }
  return { shape: inputShape, values: dx };
}

interface WasmBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

function registerComposite(name: string, inputNames: string[], compute: (inputs: tf.Tensor4D[], attrs: Attrs) => tf.Tensor): void {
  if (tf.getKernel(name, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const result = tf.tidy(() => {
        const tensors = inputNames.map((n) => {
          const info = inputs[n] as tf.TensorInfo;
          return tf.tensor4d(wasm.readSync(info.dataId) as Float32Array, info.shape as [number, number, number, number], 'float32');
        });
        return compute(tensors, attrs as Attrs);
      });
      const values = result.dataSync();
      const shape = result.shape;
      result.dispose();
      return wasm.makeOutput(shape, 'float32', undefined, values);
    },
  });
}

/** Registers a kernel computed by a loop over the float data of its inputs. */
function registerLoop(name: string, inputNames: string[], compute: (data: Float32Array[], shapes: number[][], attrs: Attrs) => { shape: number[]; values: Float32Array }): void {
  if (tf.getKernel(name, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const infos = inputNames.map((n) => inputs[n] as tf.TensorInfo);
      const out = compute(infos.map((i) => wasm.readSync(i.dataId) as Float32Array), infos.map((i) => i.shape), attrs as Attrs);
      return wasm.makeOutput(out.shape, 'float32', undefined, out.values);
    },
  });
}

/**
 * dx of a stride-1 convolution is itself a convolution of dy with the filter rotated by 180 degrees
 * and its in/out channels swapped ("full" correlation: padding kh-1-top above, kh-1-bottom below).
 * XNNPACK runs that 2-3x faster than the wasm backend's own Conv2DBackpropInput. Every convolution
 * the demo models have is stride 1; other cases go to the wasm kernel.
 */
function registerFastConvBackpropInput(): void {
  const original = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!original || (original as { fast?: boolean }).fast) return;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  const config = {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    fast: true,
    kernelFunc: (args: Parameters<typeof original.kernelFunc>[0]) => {
      const attrs = args.attrs as Attrs;
      const [sh, sw] = pair(attrs.strides);
      const [dh, dw] = pair(attrs.dilations ?? 1);
      const pad = attrs.pad;
      const format = attrs.dataFormat ?? 'NHWC';
      if (sh !== 1 || sw !== 1 || dh !== 1 || dw !== 1 || (pad !== 'same' && pad !== 'valid') || format !== 'NHWC') return original.kernelFunc(args);
      const wasm = args.backend as unknown as WasmBackendLike;
      const dyInfo = args.inputs.dy as tf.TensorInfo;
      const filterInfo = args.inputs.filter as tf.TensorInfo;
      const inputShape = attrs.inputShape as number[];
      const info = convInfo(inputShape, filterInfo.shape, { ...attrs, dilations: 1 }, false);
      const [kh, kw] = filterInfo.shape;
      const { top, bottom, left, right } = info.padInfo;
      const result = tf.tidy(() => {
        const dy = tf.tensor4d(wasm.readSync(dyInfo.dataId) as Float32Array, dyInfo.shape as [number, number, number, number], 'float32');
        const w = tf.tensor4d(wasm.readSync(filterInfo.dataId) as Float32Array, filterInfo.shape as [number, number, number, number], 'float32');
        const rotated = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        const padded = tf.pad(dy, [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]]);
        return tf.conv2d(padded, rotated, 1, 'valid');
      });
      const values = result.dataSync();
      const shape = result.shape;
      result.dispose();
      return wasm.makeOutput(shape, 'float32', undefined, values);
    },
  };
  tf.registerKernel(config as tf.KernelConfig);
}

/**
 * A faster `Tile` for the one case training hits hard: tfjs's batch-norm gradient tiles each
 * per-channel statistic [1,1,1,C] to the activation shape (tfjs-core FusedBatchNorm_grad), and the
 * wasm Tile kernel computes every output index separately. When only leading dimensions are
 * repeated (every rep is 1 from the first non-1 input dimension on), the output is the input
 * repeated end to end. Other cases go to the wasm kernel.
 */
function registerFastTile(): void {
  const original = tf.getKernel('Tile', 'wasm');
  if (!original || (original as { fastTile?: boolean }).fastTile) return;
  tf.unregisterKernel('Tile', 'wasm');
  const config = {
    kernelName: 'Tile',
    backendName: 'wasm',
    fastTile: true,
    kernelFunc: (args: Parameters<typeof original.kernelFunc>[0]) => {
      const x = args.inputs.x as tf.TensorInfo;
      const reps = (args.attrs as { reps: number[] }).reps;
      const firstReal = x.shape.findIndex((d) => d !== 1);
      const leadingOnly = x.dtype === 'float32' && firstReal >= 0 && reps.every((r, i) => i < firstReal || r === 1);
      if (!leadingOnly) return original.kernelFunc(args);
      const wasm = args.backend as unknown as WasmBackendLike;
      const values = wasm.readSync(x.dataId) as Float32Array;
      const times = reps.reduce((a, b) => a * b, 1);
      const out = new Float32Array(values.length * times);
      for (let k = 0; k < times; k++) out.set(values, k * values.length);
      return wasm.makeOutput(x.shape.map((d, i) => d * reps[i]), 'float32', undefined, out);
    },
  };
  tf.registerKernel(config as tf.KernelConfig);
}

let ready: Promise<void> | null = null;

/** Selects the wasm backend (binaries from node_modules) and registers the missing gradients. */
export function useWasmBackend(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dist + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
    await tf.ready();
    registerComposite('Conv2DBackpropFilter', ['x', 'dy'], ([x, dy], a) => conv2dBackpropFilter(x, dy, a));
    registerLoop('DepthwiseConv2dNativeBackpropFilter', ['x', 'dy'], ([x, dy], [xShape], a) => depthwiseBackpropFilter(x, dy, xShape, a));
    registerFastTile();
    registerFastConvBackpropInput();
    registerLoop('DepthwiseConv2dNativeBackpropInput', ['dy', 'filter'], ([dy, f], [, fShape], a) => depthwiseBackpropInput(dy, f, fShape, a));
  })();
  return ready;
}

export { tf };
