/**
 * Accuracy statistics: top-1 / top-k with Wilson score intervals, confusion matrix, int8-vs-float
 * agreement, and bit-exactness of board output tensors against the host reference.
 *
 * Wilson score interval (Wilson, JASA 22, 1927; recommended over the Wald interval by Newcombe,
 * Statistics in Medicine 17, 1998, and Brown, Cai & DasGupta, Statistical Science 16, 2001):
 *   centre = (p + z^2 / 2n) / (1 + z^2 / n),
 *   half-width = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2),
 * which stays inside [0, 1] and is sensible at 0 or n successes - the usual case for a
 * bit-exact model that gets every input of a small set right.
 */
import { normalQuantile } from './distributions.js';
import { fmt, resolveConfidence } from './samples.js';

export interface ProportionInterval {
  successes: number;
  total: number;
  /** successes / total (NaN when total is 0). */
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
  warnings: string[];
}

export function wilsonInterval(successes: number, total: number, confidence?: number): ProportionInterval {
  const warnings: string[] = [];
  const level = resolveConfidence(confidence, warnings);
  if (!(total > 0) || !Number.isInteger(total) || !Number.isInteger(successes) || successes < 0 || successes > total) {
    warnings.push(total === 0 ? 'no inputs: no accuracy' : `${successes} of ${total} is not a valid count of successes`);
    return { successes, total, estimate: NaN, lower: NaN, upper: NaN, confidence: level, warnings };
  }
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / total;
  const z2n = (z * z) / total;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / total + z2n / (4 * total));
  return {
    successes,
    total,
    estimate: p,
    lower: successes === 0 ? 0 : Math.max(0, centre - half),
    upper: successes === total ? 1 : Math.min(1, centre + half),
    confidence: level,
    warnings,
  };
}

/**
 * Index of the largest score; the first one on ties (numpy's argmax and `tf.math.top_k` keep the
 * lower index too). NaN scores never win; -1 for an empty or all-NaN vector.
 */
export function argmax(scores: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) continue;
    if (best < 0 || scores[i] > scores[best]) best = i;
  }
  return best;
}

/**
 * 1-based rank of class `label` among the scores: 1 + #higher + #equal with a lower index (the
 * argmax tie rule, so top-1 by rank agrees with argmax even for tied int8 outputs).
 */
export function rankOf(scores: ArrayLike<number>, label: number): number {
  const s = scores[label];
  if (Number.isNaN(s)) return Number.POSITIVE_INFINITY;
  let rank = 1;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > s || (scores[i] === s && i < label)) rank++;
  }
  return rank;
}

function validLabel(label: number, classes: number): boolean {
  return Number.isInteger(label) && label >= 0 && label < classes;
}

export interface TopKAccuracy extends ProportionInterval {
  k: number;
}

/** Top-k accuracy of per-input score vectors against integer labels, with its Wilson interval. */
export function topKAccuracy(
  scores: ReadonlyArray<ArrayLike<number>>,
  labels: ArrayLike<number>,
  k = 1,
  confidence?: number,
): TopKAccuracy {
  const warnings: string[] = [];
  const n = Math.min(scores.length, labels.length);
  if (scores.length !== labels.length) {
    warnings.push(`${scores.length} outputs but ${labels.length} labels: compared the first ${n}`);
  }
  let correct = 0;
  let total = 0;
  let invalid = 0;
  for (let i = 0; i < n; i++) {
    if (!validLabel(labels[i], scores[i].length)) {
      invalid++;
      continue;
    }
    total++;
    if (rankOf(scores[i], labels[i]) <= k) correct++;
  }
  if (invalid > 0) warnings.push(`${invalid} labels were not a class index of their output and were left out`);
  const interval = wilsonInterval(correct, total, confidence);
  return { ...interval, k, warnings: [...warnings, ...interval.warnings] };
}

export interface ClassStats {
  /** How many inputs truly belong to the class (row sum). */
  support: number;
  /** correct / support (NaN without support). */
  recall: number;
  /** correct / predicted as the class (NaN when never predicted). */
  precision: number;
}

export interface ConfusionMatrix {
  classCount: number;
  /** matrix[trueLabel][predicted]. */
  matrix: number[][];
  total: number;
  correct: number;
  perClass: ClassStats[];
  warnings: string[];
}

/** Confusion matrix of predicted against true class indices (rows: true, columns: predicted). */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, classCount?: number): ConfusionMatrix {
  const warnings: string[] = [];
  const n = Math.min(labels.length, predictions.length);
  if (labels.length !== predictions.length) warnings.push(`${labels.length} labels but ${predictions.length} predictions: used the first ${n}`);
  let classes = classCount ?? 0;
  if (classCount === undefined) {
    for (let i = 0; i < n; i++) {
      if (Number.isInteger(labels[i]) && labels[i] >= 0) classes = Math.max(classes, labels[i] + 1);
      if (Number.isInteger(predictions[i]) && predictions[i] >= 0) classes = Math.max(classes, predictions[i] + 1);
    }
  }
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let total = 0;
  let correct = 0;
  let invalid = 0;
  for (let i = 0; i < n; i++) {
    const t = labels[i];
    const p = predictions[i];
    if (!validLabel(t, classes) || !validLabel(p, classes)) {
      invalid++;
      continue;
    }
    matrix[t][p]++;
    total++;
    if (t === p) correct++;
  }
  if (invalid > 0) warnings.push(`${invalid} inputs had a label or prediction outside 0..${classes - 1} and were left out`);
  const perClass = matrix.map((row, c) => {
    const support = row.reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let r = 0; r < classes; r++) predicted += matrix[r][c];
    return { support, recall: support > 0 ? row[c] / support : NaN, precision: predicted > 0 ? row[c] / predicted : NaN };
  });
  return { classCount: classes, matrix, total, correct, perClass, warnings };
}

export interface Agreement extends ProportionInterval {
  /** Inputs whose top-1 classes differ. */
  disagreeing: number[];
}

/**
 * Fraction of inputs on which two models (e.g. int8 and float, or board and host) pick the same
 * top-1 class. For an int8 output, argmax of the raw values equals argmax of the dequantized ones
 * (scale > 0), so raw outputs can be passed as they are.
 */
export function topOneAgreement(a: ReadonlyArray<ArrayLike<number>>, b: ReadonlyArray<ArrayLike<number>>, confidence?: number): Agreement {
  const warnings: string[] = [];
  const n = Math.min(a.length, b.length);
  if (a.length !== b.length) warnings.push(`${a.length} outputs vs ${b.length} outputs: compared the first ${n}`);
  const disagreeing: number[] = [];
  for (let i = 0; i < n; i++) if (argmax(a[i]) !== argmax(b[i])) disagreeing.push(i);
  const interval = wilsonInterval(n - disagreeing.length, n, confidence);
  return { ...interval, disagreeing, warnings: [...warnings, ...interval.warnings] };
}

export type TensorType = 'int8' | 'uint8' | 'int16' | 'int32' | 'float32';

export interface OutputTensor {
  name?: string;
  dtype: TensorType;
  data: ArrayLike<number>;
}

export interface TensorDifference {
  /** Position of the tensor in the output list. */
  tensor: number;
  name?: string;
  /** First differing element. */
  index: number;
  board: number;
  reference: number;
}

/**
 * How close a float output must be to the host reference's (numpy.allclose's rule: |board - ref| <=
 * absolute + relative * |ref|). Float kernels are not bit-exact across compilers and FPUs: TFLM's
 * float kernels built for the S3 (GCC, the Xtensa FPU's fused multiply-add) and the lab's host
 * interpreter (JavaScript doubles rounded to float32) sum in another order. Measured here on the real
 * firmware in QEMU: the demo's float CNN differs by up to 5.7e-6 relative; the host interpreter and
 * the TFLite runtime differ by up to 3.4e-6 (README). Integer outputs get no tolerance.
 */
export const FLOAT_TOLERANCE = { relative: 1e-5, absolute: 1e-6 } as const;

export interface BitExactness {
  /**
   * True when every tensor matches: integer tensors element for element, float tensors within
   * FLOAT_TOLERANCE (toleratedElements says how many float elements were not identical).
   */
  bitExact: boolean;
  tensors: number;
  tensorsDiffering: number;
  elements: number;
  elementsDiffering: number;
  /** Largest |board - reference| in quantized steps over the integer tensors (0 when equal). */
  maxStepDifference: number;
  /** Largest |a - b| / max(|a|, |b|) over the float tensors (0 when equal), tolerated or not. */
  maxRelativeDifference: number;
  /** Float elements that are not identical but within FLOAT_TOLERANCE (not counted as differing). */
  toleratedElements: number;
  firstDifference?: TensorDifference;
  warnings: string[];
}

function isInteger(t: TensorType): boolean {
  return t !== 'float32';
}

/**
 * Compares a board's output tensors with the host reference's (step 1/7), tensor by tensor in
 * order. Integer tensors must be equal value for value; the size of a difference is counted in
 * quantized steps (1 step = 1 LSB = one `scale` of the tensor). Float tensors must be equal within
 * `tolerance` (NaN equals NaN), with the relative difference as the size.
 */
export function bitExactness(board: readonly OutputTensor[], reference: readonly OutputTensor[], tolerance: { relative: number; absolute: number } = FLOAT_TOLERANCE): BitExactness {
  const warnings: string[] = [];
  const r: BitExactness = {
    bitExact: true,
    tensors: Math.max(board.length, reference.length),
    tensorsDiffering: 0,
    elements: 0,
    elementsDiffering: 0,
    maxStepDifference: 0,
    maxRelativeDifference: 0,
    toleratedElements: 0,
    warnings,
  };
  if (board.length !== reference.length) {
    warnings.push(`the board returned ${board.length} output tensors, the reference ${reference.length}`);
  }
  for (let t = 0; t < r.tensors; t++) {
    const a = board[t];
    const b = reference[t];
    const label = `output ${t}${(a?.name ?? b?.name) ? ` (${a?.name ?? b?.name})` : ''}`;
    if (!a || !b) {
      r.tensorsDiffering++;
      const missing = (a ?? b)!.data.length;
      r.elements += missing;
      r.elementsDiffering += missing;
      continue;
    }
    if (a.dtype !== b.dtype) warnings.push(`${label}: the board says ${a.dtype}, the reference ${b.dtype}`);
    if (a.data.length !== b.data.length) {
      warnings.push(`${label}: the board returned ${a.data.length} elements, the reference ${b.data.length}`);
    }
    const integer = isInteger(a.dtype) && isInteger(b.dtype);
    const len = Math.max(a.data.length, b.data.length);
    let differs = false;
    for (let i = 0; i < len; i++) {
      r.elements++;
      const x = i < a.data.length ? a.data[i] : NaN;
      const y = i < b.data.length ? b.data[i] : NaN;
      const equal = x === y || (!integer && Number.isNaN(x) && Number.isNaN(y) && i < a.data.length && i < b.data.length);
      if (equal) continue;
      if (!integer && i < a.data.length && i < b.data.length && Math.abs(x - y) <= tolerance.absolute + tolerance.relative * Math.abs(y)) {
        r.toleratedElements++;
        r.maxRelativeDifference = Math.max(r.maxRelativeDifference, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
        continue;
      }
      differs = true;
      r.elementsDiffering++;
      if (!r.firstDifference) r.firstDifference = { tensor: t, ...(a.name !== undefined ? { name: a.name } : {}), index: i, board: x, reference: y };
      if (i >= a.data.length || i >= b.data.length) continue; // a missing element has no size
      const abs = Math.abs(x - y);
      if (integer) {
        r.maxStepDifference = Math.max(r.maxStepDifference, Number.isFinite(abs) ? abs : Number.POSITIVE_INFINITY);
      } else {
        const rel = abs / Math.max(Math.abs(x), Math.abs(y));
        r.maxRelativeDifference = Math.max(r.maxRelativeDifference, Number.isFinite(rel) ? rel : Number.POSITIVE_INFINITY);
      }
    }
    if (differs) r.tensorsDiffering++;
  }
  r.bitExact = r.tensorsDiffering === 0;
  if (r.bitExact && r.toleratedElements > 0) {
    warnings.push(
      `${r.toleratedElements} of ${r.elements} float output elements are not identical to the host reference but within the float tolerance (|board - host| <= ${tolerance.absolute} + ${tolerance.relative} x |host|), up to ${fmt(r.maxRelativeDifference * 100, 3)}% relative: float kernels are not bit-exact across compilers and FPUs`,
    );
  }
  if (!r.bitExact) {
    const size: string[] = [];
    if (r.maxStepDifference > 0) size.push(`up to ${fmt(r.maxStepDifference)} quantized step${r.maxStepDifference === 1 ? '' : 's'}`);
    if (r.maxRelativeDifference > 0) size.push(`up to ${fmt(r.maxRelativeDifference * 100, 3)}% relative`);
    // FACTS.md: ESP-NN's default path is bit-exact with TFLM's reference kernels; NN_SKIP_NUDGE
    // trades exactly +-1 LSB for speed, so a 1-step difference has a likely, named cause.
    const hint = r.maxStepDifference === 1 && r.maxRelativeDifference === 0 ? ' (+-1 step: the signature of requantization without nudge, e.g. ESP-NN built with NN_SKIP_NUDGE)' : '';
    warnings.push(
      `${r.tensorsDiffering} of ${r.tensors} output tensors differ from the host reference in ${r.elementsDiffering} of ${r.elements} elements${size.length > 0 ? `, ${size.join(' and ')}` : ''}${hint}`,
    );
  }
  return r;
}
