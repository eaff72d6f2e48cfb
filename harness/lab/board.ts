/**
 * What the scheduler needs from one board: the lab's side of a board session (harness/boards does
 * the protocol work over a serial or MQTT link; `fleet.ts` adapts it to this interface). Kept to
 * the steps of a trial so the scheduler can be tested against an in-memory board, and so a
 * different board layer (a remote lab agent, ARCHITECTURE.md "Scale") can stand in.
 *
 * Every method either resolves, or rejects with a `LabError` whose `code` says whose fault it was
 * (failures.ts): the trial's own (arena too small, unsupported op) or the board's (timeout,
 * reboot, disconnect, garbled link). A HELLO in the middle of a request means the board rebooted:
 * the request is rejected at once with code 'board-rebooted' instead of waiting for its timeout.
 */
import type { ArenaReady, BoardIdentity, Memory, Placement, ProfileEntry } from '../protocol/index.js';
import type { LinkKind } from './events.js';

export type { ArenaReady, BoardIdentity, Memory, ProfileEntry };

/** One INVOKE: `warmup` unmeasured inferences, then `measured` timed ones. */
export interface InvokeRequest {
  warmup: number;
  measured: number;
  /** One extra, unmeasured inference with the per-op profiler (PROTOCOL.md INVOKE flags). */
  profile: boolean;
  /** Inactivity limit: the board sends progress at least once a second (PROTOCOL.md "Progress"). */
  timeoutMs: number;
}

export interface InvokeOutcome {
  /** Cycle counts of the measured inferences, in order (0xFFFFFFFF = over the counter's range). */
  cycles: number[];
  cpuMhz: number;
  /** esp_timer microseconds of the measured loop. */
  wallUs: number;
  profile?: ProfileEntry[];
}

export interface AccuracyRequest {
  /** `samples` inputs back to back, each the concatenation of the model's input tensors. */
  data: Uint8Array;
  samples: number;
  sampleBytes: number;
  timeoutMs: number;
}

/** A board the scheduler can run trials on. */
export interface LabBoard {
  readonly id: string;
  readonly link: LinkKind;
  /** Device path or MQTT topic prefix (for reports and errors). */
  readonly address: string;
  /** The board's identity from its latest HELLO or INFO; undefined before `connect`. */
  readonly identity: BoardIdentity | undefined;
  /**
   * How much longer than the scenario's timeouts a connect or reset of this board may take because of
   * its boot (an emulated board's QEMU: harness/boards/session.ts BoardSessionOptions.bootMs); 0 or
   * absent for boards whose boot the hello timeout covers. The scheduler widens those steps by it.
   */
  readonly bootMs?: number;

  /** Opens the link and gets the board's identity (its HELLO, or INFO when it booted earlier). */
  connect(timeoutMs: number): Promise<BoardIdentity>;
  /** Lines the board printed that are not frames (boot banner, ESP-IDF log). */
  onLog(listener: (line: string) => void): void;
  /** A HELLO outside of connect/reset: the board rebooted on its own. */
  onReboot(listener: (identity: BoardIdentity) => void): void;

  uploadModel(model: Uint8Array, sha256: string, destination: Extract<Placement, 'internal' | 'psram'>, timeoutMs: number): Promise<void>;
  /** The model in the board's flash `model` partition instead of an upload: its size and SHA-256. */
  selectPartitionModel?(timeoutMs: number): Promise<{ size: number; sha256: string }>;
  configureArena(size: number, placement: Extract<Placement, 'internal' | 'psram'>, timeoutMs: number): Promise<ArenaReady>;
  setInput(tensor: number, data: Uint8Array, timeoutMs: number): Promise<void>;
  invoke(request: InvokeRequest): Promise<InvokeOutcome>;
  /** Runs every sample through the model on the board; all output tensors of each sample, concatenated. */
  runAccuracy(request: AccuracyRequest): Promise<Uint8Array>;
  memory(timeoutMs: number): Promise<Memory>;

  /**
   * Brings the board back to a known state: RESET over the protocol, and when the board does not
   * answer (hung), a hardware reset (DTR/RTS, or the simulated fleet's power switch). Resolves
   * with the identity of its fresh HELLO.
   */
  reset(timeoutMs: number): Promise<BoardIdentity>;
  /** Simulated boards only: reboot into another firmware variant (SIM_SET_VARIANT). */
  switchVariant?(variant: string, timeoutMs: number): Promise<BoardIdentity>;
  /**
   * RESET mode download (PROTOCOL.md 0x04, mode 1): the board restarts into the ROM loader and the
   * link is released for the flasher; `connect` takes the board back after flashing.
   */
  enterDownloadMode?(timeoutMs: number): Promise<void>;
  /** An emulated board's emulator: its reset and its download mode are restarts (harness/emu). */
  readonly emulator?: { restart(strap: 'app' | 'download'): Promise<void> };
  /** Real boards: release the serial port (for the flasher) and take it back afterwards. */
  release?(): Promise<void>;

  close(): Promise<void>;
}
