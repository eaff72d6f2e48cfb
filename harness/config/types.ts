/**
 * The lab's configuration as the rest of the harness sees it: rigs.json and scenarios/*.json after
 * schema validation, semantic checks and defaults (harness/schemas/*.schema.json hold the same
 * shapes, with a description of every field). Paths are resolved to absolute paths next to the
 * values as written, so later steps never resolve a path against the wrong directory.
 */

// ---------------------------------------------------------------- rigs.json

export type Chip = 'esp32s3';

/** How a board is reset into the app or the ROM loader (FACTS.md: classic DTR/RTS, USB-Serial-JTAG). */
export type ResetMode = 'classic' | 'usb-jtag';

/** A broker login by environment variable NAMES; the secret itself never sits in a file. */
export interface EnvCredentials {
  usernameEnv: string;
  passwordEnv: string;
}

/** TLS files (PEM), as absolute paths (written relative to rigs.json). */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface SerialTransport {
  /**
   * Device path (prefer /dev/serial/by-id/...). Always set for real boards. A simulated board may
   * leave it out: the simulated fleet then serves the board on a PTY of its own choosing; with one,
   * the fleet links its PTY at this path so another process can open it by name.
   */
  port?: string;
  /** Console baud rate (a simulated board limits its PTY to it). Default 115200. */
  baud: number;
  /** Flashing baud rate. Default 921600. */
  flashBaud: number;
  /** Default 'classic'. */
  reset: ResetMode;
}

export interface MqttTransport {
  /** Topic prefix: the board uses `<topic>/cmd`, `<topic>/evt`, `<topic>/log`. Default `lab/<id>`. */
  topic: string;
  /** The board's own broker login (written into its NVS by the harness). */
  credentials?: EnvCredentials;
  tls?: TlsFiles;
}

/**
 * A raw TCP serial port (rigs.json `"tcp": "host:port"`): the board's UART bytes over TCP - an
 * emulated board's UART0 (QEMU `-serial tcp:...`), or ser2net's raw mode. No modem lines.
 */
export interface TcpTransport {
  host: string;
  /** 0 only for an emulated board: the lab picks a free port when it starts the emulator. */
  port: number;
}

/**
 * A network serial port that speaks RFC 2217 (rigs.json `"rfc2217": "host:port"` or an object):
 * ser2net's `telnet(rfc2217)` accepter in front of the board's USB-UART. Carries the board protocol
 * at `baud`, flashing at `flashBaud` (SET-BAUDRATE), and the `reset` sequence on DTR/RTS (SET-CONTROL).
 */
export interface Rfc2217Transport {
  host: string;
  port: number;
  /** Default 115200. */
  baud: number;
  /** Default 921600. */
  flashBaud: number;
  /** Default 'classic'; 'none' when the port behind the server has no reset lines. */
  reset: ResetMode | 'none';
}

/** At least one is present (the schema and the loader make sure). */
export interface BoardTransport {
  serial?: SerialTransport;
  tcp?: TcpTransport;
  rfc2217?: Rfc2217Transport;
  mqtt?: MqttTransport;
}

export interface BoardIdentity {
  usbSerial?: string;
  /** Lower-case, colon-separated. */
  mac?: string;
}

export type SimulatedProfileName =
  | 'esp32s3-devkitc-1-n16r8'
  | 'esp32s3-devkitc-1-n8r8'
  | 'esp32s3-devkitc-1-n8r2'
  | 'esp32s3-devkitc-1-n8';

/** When an event fault (reboot, hang, disconnect) fires. At least one of the two is set. */
export interface FaultTrigger {
  /** Fires once this many inferences ran since the board (re)started. */
  afterInvokes?: number;
  /** Chance per inference (after afterInvokes, when given). */
  probability?: number;
  /** Most times it fires over the board's life; undefined = no limit. */
  times?: number;
}

export interface RebootFault extends FaultTrigger {
  kind: 'reboot';
  /** The reset reason the boot banner shows. Default 'brownout'. */
  reason: 'brownout' | 'panic' | 'watchdog';
}
export interface HangFault extends FaultTrigger {
  kind: 'hang';
  /** Undefined = only a reset ends the hang. */
  durationS?: number;
}
export interface ByteFault {
  kind: 'drop-bytes' | 'corrupt-bytes';
  /** Chance per byte. */
  probability: number;
  /** Default 'both'. */
  direction: 'to-host' | 'to-board' | 'both';
}
/** At least one of the two limits is set. */
export interface SlowLinkFault {
  kind: 'slow-link';
  bytesPerSecond?: number;
  latencyMs?: number;
}
export interface DisconnectFault extends FaultTrigger {
  kind: 'disconnect';
  /** Default 2. */
  durationS: number;
}
export type SimulatedFault = RebootFault | HangFault | ByteFault | SlowLinkFault | DisconnectFault;

export interface SimulatedBoardSettings {
  profile: SimulatedProfileName;
  /** Default 1. */
  seed: number;
  /** Default []. */
  faults: SimulatedFault[];
}

/** Modules an emulated board can be given (QEMU's esp32s3 machine models these; harness/emu). */
export type EmulatedProfileName = 'esp32s3-devkitc-1-n8r8' | 'esp32s3-devkitc-1-n16r8' | 'esp32s3-devkitc-1-n8';

export interface EmulatedBoardSettings {
  profile: EmulatedProfileName;
  /** Absolute path of the board's flash image (QEMU's -drive if=mtd); created erased on first use. */
  flashFile: string;
}

export interface BoardConfig {
  id: string;
  description?: string;
  chip: Chip;
  transport: BoardTransport;
  /** Default {}. */
  identity: BoardIdentity;
  /** Undefined on a real board that does not say (its hello will). Simulated: from the profile. */
  psramBytes?: number;
  flashBytes?: number;
  /** Default []. */
  tags: string[];
  simulated?: SimulatedBoardSettings;
  /** An emulated board (Espressif QEMU running the lab firmware); never together with `simulated`. */
  emulated?: EmulatedBoardSettings;
}

export interface MqttBrokerSettings {
  /** 'embedded' (the in-process aedes broker) or a broker URL. Default 'embedded'. */
  url: string;
  /** Port of the embedded broker; 0 = any free port. Default 0. */
  embeddedPort: number;
  credentials?: EnvCredentials;
  tls?: TlsFiles;
}

export interface Rigs {
  /** Absolute path of the file read. */
  file: string;
  /** How errors and reports name the file (relative to the working directory when inside it). */
  label: string;
  mqtt: MqttBrokerSettings;
  boards: BoardConfig[];
  /** Things that work but are fragile (e.g. a /dev/ttyUSB0 path); `hil validate` prints them. */
  warnings: string[];
}

// ---------------------------------------------------------------- scenarios/*.json

export type CpuMHz = 80 | 160 | 240;
export type ArenaPlacement = 'internal' | 'psram';

/** One entry of matrix.firmware. */
export interface FirmwareChoice {
  /** The firmware variant (firmware/variants/<variant>.json), e.g. "esp-nn", "esp-nn-1.2.6". */
  variant: string;
  /** From the variant file, when the loader was given the variants. */
  kernelBackend?: 'reference' | 'esp-nn';
  /** The esp-nn release the variant pins (from the variant file), e.g. "1.1.2". */
  espNn?: string;
}

export interface ScenarioModel {
  id: string;
  /** As written (relative to the scenario file). */
  path: string;
  /** Absolute path; the loader checked it exists and is a TFL3 FlatBuffer. */
  file: string;
  sha256?: string;
  /** Class names by output index: a list, or a file with one name per line (absolute path). */
  labels?: { names: string[] } | { file: string };
  /** Default { input: 0, output: 0 }. */
  io: { input: number; output: number };
  /** Default 'psram'. */
  storage: 'psram' | 'partition';
}

export interface ArenaChoice {
  /** Bytes, or 'auto' = the arena planner's estimate for each model plus marginBytes. */
  size: number | 'auto';
  /** Default 'internal'. */
  placement: ArenaPlacement;
  /** Only meaningful with size 'auto'. Default 4096. */
  marginBytes: number;
  /**
   * With size 'auto' and an arena estimator given to the loader: the bytes chosen per model id
   * (estimate + margin, rounded up to 16). Undefined when no estimator was given.
   */
  autoBytes?: Record<string, number>;
}

/** A variant is excluded when it matches every field given. */
export interface ExcludeRule {
  firmware?: string;
  model?: string;
  arena?: { size?: number | 'auto'; placement?: ArenaPlacement };
  cpuMHz?: CpuMHz;
}

export interface VariantMatrix {
  firmware: FirmwareChoice[];
  model: ScenarioModel[];
  arena: ArenaChoice[];
  /** Default [240]. */
  cpuMHz: CpuMHz[];
  /** Default []. */
  exclude: ExcludeRule[];
}

/** A board is chosen when it carries every tag and (if ids are given) its id is listed. */
export interface BoardSelector {
  /** Default []. */
  tags: string[];
  ids?: string[];
  max?: number;
}

export type TransportChoice = 'serial' | 'mqtt' | 'any';

export type LatencyInputs =
  | { kind: 'random'; seed: number; count: number }
  | { kind: 'file'; path: string; file: string };

/** Two .npy files of the same length (as harness/datasets writes them); paths as written + absolute. */
export interface AccuracyInputs {
  inputs: string;
  inputsFile: string;
  labels: string;
  labelsFile: string;
  limit?: number;
}

export interface ScenarioInputs {
  /** Default { kind: 'random', seed: <scenario seed>, count: 4 }. */
  latency: LatencyInputs;
  accuracy?: AccuracyInputs;
}

export type Measure =
  | { kind: 'fixed'; inferences: number }
  | {
      kind: 'adaptive';
      /** Stop when the 95% CI half-width of the median is within this percent of the median. */
      targetCiPct: number;
      /** Default 30. */
      minInferences: number;
      /** Default 5000. */
      maxInferences: number;
      /** Default 60. */
      timeBudgetS: number;
    };

/** Seconds per step (defaults in the schema). */
export interface StepTimeouts {
  connectS: number;
  helloS: number;
  flashS: number;
  uploadS: number;
  invokeS: number;
  accuracyS: number;
  trialS: number;
}

export interface RetryPolicy {
  /** Default 2. */
  maxTrialRetries: number;
  /** Default 3. */
  quarantineAfterFailures: number;
}

export interface CanarySettings {
  /** Default true. */
  enabled: boolean;
  /** Default 30. */
  inferences: number;
  /** Default 5. */
  flagDriftPct: number;
  /** Default 20. */
  quarantineDriftPct: number;
}

export type LatencyMetric = 'latency.median' | 'latency.mean' | 'latency.p90' | 'latency.p99';
export type AccuracyMetric = 'accuracy.top1' | 'accuracy.top5';
export type SizeMetric = 'arena.used' | 'image.size';
export type GateMetric = LatencyMetric | AccuracyMetric | SizeMetric | 'outputs.mismatches';

export const GATE_METRICS: readonly GateMetric[] = [
  'latency.median', 'latency.mean', 'latency.p90', 'latency.p99',
  'accuracy.top1', 'accuracy.top5', 'arena.used', 'image.size', 'outputs.mismatches',
];

interface GateScope {
  /** Variant ids the gate applies to; undefined = every variant. */
  variants?: string[];
}
/** Fails when the metric grew by more than maxIncreasePct AND Mann-Whitney U gives p < alpha. */
export interface LatencyGate extends GateScope { metric: LatencyMetric; maxIncreasePct: number; alpha: number }
/** Fails when top-k accuracy dropped by more than maxDropPoints percentage points. */
export interface AccuracyGate extends GateScope { metric: AccuracyMetric; maxDropPoints: number }
/** Fails when the (deterministic) size grew by more than maxIncreasePct. */
export interface SizeGate extends GateScope { metric: SizeMetric; maxIncreasePct: number }
/** Fails when more than `max` output tensors differ from the host reference. */
export interface MismatchGate extends GateScope { metric: 'outputs.mismatches'; max: number }
export type Gate = LatencyGate | AccuracyGate | SizeGate | MismatchGate;

export interface Scenario {
  file: string;
  label: string;
  name: string;
  description?: string;
  matrix: VariantMatrix;
  boards: BoardSelector;
  /** Default 'any'. */
  transport: TransportChoice;
  inputs: ScenarioInputs;
  /** Default 10. */
  warmup: number;
  /** Default { kind: 'fixed', inferences: 100 }. */
  measure: Measure;
  /** Default 3. */
  rounds: number;
  /** Default 1. */
  seed: number;
  timeouts: StepTimeouts;
  retries: RetryPolicy;
  canary: CanarySettings;
  /** Default []. */
  gates: Gate[];
  /** 'last-baseline' (default), 'none', or a run id. */
  baseline: string;
  warnings: string[];
}

// ---------------------------------------------------------------- firmware/variants/*.json

/**
 * One firmware variant file, in the format the firmware defines (firmware/variants/
 * variant.schema.json): the build-time choices of one firmware image.
 */
export interface FirmwareVariant {
  file: string;
  name: string;
  description: string;
  kernelBackend: 'reference' | 'esp-nn';
  /** The espressif/esp-nn release the build pins, e.g. "1.1.2". */
  espNn: string;
  /** sdkconfig fragments applied after firmware/sdkconfig.defaults (relative to firmware/). */
  sdkconfig: string[];
}
