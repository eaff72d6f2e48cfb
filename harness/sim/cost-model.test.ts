import { beforeAll, describe, expect, it } from 'vitest';
import { buildSingleOp } from '../tflite/testing/single-op.js';
import { floatTwin } from '../tflite/testing/float-twin.js';
import { tinyConvInt8 } from '../tflite/example-models.js';
import { options } from '../tflite/builder.js';
import { profileModel } from '../tflite/profile.js';
import { readModel } from '../tflite/reader.js';
import type { Model } from '../tflite/model.js';
import { hasShared, readSharedModel } from '../../test/shared.js';
import {
  coldCacheFactor, espNnSpeedup, LatencyNoise, modelCost, PUBLISHED_CONDITIONS, type CostContext,
} from './cost-model.js';

const ctx = (over: Partial<CostContext> = {}): CostContext => ({ ...PUBLISHED_CONDITIONS, kernelBackend: 'reference', ...over });
const ms = (model: Model, c: CostContext): number => modelCost(model, profileModel(model), c).cycles / (c.cpuMhz * 1000);

const q = (scale: number, zeroPoint = 0) => ({ scale, zeroPoint });

/** A 1x1 conv 10x10x64 -> 64, the shape of the esp-nn README's 14.2x row. */
function conv1x1(type: 'int8' | 'float32' = 'int8'): Model {
  const w = Array.from({ length: 64 * 64 }, (_, i) => (i % 13) - 6);
  const quant = type === 'int8';
  return buildSingleOp('CONV_2D', options.conv2d({ padding: 'VALID' }), [
    { type, shape: [1, 10, 10, 64], quantization: quant ? q(0.05, -3) : undefined },
    { type, shape: [64, 1, 1, 64], data: w, constant: true, quantization: quant ? { scale: Array(64).fill(0.01), zeroPoint: Array(64).fill(0), quantizedDimension: 0 } : undefined },
    { type: quant ? 'int32' : 'float32', shape: [64], data: Array(64).fill(3), constant: true, quantization: quant ? { scale: Array(64).fill(0.0005), zeroPoint: Array(64).fill(0) } : undefined },
  ], [{ type, shape: [1, 10, 10, 64], quantization: quant ? q(0.1, 2) : undefined }]);
}

function add(shapeB: number[]): Model {
  return buildSingleOp('ADD', options.elementwise(), [
    { type: 'int8', shape: [1, 8, 8, 16], quantization: q(0.05) },
    { type: 'int8', shape: shapeB, quantization: q(0.05) },
  ], [{ type: 'int8', shape: [1, 8, 8, 16], quantization: q(0.1) }]);
}

function fullyConnected(): Model {
  return buildSingleOp('FULLY_CONNECTED', options.fullyConnected(), [
    { type: 'int8', shape: [1, 256], quantization: q(0.05) },
    { type: 'int8', shape: [64, 256], data: Array.from({ length: 64 * 256 }, (_, i) => (i % 7) - 3), constant: true, quantization: q(0.01) },
    { type: 'int32', shape: [64], data: Array(64).fill(1), constant: true, quantization: q(0.0005) },
  ], [{ type: 'int8', shape: [1, 64], quantization: q(0.1) }]);
}

function maxPool(channels: number): Model {
  return buildSingleOp('MAX_POOL_2D', options.pool2d({ filterWidth: 3, filterHeight: 3, strideW: 1, strideH: 1 }),
    [{ type: 'int8', shape: [1, 16, 16, channels], quantization: q(0.05) }],
    [{ type: 'int8', shape: [1, 14, 14, channels], quantization: q(0.05) }]);
}

describe('cost model', () => {
  it('gives ESP-NN its per-kernel speed-up only on the int8 paths it replaces', () => {
    const ref = ms(conv1x1(), ctx({ modelPlacement: 'internal' }));
    const nn = ms(conv1x1(), ctx({ modelPlacement: 'internal', kernelBackend: 'esp-nn' }));
    // 14.2 (esp-nn README) x the ANSI-C gain 4.1, less the fixed per-op costs that do not speed up.
    expect(ref / nn).toBeGreaterThan(40);
    expect(ref / nn).toBeLessThan(60);
    // A float model always runs reference kernels, whatever the build.
    const f = conv1x1('float32');
    expect(ms(f, ctx({ kernelBackend: 'esp-nn' }))).toBe(ms(f, ctx()));
  });

  it('falls back to the reference kernel for broadcasting ADD and for pooling with channels % 4 != 0', () => {
    const graphOf = (m: Model) => m.subgraphs[0]!;
    const same = add([1, 8, 8, 16]);
    const broadcast = add([1, 1, 1, 16]);
    expect(espNnSpeedup(graphOf(same).operators[0]!, graphOf(same))).toBe(3.8);
    expect(espNnSpeedup(graphOf(broadcast).operators[0]!, graphOf(broadcast))).toBeNull();
    const aligned = maxPool(16);
    const odd = maxPool(6);
    expect(espNnSpeedup(graphOf(aligned).operators[0]!, graphOf(aligned))).toBe(7.8);
    expect(espNnSpeedup(graphOf(odd).operators[0]!, graphOf(odd))).toBe(1);
  });

  it('makes an arena in PSRAM slower than in internal SRAM, quad PSRAM slower than octal, and flash weights slower than internal', () => {
    const m = tinyConvInt8();
    const base = { kernelBackend: 'esp-nn' as const, modelPlacement: 'internal' as const };
    const internal = ms(m, ctx(base));
    const octal = ms(m, ctx({ ...base, arenaPlacement: 'psram' }));
    const quad = ms(m, ctx({ ...base, arenaPlacement: 'psram', psramMode: 'quad' }));
    expect(octal).toBeGreaterThan(internal);
    expect(quad).toBeGreaterThan(octal);
    expect(ms(m, ctx({ ...base, modelPlacement: 'flash' }))).toBeGreaterThan(internal);
  });

  it('scales with the CPU clock: compute cycles stay, memory stalls (fixed-clock flash/PSRAM) cost more cycles at a higher clock', () => {
    const m = tinyConvInt8();
    const at240 = modelCost(m, profileModel(m), ctx({ arenaPlacement: 'psram' }));
    const at80 = modelCost(m, profileModel(m), ctx({ arenaPlacement: 'psram', cpuMhz: 80 }));
    expect(at80.ops.map((o) => o.computeCycles)).toEqual(at240.ops.map((o) => o.computeCycles));
    expect(at80.cycles).toBeLessThan(at240.cycles);
    expect(at80.cycles / 80).toBeGreaterThan(at240.cycles / 240); // but more time
  });

  it('slows FULLY_CONNECTED on esp-nn 1.2.6 (esp-nn #36) and leaves other pins alone', () => {
    const m = tinyConvInt8();
    const f = fullyConnected();
    const fc = (v: string) => modelCost(f, profileModel(f), ctx({ kernelBackend: 'esp-nn', espNnVersion: v })).ops[0]!;
    expect(fc('1.2.6').computeCycles).toBeGreaterThan(fc('1.1.2').computeCycles * 1.8);
    expect(ms(m, ctx({ kernelBackend: 'esp-nn', espNnVersion: '1.2.1' }))).toBe(ms(m, ctx({ kernelBackend: 'esp-nn' })));
  });

  it('runs float twins of a model slower than the int8 model on ESP-NN', () => {
    const m = tinyConvInt8();
    expect(ms(floatTwin(m), ctx({ kernelBackend: 'esp-nn' }))).toBeGreaterThan(ms(m, ctx({ kernelBackend: 'esp-nn' })));
  });
});

describe('latency noise', () => {
  it('is deterministic per seed, differs between boards by a small per-board factor, and stays close to the model', () => {
    const a = new LatencyNoise({ seed: 1 });
    const b = new LatencyNoise({ seed: 1 });
    const c = new LatencyNoise({ seed: 2 });
    const seqA = Array.from({ length: 50 }, (_, i) => a.inference(13_000_000, 240, i + 5));
    const seqB = Array.from({ length: 50 }, (_, i) => b.inference(13_000_000, 240, i + 5));
    expect(seqA).toEqual(seqB);
    expect(a.boardFactor).not.toBe(c.boardFactor);
    expect(Math.abs(a.boardFactor - 1)).toBeLessThan(0.02);
    for (const v of seqA) expect(Math.abs(v / (13_000_000 * a.boardFactor) - 1)).toBeLessThan(0.02);
    expect(new Set(seqA).size).toBeGreaterThan(40); // it does vary
  });

  it('adds interrupt spikes: long inferences almost always carry some, and they only ever add time', () => {
    const n = new LatencyNoise({ seed: 3, jitter: 0 });
    const long = Array.from({ length: 200 }, () => n.inference(240_000_000 * 10, 240, 10)); // 10 s each
    const nominal = 240_000_000 * 10 * n.boardFactor * coldCacheFactor(10);
    expect(long.every((v) => v >= Math.floor(nominal))).toBe(true);
    expect(long.filter((v) => v > nominal + 240 * 15).length).toBeGreaterThan(180);
  });

  it('makes the first inference after allocation slower (cold caches), fading within a few', () => {
    expect(coldCacheFactor(0)).toBeCloseTo(1.06, 5);
    expect(coldCacheFactor(1)).toBeLessThan(1.03);
    expect(coldCacheFactor(6)).toBeLessThan(1.0002);
  });
});

describe.runIf(hasShared)('calibration on person_detect.tflite (needs ../shared)', () => {
  // Read in beforeAll, not in the suite body: vitest collects a skipped suite's body too, and a
  // fresh clone has no ../shared.
  let model: Model;
  beforeAll(() => {
    model = readModel(readSharedModel('tflite-micro/person_detect.tflite'));
  });

  it('lands within 15% of the published 2300 ms (reference) and 54 ms (ESP-NN) at 240 MHz (esp-tflite-micro README)', () => {
    const reference = ms(model, ctx());
    const espNn = ms(model, ctx({ kernelBackend: 'esp-nn' }));
    console.log(`person_detect at 240 MHz, simulated: reference ${reference.toFixed(1)} ms (published 2300), esp-nn ${espNn.toFixed(1)} ms (published 54)`);
    expect(Math.abs(reference / 2300 - 1)).toBeLessThan(0.15);
    expect(Math.abs(espNn / 54 - 1)).toBeLessThan(0.15);
  });

  it('keeps noisy samples of a board within 15% too, and a 160 MHz build slower by about the clock ratio', () => {
    const noise = new LatencyNoise({ seed: 7 });
    const cost = modelCost(model, profileModel(model), ctx({ kernelBackend: 'esp-nn' }));
    const samples = Array.from({ length: 100 }, (_, i) => noise.inference(cost.cycles, 240, i + 3) / 240_000);
    samples.sort((x, y) => x - y);
    const median = samples[50]!;
    expect(Math.abs(median / 54 - 1)).toBeLessThan(0.15);
    const at160 = ms(model, ctx({ kernelBackend: 'esp-nn', cpuMhz: 160 }));
    expect(at160 / ms(model, ctx({ kernelBackend: 'esp-nn' }))).toBeGreaterThan(1.35);
  });
});
