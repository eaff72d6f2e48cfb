/**
 * Reads a `.tflite` file (TFLite FlatBuffers, schema version 3) into the lab's `Model`.
 *
 * Everything a broken file can get wrong ends in one `LabError` (code 'model-format') whose message
 * starts with the file name and says what is wrong; never a RangeError from deep inside, a hang or
 * an out-of-memory (./fb/table.ts bounds every read and all the work). Buffers are views into the
 * file bytes, not copies. Checks beyond the wire format are the ones TFLite Micro's own loading
 * would trip over: schema version, one subgraph, tensor / opcode / buffer indices in range, constant
 * buffers large enough for their tensors, one zero point per scale (or one for all).
 */
import { readFileSync } from 'node:fs';
import { LabError } from '../errors.js';
import { readOptions } from './fb/options.js';
import {
  BufferField, builtinName, FILE_IDENTIFIER, MetadataField, ModelField, OperatorCodeField, OperatorField,
  QuantizationField, SCHEMA_VERSION, SubGraphField, TENSOR_TYPES, TensorField,
} from './fb/schema.js';
import { FbFile, FlatBufferError, Table } from './fb/table.js';
import {
  elementSize, shapeSize,
  type Metadata, type Model, type Operator, type OperatorCode, type Quantization, type SubGraph, type Tensor,
} from './model.js';

/** Largest tensor the lab accepts: TFLite Micro addresses its arena with 32-bit sizes. */
const MAX_TENSOR_BYTES = 2 ** 31 - 1;

export interface ReadModelOptions {
  /** Name of the file in error messages (default `model`). */
  source?: string;
}

/** Reads a `.tflite` file; a missing or unreadable file is a `LabError` too. */
export function readModelFile(path: string): Model {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file'
      : (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new LabError('model-format', `${path}: cannot read the model file: ${reason}`, { cause: e });
  }
  return readModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { source: path });
}

export function readModel(bytes: Uint8Array, opts: ReadModelOptions = {}): Model {
  const source = opts.source ?? 'model';
  try {
    return decodeModel(new FbFile(bytes));
  } catch (e) {
    if (e instanceof FlatBufferError) throw new LabError('model-format', `${source}: ${e.message}${fixFor(e.message)}`, { cause: e });
    throw e;
  }
}

/** The fix to suggest after a structural problem (the other messages say what is unsupported). */
function fixFor(message: string): string {
  if (message.startsWith('truncated') || message.startsWith('corrupt')) return '; the file is damaged: export or copy it again';
  if (message.startsWith('not a TFLite model')) return '; convert the model with the TFLite converter';
  return '';
}

function fail(message: string): never {
  throw new FlatBufferError(message);
}

function decodeModel(file: FbFile): Model {
  const id = file.identifier();
  if (id === null) fail(`truncated: ${file.size} bytes is too short for a TFLite model`);
  if (id !== FILE_IDENTIFIER) {
    fail(`not a TFLite model: the file identifier is ${JSON.stringify(id)} where a .tflite file has "${FILE_IDENTIFIER}"`);
  }
  const root = file.root();
  const version = root.uint32(ModelField.version, 'version');
  if (version !== SCHEMA_VERSION) {
    fail(`schema version ${version} is not supported: the lab reads TFLite schema version ${SCHEMA_VERSION}`);
  }
  if (root.has(ModelField.externalBuffers)) {
    fail('the model keeps its weights in external files (external_buffers), which the lab does not read');
  }

  const buffers = (root.tables(ModelField.buffers, 'buffer') ?? []).map((t) => readBuffer(t, file));
  const operatorCodes = (root.tables(ModelField.operatorCodes, 'operator code') ?? []).map(readOperatorCode);
  const subgraphTables = root.tables(ModelField.subgraphs, 'subgraph') ?? [];
  if (subgraphTables.length === 0) fail('the model has no subgraph');
  if (subgraphTables.length > 1) {
    fail(`the model has ${subgraphTables.length} subgraphs; the lab supports single-subgraph models only ` +
      '(control flow such as IF, WHILE or CALL_ONCE is not supported)');
  }
  const subgraphs = subgraphTables.map((t) => readSubGraph(t, buffers, operatorCodes, file));
  const metadata = (root.tables(ModelField.metadata, 'metadata') ?? []).map((t): Metadata => {
    const m = { name: t.string(MetadataField.name, 'name') ?? '', buffer: t.uint32(MetadataField.buffer, 'buffer') };
    if (m.buffer >= buffers.length) fail(`${t.where} '${m.name}' refers to buffer ${m.buffer} but the model has ${buffers.length} buffers`);
    return m;
  });

  return {
    version,
    description: root.string(ModelField.description, 'description') ?? '',
    operatorCodes,
    subgraphs,
    buffers,
    metadata,
  };
}

function readBuffer(t: Table, file: FbFile): Uint8Array {
  // Models over 2 GB keep buffer data after the FlatBuffer: offset from the file start, valid if > 1.
  const offset = t.uint64(BufferField.offset, 'offset');
  if (offset > 1) {
    const size = t.uint64(BufferField.size, 'size');
    file.check(offset, size, `${t.where} (${size} bytes stored outside the FlatBuffer)`);
    return file.bytes.subarray(offset, offset + size);
  }
  return t.bytes(BufferField.data, 'data') ?? new Uint8Array(0);
}

function readOperatorCode(t: Table): OperatorCode {
  // TFLite's GetBuiltinCode (schema_utils.cc): codes above 127 live only in `builtin_code`, old files
  // only set `deprecated_builtin_code`; the larger of the two is the op.
  const deprecated = t.int8(OperatorCodeField.deprecatedBuiltinCode, 'deprecated_builtin_code');
  const extended = t.int32(OperatorCodeField.builtinCode, 'builtin_code');
  const builtinCode = Math.max(deprecated, extended);
  if (builtinCode < 0) fail(`corrupt: ${t.where} has the negative builtin code ${builtinCode}`);
  return {
    builtin: builtinName(builtinCode),
    builtinCode,
    customCode: t.string(OperatorCodeField.customCode, 'custom_code'),
    version: t.int32(OperatorCodeField.version, 'version', 1),
  };
}

function readSubGraph(t: Table, buffers: Uint8Array[], operatorCodes: OperatorCode[], file: FbFile): SubGraph {
  const tensors = (t.tables(SubGraphField.tensors, 'tensor') ?? []).map((tt, i) => readTensor(tt, i, buffers));
  const checkTensorList = (list: number[], what: string, allowOmitted: boolean): number[] => {
    for (const index of list) {
      if ((index === -1 && allowOmitted) || (index >= 0 && index < tensors.length)) continue;
      fail(`${what} refers to tensor ${index} but the subgraph has ${tensors.length} tensors`);
    }
    return list;
  };
  const inputs = checkTensorList(t.int32s(SubGraphField.inputs, 'inputs') ?? [], `${t.where} inputs`, false);
  const outputs = checkTensorList(t.int32s(SubGraphField.outputs, 'outputs') ?? [], `${t.where} outputs`, false);
  const empty = Table.empty(file, 'options');
  const operators = (t.tables(SubGraphField.operators, 'operator') ?? []).map((ot, index): Operator => {
    const opcodeIndex = ot.uint32(OperatorField.opcodeIndex, 'opcode_index');
    const code = operatorCodes[opcodeIndex];
    if (code === undefined) {
      fail(`${ot.where} uses operator code ${opcodeIndex} but the model has ${operatorCodes.length} operator codes`);
    }
    const where = `${ot.where} (${code.builtin})`;
    const optionsType = ot.uint8(OperatorField.builtinOptionsType, 'builtin_options_type');
    const optionsTable = optionsType === 0 ? null : ot.table(OperatorField.builtinOptions, 'options');
    return {
      index,
      opcodeIndex,
      op: code.builtin,
      inputs: checkTensorList(ot.int32s(OperatorField.inputs, 'inputs') ?? [], `${where} inputs`, true),
      outputs: checkTensorList(ot.int32s(OperatorField.outputs, 'outputs') ?? [], `${where} outputs`, false),
      intermediates: checkTensorList(ot.int32s(OperatorField.intermediates, 'intermediates') ?? [], `${where} intermediates`, false),
      options: readOptions(optionsType, optionsTable, empty),
      customOptions: readCustomOptions(ot, file),
    };
  });
  return { name: t.string(SubGraphField.name, 'name') ?? '', tensors, inputs, outputs, operators };
}

function readCustomOptions(t: Table, file: FbFile): Uint8Array | null {
  const offset = t.uint64(OperatorField.largeCustomOptionsOffset, 'large_custom_options_offset');
  if (offset > 1) {
    const size = t.uint64(OperatorField.largeCustomOptionsSize, 'large_custom_options_size');
    file.check(offset, size, `${t.where} custom options (${size} bytes stored outside the FlatBuffer)`);
    return file.bytes.subarray(offset, offset + size);
  }
  return t.bytes(OperatorField.customOptions, 'custom_options');
}

function readTensor(t: Table, index: number, buffers: Uint8Array[]): Tensor {
  const name = t.string(TensorField.name, 'name') ?? '';
  const where = `${t.where} '${name}'`;
  const typeCode = t.int8(TensorField.type, 'type');
  const type = TENSOR_TYPES[typeCode];
  if (type === undefined) fail(`${where} has type code ${typeCode}, which the lab does not know`);
  if (t.has(TensorField.sparsity)) fail(`${where} is sparse; the lab does not support sparse tensors`);
  if (t.uint32(TensorField.externalBuffer, 'external_buffer') !== 0) {
    fail(`${where} keeps its data in an external file, which the lab does not read`);
  }
  const shape = t.int32s(TensorField.shape, 'shape') ?? [];
  if (shape.some((d) => d < 0)) fail(`${where} has a negative dimension in its shape [${shape.join(', ')}]`);
  const size = elementSize(type);
  const bytes = size === null ? 0 : shapeSize(shape) * size;
  if (bytes > MAX_TENSOR_BYTES) {
    fail(`${where} of shape [${shape.join(', ')}] needs ${bytes} bytes, more than a TFLite Micro arena can hold`);
  }
  const buffer = t.uint32(TensorField.buffer, 'buffer');
  if (buffer !== 0 && buffer >= buffers.length) {
    fail(`${where} refers to buffer ${buffer} but the model has ${buffers.length} buffers`);
  }
  const data = buffers[buffer];
  if (data !== undefined && data.length > 0 && data.length < bytes) {
    fail(`${where} of type ${type} and shape [${shape.join(', ')}] needs ${bytes} bytes but its buffer ${buffer} has ${data.length}`);
  }
  const quantTable = t.table(TensorField.quantization, 'quantization');
  const shapeSignature = t.int32s(TensorField.shapeSignature, 'shape_signature');
  const tensor: Tensor = {
    index,
    name,
    type,
    shape,
    buffer,
    quantization: quantTable ? readQuantization(quantTable, where) : null,
    isVariable: t.bool(TensorField.isVariable, 'is_variable'),
  };
  if (shapeSignature !== null) tensor.shapeSignature = shapeSignature;
  return tensor;
}

/** Null for an empty table (the converter writes one for float tensors). */
function readQuantization(t: Table, where: string): Quantization | null {
  const scale = t.float32s(QuantizationField.scale, 'scale') ?? [];
  const zeroPoint = t.int64s(QuantizationField.zeroPoint, 'zero_point') ?? [];
  const min = t.float32s(QuantizationField.min, 'min');
  const max = t.float32s(QuantizationField.max, 'max');
  const quantizedDimension = t.int32(QuantizationField.quantizedDimension, 'quantized_dimension');
  if (scale.length === 0 && zeroPoint.length === 0 && min === null && max === null) return null;
  // TFLM (micro_allocator.cc, InitializeTfLiteTensorFromFlatbuffer) takes one zero point per scale,
  // or broadcasts a single one. It does not check `quantized_dimension` here: old converters wrote
  // per-channel biases with quantized_dimension 3 on a 1-D shape (person_detect), so neither do we.
  if (scale.length > 0 && zeroPoint.length !== scale.length && zeroPoint.length !== 1) {
    fail(`${where} quantization has ${scale.length} scales but ${zeroPoint.length} zero points`);
  }
  const q: Quantization = { scale, zeroPoint, quantizedDimension };
  if (min !== null) q.min = min;
  if (max !== null) q.max = max;
  return q;
}
