/**
 * The interpreter against the real TensorFlow Lite runtime (TFLite compiled to WASM by
 * @tensorflow/tfjs-tflite, in headless Chromium), on every op test model and every supported model
 * of ../shared, 20+ seeded inputs each.
 *
 * What "the same" means, and why (all printed as a table when the test runs):
 * - float32: within 1e-5 relative to the larger of |expected| and the output's largest magnitude
 *   (an element near zero after cancellation has no meaningful relative error).
 * - int8, with XNNPACK kept out (model-surgery.ts withoutXnnpack): identical, except in the two
 *   kernels where full TFLite is not TFLM: CONV_2D (ruy's single-rounding requantization) and
 *   MEAN over H, W (an older integer formula). There the runtime's output must equal exactly what
 *   tflite-full.ts predicts for that arithmetic, and the interpreter may differ from it by one step
 *   only where the two roundings differ. The interpreter's exactness against TFLM itself is checked
 *   by harness/tflite/testing/op-models.test.ts (TFLM host-build outputs).
 * - int8 as the runtime runs by default (XNNPACK on): XNNPACK requantizes in float, so outputs of
 *   delegated ops may differ by one step; every such difference must be in a model whose profile
 *   shows the XNNPACK delegate, and at most one step.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interpreter } from '../../harness/tflite/interpreter.js';
import type { Model } from '../../harness/tflite/model.js';
import { readModel } from '../../harness/tflite/reader.js';
import { floatTwin } from '../../harness/tflite/testing/float-twin.js';
import { readBmpInt8 } from '../../harness/tflite/testing/images.js';
import { OP_MODELS, randomInputs, seedOf } from '../../harness/tflite/testing/op-models.js';
import { writeModel } from '../../harness/tflite/writer.js';
import { hasShared, sharedModelPath } from '../shared.js';
import { fixQuantizedDimensions, sliceOperator, withoutXnnpack } from './model-surgery.js';
import { tfliteConvInt8, tfliteFullyConnectedInt8, tfliteMeanInt8 } from './tflite-full.js';
import { WasmRuntime, type InputSet } from './wasm-runtime.js';

const INPUTS = 20;
const XNNPACK = 'TfLiteXNNPackDelegate';

interface Outcome {
  model: string;
  kernels: string;
  compared: number;
  /** Elements where interpreter and runtime differ (int8), with the largest difference. */
  differing: number;
  maxDifference: number;
  /** Worst float error (relative, see above). */
  worstRelative: number;
  note: string;
}

function floatError(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < theirs.length; i++) scale = Math.max(scale, Math.abs(theirs[i]));
  let worst = 0;
  for (let i = 0; i < theirs.length; i++) {
    const denominator = Math.max(Math.abs(theirs[i]), scale);
    if (denominator > 0) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]) / denominator);
  }
  return worst;
}

/** Runs the interpreter on every input set; returns, per set, all outputs as plain arrays. */
function runOurs(model: Model, sets: InputSet[]): number[][][] {
  const interpreter = new Interpreter(model);
  return sets.map((set) => {
    set.forEach((x, i) => interpreter.setInput(i, x));
    interpreter.invoke();
    return interpreter.outputs.map((_, i) => Array.from(interpreter.output(i)));
  });
}

/** Runs the runtime with XNNPACK kept out (one warm-up inference dropped: see withoutXnnpack). */
async function runWithoutXnnpack(runtime: WasmRuntime, model: Model, sets: InputSet[]) {
  const { model: blocked, shapes } = withoutXnnpack(model);
  const feed = (set: InputSet): InputSet => set.flatMap((x, i) => [x, shapes[i]]);
  const result = await runtime.run(writeModel(blocked), [feed(sets[0]), ...sets.map(feed)]);
  return { outputs: result.outputs.slice(1), kernels: result.kernels };
}

/** Which TFLite arithmetic differs from TFLM for this one-op model, as a predictor of the runtime's output. */
function tflitePrediction(model: Model): ((input: ArrayLike<number>) => number[]) | null {
  const graph = model.subgraphs[0];
  if (graph.operators.length !== 1) return null;
  const op = graph.operators[0];
  const input = graph.tensors[op.inputs[0]];
  if (input.type !== 'int8') return null;
  if (op.op === 'CONV_2D') return (x) => tfliteConvInt8(model, x);
  if (op.op === 'FULLY_CONNECTED' && graph.tensors[op.inputs[1]].quantization?.scale.length === 1) {
    return (x) => tfliteFullyConnectedInt8(model, x);
  }
  if (op.op === 'MEAN' && op.options.kind === 'Reducer' && op.options.value.keepDims && input.shape.length === 4) {
    const axesTensor = graph.tensors[op.inputs[1]];
    const bytes = model.buffers[axesTensor.buffer];
    const axes = Array.from(new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))).sort();
    if (axes.join() === '1,2') return (x) => tfliteMeanInt8(model, x);
  }
  return null;
}

/**
 * Compares one model with XNNPACK kept out; returns the outcome and any failures. `sets` feed the
 * model; for int8 one-op models TFLite's own differing arithmetic is predicted exactly.
 */
async function compareWithoutXnnpack(runtime: WasmRuntime, name: string, model: Model, sets: InputSet[]): Promise<{ outcome: Outcome; failures: string[] }> {
  const failures: string[] = [];
  const ours = runOurs(model, sets);
  const { outputs: theirs, kernels } = await runWithoutXnnpack(runtime, model, sets);
  if (kernels.includes(XNNPACK)) failures.push(`${name}: XNNPACK still ran`);
  const predict = tflitePrediction(model);
  const outcome: Outcome = {
    model: name, kernels: [...new Set(kernels)].filter((k) => k !== 'RESHAPE' || name.startsWith('reshape')).join(' '),
    compared: 0, differing: 0, maxDifference: 0, worstRelative: 0, note: predict ? 'TFLite arithmetic predicted exactly' : '',
  };
  const outputTensors = model.subgraphs[0].outputs.map((i) => model.subgraphs[0].tensors[i]);
  sets.forEach((set, k) => {
    outputTensors.forEach((t, o) => {
      const a = ours[k][o];
      const b = theirs[k][o];
      outcome.compared += b.length;
      if (t.type === 'float32') {
        outcome.worstRelative = Math.max(outcome.worstRelative, floatError(a, b));
        return;
      }
      if (predict) {
        const expected = predict(set[0]);
        const wrong = b.findIndex((v, i) => v !== expected[i]);
        if (wrong >= 0) failures.push(`${name}: input ${k} element ${wrong}: runtime ${b[wrong]}, TFLite arithmetic predicts ${expected[wrong]}`);
      }
      a.forEach((v, i) => {
        const d = Math.abs(v - b[i]);
        if (d === 0) return;
        outcome.differing++;
        outcome.maxDifference = Math.max(outcome.maxDifference, d);
      });
    });
  });
  if (outputTensors.some((t) => t.type === 'float32') && outcome.worstRelative > 1e-5) {
    failures.push(`${name}: float error ${outcome.worstRelative.toExponential(2)} exceeds 1e-5`);
  }
  if (outcome.differing > 0 && (!predict || outcome.maxDifference > 1)) {
    failures.push(`${name}: ${outcome.differing} int8 outputs differ (max ${outcome.maxDifference}) with no TFLite/TFLM difference to explain it`);
  }
  return { outcome, failures };
}

function printTable(title: string, rows: Outcome[]): void {
  const lines = rows.map((r) => [
    r.model.padEnd(40), r.kernels.padEnd(34), String(r.compared).padStart(7),
    (r.differing > 0 ? `${r.differing} differ (max ${r.maxDifference})` : r.worstRelative > 0 ? `float rel ${r.worstRelative.toExponential(1)}` : 'identical').padEnd(22),
    r.note,
  ].join('  '));
  console.log(`\n${title}\n${'model'.padEnd(40)}  ${'TFLite kernels'.padEnd(34)}  ${'values'.padStart(7)}  result\n${lines.join('\n')}`);
}

describe('TFLite WASM runtime vs the interpreter (needs Chromium)', () => {
  let runtime: WasmRuntime;
  beforeAll(async () => { runtime = await WasmRuntime.start(); }, 120_000);
  afterAll(async () => { await runtime?.close(); });

  it(`op models with XNNPACK kept out: int8 identical or explained exactly, float within 1e-5 (${OP_MODELS.length} models x ${INPUTS} inputs)`, async () => {
    const rows: Outcome[] = [];
    const failures: string[] = [];
    for (const m of OP_MODELS) {
      const model = m.build();
      const sets = Array.from({ length: INPUTS }, (_, k) => randomInputs(model, seedOf(m.name) + k, m.inputRange));
      const r = await compareWithoutXnnpack(runtime, m.name, model, sets);
      rows.push(r.outcome);
      failures.push(...r.failures);
    }
    printTable('Op models vs TFLite WASM (XNNPACK kept out)', rows);
    expect(failures).toEqual([]);
    // The explained differences are where they are expected, and nowhere else.
    expect(rows.filter((r) => r.differing > 0).every((r) => /^(conv2d|fully_connected|mean_hw)_.*_int8$/.test(r.model))).toBe(true);
  }, 600_000);

  it('op models as the runtime runs them by default: XNNPACK changes int8 outputs by at most one step, only in delegated ops', async () => {
    const rows: Outcome[] = [];
    const failures: string[] = [];
    for (const m of OP_MODELS.filter((x) => x.type === 'int8')) {
      const model = m.build();
      const sets = Array.from({ length: INPUTS }, (_, k) => randomInputs(model, seedOf(m.name) + k, m.inputRange));
      const ours = runOurs(model, sets);
      const { outputs, kernels } = await runtime.run(writeModel(model), sets);
      const row: Outcome = {
        model: m.name, kernels: [...new Set(kernels)].join(' '), compared: 0, differing: 0, maxDifference: 0,
        worstRelative: 0, note: '',
      };
      const predict = tflitePrediction(model);
      sets.forEach((set, k) => {
        const expected = !kernels.includes(XNNPACK) && predict ? predict(set[0]) : outputs[k][0];
        ours[k][0].forEach((v, i) => {
          row.compared++;
          const d = Math.abs(v - outputs[k][0][i]);
          if (d > 0 && expected[i] !== outputs[k][0][i]) failures.push(`${m.name}: TFLite's own kernel disagrees with its predicted arithmetic`);
          if (d > 0) { row.differing++; row.maxDifference = Math.max(row.maxDifference, d); }
        });
      });
      if (row.differing > 0) {
        row.note = kernels.includes(XNNPACK) ? 'XNNPACK fp32 requantization' : predict ? 'TFLite arithmetic (predicted)' : '';
        if (!row.note || row.maxDifference > 1) failures.push(`${m.name}: ${row.differing} outputs differ by up to ${row.maxDifference} (${row.kernels})`);
      }
      rows.push(row);
    }
    printTable('int8 op models vs TFLite WASM as it runs by default (XNNPACK on)', rows);
    expect([...new Set(failures)]).toEqual([]);
  }, 600_000);

  describe.runIf(hasShared)('models of ../shared (needs Chromium and ../shared)', () => {
    const load = (file: string): Model => {
      const model = readModel(new Uint8Array(readFileSync(sharedModelPath(file))), { source: file });
      fixQuantizedDimensions(model);
      return model;
    };
    const randomSets = (model: Model, seed: number, range?: [number, number]): InputSet[] =>
      Array.from({ length: INPUTS }, (_, k) => randomInputs(model, seed + k, range));

    it('hello_world_float agrees within 1e-5', async () => {
      const model = load('tflite-micro/hello_world_float.tflite');
      const r = await compareWithoutXnnpack(runtime, 'hello_world_float', model, randomSets(model, seedOf('hello_world_float'), [0, 2 * Math.PI]));
      printTable('hello_world_float vs TFLite WASM', [r.outcome]);
      expect(r.failures).toEqual([]);
    }, 120_000);

    const int8Models: [string, () => InputSet[]][] = [
      ['hello_world_int8', () => []],
      ['micro_speech_quantized', () => []],
      ['simple_add_model', () => []],
      ['person_detect', () => [
        [readBmpInt8(sharedModelPath('tflite-micro/person.bmp')).pixels],
        [readBmpInt8(sharedModelPath('tflite-micro/no_person.bmp')).pixels],
      ]],
    ];
    for (const [name, extraSets] of int8Models) {
      it(`${name}, layer by layer on its own activations: every layer identical or explained exactly`, async () => {
        const model = load(`tflite-micro/${name}.tflite`);
        const sets = [...randomSets(model, seedOf(name)), ...extraSets()];
        // Every layer's inputs are the interpreter's activations of the whole model, for every input set.
        const graph = model.subgraphs[0];
        const isConstant = (i: number): boolean => (model.buffers[graph.tensors[i].buffer]?.length ?? 0) > 0;
        const interpreter = new Interpreter(model);
        const activations = sets.map((set) => {
          set.forEach((x, i) => interpreter.setInput(i, x));
          interpreter.invoke();
          return graph.tensors.map((t) => (isConstant(t.index) ? [] : Array.from(interpreter.tensorData(t.index))));
        });
        const rows: Outcome[] = [];
        const failures: string[] = [];
        for (const op of graph.operators) {
          const inputs = op.inputs.filter((i) => i >= 0 && !isConstant(i));
          const r = await compareWithoutXnnpack(runtime, `op ${op.index} ${op.op}`, sliceOperator(model, op.index), activations.map((a) => inputs.map((i) => a[i])));
          rows.push(r.outcome);
          failures.push(...r.failures);
        }
        printTable(`${name} layer by layer vs TFLite WASM (XNNPACK kept out)`, rows);
        expect(failures).toEqual([]);

        // The whole model in the runtime: per-layer rounding differences can propagate, so report them.
        const whole = await runWithoutXnnpack(runtime, model, sets);
        const ours = runOurs(model, sets);
        const differences = ours.map((o, k) => Math.max(...o[0].map((v, i) => Math.abs(v - whole.outputs[k][0][i]))));
        const changed = differences.filter((d) => d > 0).length;
        console.log(`\n${name} whole model vs TFLite WASM (XNNPACK kept out): ${changed} of ${sets.length} inputs give a different output, by at most ${Math.max(...differences)}` +
          (name === 'person_detect'
            ? `; person.bmp: runtime ${JSON.stringify(whole.outputs[INPUTS][0])}, interpreter ${JSON.stringify(ours[INPUTS][0])}; no_person.bmp: runtime ${JSON.stringify(whole.outputs[INPUTS + 1][0])}, interpreter ${JSON.stringify(ours[INPUTS + 1][0])} (TFLM: [-113, 113] and [57, -57], FACTS.md)`
            : ''));
        if (name === 'person_detect') {
          expect(ours[INPUTS][0]).toEqual([-113, 113]);
          expect(ours[INPUTS + 1][0]).toEqual([57, -57]);
        }
      }, 600_000);
    }

    it('the float twin of person_detect (the same graph with float32 weights) agrees within 1e-5', async () => {
      const model = floatTwin(load('tflite-micro/person_detect.tflite'));
      const sets = randomSets(model, seedOf('person_detect_float'), [-1, 1]);
      const ours = runOurs(model, sets);
      const { outputs, kernels } = await runtime.run(writeModel(model), sets);
      const worst = Math.max(...sets.map((_, k) => floatError(ours[k][0], outputs[k][0])));
      console.log(`\nperson_detect float twin vs TFLite WASM (${[...new Set(kernels)].join(' ')}): worst relative error ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-5);
    }, 300_000);
  });
});
