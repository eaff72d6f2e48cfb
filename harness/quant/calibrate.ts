/**
 * Calibration: run the float model with the lab's interpreter over representative inputs and
 * record the range of every activation tensor (what the TFLite converter's representative dataset
 * does). `minmax` keeps the extremes; `percentile` clips both tails (e.g. 99.99 keeps the values
 * between the 0.01th and 99.99th percentiles), which helps when a few outliers would stretch the
 * scale. Percentiles come from a 2,048-bin histogram per tensor over its min-max range (a second
 * pass), so memory stays flat however many samples there are.
 */
import { LabError } from '../errors.js';
import { Interpreter } from '../tflite/interpreter.js';
import type { Model } from '../tflite/model.js';

export type CalibrationMethod = 'minmax' | 'percentile';

export interface TensorRange {
  min: number;
  max: number;
}

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** For `percentile`: the upper percentile kept, in (50, 100]; the lower one is 100 - p. */
  percentile?: number;
  source?: string;
}

export interface Calibration {
  /** Range of every non-constant float32 tensor of subgraph 0, by tensor index. */
  ranges: Map<number, TensorRange>;
  samples: number;
  method: CalibrationMethod;
  percentile: number | null;
}

/** One calibration sample: the float data of each model input, in input order. */
export type CalibrationSample = readonly Float32Array[];

const BINS = 2048;

export function calibrate(model: Model, samples: readonly CalibrationSample[], opts: CalibrationOptions = {}): Calibration {
  const source = opts.source ?? 'model';
  const method = opts.method ?? 'minmax';
  const percentile = method === 'percentile' ? opts.percentile ?? 99.99 : null;
  if (percentile !== null && !(percentile > 50 && percentile <= 100)) {
    throw new LabError('quantize', `${source}: percentile ${percentile} must be above 50 and at most 100 (e.g. 99.99)`);
  }
  if (samples.length === 0) throw new LabError('quantize', `${source}: the calibration set is empty; give at least one input sample`);
  const graph = model.subgraphs[0];
  const interpreter = new Interpreter(model, { source });
  const isConstant = (i: number) => (model.buffers[graph.tensors[i].buffer]?.length ?? 0) > 0;
  const watched = graph.tensors.filter((t) => t.type === 'float32' && !isConstant(t.index)).map((t) => t.index);

  const run = (sample: CalibrationSample, k: number, visit: (tensor: number, data: Float32Array) => void) => {
    if (sample.length !== interpreter.inputs.length) {
      throw new LabError('quantize', `${source}: calibration sample ${k} has ${sample.length} input arrays; the model has ${interpreter.inputs.length} inputs`);
    }
    sample.forEach((data, i) => interpreter.setInput(i, data));
    interpreter.invoke();
    for (const t of watched) visit(t, interpreter.tensorData(t) as Float32Array);
  };

  const ranges = new Map<number, TensorRange>(watched.map((t) => [t, { min: Infinity, max: -Infinity }]));
  samples.forEach((sample, k) => run(sample, k, (t, data) => {
    const r = ranges.get(t)!;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) {
        throw new LabError('quantize', `${source}: tensor '${graph.tensors[t].name}' is ${v} on calibration sample ${k}; the float model or that input is broken`);
      }
      if (v < r.min) r.min = v;
      if (v > r.max) r.max = v;
    }
  }));

  if (percentile !== null && percentile < 100) {
    const histograms = new Map<number, Float64Array>(watched.map((t) => [t, new Float64Array(BINS)]));
    samples.forEach((sample, k) => run(sample, k, (t, data) => {
      const { min, max } = ranges.get(t)!;
      const h = histograms.get(t)!;
      const width = (max - min) / BINS;
      for (let i = 0; i < data.length; i++) h[width > 0 ? Math.min(BINS - 1, Math.floor((data[i] - min) / width)) : 0]++;
    }));
    for (const t of watched) ranges.set(t, clipToPercentile(histograms.get(t)!, ranges.get(t)!, percentile));
  }
  return { ranges, samples: samples.length, method, percentile };
}

/** [lower, upper] percentile values from a histogram over [min, max] (bin edges, conservative). */
export function clipToPercentile(histogram: ArrayLike<number>, range: TensorRange, percentile: number): TensorRange {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i];
  if (total === 0 || range.max <= range.min) return { ...range };
  const width = (range.max - range.min) / histogram.length;
  const tail = total * (1 - percentile / 100);
  // Lower edge: the first bin where the running count passes the lower tail; upper: symmetric.
  let below = 0;
  let lo = 0;
  while (lo < histogram.length - 1 && below + histogram[lo] <= tail) below += histogram[lo++];
  let above = 0;
  let hi = histogram.length - 1;
  while (hi > lo && above + histogram[hi] <= tail) above += histogram[hi--];
  return { min: range.min + lo * width, max: range.min + (hi + 1) * width };
}
