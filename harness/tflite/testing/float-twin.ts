/**
 * The float twin of a quantized model: the same graph, with every quantized constant dequantized to
 * float32 ((q - zero_point) x scale, per channel along the quantized dimension), every quantized
 * activation made float32, built with `GraphBuilder`. Used to compare the float and int8 paths on
 * the same network (bench/interp.ts) and as a large float model for the TFLite runtime check.
 */
import { GraphBuilder } from '../builder.js';
import type { Model, Tensor } from '../model.js';
import { shapeSize, elementSize } from '../model.js';
import { stridesOf } from '../kernels/common.js';

function decode(model: Model, t: Tensor): number[] {
  const bytes = model.buffers[t.buffer];
  const n = shapeSize(t.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = elementSize(t.type) ?? 1;
  const read = (i: number): number => {
    switch (t.type) {
      case 'int8': return view.getInt8(i);
      case 'uint8': return view.getUint8(i);
      case 'int16': return view.getInt16(i * size, true);
      case 'int32': return view.getInt32(i * size, true);
      case 'float32': return view.getFloat32(i * size, true);
      default: throw new Error(`floatTwin: cannot decode a ${t.type} constant`);
    }
  };
  return Array.from({ length: n }, (_, i) => read(i));
}

/** Real values of a quantized constant. */
export function dequantizeConstant(model: Model, t: Tensor): number[] {
  const values = decode(model, t);
  const q = t.quantization;
  if (!q || q.scale.length === 0) return values;
  if (q.scale.length === 1) return values.map((v) => (v - (q.zeroPoint[0] ?? 0)) * q.scale[0]);
  const dim = q.quantizedDimension < t.shape.length ? q.quantizedDimension : 0;
  const stride = stridesOf(t.shape)[dim];
  const channels = t.shape[dim];
  return values.map((v, i) => {
    const c = Math.floor(i / stride) % channels;
    return (v - (q.zeroPoint[c] ?? 0)) * q.scale[c];
  });
}

export function floatTwin(model: Model): Model {
  const graph = model.subgraphs[0];
  const g = new GraphBuilder({ name: `${graph.name || 'model'}_float`, description: 'Float twin made by harness/tflite/testing/float-twin.ts' });
  const isConstant = (t: Tensor): boolean => (model.buffers[t.buffer]?.length ?? 0) > 0;
  const index = graph.tensors.map((t) => {
    const quantized = t.quantization !== null && t.quantization.scale.length > 0;
    if (isConstant(t)) {
      // Integer constants that carry no quantization (shapes, axes, paddings) stay as they are.
      if (!quantized && t.type !== 'float32') return g.addConstant(t.type, t.shape, decode(model, t), null, t.name);
      return g.addConstant('float32', t.shape, dequantizeConstant(model, t), null, t.name);
    }
    const type = quantized || t.type === 'float32' ? 'float32' : t.type;
    return g.addTensor({ name: t.name, type, shape: t.shape });
  });
  const map = (i: number): number => (i < 0 ? -1 : index[i]);
  for (const op of graph.operators) {
    if (op.op === 'QUANTIZE' || op.op === 'DEQUANTIZE') throw new Error(`floatTwin: operator ${op.index} (${op.op}) has no float twin`);
    g.addOperator(op.op, op.inputs.map(map), op.outputs.map(map), op.options);
  }
  return g.setInputs(graph.inputs.map(map)).setOutputs(graph.outputs.map(map)).build();
}
