/**
 * Runs one operator on given tensors through the real pipeline (GraphBuilder -> Interpreter), for
 * kernel tests written like tflite-micro's `kernels/*_test.cc`: inputs, options, expected outputs.
 */
import { GraphBuilder, type QuantizationSpec } from '../builder.js';
import { Interpreter, type TensorData } from '../interpreter.js';
import type { OperatorOptions, TensorType } from '../model.js';

export interface OpTensor {
  type: TensorType;
  shape: number[];
  quantization?: QuantizationSpec;
  /** Values (quantized integers for integer types). Omit for outputs. */
  data?: ArrayLike<number>;
  /** Constant (weights, bias, axes) rather than a graph input; default: false for inputs. */
  constant?: boolean;
}

/** Builds a one-operator model; `null` inputs are omitted optional inputs (index -1). */
export function buildSingleOp(op: string, options: OperatorOptions | undefined, inputs: (OpTensor | null)[], outputs: OpTensor[]) {
  const g = new GraphBuilder({ name: `single_${op.toLowerCase()}` });
  const graphInputs: number[] = [];
  const inputIndices = inputs.map((t, i) => {
    if (!t) return -1;
    if (t.constant) {
      if (!t.data) throw new Error(`constant input ${i} needs data`);
      return g.addConstant(t.type, t.shape, t.data, t.quantization ?? null, `in${i}`);
    }
    const index = g.addTensor({ name: `in${i}`, type: t.type, shape: t.shape, quantization: t.quantization ?? null });
    graphInputs.push(index);
    return index;
  });
  const outputIndices = outputs.map((t, i) => g.addTensor({ name: `out${i}`, type: t.type, shape: t.shape, quantization: t.quantization ?? null }));
  g.addOperator(op, inputIndices, outputIndices, options);
  g.setInputs(graphInputs).setOutputs(outputIndices);
  return g.build();
}

/** Runs the operator once and returns its outputs as plain arrays. */
export function runSingleOp(op: string, options: OperatorOptions | undefined, inputs: (OpTensor | null)[], outputs: OpTensor[]): number[][] {
  const model = buildSingleOp(op, options, inputs, outputs);
  const interpreter = new Interpreter(model, { source: `${op.toLowerCase()}.tflite` });
  let k = 0;
  for (const t of inputs) {
    if (!t || t.constant) continue;
    if (!t.data) throw new Error('graph inputs need data');
    interpreter.setInput(k++, t.data);
  }
  interpreter.invoke();
  return outputs.map((_, i) => Array.from(interpreter.output(i) as TensorData));
}

/**
 * Quantizes real values like tflite-micro's test helpers (`micro_utils.h` FloatToQuantizedType):
 * round(value / scale) + zero_point in float, clamped to the type.
 */
export function quantizeValues(values: readonly number[], scale: number, zeroPoint: number, min = -128, max = 127): number[] {
  return values.map((v) => {
    const f = Math.fround(v) / Math.fround(scale);
    const r = Math.fround(f) < 0 ? -Math.round(-Math.fround(f)) : Math.round(Math.fround(f));
    return Math.min(max, Math.max(min, r + zeroPoint));
  });
}
