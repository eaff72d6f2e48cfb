/**
 * Flashing a board the lab also talks to over its serial console - the steps `hil flash` and a run's
 * firmware step (harness/lab/firmware.ts) share:
 *
 *  1. Into the ROM loader. A board that answers our protocol is asked in-band: RESET mode download
 *     (PROTOCOL.md 0x04 mode 1 - the firmware sets RTC_CNTL_FORCE_DOWNLOAD_BOOT and restarts), and
 *     its session closes the port. That is the only way in on a PTY or where EN/GPIO0 are not wired
 *     to DTR/RTS. A board that does not answer (or refuses with UNSUPPORTED) has its link released
 *     and is left to esptool-js's own reset sequence for the rig (classic DTR/RTS or USB-JTAG-Serial).
 *  2. `flashBoard`: regions whose flash MD5 already matches are skipped, the rest written and verified.
 *  3. Back through the same session: `connect` gets the new firmware's HELLO (or INFO), and its app
 *     ELF sha256 is checked against the image's esp_app_desc_t (flashBoard's `waitForHello`).
 *
 * An emulated board (harness/emu) has no reset lines, and QEMU's ROM does not enter download mode on
 * the firmware's in-band RESET: its reset strategy is a restart. Step 1 is then "release the link,
 * restart QEMU with the download strapping", and after the writes QEMU restarts into the app.
 *
 * Every failure is a FlashError naming the board and the file; the caller re-probes the board.
 */
import { existsSync } from 'node:fs';
import { isLabError } from '../errors.js';
import type { BoardIdentity } from '../protocol/index.js';
import { flashBoard, type FlashBoardOptions, type FlashReport } from './flasher.js';
import { isPtyPath } from './webserial-port.js';

/**
 * What the flashing steps need from a board session (harness/boards `BoardSession` has all of it;
 * the scheduler's `LabBoard` declares `enterDownloadMode` as optional: used when the board has it).
 */
export interface FlashableBoard {
  readonly id: string;
  connect(timeoutMs: number): Promise<BoardIdentity>;
  /** What the board's boot adds to connect's timeout (BoardSession.bootMs); the HELLO wait allows it. */
  readonly bootMs?: number;
  /** Closes the link so the flasher can open the port. */
  release?(): Promise<void>;
  /** RESET mode download, then the link is closed (BoardSession.enterDownloadMode). */
  enterDownloadMode?(timeoutMs: number): Promise<void>;
}

/** A board whose reset is a restart of its emulator (harness/emu EmulatedBoard). */
export interface RestartingBoard {
  restart(strap: 'app' | 'download'): Promise<void>;
  /** QEMU's crash line when it ended on its own (waiting briefly for its exit), else undefined. */
  crashed?(withinMs?: number): Promise<string | undefined>;
}

/**
 * How many times the app's boot is tried after flashing an emulated board. Espressif's QEMU with
 * PSRAM sometimes crashes (segmentation fault) while the app boots - about 1 boot in 10 right after a
 * download-mode session here (harness/emu/README.md); a restart boots the same flash.
 */
export const EMULATED_BOOT_ATTEMPTS = 3;

export interface FlashThroughSessionOptions extends Omit<FlashBoardOptions, 'board' | 'waitForHello' | 'helloTimeoutMs' | 'restartAfter'> {
  board: FlashableBoard;
  /** The board is emulated: download mode and the reset after flashing are restarts of its emulator. */
  emulator?: RestartingBoard;
  /** The board's session is connected and answering now (it can be asked to enter download mode). */
  answering: boolean;
  /** Limit for the RESET request (default 3000 ms). */
  requestMs?: number;
  /** Limit for the HELLO after the reset (default 15000 ms). */
  helloMs?: number;
  /** Why the in-band step was not used, for the user (e.g. "the firmware cannot ..."). */
  onNote?: (line: string) => void;
}

export interface SessionFlashReport extends FlashReport {
  /**
   * How the board reached the ROM loader: RESET mode download over our protocol, esptool-js's reset
   * sequence, or (an emulated board) a restart with the download strapping.
   */
  downloadMode: 'in-band' | 'esptool-reset' | 'restart';
  /** What the board says it runs after the flashing (its HELLO / INFO). */
  identity: BoardIdentity;
}

/**
 * How long a USB-Serial-JTAG port may be gone after the chip restarts: its USB device re-enumerates
 * (FACTS.md: native USB port /dev/ttyACM*). Not measured on a real board here.
 */
const REENUMERATE_MS = 5000;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function waitForDevice(path: string, ms: number): Promise<void> {
  // The device first goes away as the chip restarts, then comes back.
  await new Promise((r) => setTimeout(r, 300));
  const until = Date.now() + ms;
  while (!existsSync(path) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
}

export async function flashThroughSession(options: FlashThroughSessionOptions): Promise<SessionFlashReport> {
  const { board, answering, requestMs = 3000, helloMs = 15_000, onNote, emulator, ...flash } = options;
  const note = onNote ?? (() => {});
  if (emulator) return flashEmulated(board, emulator, helloMs, flash, note);
  let downloadMode: SessionFlashReport['downloadMode'] = 'esptool-reset';
  if (answering && board.enterDownloadMode) {
    options.onProgress?.({ board: board.id, phase: 'download-mode' });
    try {
      await board.enterDownloadMode(requestMs);
      downloadMode = 'in-band';
    } catch (e) {
      const why = isLabError(e) && e.code === 'board-error:UNSUPPORTED' ? 'its firmware cannot restart into the ROM loader' : `RESET download failed: ${messageOf(e)}`;
      note(`${board.id}: ${why}; relying on the rig's ${flash.reset ?? 'classic'} reset to reach the ROM loader`);
    }
  }
  if (downloadMode !== 'in-band') await board.release?.();
  if (downloadMode === 'in-band' && flash.reset === 'usb-jtag' && !isPtyPath(flash.port)) {
    await waitForDevice(flash.port, REENUMERATE_MS);
  }

  let identity: BoardIdentity | undefined;
  const report = await flashBoard({
    ...flash,
    board: board.id,
    helloTimeoutMs: helloMs,
    waitForHello: async () => {
      identity = await board.connect(helloMs);
      return { appElfSha256: identity.appSha256, projectName: identity.projectName, version: identity.appVersion };
    },
  });
  // flashBoard only returns after its hello check, which set `identity`.
  return { ...report, downloadMode, identity: identity! };
}

/** An emulated board: restart into download mode, flash with no reset lines, restart into the app. */
async function flashEmulated(
  board: FlashableBoard, emulator: RestartingBoard, helloMs: number,
  flash: Omit<FlashThroughSessionOptions, 'board' | 'answering' | 'requestMs' | 'helloMs' | 'onNote' | 'emulator'>,
  note: (line: string) => void,
): Promise<SessionFlashReport> {
  flash.onProgress?.({ board: board.id, phase: 'download-mode' });
  await board.release?.();
  await emulator.restart('download');
  let identity: BoardIdentity | undefined;
  const report = await flashBoard({
    ...flash,
    board: board.id,
    reset: 'none',
    restartAfter: () => emulator.restart('app'),
    // Every boot attempt may take its whole connect time (helloMs plus the board's boot).
    helloTimeoutMs: EMULATED_BOOT_ATTEMPTS * (helloMs + (board.bootMs ?? 0)),
    waitForHello: async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          identity = await board.connect(helloMs);
          break;
        } catch (e) {
          const crash = attempt < EMULATED_BOOT_ATTEMPTS ? await emulator.crashed?.() : undefined;
          if (!crash) throw e;
          note(`${board.id}: ${crash.replace(/^board \S+: /, '')} while the app booted: restarting it (boot ${attempt + 1} of ${EMULATED_BOOT_ATTEMPTS})`);
          await emulator.restart('app');
        }
      }
      return { appElfSha256: identity.appSha256, projectName: identity.projectName, version: identity.appVersion };
    },
  });
  return { ...report, downloadMode: 'restart', identity: identity! };
}
