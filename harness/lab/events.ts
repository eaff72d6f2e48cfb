/**
 * The lab's event stream: everything a run does, as typed events in the order they happen.
 *
 * The scheduler emits them; the journal appends each one to `reports/<run-id>/events.jsonl` as it
 * happens (so a crash loses nothing and `hil run --resume` knows which trials are finished); the
 * reporters (console, JSON, HTML, JUnit, Markdown) and the results store are fed from the same
 * stream, live or replayed from the journal (`hil report <run-id>`). Following Playwright's
 * reporters (CONVENTIONS.md): results flow as events to pluggable consumers.
 *
 * Rules: events are plain JSON (no Map, no typed arrays, no undefined-vs-missing tricks); every
 * event carries `seq` (1, 2, ... within a run, continued across resumes) and `ts` (ms since epoch);
 * numbers a simulated board made are marked `simulated: true` where they appear, and every event
 * that carries numbers carries their `provenance` (board, emulated or simulated: provenance.ts).
 * Journals written before emulated boards existed have no `provenance`: readers derive it from
 * `simulated` (recordedProvenance), so they still load.
 */
import type { Gate } from '../config/types.js';
import type { Fingerprint } from '../stats/fingerprint.js';
import type { Plan, Trial, Variant } from './plan.js';
import type { BuildSize } from './fingerprint.js';
import type { Provenance } from './provenance.js';

/** Bumped when an event changes shape; readers refuse journals of a newer version. */
export const JOURNAL_VERSION = 1;

/** What a board says about itself in its hello (protocol v1), as the journal keeps it. */
export interface BoardHello {
  board: string;
  chip: string;
  chipRevision: string;
  mac: string;
  /** App ELF sha256 (hex) from esp_app_get_description(). */
  appElfSha256: string;
  appVersion: string;
  projectName: string;
  /** Firmware variant name the image was built as (firmware/variants/<name>.json). */
  firmwareVariant: string;
  kernelBackend: 'reference' | 'esp-nn';
  idfVersion: string;
  tflmVersion: string;
  espNnVersion: string;
  cpuMHz: number;
  psramBytes: number;
  flashBytes: number;
  protocolVersion: number;
  simulated: boolean;
}

export type LinkKind = 'serial' | 'mqtt';

export type BoardState = 'unknown' | 'flashing' | 'booting' | 'ready' | 'running' | 'failed' | 'quarantined';

/** A lab error as the journal keeps it: the LabError code and its one-line message. */
export interface EventError {
  code: string;
  message: string;
}

export interface HeapFigures {
  freeBytes: number;
  minimumFreeBytes: number;
  largestFreeBlockBytes: number;
}

export interface MemoryReport {
  arenaBytes: number;
  arenaUsedBytes: number;
  arenaPlacement: 'internal' | 'psram';
  internal: HeapFigures;
  /** Absent on boards without PSRAM. */
  psram?: HeapFigures;
  /** App image size in bytes, when the board or the build knows it. */
  imageBytes?: number;
  /** The firmware build's static footprint, when the lab has the build directory (its size-report.json). */
  build?: BuildSize;
  simulated: boolean;
  provenance: Provenance;
}

interface EventBase {
  seq: number;
  ts: number;
}

export interface RunStartedEvent extends EventBase {
  type: 'run.started';
  journalVersion: number;
  runId: string;
  scenario: { name: string; file: string; sha256: string };
  rigs: { file: string; sha256: string };
  plan: Plan;
  /** Git commit of the project under test (the lab's checkout), when known. */
  gitCommit?: string;
  host: { hostname: string; platform: string; node: string; labVersion: string };
  /** True when any planned board is simulated: reports show a banner. */
  simulated: boolean;
  /** The provenance classes of the planned boards (the rigs say which are emulated or simulated). */
  provenances: Provenance[];
  /**
   * The scenario's regression gates and baseline policy as they were when the run started, so
   * `hil report` rebuilds the same verdicts even if the scenario file changed since.
   */
  gates?: Gate[];
  baseline?: string;
}

/** `hil run --resume`: the run carries on; trials finished before stay as they are. */
export interface RunResumedEvent extends EventBase {
  type: 'run.resumed';
  runId: string;
  finishedTrials: string[];
}

export interface BoardStateEvent extends EventBase {
  type: 'board.state';
  board: string;
  from: BoardState;
  to: BoardState;
  reason?: string;
}

export interface BoardHelloEvent extends EventBase {
  type: 'board.hello';
  board: string;
  link: LinkKind;
  /** Device path or MQTT topic prefix. */
  address: string;
  hello: BoardHello;
  /**
   * The board's class as the lab knows it: the hello's `simulated` is what the board says, and the
   * firmware in an emulator cannot know it is emulated.
   */
  provenance: Provenance;
}

/** A line the board printed that is not a protocol frame (boot banner, ESP-IDF log). */
export interface BoardLogEvent extends EventBase {
  type: 'board.log';
  board: string;
  line: string;
}

export interface FlashRegionResult {
  address: number;
  file: string;
  bytes: number;
  skipped: boolean;
  wireBytes: number;
  seconds: number;
}

export interface BoardFlashedEvent extends EventBase {
  type: 'board.flashed';
  board: string;
  build: string;
  regions: FlashRegionResult[];
  ok: boolean;
  error?: EventError;
}

/** The short benchmark every board runs at the start of a run, checked against its own history. */
export interface CanaryEvent extends EventBase {
  type: 'board.canary';
  board: string;
  model: string;
  latencyUs: number[];
  medianUs: number;
  /** Median of the board's earlier canaries, when there is history. */
  historyMedianUs?: number;
  driftPct?: number;
  verdict: 'ok' | 'flagged' | 'quarantined';
  simulated: boolean;
  provenance: Provenance;
}

export interface BoardQuarantinedEvent extends EventBase {
  type: 'board.quarantined';
  board: string;
  reason: string;
}

export interface TrialStartedEvent extends EventBase {
  type: 'trial.started';
  trial: string;
  board: string;
  /** 1 for the first attempt; retries count up. */
  attempt: number;
}

export interface TrialFingerprintEvent extends EventBase {
  type: 'trial.fingerprint';
  trial: string;
  attempt: number;
  fingerprint: Fingerprint;
}

/**
 * Latency samples as the board measured them: cycle counts around Invoke() and the CPU clock they
 * ran at. Several events per trial when samples arrive in batches (adaptive sampling).
 */
export interface TrialSamplesEvent extends EventBase {
  type: 'trial.samples';
  trial: string;
  attempt: number;
  phase: 'warmup' | 'measure';
  cycles: number[];
  cpuMHz: number;
  /** cycles / cpuMHz, rounded to 0.001 us. */
  latencyUs: number[];
  simulated: boolean;
  provenance: Provenance;
}

export interface OpProfileEntry {
  index: number;
  op: string;
  cycles: number;
}

export interface TrialProfileEvent extends EventBase {
  type: 'trial.profile';
  trial: string;
  attempt: number;
  ops: OpProfileEntry[];
  cpuMHz: number;
  simulated: boolean;
  provenance: Provenance;
}

/** Outputs of the accuracy pass, checked against labels and against the host reference interpreter. */
export interface TrialAccuracyEvent extends EventBase {
  type: 'trial.accuracy';
  trial: string;
  attempt: number;
  classes: number;
  labels: number[];
  /** Top-1 class per input. */
  predictions: number[];
  /** Top-5 classes per input (fewer when the model has fewer classes). */
  topK: number[][];
  /** sha256 of all output tensors concatenated: equal digests mean identical outputs. */
  outputDigest: string;
  /** Board outputs compared with the lab's host interpreter on the same inputs. */
  bitExact: {
    tensors: number;
    differingTensors: number;
    differingElements: number;
    /** Largest |board - host| in quantized steps (int8/uint8) or relative (float). */
    maxDifference: number;
    /** Largest difference in quantized steps over the integer outputs (absent in older journals). */
    maxStepDifference?: number;
    /** Largest relative difference over the float outputs, within the tolerance or not (absent in older journals). */
    maxRelativeDifference?: number;
    /** Float elements not identical to the host's but within its tolerance (stats/accuracy.ts FLOAT_TOLERANCE). */
    toleratedElements?: number;
  };
  simulated: boolean;
  provenance: Provenance;
}

export interface TrialMemoryEvent extends EventBase {
  type: 'trial.memory';
  trial: string;
  attempt: number;
  memory: MemoryReport;
}

export interface TrialFinishedEvent extends EventBase {
  type: 'trial.finished';
  trial: string;
  board: string;
  attempt: number;
  /** 'passed': measured; 'failed': the trial itself failed (e.g. arena too small); 'error': the board or link failed. */
  status: 'passed' | 'failed' | 'error';
  error?: EventError;
  /** Wall time of the trial on the host. */
  durationMs: number;
  /** Board time spent inside Invoke() (sum of measured + warm-up latencies), for the lab's duty cycle. */
  invokeMs: number;
  /**
   * Board time inside Invoke() during the accuracy pass, when the trial ran one: its inputs x the
   * trial's median measured latency (ACCURACY_RESULT carries no cycle counts). Also for the duty cycle.
   */
  accuracyInvokeMs?: number;
  /** True when the trial will be attempted again (after a board reset). */
  willRetry: boolean;
}

export interface RunFinishedEvent extends EventBase {
  type: 'run.finished';
  runId: string;
  /** 'interrupted': Ctrl-C or a signal; the partial report is still valid and `--resume` carries on. */
  status: 'completed' | 'interrupted' | 'failed';
  error?: EventError;
}

export type LabEvent =
  | RunStartedEvent
  | RunResumedEvent
  | BoardStateEvent
  | BoardHelloEvent
  | BoardLogEvent
  | BoardFlashedEvent
  | CanaryEvent
  | BoardQuarantinedEvent
  | TrialStartedEvent
  | TrialFingerprintEvent
  | TrialSamplesEvent
  | TrialProfileEvent
  | TrialAccuracyEvent
  | TrialMemoryEvent
  | TrialFinishedEvent
  | RunFinishedEvent;

export type LabEventType = LabEvent['type'];

/** An event before the journal stamps `seq` and `ts` on it. */
export type NewLabEvent = LabEvent extends infer E ? (E extends LabEvent ? Omit<E, 'seq' | 'ts'> : never) : never;

/** Re-exported so consumers of the stream need one import. */
export type { Fingerprint, Plan, Provenance, Trial, Variant };
