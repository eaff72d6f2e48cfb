/**
 * Rewrites of a model for the TFLite-runtime comparison. None changes what a TFLM kernel computes;
 * each one is there because the full TFLite runtime in WASM differs from TFLM in a way the
 * comparison must see around.
 */
import type { Model, Operator, Tensor } from '../../harness/tflite/model.js';
import { readModel } from '../../harness/tflite/reader.js';
import { writeModel } from '../../harness/tflite/writer.js';

function clone(model: Model): Model {
  return readModel(writeModel(model));
}

/**
 * TFLite's model checker rejects a quantized_dimension outside the tensor's rank ("quantized_dimension
 * must be in range [0, 1). Was 3."): person_detect.tflite ships its 1-D depthwise bias tensors with
 * dimension 3, copied from the weights. TFLM never reads it for a bias; setting it to 0 changes no
 * arithmetic. Returns the changes made.
 */
export function fixQuantizedDimensions(model: Model): string[] {
  const changes: string[] = [];
  for (const t of model.subgraphs.flatMap((g) => g.tensors)) {
    const q = t.quantization;
    if (q && q.scale.length > 1 && q.quantizedDimension >= t.shape.length) {
      changes.push(`tensor ${t.index} ('${t.name}'): quantized_dimension ${q.quantizedDimension} -> 0`);
      q.quantizedDimension = 0;
    }
  }
  return changes;
}

/**
 * Keeps the XNNPACK delegate off the whole graph. The WASM runtime hands every op XNNPACK can take
 * to it, and XNNPACK requantizes int8 in float ("fp32" requantization), not with TFLite's
 * fixed-point reference arithmetic, so its int8 results differ by one step now and then. XNNPACK
 * only takes tensors of static shape: each graph input is routed through a RESHAPE whose shape is
 * itself a graph input, which makes every activation tensor dynamic. A RESHAPE is a copy, so the
 * arithmetic is unchanged. Returns the rewritten model and the shape values to feed after each
 * original input.
 *
 * Note: tfjs-tflite reads a dynamic output before the first inference resizes it, so the first
 * result of such a model is stale; run one warm-up inference and drop it.
 */
export function withoutXnnpack(source: Model): { model: Model; shapes: number[][] } {
  const model = clone(source);
  const graph = model.subgraphs[0];
  let opcodeIndex = model.operatorCodes.findIndex((c) => c.builtin === 'RESHAPE' && c.customCode === null);
  if (opcodeIndex < 0) opcodeIndex = model.operatorCodes.push({ builtin: 'RESHAPE', builtinCode: 22, customCode: null, version: 1 }) - 1;
  const inputs: number[] = [];
  const shapes: number[][] = [];
  const reshapes: Operator[] = [];
  for (const index of graph.inputs) {
    const t = graph.tensors[index];
    const raw: Tensor = { ...t, index: graph.tensors.length, name: `${t.name}/before_reshape`, shape: [...t.shape] };
    graph.tensors.push(raw);
    const shape: Tensor = {
      index: graph.tensors.length, name: `${t.name}/shape`, type: 'int32', shape: [t.shape.length],
      buffer: 0, quantization: null, isVariable: false,
    };
    graph.tensors.push(shape);
    reshapes.push({
      index: 0, opcodeIndex, op: 'RESHAPE', inputs: [raw.index, shape.index], outputs: [index], intermediates: [],
      options: { kind: 'Reshape', value: { newShape: null } }, customOptions: null,
    });
    inputs.push(raw.index, shape.index);
    shapes.push([...t.shape]);
  }
  graph.operators = [...reshapes, ...graph.operators].map((op, i) => ({ ...op, index: i }));
  graph.inputs = inputs;
  return { model, shapes };
}

/**
 * Operator `opIndex` of a model on its own: its non-constant inputs become the graph inputs, its
 * outputs the graph outputs, its constants keep their buffers.
 */
export function sliceOperator(source: Model, opIndex: number): Model {
  const model = clone(source);
  const graph = model.subgraphs[0];
  const op = graph.operators[opIndex];
  const isConstant = (i: number): boolean => (model.buffers[graph.tensors[i].buffer]?.length ?? 0) > 0;
  const used = [...new Set([...op.inputs, ...op.outputs].filter((i) => i >= 0))];
  const renumber = new Map(used.map((old, i) => [old, i]));
  const tensors = used.map((old, i) => ({ ...graph.tensors[old], index: i }));
  const map = (i: number): number => (i < 0 ? -1 : renumber.get(i) ?? -1);
  model.subgraphs = [{
    name: `${graph.name}_op${opIndex}`,
    tensors,
    inputs: op.inputs.filter((i) => i >= 0 && !isConstant(i)).map(map),
    outputs: op.outputs.map(map),
    operators: [{ ...op, index: 0, inputs: op.inputs.map(map), outputs: op.outputs.map(map) }],
  }];
  return model;
}

/**
 * Keeps the XNNPACK delegate off the weighted operators without dynamic shapes (which make TFLite
 * re-prepare every inference, a poor speed peer): each CONV_2D / DEPTHWISE_CONV_2D /
 * FULLY_CONNECTED filter is routed through a RESHAPE to its own shape, so the operator no longer
 * sees the static weights XNNPACK requires ("expected static read-only tensor") and TFLite runs it
 * with its own kernel. A RESHAPE is a copy: the arithmetic is unchanged.
 */
export function weightsThroughReshape(source: Model): Model {
  const model = clone(source);
  const graph = model.subgraphs[0];
  let opcodeIndex = model.operatorCodes.findIndex((c) => c.builtin === 'RESHAPE' && c.customCode === null);
  if (opcodeIndex < 0) opcodeIndex = model.operatorCodes.push({ builtin: 'RESHAPE', builtinCode: 22, customCode: null, version: 1 }) - 1;
  const operators: Operator[] = [];
  for (const op of graph.operators) {
    if (['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'].includes(op.op)) {
      const filter = graph.tensors[op.inputs[1]];
      const copy: Tensor = { ...filter, index: graph.tensors.length, name: `${filter.name}/reshaped`, buffer: 0 };
      graph.tensors.push(copy);
      const shapeBuffer = model.buffers.push(new Uint8Array(Int32Array.from(filter.shape).buffer)) - 1;
      const shape: Tensor = {
        index: graph.tensors.length, name: `${filter.name}/shape`, type: 'int32', shape: [filter.shape.length],
        buffer: shapeBuffer, quantization: null, isVariable: false,
      };
      graph.tensors.push(shape);
      operators.push({
        index: 0, opcodeIndex, op: 'RESHAPE', inputs: [filter.index, shape.index], outputs: [copy.index], intermediates: [],
        options: { kind: 'Reshape', value: { newShape: [...filter.shape] } }, customOptions: null,
      });
      operators.push({ ...op, inputs: op.inputs.map((i, k) => (k === 1 ? copy.index : i)) });
    } else {
      operators.push(op);
    }
  }
  graph.operators = operators.map((op, i) => ({ ...op, index: i }));
  return model;
}
