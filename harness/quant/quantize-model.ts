/**
 * Full-integer post-training quantization of a float `.tflite` graph, as the TFLite converter does
 * with `Optimize.DEFAULT`, a representative dataset and `TFLITE_BUILTINS_INT8` (FACTS.md, TFLite
 * int8 arithmetic; tensorflow `lite/g3doc/performance/quantization_spec.md`):
 * - every activation int8, per tensor, from its calibrated range (params.ts);
 * - CONV_2D filters per output channel (dim 0), DEPTHWISE_CONV_2D per channel (dim 3),
 *   FULLY_CONNECTED per tensor, all symmetric int8; biases int32 at input_scale * weight_scale
 *   (a zero bias for a convolution that has none, as the converter adds);
 * - SOFTMAX and LOGISTIC outputs fixed at (1/256, -128), TANH at (1/128, 0);
 * - ops that cannot rescale share one scale and zero point between input and output: pooling,
 *   RESHAPE, SQUEEZE, PAD, standalone RELU6 (TFLM clamps without requantizing), and all inputs and
 *   the output of CONCATENATION (their ranges are merged, as the converter's "same scale"
 *   constraint does);
 * - the model's inputs and outputs int8, uint8 (QUANTIZE ops uint8 -> int8 in front and
 *   int8 -> uint8 behind, zero point shifted by 128, as with inference_input_type=tf.uint8), or
 *   float (QUANTIZE / DEQUANTIZE at the edges);
 * - operator versions as tensorflow `lite/tools/versioning/op_version.cc` gives for int8.
 */
import { LabError } from '../errors.js';
import { GraphBuilder } from '../tflite/builder.js';
import { Interpreter } from '../tflite/interpreter.js';
import type { Model, Operator, Quantization, Tensor, TensorType } from '../tflite/model.js';
import type { Calibration, TensorRange } from './calibrate.js';
import {
  asymmetricParams, biasSafeWeightScales, quantizeBias, quantizeValue, quantizeWeightsSymmetric, type QuantParams,
} from './params.js';

export type IoType = 'int8' | 'uint8' | 'float';

export interface QuantizeOptions {
  /** Type of the quantized model's inputs and outputs (default int8). */
  io?: IoType;
  source?: string;
}

export interface QuantizedTensorInfo {
  name: string;
  scale: number;
  zeroPoint: number;
  /** The calibrated range the parameters were chosen from (null for fixed parameters). */
  range: TensorRange | null;
}

export interface QuantizeResult {
  model: Model;
  /** Parameters of every activation tensor, in tensor order of the float model. */
  activations: QuantizedTensorInfo[];
}

/** Operators the quantizer handles, and how their outputs get parameters. */
const CALIBRATED = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'SUB', 'MUL', 'MEAN',
  'RELU', 'LEAKY_RELU', 'HARD_SWISH']);
// RELU6 too: TFLM's Relu6Quantized clamps the input's quantized values without requantizing
// (tflite-micro activations_common.cc), so its output must share the input's parameters.
const SAME_AS_INPUT = new Set(['MAX_POOL_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'SQUEEZE', 'PAD', 'CONCATENATION', 'RELU6']);
const FIXED_OUTPUT: Record<string, QuantParams> = {
  SOFTMAX: { scale: 1 / 256, zeroPoint: -128 },
  LOGISTIC: { scale: 1 / 256, zeroPoint: -128 },
  TANH: { scale: 1 / 128, zeroPoint: 0 },
};
export const QUANTIZABLE_OPERATORS: readonly string[] = [...CALIBRATED, ...SAME_AS_INPUT, ...Object.keys(FIXED_OUTPUT)].sort();

/** op_version.cc versions of the int8 kernels (ops not listed stay at version 1). */
const INT8_VERSION: Record<string, number> = {
  CONV_2D: 3, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 4, AVERAGE_POOL_2D: 2, MAX_POOL_2D: 2, SOFTMAX: 2,
  MEAN: 2, RELU: 2, RELU6: 2, LOGISTIC: 2, TANH: 2, ADD: 2, SUB: 2, MUL: 2, PAD: 2, CONCATENATION: 2,
  DEQUANTIZE: 2,
};

/** Weighted ops: input 1 is the filter, input 2 the bias; the quantized dimension of the filter. */
const WEIGHT_AXIS: Record<string, number | null> = { CONV_2D: 0, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: null };

function floatData(model: Model, t: Tensor): Float32Array {
  const b = model.buffers[t.buffer];
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function intData(model: Model, t: Tensor): number[] {
  const b = model.buffers[t.buffer];
  const raw = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  switch (t.type) {
    case 'int32': return Array.from(new Int32Array(raw));
    case 'int64': return Array.from(new BigInt64Array(raw), Number);
    case 'int16': return Array.from(new Int16Array(raw));
    case 'int8': return Array.from(new Int8Array(raw));
    case 'uint8': case 'bool': return Array.from(new Uint8Array(raw));
    default: throw new LabError('quantize', `tensor '${t.name}' is a ${t.type} constant, which the quantizer cannot carry over`);
  }
}

/** Union-find over tensor indices (the "same scale" groups). */
class Groups {
  private readonly parent = new Map<number, number>();
  find(x: number): number {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  join(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

export function quantizeModel(model: Model, calibration: Calibration, opts: QuantizeOptions = {}): QuantizeResult {
  const source = opts.source ?? 'model';
  const io = opts.io ?? 'int8';
  const fail = (why: string): never => { throw new LabError('quantize', `${source}: ${why}`); };
  if (model.subgraphs.length !== 1) fail(`has ${model.subgraphs.length} subgraphs; the quantizer handles single-subgraph models`);
  const graph = model.subgraphs[0];
  const tensors = graph.tensors;
  const isConstant = (i: number) => (model.buffers[tensors[i].buffer]?.length ?? 0) > 0;

  const unsupported = graph.operators.filter((o) => !QUANTIZABLE_OPERATORS.includes(o.op));
  if (unsupported.length > 0) {
    fail(`cannot quantize ${unsupported.map((o) => `${o.op} (op ${o.index})`).join(', ')}; the quantizer handles ${QUANTIZABLE_OPERATORS.join(', ')}`);
  }
  for (const i of [...graph.inputs, ...graph.outputs]) {
    if (tensors[i].type !== 'float32') fail(`${graph.inputs.includes(i) ? 'input' : 'output'} '${tensors[i].name}' is ${tensors[i].type}; quantize a float32 model`);
  }
  for (const op of graph.operators) {
    const axis = WEIGHT_AXIS[op.op];
    if (axis !== undefined && (op.inputs[1] < 0 || !isConstant(op.inputs[1]))) fail(`operator ${op.index} (${op.op}) has non-constant weights; only constant weights can be quantized`);
  }

  // Activation parameters: groups of tensors that must share them, then one choice per group.
  const groups = new Groups();
  const fixed = new Map<number, QuantParams>();
  for (const op of graph.operators) {
    if (SAME_AS_INPUT.has(op.op)) {
      const linked = op.op === 'CONCATENATION' ? op.inputs : [op.inputs[0]];
      for (const i of linked) if (i >= 0) groups.join(i, op.outputs[0]);
    }
    const f = FIXED_OUTPUT[op.op];
    if (f) fixed.set(op.outputs[0], { scale: Math.fround(f.scale), zeroPoint: f.zeroPoint });
  }
  const isActivation = (i: number) => tensors[i].type === 'float32' && !isConstant(i);
  const rangeOf = (i: number): TensorRange => {
    const r = calibration.ranges.get(i);
    if (!r) return fail(`tensor '${tensors[i].name}' has no calibration range; calibrate this same model first`);
    return r;
  };
  const groupRange = new Map<number, TensorRange>();
  const groupFixed = new Map<number, { params: QuantParams; tensor: number }>();
  const weightTensors = new Set(graph.operators.filter((o) => WEIGHT_AXIS[o.op] !== undefined).flatMap((o) => o.inputs.slice(1, 3)));
  tensors.forEach((t, i) => {
    if (t.type !== 'float32' || weightTensors.has(i)) return;
    const root = groups.find(i);
    const f = fixed.get(i);
    if (f) {
      const other = groupFixed.get(root);
      if (other && (other.params.scale !== f.scale || other.params.zeroPoint !== f.zeroPoint)) {
        fail(`tensors '${tensors[other.tensor].name}' and '${t.name}' must share quantization parameters but have different fixed ones`);
      }
      groupFixed.set(root, { params: f, tensor: i });
    }
    const r = isActivation(i) ? rangeOf(i) : constantRange(model, t);
    const g = groupRange.get(root);
    groupRange.set(root, g ? { min: Math.min(g.min, r.min), max: Math.max(g.max, r.max) } : { ...r });
  });
  const paramsOf = (i: number): QuantParams => {
    const root = groups.find(i);
    return groupFixed.get(root)?.params ?? asymmetricParams(groupRange.get(root)!.min, groupRange.get(root)!.max);
  };
  const activationQuant = (i: number): Quantization => {
    const p = paramsOf(i);
    const r = groupFixed.has(groups.find(i)) ? null : groupRange.get(groups.find(i))!;
    return { scale: [p.scale], zeroPoint: [p.zeroPoint], quantizedDimension: 0, ...(r ? { min: [r.min], max: [r.max] } : {}) };
  };

  // The new graph: tensors are created when first used, so the float weights drop out.
  const g = new GraphBuilder({ name: graph.name, description: `INT8 post-training quantization by the lab (harness/quant) of: ${model.description}` });
  const mapped = new Map<number, number>();
  const carry = (i: number): number => {
    if (i < 0) return -1;
    const known = mapped.get(i);
    if (known !== undefined) return known;
    const t = tensors[i];
    let index: number;
    if (t.type === 'float32' && isConstant(i)) {
      // A float constant that is not a weight or bias (e.g. an ADD operand): int8 per tensor.
      const p = paramsOf(i);
      const values = Array.from(floatData(model, t), (v) => quantizeValue(v, p));
      index = g.addConstant('int8', t.shape, values, { scale: [p.scale], zeroPoint: [p.zeroPoint] }, t.name);
    } else if (t.type === 'float32') {
      index = g.addTensor({ name: t.name, type: 'int8', shape: t.shape, quantization: activationQuant(i) });
    } else if (isConstant(i)) {
      index = g.addConstant(t.type, t.shape, intData(model, t), t.quantization, t.name);
    } else {
      index = g.addTensor({ name: t.name, type: t.type, shape: t.shape, quantization: t.quantization });
    }
    mapped.set(i, index);
    return index;
  };

  // Edges: the graph's inputs and outputs in the requested type.
  const edge = (i: number, role: 'input' | 'output'): { outer: number; inner: number; op?: [string, number[], number[]] } => {
    const inner = carry(i);
    if (io === 'int8') return { outer: inner, inner };
    const t = tensors[i];
    const p = paramsOf(i);
    const outerType: TensorType = io === 'uint8' ? 'uint8' : 'float32';
    const outer = g.addTensor({
      name: `${t.name}_${io}`, type: outerType, shape: t.shape,
      quantization: io === 'uint8' ? { scale: [p.scale], zeroPoint: [p.zeroPoint + 128] } : null,
    });
    const opName = role === 'output' && io === 'float' ? 'DEQUANTIZE' : 'QUANTIZE';
    return { outer, inner, op: role === 'input' ? [opName, [outer], [inner]] : [opName, [inner], [outer]] };
  };
  const inputs = graph.inputs.map((i) => edge(i, 'input'));
  for (const e of inputs) if (e.op) g.addOperator(e.op[0], e.op[1], e.op[2], undefined, { version: INT8_VERSION[e.op[0]] ?? 1 });

  for (const op of graph.operators) {
    const axis = WEIGHT_AXIS[op.op];
    let ins: number[];
    if (axis !== undefined) {
      const { filter, bias } = quantizeWeights(op, axis);
      ins = [carry(op.inputs[0]), filter, bias, ...op.inputs.slice(3).map(carry)];
    } else {
      ins = op.inputs.map(carry);
    }
    g.addOperator(op.op, ins, op.outputs.map(carry), op.options, { version: versionOf(op) });
  }

  const outputs = graph.outputs.map((i) => edge(i, 'output'));
  for (const e of outputs) if (e.op) g.addOperator(e.op[0], e.op[1], e.op[2], undefined, { version: INT8_VERSION[e.op[0]] ?? 1 });
  g.setInputs(inputs.map((e) => e.outer)).setOutputs(outputs.map((e) => e.outer));

  const result = g.build();
  // The quantized model must prepare in the lab's interpreter (TFLM's constraints are checked there).
  new Interpreter(result, { source: `${source} (quantized)` });

  return {
    model: result,
    activations: tensors.map((t, i) => ({ t, i })).filter(({ i }) => isActivation(i)).map(({ t, i }) => {
      const p = paramsOf(i);
      return { name: t.name, scale: p.scale, zeroPoint: p.zeroPoint, range: groupFixed.has(groups.find(i)) ? null : groupRange.get(groups.find(i))! };
    }),
  };

  // -- helpers that need the state above --

  /** Filter and bias of a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, as new int8 / int32 constants. */
  function quantizeWeights(op: Operator, axis: number | null): { filter: number; bias: number } {
    const filter = tensors[op.inputs[1]];
    const inputScale = paramsOf(op.inputs[0]).scale;
    const biasTensor = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? tensors[op.inputs[2]] : null;
    if (biasTensor && (biasTensor.type !== 'float32' || !isConstant(biasTensor.index))) {
      fail(`operator ${op.index} (${op.op}) has a bias that is not a float32 constant`);
    }
    // A quantized CONV_2D / DEPTHWISE_CONV_2D without bias does not load in TFLite ("Can't initialize
    // model", seen with the WASM runtime): give it a zero bias, as the TFLite converter does.
    const channels = axis === null ? 0 : filter.shape[axis];
    const bias = biasTensor ? floatData(model, biasTensor) : axis === null ? null : new Float32Array(channels);
    // Widen weight scales where the int32 bias would otherwise overflow (AdjustWeightsForBiasScale).
    let floors: number[] | undefined;
    if (bias) {
      const perChannel = biasSafeWeightScales(bias, inputScale);
      floors = axis === null ? [Math.max(...perChannel)] : perChannel;
    }
    const w = quantizeWeightsSymmetric(floatData(model, filter), filter.shape, axis, floors);
    const filterIndex = g.addConstant('int8', filter.shape, w.values,
      { scale: w.scales, zeroPoint: w.scales.map(() => 0), quantizedDimension: w.axis }, filter.name);
    if (!bias) return { filter: filterIndex, bias: -1 };
    const b = quantizeBias(bias, inputScale, w.scales);
    const biasIndex = g.addConstant('int32', biasTensor?.shape ?? [channels], b.values,
      { scale: b.scales, zeroPoint: b.scales.map(() => 0), quantizedDimension: 0 }, biasTensor?.name ?? `${filter.name}/zero_bias`);
    return { filter: filterIndex, bias: biasIndex };
  }

  function versionOf(op: Operator): number {
    if (op.op === 'MUL') {
      // Version 3: input1_scale * input2_scale / output_scale >= 1 (op_version.cc).
      const ratio = (paramsOf(op.inputs[0]).scale * paramsOf(op.inputs[1]).scale) / paramsOf(op.outputs[0]).scale;
      return ratio >= 1 ? 3 : 2;
    }
    return INT8_VERSION[op.op] ?? 1;
  }
}

/** The range of a float constant's values. */
function constantRange(model: Model, t: Tensor): TensorRange {
  const data = floatData(model, t);
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return data.length === 0 ? { min: 0, max: 0 } : { min, max };
}
