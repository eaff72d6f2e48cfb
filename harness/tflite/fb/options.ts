/**
 * Builtin options of the operators the lab understands, both ways: FlatBuffers table <-> the
 * `OperatorOptions` of model.ts. Field ids and defaults follow schema.fbs (see ./schema.ts); options
 * tables of other operators stay raw bytes (./raw-table.ts) so a file round-trips unchanged.
 */
import type { Builder } from 'flatbuffers';
import { LabError } from '../../errors.js';
import type { Conv2DOptions, FusedActivation, OperatorOptions, Padding } from '../model.js';
import { decodeRawTable, encodeRawTable, writeRawTable } from './raw-table.js';
import {
  ACTIVATIONS, ConcatenationField, Conv2DField, DepthwiseField, ElementwiseField, FullyConnectedField,
  LeakyReluField, OPTIONS_TYPES_WITH_REFERENCES, OptionsType, PADDINGS, Pool2DField, ReducerField,
  ReshapeField, SoftmaxField, SqueezeField, WEIGHTS_FORMATS,
} from './schema.js';
import { FlatBufferError, type Table } from './table.js';
import { int32Vector } from './vectors.js';

function padding(t: Table, id: number): Padding {
  const code = t.int8(id, 'padding');
  const p = PADDINGS[code];
  if (p === undefined) throw new FlatBufferError(`corrupt: ${t.where} padding code ${code} is neither SAME (0) nor VALID (1)`);
  return p;
}

function activation(t: Table, id: number): FusedActivation {
  const code = t.int8(id, 'fused_activation_function');
  const a = ACTIVATIONS[code];
  if (a === undefined) throw new FlatBufferError(`corrupt: ${t.where} fused activation code ${code} is not one of 0..5`);
  return a;
}

/** Field ids of what Conv2DOptions and DepthwiseConv2DOptions have in common (at different ids). */
interface ConvFieldIds { padding: number; strideW: number; strideH: number; activation: number; dilationW: number; dilationH: number }

function readConvFields(t: Table, f: ConvFieldIds): Conv2DOptions {
  return {
    padding: padding(t, f.padding),
    strideW: t.int32(f.strideW, 'stride_w'),
    strideH: t.int32(f.strideH, 'stride_h'),
    dilationW: t.int32(f.dilationW, 'dilation_w_factor', 1),
    dilationH: t.int32(f.dilationH, 'dilation_h_factor', 1),
    fusedActivation: activation(t, f.activation),
  };
}

function addConvFields(b: Builder, f: ConvFieldIds, v: Conv2DOptions): void {
  b.addFieldInt8(f.padding, PADDINGS.indexOf(v.padding), 0);
  b.addFieldInt32(f.strideW, v.strideW, 0);
  b.addFieldInt32(f.strideH, v.strideH, 0);
  b.addFieldInt8(f.activation, ACTIVATIONS.indexOf(v.fusedActivation), 0);
  b.addFieldInt32(f.dilationW, v.dilationW, 1);
  b.addFieldInt32(f.dilationH, v.dilationH, 1);
}

/**
 * Reads the options table of union type `type`. `table` is null when the file names a type but has
 * no table: the schema defaults apply then, as in TFLite.
 */
export function readOptions(type: number, table: Table | null, empty: Table): OperatorOptions {
  const t = table ?? empty;
  switch (type) {
    case OptionsType.NONE:
      return { kind: 'None' };
    case OptionsType.Conv2D:
      return { kind: 'Conv2D', value: readConvFields(t, Conv2DField) };
    case OptionsType.DepthwiseConv2D:
      return {
        kind: 'DepthwiseConv2D',
        value: { ...readConvFields(t, DepthwiseField), depthMultiplier: t.int32(DepthwiseField.depthMultiplier, 'depth_multiplier') },
      };
    case OptionsType.Pool2D:
      return {
        kind: 'Pool2D',
        value: {
          padding: padding(t, Pool2DField.padding),
          strideW: t.int32(Pool2DField.strideW, 'stride_w'),
          strideH: t.int32(Pool2DField.strideH, 'stride_h'),
          filterWidth: t.int32(Pool2DField.filterWidth, 'filter_width'),
          filterHeight: t.int32(Pool2DField.filterHeight, 'filter_height'),
          fusedActivation: activation(t, Pool2DField.activation),
        },
      };
    case OptionsType.FullyConnected: {
      const code = t.int8(FullyConnectedField.weightsFormat, 'weights_format');
      const weightsFormat = WEIGHTS_FORMATS[code];
      if (weightsFormat === undefined) throw new FlatBufferError(`corrupt: ${t.where} weights format code ${code} is not 0 or 1`);
      return {
        kind: 'FullyConnected',
        value: {
          fusedActivation: activation(t, FullyConnectedField.activation),
          weightsFormat,
          keepNumDims: t.bool(FullyConnectedField.keepNumDims, 'keep_num_dims'),
          asymmetricQuantizeInputs: t.bool(FullyConnectedField.asymmetricQuantizeInputs, 'asymmetric_quantize_inputs'),
        },
      };
    }
    case OptionsType.Add: case OptionsType.Mul: case OptionsType.Sub: case OptionsType.Div:
      return { kind: 'Elementwise', value: { fusedActivation: activation(t, ElementwiseField.activation) } };
    case OptionsType.Softmax:
      return { kind: 'Softmax', value: { beta: t.float32(SoftmaxField.beta, 'beta') } };
    case OptionsType.Concatenation:
      return {
        kind: 'Concatenation',
        value: { axis: t.int32(ConcatenationField.axis, 'axis'), fusedActivation: activation(t, ConcatenationField.activation) },
      };
    case OptionsType.Reshape:
      return { kind: 'Reshape', value: { newShape: t.int32s(ReshapeField.newShape, 'new_shape') } };
    case OptionsType.Squeeze:
      return { kind: 'Squeeze', value: { squeezeDims: t.int32s(SqueezeField.squeezeDims, 'squeeze_dims') ?? [] } };
    case OptionsType.Reducer:
      return { kind: 'Reducer', value: { keepDims: t.bool(ReducerField.keepDims, 'keep_dims') } };
    case OptionsType.LeakyRelu:
      return { kind: 'LeakyRelu', value: { alpha: t.float32(LeakyReluField.alpha, 'alpha') } };
    default:
      return { kind: 'Unknown', optionsType: type, bytes: table ? encodeRawTable(table.raw()) : null };
  }
}

/** The options union type the writer uses for an 'Elementwise' options of operator `op`. */
function elementwiseType(op: string): number {
  switch (op) {
    case 'MUL': return OptionsType.Mul;
    case 'SUB': return OptionsType.Sub;
    case 'DIV': return OptionsType.Div;
    default: return OptionsType.Add;
  }
}

/** Writes `options` of operator `op`; returns the union type and table offset (0 for none). */
export function writeOptions(b: Builder, op: string, options: OperatorOptions, where: string): { type: number; offset: number } {
  const code = (names: readonly string[], name: string): number => names.indexOf(name);
  switch (options.kind) {
    case 'None':
      return { type: OptionsType.NONE, offset: 0 };
    case 'Conv2D':
      b.startObject(6);
      addConvFields(b, Conv2DField, options.value);
      return { type: OptionsType.Conv2D, offset: b.endObject() };
    case 'DepthwiseConv2D':
      b.startObject(7);
      addConvFields(b, DepthwiseField, options.value);
      b.addFieldInt32(DepthwiseField.depthMultiplier, options.value.depthMultiplier, 0);
      return { type: OptionsType.DepthwiseConv2D, offset: b.endObject() };
    case 'Pool2D': {
      const v = options.value;
      b.startObject(6);
      b.addFieldInt8(Pool2DField.padding, code(PADDINGS, v.padding), 0);
      b.addFieldInt32(Pool2DField.strideW, v.strideW, 0);
      b.addFieldInt32(Pool2DField.strideH, v.strideH, 0);
      b.addFieldInt32(Pool2DField.filterWidth, v.filterWidth, 0);
      b.addFieldInt32(Pool2DField.filterHeight, v.filterHeight, 0);
      b.addFieldInt8(Pool2DField.activation, code(ACTIVATIONS, v.fusedActivation), 0);
      return { type: OptionsType.Pool2D, offset: b.endObject() };
    }
    case 'FullyConnected': {
      const v = options.value;
      b.startObject(4);
      b.addFieldInt8(FullyConnectedField.activation, code(ACTIVATIONS, v.fusedActivation), 0);
      b.addFieldInt8(FullyConnectedField.weightsFormat, code(WEIGHTS_FORMATS, v.weightsFormat), 0);
      b.addFieldInt8(FullyConnectedField.keepNumDims, v.keepNumDims ? 1 : 0, 0);
      b.addFieldInt8(FullyConnectedField.asymmetricQuantizeInputs, v.asymmetricQuantizeInputs ? 1 : 0, 0);
      return { type: OptionsType.FullyConnected, offset: b.endObject() };
    }
    case 'Elementwise':
      b.startObject(1);
      b.addFieldInt8(ElementwiseField.activation, code(ACTIVATIONS, options.value.fusedActivation), 0);
      return { type: elementwiseType(op), offset: b.endObject() };
    case 'Softmax':
      b.startObject(1);
      b.addFieldFloat32(SoftmaxField.beta, options.value.beta, 0);
      return { type: OptionsType.Softmax, offset: b.endObject() };
    case 'Concatenation':
      b.startObject(2);
      b.addFieldInt32(ConcatenationField.axis, options.value.axis, 0);
      b.addFieldInt8(ConcatenationField.activation, code(ACTIVATIONS, options.value.fusedActivation), 0);
      return { type: OptionsType.Concatenation, offset: b.endObject() };
    case 'Reshape': {
      const shape = options.value.newShape;
      const vector = shape ? int32Vector(b, shape) : 0;
      b.startObject(1);
      if (shape) b.addFieldOffset(ReshapeField.newShape, vector, 0);
      return { type: OptionsType.Reshape, offset: b.endObject() };
    }
    case 'Squeeze': {
      const vector = int32Vector(b, options.value.squeezeDims);
      b.startObject(1);
      b.addFieldOffset(SqueezeField.squeezeDims, vector, 0);
      return { type: OptionsType.Squeeze, offset: b.endObject() };
    }
    case 'Reducer':
      b.startObject(1);
      b.addFieldInt8(ReducerField.keepDims, options.value.keepDims ? 1 : 0, 0);
      return { type: OptionsType.Reducer, offset: b.endObject() };
    case 'LeakyRelu':
      b.startObject(1);
      b.addFieldFloat32(LeakyReluField.alpha, options.value.alpha, 0);
      return { type: OptionsType.LeakyRelu, offset: b.endObject() };
    case 'Unknown': {
      if (options.bytes === null) return { type: options.optionsType, offset: 0 };
      const raw = decodeRawTable(options.bytes);
      if (raw === null || OPTIONS_TYPES_WITH_REFERENCES.has(options.optionsType)) {
        throw new LabError('model-format',
          `${where} (${op}): cannot write its options (union type ${options.optionsType}): ` +
          'only options the lab understands or tables of plain numbers copied by the reader can be written');
      }
      return { type: options.optionsType, offset: writeRawTable(b, raw) };
    }
  }
}
