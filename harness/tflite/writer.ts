/**
 * Writes the lab's `Model` as a `.tflite` file (TFLite FlatBuffers, schema version 3, identifier
 * TFL3) with the `flatbuffers` Builder, so that `readModel` reads back an equal Model and the real
 * TFLite runtime loads it. What the runtime relies on and the converter does, the writer does too:
 * - constant data in 16-byte-aligned vectors (`Buffer.data` is `force_align: 16` in schema.fbs);
 * - operator codes carry both `deprecated_builtin_code` (clamped to 127, the placeholder for larger
 *   codes) and `builtin_code`, as TFLite's schema_utils.cc expects from files since 2.4;
 * - options tables for every operator whose options the lab understands.
 * Models bigger than 2 GB (buffers stored after the FlatBuffer) are not written.
 */
import { Builder } from 'flatbuffers';
import { LabError } from '../errors.js';
import { writeOptions } from './fb/options.js';
import { float32Vector, int32Vector, int64Vector, offsetVector } from './fb/vectors.js';
import {
  BufferField, builtinCode, FILE_IDENTIFIER, MetadataField, ModelField, OperatorCodeField, OperatorField,
  PLACEHOLDER_FOR_GREATER_OP_CODES, QuantizationField, SubGraphField, TENSOR_TYPES, TensorField,
} from './fb/schema.js';
import type { Model, Operator, OperatorCode, Quantization, SubGraph, Tensor } from './model.js';

/** `Buffer.data` alignment (schema.fbs `force_align: 16`). */
const BUFFER_ALIGNMENT = 16;

export function writeModel(model: Model): Uint8Array {
  const b = new Builder(1024 + model.buffers.reduce((n, x) => n + x.length + BUFFER_ALIGNMENT, 0));
  // Children before parents: a FlatBuffer is built back to front.
  const buffers = offsetVector(b, model.buffers.map((data) => writeBuffer(b, data)));
  const operatorCodes = offsetVector(b, model.operatorCodes.map((code, i) => writeOperatorCode(b, code, i)));
  const subgraphs = offsetVector(b, model.subgraphs.map((sg, i) => writeSubGraph(b, sg, i, model.operatorCodes)));
  const metadata = model.metadata.length === 0 ? 0 : offsetVector(b, model.metadata.map((m) => {
    const name = b.createString(m.name);
    b.startObject(2);
    b.addFieldOffset(MetadataField.name, name, 0);
    b.addFieldInt32(MetadataField.buffer, m.buffer, null);
    return b.endObject();
  }));
  const description = b.createString(model.description);

  b.startObject(7);
  b.addFieldInt32(ModelField.version, model.version, null);
  b.addFieldOffset(ModelField.operatorCodes, operatorCodes, 0);
  b.addFieldOffset(ModelField.subgraphs, subgraphs, 0);
  b.addFieldOffset(ModelField.description, description, 0);
  b.addFieldOffset(ModelField.buffers, buffers, 0);
  if (metadata) b.addFieldOffset(ModelField.metadata, metadata, 0);
  b.finish(b.endObject(), FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

function writeBuffer(b: Builder, data: Uint8Array): number {
  let vector = 0;
  if (data.length > 0) {
    b.startVector(1, data.length, BUFFER_ALIGNMENT);
    b.pad(data.length); // reserves the bytes; the copy below fills them in one go
    b.dataBuffer().bytes().set(data, b.dataBuffer().capacity() - b.offset());
    vector = b.endVector();
  }
  b.startObject(1);
  if (vector) b.addFieldOffset(BufferField.data, vector, 0);
  return b.endObject();
}

function writeOperatorCode(b: Builder, code: OperatorCode, index: number): number {
  // The numeric code is authoritative; a name from a hand-made model must agree with it.
  const fromName = builtinCode(code.builtin);
  if (fromName !== null && fromName !== code.builtinCode) {
    throw new LabError('model-format',
      `operator code ${index}: builtin '${code.builtin}' is code ${fromName}, not ${code.builtinCode}`);
  }
  const custom = code.customCode === null ? 0 : b.createString(code.customCode);
  b.startObject(4);
  b.addFieldInt8(OperatorCodeField.deprecatedBuiltinCode, Math.min(code.builtinCode, PLACEHOLDER_FOR_GREATER_OP_CODES), null);
  if (custom) b.addFieldOffset(OperatorCodeField.customCode, custom, 0);
  b.addFieldInt32(OperatorCodeField.version, code.version, null);
  b.addFieldInt32(OperatorCodeField.builtinCode, code.builtinCode, null);
  return b.endObject();
}

function writeSubGraph(b: Builder, sg: SubGraph, index: number, codes: OperatorCode[]): number {
  const tensors = offsetVector(b, sg.tensors.map((t) => writeTensor(b, t)));
  const inputs = int32Vector(b, sg.inputs);
  const outputs = int32Vector(b, sg.outputs);
  const operators = offsetVector(b, sg.operators.map((op) => writeOperator(b, op, `subgraph ${index} operator ${op.index}`, codes)));
  const name = b.createString(sg.name);
  b.startObject(5);
  b.addFieldOffset(SubGraphField.tensors, tensors, 0);
  b.addFieldOffset(SubGraphField.inputs, inputs, 0);
  b.addFieldOffset(SubGraphField.outputs, outputs, 0);
  b.addFieldOffset(SubGraphField.operators, operators, 0);
  b.addFieldOffset(SubGraphField.name, name, 0);
  return b.endObject();
}

function writeQuantization(b: Builder, q: Quantization): number {
  const min = q.min ? float32Vector(b, q.min) : 0;
  const max = q.max ? float32Vector(b, q.max) : 0;
  const scale = float32Vector(b, q.scale);
  const zeroPoint = int64Vector(b, q.zeroPoint);
  b.startObject(7);
  if (min) b.addFieldOffset(QuantizationField.min, min, 0);
  if (max) b.addFieldOffset(QuantizationField.max, max, 0);
  b.addFieldOffset(QuantizationField.scale, scale, 0);
  b.addFieldOffset(QuantizationField.zeroPoint, zeroPoint, 0);
  b.addFieldInt32(QuantizationField.quantizedDimension, q.quantizedDimension, 0);
  return b.endObject();
}

function writeTensor(b: Builder, t: Tensor): number {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name);
  const quantization = t.quantization ? writeQuantization(b, t.quantization) : 0;
  const signature = t.shapeSignature ? int32Vector(b, t.shapeSignature) : 0;
  b.startObject(8);
  b.addFieldOffset(TensorField.shape, shape, 0);
  b.addFieldInt8(TensorField.type, TENSOR_TYPES.indexOf(t.type), null);
  b.addFieldInt32(TensorField.buffer, t.buffer, 0);
  b.addFieldOffset(TensorField.name, name, 0);
  if (quantization) b.addFieldOffset(TensorField.quantization, quantization, 0);
  b.addFieldInt8(TensorField.isVariable, t.isVariable ? 1 : 0, 0);
  if (signature) b.addFieldOffset(TensorField.shapeSignature, signature, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: Operator, where: string, codes: OperatorCode[]): number {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const intermediates = op.intermediates.length > 0 ? int32Vector(b, op.intermediates) : 0;
  const options = writeOptions(b, codes[op.opcodeIndex]?.builtin ?? op.op, op.options, where);
  const custom = op.customOptions ? b.createByteVector(op.customOptions) : 0;
  b.startObject(9);
  b.addFieldInt32(OperatorField.opcodeIndex, op.opcodeIndex, null);
  b.addFieldOffset(OperatorField.inputs, inputs, 0);
  b.addFieldOffset(OperatorField.outputs, outputs, 0);
  b.addFieldInt8(OperatorField.builtinOptionsType, options.type, 0);
  if (options.offset) b.addFieldOffset(OperatorField.builtinOptions, options.offset, 0);
  if (custom) b.addFieldOffset(OperatorField.customOptions, custom, 0);
  if (intermediates) b.addFieldOffset(OperatorField.intermediates, intermediates, 0);
  return b.endObject();
}
