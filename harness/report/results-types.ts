/**
 * RunResults: the one model every reporter reads (console, results.json, JUnit, Markdown, HTML)
 * and the store records. Built from the event stream by `buildRunResults` (results.ts).
 *
 * Units: latencies in microseconds (what the board measured: cycles / MHz), sizes in bytes,
 * proportions as fractions (0.87), changes in percent (+3.1 = 3.1 % slower / larger). A statistic
 * that does not exist (one sample, no interval) is NaN in memory and null in results.json.
 * Everything that came from a simulated board carries `simulated: true`, and everything carries its
 * provenance (board, emulated, simulated: harness/lab/provenance.ts) - numbers of different classes
 * are never pooled (a variant measured on several classes is 'mixed' and has no pooled latency).
 *
 * `samples` (the sorted latency samples per variant and board) is in memory only, non-enumerable:
 * a later run's gates and comparisons need it, results.json does not (1,000,000 samples).
 */
import type { Gate as ScenarioGate } from '../config/types.js';
import type { BoardHello, BoardState, EventError, HeapFigures, LinkKind, OpProfileEntry } from '../lab/events.js';
import type { BuildSize } from '../lab/fingerprint.js';
import type { GroupProvenance, Provenance } from '../lab/provenance.js';
import type { ChangePoint } from '../stats/changepoint.js';
import type { Fingerprint } from '../stats/fingerprint.js';
import type { TrialSummary } from '../stats/summary.js';

/** Bumped when the shape changes incompatibly (harness/schemas/results.schema.json follows). */
export const RESULTS_VERSION = 1;

export interface Interval {
  lower: number;
  upper: number;
  confidence: number;
}

/**
 * Latency statistics of a group of samples (a trial, a board, a variant), in microseconds: the
 * statistics of harness/stats' TrialSummary (n, min, median, mean, p90, p99, max, stddev, raw MAD,
 * CV as a fraction) without its warnings, which the report gathers apart.
 */
export interface LatencySummary extends Omit<TrialSummary, 'warnings'> {
  /** Distribution-free order-statistic interval of the median (latency.ts). */
  medianCI: Interval;
}

/** Equal-width bins from `start` over Tukey's far-out fences; samples outside are counted in `below` / `above`. */
export interface Histogram {
  start: number;
  binWidth: number;
  counts: number[];
  below: number;
  above: number;
}

/** Tukey box plot: quartiles (type 7), whiskers at the farthest samples within 1.5 IQR. */
export interface BoxPlot {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  whiskerLow: number;
  whiskerHigh: number;
  /** Samples beyond the whiskers. */
  outliers: number;
}

export type RunStatus = 'completed' | 'interrupted' | 'failed' | 'incomplete';

export interface RunInfo {
  id: string;
  scenario: { name: string; file: string; sha256: string };
  rigs: { file: string; sha256: string };
  gitCommit?: string;
  host: { hostname: string; platform: string; node: string; labVersion: string };
  simulated: boolean;
  /** The provenance classes of the run's boards and numbers (reports show a banner for each non-board class). */
  provenances: Provenance[];
  /** 'incomplete': the journal ends without run.finished (the host died; `hil run --resume` carries on). */
  status: RunStatus;
  /** True unless the run completed with every planned trial finished. */
  partial: boolean;
  error?: EventError;
  /** ISO 8601 (UTC). */
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  resumes: number;
  plan: { rounds: number; seed: number; boards: string[]; variants: number; trials: number; builds: string[] };
}

export interface LogLine {
  seq: number;
  ts: number;
  line: string;
}

export interface BoardResults {
  id: string;
  link?: LinkKind;
  address?: string;
  /** The latest hello (identity of the firmware the board ended the run with). */
  hello?: BoardHello;
  /** Distinct app sha256 the board reported during the run. */
  firmware: Array<{ variant: string; appElfSha256: string }>;
  simulated: boolean;
  provenance: Provenance;
  state: BoardState;
  quarantined?: { reason: string };
  canary?: { model: string; n: number; medianUs: number; historyMedianUs?: number; driftPct?: number; verdict: 'ok' | 'flagged' | 'quarantined' };
  flashes: { count: number; failed: number; seconds: number; errors: EventError[] };
  trials: { passed: number; failed: number; error: number; incomplete: number; notRun: number };
  /** An excerpt: the first and last lines the board printed (all of them when few). */
  logs: { total: number; lines: LogLine[]; omitted: number };
}

export type TrialStatus = 'passed' | 'failed' | 'error' | 'incomplete' | 'not-run';

export interface ProportionResult {
  correct: number;
  total: number;
  estimate: number;
  /** Wilson score interval. */
  lower: number;
  upper: number;
  confidence: number;
}

export interface BitExactResult {
  bitExact: boolean;
  tensors: number;
  differingTensors: number;
  differingElements: number;
  /** Largest difference in quantized steps (int) or relative (float). */
  maxDifference: number;
  /** Largest difference in quantized steps over the integer outputs. */
  maxStepDifference?: number;
  /** Largest relative difference over the float outputs (tolerated ones included). */
  maxRelativeDifference?: number;
  /** Float elements not identical to the host's but within the float tolerance (not counted as differing). */
  toleratedElements?: number;
}

export interface MemoryResults {
  arenaBytes: number;
  arenaUsedBytes: number;
  headroomBytes: number;
  /** used / configured * 100. */
  usedPct: number;
  placement: 'internal' | 'psram';
  internal: HeapFigures & { fragmentation: number };
  psram?: HeapFigures & { fragmentation: number };
  imageBytes?: number;
  /** The firmware build's static footprint (its size-report.json), when the lab had the build. */
  build?: BuildSize;
  warnings: string[];
}

export interface TrialResults {
  id: string;
  variant: string;
  board: string;
  round: number;
  status: TrialStatus;
  attempts: number;
  errors: Array<EventError & { attempt: number }>;
  durationMs?: number;
  invokeMs?: number;
  latency?: LatencySummary;
  /** Warm-up samples the trial discarded, and leading measured samples that still look like warm-up. */
  warmup: { discarded: number; detected: number; detectedChangePct: number };
  outliers: { count: number; low: number; high: number };
  fingerprint?: Fingerprint;
  memory?: MemoryResults;
  accuracy?: { top1: ProportionResult; top5: ProportionResult; outputDigest: string };
  bitExact?: BitExactResult;
  profile?: { cpuMHz: number; ops: OpProfileEntry[] };
  simulated: boolean;
  /** Its board's class (a trial runs on one board). */
  provenance: Provenance;
  warnings: string[];
}

export interface OpShare {
  op: string;
  /** Median over trials of the op's cycles (summed over all its instances). */
  cycles: number;
  us: number;
  sharePct: number;
  /** How many times the op appears in the model. */
  count: number;
}

export interface VariantResults {
  id: string;
  build: string;
  firmware: { variant: string; kernelBackend?: 'reference' | 'esp-nn'; espNn?: string };
  /** `storage` only for a model the boards run from their flash partition (absent: uploaded). */
  model: { id: string; path: string; sha256?: string; storage?: 'partition' };
  arena: { size: number | 'auto'; placement: 'internal' | 'psram'; bytes?: number };
  cpuMHz: number;
  trials: { planned: number; passed: number; failed: number; error: number; incomplete: number; notRun: number };
  /** Pooled over every board and round (passed trials only); absent when the boards' provenance is 'mixed'. */
  latency?: LatencySummary;
  histogram?: Histogram;
  box?: BoxPlot;
  /** Board to board: each board's samples of this variant pooled over rounds. */
  boards: Array<{ board: string; trials: number; latency: LatencySummary; box: BoxPlot }>;
  /** Slowest over fastest board median (1 = boards agree; NaN with one board). */
  boardSpread?: { ratio: number; slowestBoard: string; slowestMedian: number; fastestBoard: string; fastestMedian: number };
  accuracy?: {
    top1: ProportionResult;
    top5: ProportionResult;
    classes: number;
    /** Rows: true class, columns: predicted (of the first passed trial: outputs are deterministic). */
    confusion: number[][];
    /** Every passed trial produced the same output digest. */
    consistent: boolean;
  };
  bitExact?: { trials: number; trialsNotExact: number; worst: BitExactResult };
  memory?: MemoryResults;
  profile?: { cpuMHz: number; ops: OpShare[] };
  simulated: boolean;
  /** Its boards' class; 'mixed' when boards of several classes measured it (nothing pooled across them). */
  provenance: GroupProvenance;
  warnings: string[];
}

export type ComparisonAxis = 'firmware' | 'model' | 'arena-placement' | 'arena-size' | 'cpu' | 'run';

export interface BoardComparison {
  board: string;
  comparable: boolean;
  reason?: string;
  changePct: number;
  /** Interval of the change, in percent. */
  lowerPct: number;
  upperPct: number;
  p: number;
  /** Holm over the boards of this comparison. */
  pHolm: number;
}

/** Candidate against baseline (a variant against another along one axis, or a variant against the baseline run). */
export interface Comparison {
  axis: ComparisonAxis;
  /** e.g. "esp-nn vs reference". */
  label: string;
  /** What the two variants share, e.g. "cnn-int8, 65536-internal, 240 MHz". */
  context: string;
  baseline: string;
  candidate: string;
  /** For axis 'run': the baseline run id. */
  baselineRun?: string;
  comparable: boolean;
  /** Why the fingerprints refuse the comparison (one sentence with the fix). */
  refusedReason?: string;
  baselineMedian: number;
  candidateMedian: number;
  /** Pooled median ratio candidate / baseline (geometric mean of per-board ratios) and its interval. */
  ratio: number;
  lower: number;
  upper: number;
  confidence: number;
  changePct: number;
  /** Van Elteren's stratified test (within boards). */
  p: number;
  /** Holm-adjusted over every comparison of the report. */
  pHolm: number;
  significant: boolean;
  alpha: number;
  boards: BoardComparison[];
  /** For the model axis: how often the two models pick the same top-1 class. */
  agreement?: { agreeing: number; total: number; estimate: number; lower: number; upper: number };
  warnings: string[];
}

export type GateVerdictStatus = 'pass' | 'fail' | 'error' | 'skipped';

export interface GateVerdict {
  /** The gate as the scenario wrote it. */
  gate: ScenarioGate;
  metric: string;
  variant: string;
  status: GateVerdictStatus;
  /** One line: what changed, by how much, against which limit, and the verdict. */
  explanation: string;
  baseline?: number;
  candidate?: number;
  changePct?: number;
  changePoints?: number;
  p?: number;
  interval?: Interval;
  warnings: string[];
}

export interface GatesSummary {
  /** The run the gates compared against, when there was one. */
  baselineRun?: string;
  /** Why gates that need a baseline were skipped, when they were. */
  note?: string;
  results: GateVerdict[];
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

export interface BaselineResults {
  runId: string;
  startedAt: string;
  gitCommit?: string;
  simulated: boolean;
  provenances: Provenance[];
  comparisons: Comparison[];
  /** Variants of the baseline this run did not plan (the matrix changed). */
  missingVariants: string[];
  /** Variants of this run the baseline does not have. */
  newVariants: string[];
}

export interface TrendPoint {
  runId: string;
  startedAt: string;
  value: number;
  lower?: number;
  upper?: number;
  /** This run (the others come from the history store). */
  current: boolean;
}

export interface TrendSeries {
  variant: string;
  points: TrendPoint[];
  changePoints: ChangePoint[];
  warnings: string[];
}

export interface Trend {
  metric: string;
  unit: string;
  series: TrendSeries[];
}

export type ExitCause = 'pass' | 'regression' | 'gate-error' | 'run-failed' | 'run-unfinished' | 'nothing-measured' | 'variant-failed';

/** Sorted latency samples per variant and board (passed trials, measure phase). */
export type RunSamples = ReadonlyMap<string, ReadonlyMap<string, Float64Array>>;

export interface RunResults {
  resultsVersion: number;
  run: RunInfo;
  boards: BoardResults[];
  variants: VariantResults[];
  trials: TrialResults[];
  /** Variants of this run compared along each matrix axis. */
  comparisons: Comparison[];
  baseline?: BaselineResults;
  gates: GatesSummary;
  trend?: Trend;
  /** 0 all gates pass, 1 a regression gate failed, 2 lab or config error. */
  exitCode: number;
  /** One sentence: why this exit code. */
  exitReason: string;
  /** What decided the exit code. */
  exitCause: ExitCause;
  warnings: string[];
  /** In memory only (non-enumerable): not in results.json. */
  readonly samples: RunSamples;
}
