/**
 * harness/stats: the lab's statistics, pure functions on top of simple-statistics. Every result
 * carries `warnings: string[]` instead of throwing on data; every formula cites its source in the
 * module that implements it; everything random is seeded.
 *
 * Trial:       summarize, detectOutliers, detectWarmup, bootstrapMedianCI / bootstrapQuantileCI /
 *              bootstrapCI, medianInterval
 * Comparison:  compareTrials (refuses non-comparable fingerprints) / compareSamples, mannWhitney,
 *              hodgesLehmann, bootstrapRatioCI, holm / benjaminiHochberg, compareAcrossBoards,
 *              vanElteren, checkComparable
 * History:     detectChangePoints
 * Gates:       evaluateGates / evaluateGate, exitCodeFor
 * Accuracy:    wilsonInterval, topKAccuracy, confusionMatrix, topOneAgreement, bitExactness
 * Memory:      summarizeMemory
 * Sampling:    shouldStopSampling
 */
export type { Samples } from './samples.js';
export { summarize, type TrialSummary } from './summary.js';
export { createRng, type Rng } from './rng.js';
export {
  bootstrapCI,
  bootstrapMedianCI,
  bootstrapQuantileCI,
  bootstrapRatioCI,
  DEFAULT_RESAMPLES,
  MIN_SAMPLES_FOR_INTERVAL,
  type BootstrapInterval,
  type BootstrapOptions,
  type RatioOptions,
} from './bootstrap.js';
export {
  detectOutliers,
  MAD_NORMAL_CONSTANT,
  MODIFIED_Z_THRESHOLD,
  type OutlierOptions,
  type OutlierResult,
} from './outliers.js';
export { detectWarmup, MIN_SAMPLES_FOR_WARMUP, type WarmupOptions, type WarmupResult } from './warmup.js';
export {
  EXACT_BELOW,
  mannWhitney,
  smallestPossibleP,
  type MannWhitneyMethod,
  type MannWhitneyOptions,
  type MannWhitneyResult,
} from './mann-whitney.js';
export { hodgesLehmann, type ShiftEstimate } from './hodges-lehmann.js';
export {
  compareSamples,
  compareTrials,
  type CompareOptions,
  type GroupSummary,
  type RefusedComparison,
  type SampleComparison,
  type TrialComparison,
  type TrialData,
} from './compare.js';
export {
  adjustPValues,
  benjaminiHochberg,
  holm,
  type AdjustedPValues,
  type CorrectionMethod,
} from './multiple-comparisons.js';
export {
  compareAcrossBoards,
  vanElteren,
  type BoardPair,
  type BoardResult,
  type BoardSpread,
  type BoardsComparison,
  type BoardsOptions,
  type PooledEffect,
  type VanElterenResult,
} from './boards.js';
export {
  checkComparable,
  type Comparability,
  type Comparable,
  type Fingerprint,
  type FingerprintValue,
  type NotComparable,
} from './fingerprint.js';
export {
  detectChangePoints,
  type ChangePoint,
  type ChangePointOptions,
  type ChangePointResult,
  type HistoryPoint,
} from './changepoint.js';
export {
  evaluateGate,
  evaluateGates,
  exitCodeFor,
  type Gate,
  type GateOptions,
  type GateResult,
  type GateStatus,
  type GatesOutcome,
  type MetricObservation,
  type MetricSet,
} from './gates.js';
export {
  argmax,
  bitExactness,
  confusionMatrix,
  rankOf,
  topKAccuracy,
  topOneAgreement,
  wilsonInterval,
  type Agreement,
  type BitExactness,
  type ClassStats,
  type ConfusionMatrix,
  type OutputTensor,
  type ProportionInterval,
  type TensorDifference,
  type TensorType,
  type TopKAccuracy,
} from './accuracy.js';
export {
  fmtBytes,
  summarizeMemory,
  type HeapStats,
  type HeapSummary,
  type MemoryOptions,
  type MemoryReport,
  type MemorySummary,
} from './memory.js';
export {
  medianInterval,
  minSamplesForMedianInterval,
  shouldStopSampling,
  type MedianInterval,
  type StoppingDecision,
  type StoppingReason,
  type StoppingRule,
} from './adaptive.js';
export { normalQuantile, normalSf } from './distributions.js';
