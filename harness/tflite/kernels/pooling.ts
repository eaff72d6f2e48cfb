/**
 * AVERAGE_POOL_2D and MAX_POOL_2D. Follows tflite-micro `micro/kernels/pooling_common.cc` (Prepare:
 * padding, int8 requires the same scale and zero point on input and output) and
 * `reference/integer_ops/pooling.h` / `reference/pooling.h`: the window is clipped to the image,
 * the int8 average divides with rounding half away from zero in C integer arithmetic.
 */
import type { Pool2DOptions } from '../model.js';
import { activationRangeFloat, activationRangeQuantized } from '../quant-math.js';
import type { KernelPrepare, KernelRun, OpContext } from './common.js';
import { describeShape, perTensorQuant, requirePositiveIntegers, requireRank, requireType } from './common.js';
import { computeWindow } from './padding.js';

interface PoolGeometry {
  batches: number; inH: number; inW: number; channels: number; outH: number; outW: number;
  strideH: number; strideW: number; fH: number; fW: number; padTop: number; padLeft: number;
}

function preparePool(ctx: OpContext): { o: Pool2DOptions; g: PoolGeometry; kind: 'int8' | 'float32' } {
  const opts = ctx.op.options;
  if (opts.kind !== 'Pool2D') return ctx.fail(`options are ${opts.kind}; Pool2DOptions expected`);
  const o = opts.value;
  const input = ctx.input(0);
  const output = ctx.output(0);
  requireRank(ctx, input, 'input', 4);
  requireRank(ctx, output, 'output', 4);
  requireType(ctx, input, 'input', ['int8', 'float32']);
  if (output.type !== input.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type}`);
  requirePositiveIntegers(ctx, { stride_h: o.strideH, stride_w: o.strideW, filter_height: o.filterHeight, filter_width: o.filterWidth });
  const [batches, inH, inW, channels] = input.shape;
  const win = computeWindow(o.padding, inH, inW, o.filterHeight, o.filterWidth, o.strideH, o.strideW, 1, 1);
  const expected = [batches, win.outHeight, win.outWidth, channels];
  if (output.shape.join() !== expected.join()) {
    return ctx.fail(`output shape ${describeShape(output.shape)} does not match ${o.padding} padding (expected ${describeShape(expected)})`);
  }
  if (input.type === 'int8') {
    const inQ = perTensorQuant(ctx, input, 'input');
    const outQ = perTensorQuant(ctx, output, 'output');
    if (Math.abs(inQ.scale - outQ.scale) > 1e-6 || inQ.zeroPoint !== outQ.zeroPoint) {
      return ctx.fail(`int8 pooling needs the same scale and zero point on input and output (TFLM pooling_common.cc)`);
    }
  }
  return {
    o, kind: input.type === 'int8' ? 'int8' : 'float32',
    g: {
      batches, inH, inW, channels, outH: win.outHeight, outW: win.outWidth, strideH: o.strideH, strideW: o.strideW,
      fH: o.filterHeight, fW: o.filterWidth, padTop: win.padTop, padLeft: win.padLeft,
    },
  };
}

function activationRange(ctx: OpContext, o: Pool2DOptions, kind: 'int8' | 'float32'): { min: number; max: number } {
  if (kind === 'float32') return activationRangeFloat(o.fusedActivation);
  const q = perTensorQuant(ctx, ctx.output(0), 'output');
  return activationRangeQuantized(o.fusedActivation, q.scale, q.zeroPoint, -128, 127);
}

/** Calls `visit(outIndex, yStart, yEnd, xStart, xEnd, inBase)` for every output element's clipped window. */
function forEachWindow(
  g: PoolGeometry,
  visit: (out: number, inBase: number, yStart: number, yEnd: number, xStart: number, xEnd: number) => void,
): KernelRun {
  const { batches, inH, inW, channels, outH, outW, strideH, strideW, fH, fW, padTop, padLeft } = g;
  return () => {
    let o = 0;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        const yOrigin = oy * strideH - padTop;
        const yStart = Math.max(0, -yOrigin);
        const yEnd = Math.min(fH, inH - yOrigin);
        for (let ox = 0; ox < outW; ox++) {
          const xOrigin = ox * strideW - padLeft;
          const xStart = Math.max(0, -xOrigin);
          const xEnd = Math.min(fW, inW - xOrigin);
          const inBase = ((b * inH + yOrigin) * inW + xOrigin) * channels;
          visit(o, inBase, yStart, yEnd, xStart, xEnd);
          o += channels;
        }
      }
    }
  };
}

export const prepareAveragePool2D: KernelPrepare = (ctx) => {
  const { o, g, kind } = preparePool(ctx);
  const { min, max } = activationRange(ctx, o, kind);
  const { channels, inW } = g;
  const rowStride = inW * channels;
  if (kind === 'int8') {
    const x = ctx.data(ctx.input(0)) as Int8Array;
    const out = ctx.data(ctx.output(0)) as Int8Array;
    return forEachWindow(g, (oi, inBase, y0, y1, x0, x1) => {
      const count = (y1 - y0) * (x1 - x0);
      // An empty window makes TFLM's AveragePool return false (an invoke error); keep the
      // previous output there instead of dividing by zero.
      if (count <= 0) return;
      const half = (count / 2) | 0;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let fy = y0; fy < y1; fy++) {
          let p = inBase + fy * rowStride + x0 * channels + c;
          for (let fx = x0; fx < x1; fx++, p += channels) acc += x[p];
        }
        // C integer division truncates toward zero.
        let v = acc > 0 ? Math.trunc((acc + half) / count) : Math.trunc((acc - half) / count);
        v = v < min ? min : v > max ? max : v;
        out[oi + c] = v;
      }
    });
  }
  const x = ctx.data(ctx.input(0)) as Float32Array;
  const out = ctx.data(ctx.output(0)) as Float32Array;
  return forEachWindow(g, (oi, inBase, y0, y1, x0, x1) => {
    const count = (y1 - y0) * (x1 - x0);
    if (count <= 0) return;
    for (let c = 0; c < channels; c++) {
      let total = 0;
      for (let fy = y0; fy < y1; fy++) {
        let p = inBase + fy * rowStride + x0 * channels + c;
        for (let fx = x0; fx < x1; fx++, p += channels) total += x[p];
      }
      const v = Math.fround(total) / count;
      out[oi + c] = v < min ? min : v > max ? max : v;
    }
  });
};

export const prepareMaxPool2D: KernelPrepare = (ctx) => {
  const { o, g, kind } = preparePool(ctx);
  const { min, max } = activationRange(ctx, o, kind);
  const { channels, inW } = g;
  const rowStride = inW * channels;
  const x = ctx.data(ctx.input(0)) as Int8Array | Float32Array;
  const out = ctx.data(ctx.output(0)) as Int8Array | Float32Array;
  const lowest = kind === 'int8' ? -128 : -Infinity;
  return forEachWindow(g, (oi, inBase, y0, y1, x0, x1) => {
    for (let c = 0; c < channels; c++) {
      let m = lowest;
      for (let fy = y0; fy < y1; fy++) {
        let p = inBase + fy * rowStride + x0 * channels + c;
        for (let fx = x0; fx < x1; fx++, p += channels) if (x[p] > m) m = x[p];
      }
      out[oi + c] = m < min ? min : m > max ? max : m;
    }
  });
};
