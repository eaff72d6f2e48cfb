/**
 * Data-movement operators: RESHAPE, SQUEEZE, CONCATENATION, PAD. Shapes are static (taken from the
 * model, as TFLM does after Prepare), so each run is a copy.
 * Sources: tflite-micro `micro/kernels/reshape_common.cc`, `squeeze.cc`, `concatenation.cc`
 * (int8 inputs must share the output's scale and zero point; no fused activation) and
 * `pad_common.cc` / `pad.cc` (constant paddings; int8 pads with the output zero point unless a
 * constant value is given).
 */
import { shapeSize } from '../model.js';
import type { KernelPrepare } from './common.js';
import { constantInts, describeShape, perTensorQuant, requireType, stridesOf } from './common.js';

type AnyArray = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array;

/** RESHAPE and SQUEEZE: the output keeps the input's bytes. */
export const prepareReshape: KernelPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  if (input.type !== output.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type}`);
  if (shapeSize(input.shape) !== shapeSize(output.shape)) {
    return ctx.fail(`cannot reshape ${describeShape(input.shape)} into ${describeShape(output.shape)}: element counts differ`);
  }
  const x = ctx.data(input) as AnyArray;
  const y = ctx.data(output) as AnyArray;
  return () => { y.set(x); };
};

export const prepareSqueeze = prepareReshape;

export const prepareConcatenation: KernelPrepare = (ctx) => {
  const opts = ctx.op.options;
  if (opts.kind !== 'Concatenation') return ctx.fail(`options are ${opts.kind}; ConcatenationOptions expected`);
  if (opts.value.fusedActivation !== 'NONE') {
    return ctx.fail(`fused activation ${opts.value.fusedActivation} is not supported (TFLM concatenation.cc requires NONE)`);
  }
  const output = ctx.output(0);
  requireType(ctx, output, 'output', ['int8', 'float32', 'int16', 'int32', 'uint8']);
  const rank = output.shape.length;
  const axis = opts.value.axis < 0 ? opts.value.axis + rank : opts.value.axis;
  if (axis < 0 || axis >= rank) return ctx.fail(`axis ${opts.value.axis} is out of range for ${rank}-D tensors`);
  const inputs = ctx.op.inputs.map((_, i) => ctx.input(i));
  let axisTotal = 0;
  for (const t of inputs) {
    if (t.type !== output.type) return ctx.fail(`input '${t.name}' is ${t.type}, the output is ${output.type}`);
    const sameOffAxis = t.shape.length === rank && t.shape.every((d, i) => i === axis || d === output.shape[i]);
    if (!sameOffAxis) {
      return ctx.fail(`input shape ${describeShape(t.shape)} does not fit output ${describeShape(output.shape)} along axis ${axis}`);
    }
    axisTotal += t.shape[axis];
    if (t.type === 'int8') {
      const qi = perTensorQuant(ctx, t, 'input');
      const qo = perTensorQuant(ctx, output, 'output');
      if (qi.scale !== qo.scale || qi.zeroPoint !== qo.zeroPoint) {
        return ctx.fail(`int8 input '${t.name}' has a different scale or zero point than the output (TFLM does not rescale)`);
      }
    }
  }
  if (axisTotal !== output.shape[axis]) {
    return ctx.fail(`inputs add up to ${axisTotal} along axis ${axis} but the output has ${output.shape[axis]}`);
  }
  const outer = shapeSize(output.shape.slice(0, axis));
  const inner = shapeSize(output.shape.slice(axis + 1));
  const parts = inputs.map((t) => ({ data: ctx.data(t) as AnyArray, size: t.shape[axis] * inner }));
  const y = ctx.data(output) as AnyArray;
  return () => {
    let o = 0;
    for (let k = 0; k < outer; k++) {
      for (const p of parts) {
        y.set(p.data.subarray(k * p.size, (k + 1) * p.size), o);
        o += p.size;
      }
    }
  };
};

export const preparePad: KernelPrepare = (ctx) => {
  const input = ctx.input(0);
  const output = ctx.output(0);
  const constantValues = ctx.optionalInput(2);
  requireType(ctx, input, 'input', ['int8', 'float32', 'int16', 'int32', 'uint8']);
  if (output.type !== input.type) return ctx.fail(`output type ${output.type} differs from input type ${input.type}`);
  const rank = input.shape.length;
  const pads = constantInts(ctx, ctx.input(1), 'paddings');
  if (pads.length !== rank * 2 || output.shape.length !== rank) {
    return ctx.fail(`paddings hold ${pads.length} values for a ${rank}-D input; [${rank}, 2] expected`);
  }
  for (let d = 0; d < rank; d++) {
    if (pads[2 * d] < 0 || pads[2 * d + 1] < 0) return ctx.fail(`padding ${pads[2 * d]}, ${pads[2 * d + 1]} of dimension ${d} is negative`);
    if (input.shape[d] + pads[2 * d] + pads[2 * d + 1] !== output.shape[d]) {
      return ctx.fail(`output shape ${describeShape(output.shape)} is not the padded input ${describeShape(input.shape)}`);
    }
  }
  let padValue: () => number;
  if (constantValues) {
    if (constantValues.type !== input.type || shapeSize(constantValues.shape) !== 1) {
      return ctx.fail(`constant value tensor '${constantValues.name}' must be one ${input.type} value`);
    }
    if (input.type === 'int8') {
      const qc = perTensorQuant(ctx, constantValues, 'constant value');
      const qo = perTensorQuant(ctx, output, 'output');
      if (qc.scale !== qo.scale || qc.zeroPoint !== qo.zeroPoint) {
        return ctx.fail('the constant value must share the output scale and zero point (TFLM pad_common.cc)');
      }
    }
    const c = ctx.data(constantValues);
    padValue = () => c[0];
  } else {
    const zero = input.type === 'int8' || input.type === 'uint8' || input.type === 'int16'
      ? perTensorQuant(ctx, output, 'output').zeroPoint
      : 0;
    padValue = () => zero;
  }
  const x = ctx.data(input) as AnyArray;
  const y = ctx.data(output) as AnyArray;
  const outStrides = stridesOf(output.shape);
  const rowLength = rank === 0 ? 1 : input.shape[rank - 1];
  const rows = rowLength === 0 ? 0 : shapeSize(input.shape) / rowLength;
  // Output offset of every input row, computed once.
  const rowOffsets = new Int32Array(rows);
  const counter = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let r = 0; r < rows; r++) {
    let off = rank === 0 ? 0 : pads[2 * (rank - 1)];
    for (let d = 0; d < rank - 1; d++) off += (counter[d] + pads[2 * d]) * outStrides[d];
    rowOffsets[r] = off;
    for (let d = rank - 2; d >= 0; d--) {
      if (++counter[d] < input.shape[d]) break;
      counter[d] = 0;
    }
  }
  return () => {
    y.fill(padValue());
    for (let r = 0; r < rows; r++) {
      y.set(x.subarray(r * rowLength, (r + 1) * rowLength), rowOffsets[r]);
    }
  };
};
