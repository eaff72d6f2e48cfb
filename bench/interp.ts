/**
 * `npm run bench:interp`: how fast the host interpreter runs person_detect (int8) and its float
 * twin (same graph, dequantized float32 weights), next to the real TFLite runtime compiled to WASM
 * (tfjs-tflite in headless Chromium) on the same inputs, in one run. Single thread everywhere.
 *
 * The WASM runtime is measured twice: as it runs by default (XNNPACK delegate, SIMD kernels) and
 * with XNNPACK kept off the convolutions (TFLite's own optimized kernels, weights routed through a
 * RESHAPE: test/reference/model-surgery.ts weightsThroughReshape), the closer peer of a reference
 * interpreter. Needs ../shared (person_detect) and Chromium.
 */
import { Interpreter } from '../harness/tflite/interpreter.js';
import type { Model } from '../harness/tflite/model.js';
import { readModelFile } from '../harness/tflite/reader.js';
import { floatTwin } from '../harness/tflite/testing/float-twin.js';
import { readBmpInt8 } from '../harness/tflite/testing/images.js';
import { writeModel } from '../harness/tflite/writer.js';
import { hasShared, sharedModelPath } from '../test/shared.js';
import { fixQuantizedDimensions, weightsThroughReshape } from '../test/reference/model-surgery.js';
import { WasmRuntime, type InputSet } from '../test/reference/wasm-runtime.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

/** Inferences per second of `invoke()` over about SECONDS, after a warm-up. */
function measure(interpreter: Interpreter): number {
  for (let i = 0; i < 10; i++) interpreter.invoke();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    interpreter.invoke();
    runs++;
  }
  return runs / ((performance.now() - start) / 1000);
}

function row(label: string, perSecond: number): string {
  return `${label.padEnd(58)} ${perSecond.toFixed(1).padStart(9)} ${(1000 / perSecond).toFixed(2).padStart(10)}`;
}

async function main(): Promise<void> {
  if (!hasShared) {
    console.error('bench:interp needs ../shared (person_detect.tflite); set HIL_SHARED_DIR to its folder');
    process.exitCode = 2;
    return;
  }
  const int8Model: Model = readModelFile(sharedModelPath('tflite-micro/person_detect.tflite'));
  const floatModel = floatTwin(int8Model);
  const pixels = readBmpInt8(sharedModelPath('tflite-micro/person.bmp')).pixels;
  const realPixels = Float32Array.from(pixels, (q) => (q + 1) / 127.5); // input scale 1/127.5, zero point -1

  const int8 = new Interpreter(int8Model, { source: 'person_detect.tflite' });
  int8.setInput(0, pixels);
  const float = new Interpreter(floatModel, { source: 'person_detect float twin' });
  float.setInput(0, realPixels);
  const floatBytes = writeModel(floatModel);

  console.log(`bench:interp  person_detect (${int8Model.subgraphs[0].operators.length} ops, int8 ${(writeModel(int8Model).length / 1024).toFixed(0)} KB)` +
    ` and its float twin (${(floatBytes.length / 1024).toFixed(0)} KB), person.bmp input, ${SECONDS} s per row, Node ${process.version}, one thread`);
  console.log(`${''.padEnd(58)} ${'inf/s'.padStart(9)} ${'ms/inf'.padStart(10)}`);
  const ours = { int8: measure(int8), float: measure(float) };
  console.log(row('interpreter  int8   person_detect', ours.int8));
  console.log(row('interpreter  float  person_detect float twin', ours.float));

  // The WASM runtime refuses person_detect's 1-D biases quantized along dimension 3 (TFLM does not).
  const runtimeInt8 = readModelFile(sharedModelPath('tflite-micro/person_detect.tflite'));
  fixQuantizedDimensions(runtimeInt8);
  const runtime = await WasmRuntime.start();
  try {
    const wasm = async (model: Model, inputs: InputSet, ownKernels: boolean): Promise<number> =>
      (await runtime.inferencesPerSecond(writeModel(ownKernels ? weightsThroughReshape(model) : model), inputs, SECONDS)).perSecond;
    const tflite = {
      int8: await wasm(runtimeInt8, [pixels], false),
      float: await wasm(floatModel, [realPixels], false),
      int8Own: await wasm(runtimeInt8, [pixels], true),
      floatOwn: await wasm(floatModel, [realPixels], true),
    };
    console.log(row('TFLite WASM  int8   default (XNNPACK delegate, SIMD)', tflite.int8));
    console.log(row('TFLite WASM  float  default (XNNPACK delegate, SIMD)', tflite.float));
    console.log(row('TFLite WASM  int8   TFLite own conv kernels (no XNNPACK)', tflite.int8Own));
    console.log(row('TFLite WASM  float  TFLite own conv kernels (no XNNPACK)', tflite.floatOwn));
    const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}x`;
    console.log(`ratio WASM / interpreter: int8 ${ratio(tflite.int8, ours.int8)} (XNNPACK), ${ratio(tflite.int8Own, ours.int8)} (TFLite kernels);` +
      ` float ${ratio(tflite.float, ours.float)} (XNNPACK), ${ratio(tflite.floatOwn, ours.float)} (TFLite kernels)`);
    console.log(`interpreter int8 / float: ${ratio(ours.int8, ours.float)}`);
    console.log(`aim: person_detect int8 >= 30 inf/s: ${ours.int8 >= 30 ? 'met' : 'NOT met'};` +
      ` within 5x of WASM: ${tflite.int8Own / ours.int8 <= 5 ? 'met' : 'not met'} against TFLite's own kernels,` +
      ` ${tflite.int8 / ours.int8 <= 5 ? 'met' : 'not met'} against XNNPACK`);
  } finally {
    await runtime.close();
  }
}

await main();
