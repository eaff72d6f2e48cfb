/**
 * `hil flash <board-or-tag...> --build <dir> [--rigs rigs.json] [--baud n] [--no-skip-unchanged]
 * [--port <path>] [--reset mode] [--flash-size size] [--no-sim] [--time-scale x]`: flash boards of
 * rigs.json with an ESP-IDF build, all of them in parallel, one progress bar each.
 *
 * Per board (flashThroughSession, the same steps a run's firmware step takes): ask the firmware who
 * it is over its serial console; if it answers, RESET mode download in-band and release the port;
 * esptool-js (unmodified) at min(--baud, the rig's flashBaud) with the rig's reset mode, skipping
 * regions whose flash MD5 already matches; then the new firmware's HELLO through the board session,
 * its app ELF sha256 checked against the image's esp_app_desc_t. A board that fails gets one line
 * on stderr naming it and the file, the others carry on, and it is re-probed (connect, else reset)
 * so the summary says what it runs now or that it does not answer. Exit code 0 when every board was
 * flashed (or found unchanged) and identified, 2 otherwise.
 *
 * Simulated boards of the rigs are started in-process (as `hil run` and `hil rigs --probe` do)
 * unless --no-sim. `--port <device>` flashes one board through that device: a board of the rigs
 * (the port overrides the rig's, the board is reached as a real one), or a board not in the rigs,
 * which is flashed without the session steps (no in-band download, identity not checked).
 */
import { rfc2217Url } from '../links/rfc2217-connection.js';
import type { Command } from 'commander';
import { loadRigs, type BoardConfig, type Rigs, type SelectedBoard } from '../config/index.js';
import { closest, quoteList } from '../config/suggest.js';
import { ExitCode, LabError, isLabError } from '../errors.js';
import { flashBoard, FlashError, type RegionReport, type ResetMode } from '../flash/flasher.js';
import { readFlasherArgs, type FirmwareBuild } from '../flash/flasher-args.js';
import { FlashProgressView } from '../flash/progress.js';
import { flashThroughSession } from '../flash/through-session.js';
import { FLASH_SIZES, type FlashSize } from '../flash/image.js';
import type { BoardIdentity, LabBoard } from '../lab/board.js';
import { openFleet } from '../lab/fleet.js';
import type { OpenFleet } from '../lab/run.js';
import { formatTable } from './rigs.js';

const RESET_MODES: ResetMode[] = ['classic', 'usb-jtag', 'none'];
/** esptool's own default rate for a board the rigs say nothing about. */
const DEFAULT_FLASH_BAUD = 921600;
const DEFAULT_RIGS = 'rigs.json';

/** Time limits of the session steps (the flashing itself is bounded by esptool-js's own timeouts). */
export interface FlashTimeouts {
  /** Asking the firmware who it is before flashing (a board in the ROM loader uses all of it). */
  probeMs: number;
  /** The RESET download request. */
  requestMs: number;
  /** The HELLO after the reset into the new app. */
  helloMs: number;
  /** The re-probe of a failed board: connect, then reset, each. */
  reprobeMs: number;
}

const TIMEOUTS: FlashTimeouts = { probeMs: 4000, requestMs: 3000, helloMs: 15_000, reprobeMs: 5000 };

/** One board to flash, resolved from the command line and the rigs. */
export interface FlashTarget {
  id: string;
  /** The rig entry; undefined for a board known only by --port. */
  config?: BoardConfig;
  /** The device to flash through; undefined for a simulated board served on the fleet's PTY. */
  port?: string;
  baud: number;
  reset: ResetMode;
}

export interface TargetOptions {
  port?: string;
  baud?: number;
  reset?: ResetMode;
}

/**
 * Board ids and tags -> the boards to flash, in the order named (each once). Mistakes end in one
 * line: an unknown id or tag (with a "did you mean"), a board without a serial transport, --port
 * with more than one board.
 */
export function resolveTargets(names: readonly string[], rigs: Rigs | undefined, options: TargetOptions): FlashTarget[] {
  const label = rigs?.label ?? DEFAULT_RIGS;
  const boards = rigs?.boards ?? [];
  const ids = boards.map((b) => b.id);
  const tags = [...new Set(boards.flatMap((b) => b.tags))].sort();
  if (names.length === 0) {
    if (options.port) return [adHoc(options.port.replace(/^\/dev\//, ''), options)];
    throw new LabError('usage', `hil flash needs the boards to flash: board ids or tags of ${label}${ids.length ? ` (boards: ${quoteList(ids)}; tags: ${quoteList(tags)})` : ''}, or --port <device>`);
  }
  const chosen: { board: BoardConfig; via?: string }[] = [];
  for (const name of names) {
    const board = boards.find((b) => b.id === name);
    if (board) {
      chosen.push({ board });
      continue;
    }
    if (tags.includes(name)) {
      for (const b of boards.filter((x) => x.tags.includes(name))) chosen.push({ board: b, via: name });
      continue;
    }
    if (options.port && names.length === 1) return [adHoc(name, options)];
    const near = closest(name, [...ids, ...tags]);
    throw new LabError('usage', `no board or tag "${name}" in ${label} (${near ? `did you mean "${near}"?` : ids.length ? `boards: ${quoteList(ids)}; tags: ${quoteList(tags)}` : 'it has no boards'})`);
  }
  const unique = chosen.filter((c, i) => chosen.findIndex((d) => d.board.id === c.board.id) === i);
  if (options.port && unique.length > 1) {
    throw new LabError('usage', `--port names one device, but ${unique.length} boards were selected (${unique.map((c) => c.board.id).join(', ')}): flash them by their rigs entries, or name one board`);
  }
  return unique.map(({ board, via }) => {
    const serial = board.transport.serial;
    const tcp = board.transport.tcp;
    const rfc2217 = board.transport.rfc2217;
    if (!serial && rfc2217 && !options.port) {
      // A network serial port with RFC 2217 (ser2net): esptool-js drives the rig's DTR/RTS reset and
      // its baud switches through the server, as on a local serial port.
      return {
        id: board.id,
        config: board,
        port: rfc2217Url(rfc2217),
        baud: Math.min(options.baud ?? rfc2217.flashBaud, rfc2217.flashBaud),
        reset: (options.reset ?? rfc2217.reset) as ResetMode,
      };
    }
    if (!serial && tcp && !options.port) {
      // A raw TCP serial port (an emulated board's UART0, ser2net raw mode): no modem lines, so no
      // DTR/RTS reset; an emulated board reaches download mode by a restart (its session knows how),
      // another by RESET download in-band. Port 0: the emulator's port, known once it runs.
      return {
        id: board.id,
        config: board,
        ...(tcp.port !== 0 ? { port: `tcp://${tcp.host}:${tcp.port}` } : {}),
        baud: options.baud ?? DEFAULT_FLASH_BAUD,
        reset: 'none' as ResetMode,
      };
    }
    if (!serial) {
      const how = via ? `tag "${via}" selects board "${board.id}", which` : `board "${board.id}"`;
      throw new LabError('usage', `${how} has no serial, rfc2217 or tcp transport in ${label}: flashing needs its serial console (add transport.serial with its port${via ? ', or name the boards to flash' : ''})`);
    }
    let config = board;
    if (options.port) {
      // The device given wins; the board is reached through it like a real one (not started in-process).
      const { simulated: _simulated, ...real } = board;
      config = { ...real, transport: { ...board.transport, serial: { ...serial, port: options.port } } };
    }
    return {
      id: board.id,
      config,
      ...(config.transport.serial?.port ? { port: config.transport.serial.port } : {}),
      baud: Math.min(options.baud ?? serial.flashBaud, serial.flashBaud),
      reset: options.reset ?? serial.reset,
    };
  });
}

function adHoc(id: string, options: TargetOptions): FlashTarget {
  return { id, port: options.port!, baud: options.baud ?? DEFAULT_FLASH_BAUD, reset: options.reset ?? 'classic' };
}

/** What happened to one board, for the summary. */
export interface FlashOutcome {
  board: string;
  ok: boolean;
  /** Regions done (all of them when ok). */
  regions: RegionReport[];
  regionCount: number;
  /** Bytes the host sent to the board (known when the board finished). */
  wireBytes?: number;
  seconds: number;
  /** What the board runs: checked after flashing, or found by the re-probe of a failed board. */
  identity?: BoardIdentity;
  /** `checked`: the HELLO matched the image; `not-checked`: a --port board; `answering` / `silent`: the re-probe. */
  check: 'checked' | 'not-checked' | 'answering' | 'silent';
}

function appOf(id: BoardIdentity): string {
  return `${id.projectName} ${id.appVersion}, app ${id.appSha256.slice(0, 12)}`;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** BOARD, RESULT, REGIONS written/skipped, ON THE WIRE, SECONDS, IDENTITY. */
export function summaryTable(outcomes: readonly FlashOutcome[]): string[][] {
  const rows = [['BOARD', 'RESULT', 'REGIONS', 'ON THE WIRE', 'SECONDS', 'IDENTITY']];
  for (const o of outcomes) {
    const written = o.regions.filter((r) => r.action === 'written').length;
    const skipped = o.regions.length - written;
    const parts = [written > 0 || skipped === 0 ? `${written} written` : '', skipped > 0 ? `${skipped} skipped` : ''].filter(Boolean).join(', ');
    const result = !o.ok ? 'FAILED' : written === 0 ? 'unchanged' : 'flashed';
    const identity = o.check === 'checked' ? `ok (${appOf(o.identity!)})`
      : o.check === 'not-checked' ? 'not checked (not in the rigs)'
        : o.check === 'answering' ? `re-probed: runs ${appOf(o.identity!)}`
          : 're-probed: not answering';
    rows.push([o.board, result, o.ok ? parts : `${parts} of ${o.regionCount}`, o.wireBytes !== undefined ? kb(o.wireBytes) : '-', o.seconds.toFixed(1), identity]);
  }
  return rows;
}

/** One line, starting with the board. */
function errorLine(board: string, e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
  return text.startsWith(`board ${board}`) ? text : `board ${board}: ${text}`;
}

/** After a failure: what does the board run now? Connect; if it does not answer, reset it (RESET, DTR/RTS or the power switch). */
async function reprobe(board: LabBoard, ms: number): Promise<{ identity?: BoardIdentity; text: string }> {
  try {
    const identity = await board.connect(ms);
    return { identity, text: `re-probed: answering, runs ${appOf(identity)} (variant ${identity.variant})` };
  } catch {
    // Still in the ROM loader or the stub, or its app does not boot: try a reset.
  }
  try {
    const identity = await board.reset(ms);
    return { identity, text: `re-probed: answering after a reset, runs ${appOf(identity)} (variant ${identity.variant})` };
  } catch (e) {
    return { text: `re-probed: not answering - ${errorLine(board.id, e)}` };
  }
}

export interface FlashBoardsOptions {
  targets: FlashTarget[];
  rigs?: Rigs;
  build: FirmwareBuild;
  flashSize?: FlashSize;
  skipUnchanged: boolean;
  sim: 'auto' | 'off';
  timeScale?: number;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  timeouts?: Partial<FlashTimeouts>;
  open?: OpenFleet;
}

/** Flashes every target in parallel; resolves with one outcome per target, in order. */
export async function flashBoards(options: FlashBoardsOptions): Promise<FlashOutcome[]> {
  const { targets, build, stdout, stderr } = options;
  const t = { ...TIMEOUTS, ...options.timeouts };
  const inRigs = targets.filter((x) => x.config);
  const selected: SelectedBoard[] = inRigs.map((x) => ({ board: x.config!, transport: x.config!.transport.serial ? 'serial' : x.config!.transport.rfc2217 ? 'rfc2217' : 'tcp' }));
  const fleet = selected.length > 0
    ? await (options.open ?? openFleet)({ rigs: options.rigs!, selected, sim: options.sim, blankEmulated: 'allow', ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}) })
    : undefined;
  try {
    for (const n of fleet?.notes ?? []) stdout.write(`${n}\n`);
    if (inRigs.some((x) => x.config!.simulated) && fleet?.notes?.length) stdout.write('  (simulated boards\' flash lasts as long as this command: to keep it, run `hil sim --flash-dir <dir>` and flash with --no-sim)\n');
    const d = build.app.description;
    stdout.write(`flashing ${build.flasherArgsPath} (${d.projectName} ${d.version}, app ${d.appElfSha256.slice(0, 12)}) onto ${targets.map((x) => x.id).join(', ')}\n`);
    const view = new FlashProgressView(stdout);
    const flashOne = async (target: FlashTarget, board: LabBoard | undefined): Promise<FlashOutcome> => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const port = target.port ?? board?.address;
      if (!port) throw new Error(`hil flash: board ${target.id} has neither a port nor a session`);
      const common = {
        port, build, baud: target.baud, reset: target.reset, skipUnchanged: options.skipUnchanged,
        ...(options.flashSize ? { flashSize: options.flashSize } : {}),
        onProgress: (p: Parameters<FlashProgressView['update']>[0]) => view.update(p),
      };
      try {
        if (!board) {
          const report = await flashBoard({ ...common, board: target.id });
          view.done(report);
          return { board: target.id, ok: true, regions: report.regions, regionCount: build.regions.length, wireBytes: report.wireBytesOut, seconds: seconds(), check: 'not-checked' };
        }
        let answering = false;
        if (!board.emulator) {
          view.update({ board: target.id, phase: 'probe' });
          try {
            await board.connect(t.probeMs);
            answering = true;
          } catch (e) {
            view.note(target.id, `does not answer the lab protocol (${errorLine(target.id, e).replace(/^board \S+: /, '')}); relying on the ${target.reset} reset to reach the ROM loader`);
          }
        }
        const report = await flashThroughSession({
          ...common, board, answering, requestMs: t.requestMs, helloMs: t.helloMs,
          ...(board.emulator ? { emulator: board.emulator } : {}),
          onNote: (line) => view.note(target.id, line.replace(`${target.id}: `, '')),
        });
        view.done(report);
        return { board: target.id, ok: true, regions: report.regions, regionCount: build.regions.length, wireBytes: report.wireBytesOut, seconds: seconds(), identity: report.identity, check: 'checked' };
      } catch (e) {
        if (!isLabError(e)) throw e;
        view.fail(target.id);
        stderr.write(`hil: ${errorLine(target.id, e)}\n`);
        const regions = e instanceof FlashError ? e.regions : [];
        if (!board) return { board: target.id, ok: false, regions, regionCount: build.regions.length, seconds: seconds(), check: 'not-checked' };
        const probed = await reprobe(board, t.reprobeMs);
        view.note(target.id, probed.text);
        return {
          board: target.id, ok: false, regions, regionCount: build.regions.length, seconds: seconds(),
          ...(probed.identity ? { identity: probed.identity, check: 'answering' as const } : { check: 'silent' as const }),
        };
      }
    };
    const settled = await Promise.allSettled(targets.map((target) => flashOne(target, fleet?.boards.get(target.id))));
    view.close();
    const bug = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (bug) throw bug.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<FlashOutcome>).value);
  } finally {
    await fleet?.close();
  }
}

interface FlashCliOptions {
  rigs?: string;
  port?: string;
  build: string;
  baud?: string;
  reset?: string;
  flashSize?: string;
  skipUnchanged: boolean;
  sim: boolean;
  timeScale: string;
}

export function registerFlash(program: Command): void {
  program
    .command('flash')
    .description('flash boards of rigs.json with an ESP-IDF build, in parallel; regions whose flash MD5 already matches are skipped, and each board\'s HELLO is checked against the image')
    .argument('[boards...]', 'board ids or tags of the rigs (e.g. sim-1 sim-2, or a tag such as s3)')
    .requiredOption('--build <dir>', 'ESP-IDF build directory holding flasher_args.json (e.g. firmware/build/esp-nn)')
    .option('--rigs <file>', `rigs file (default ${DEFAULT_RIGS})`)
    .option('--baud <n>', `highest baud rate to flash at; each board uses the lower of this and its rig's flashBaud (default: the rig's flashBaud; ${DEFAULT_FLASH_BAUD} for a --port board)`)
    .option('--no-skip-unchanged', 'write every region even when its flash MD5 already matches')
    .option('--port <path>', 'flash one board through this device: a board of the rigs (overrides its port) or one not in the rigs (then no in-band download and no identity check)')
    .option('--reset <mode>', `override the rig's reset mode: ${RESET_MODES.join(' | ')} (none: the board is already in download mode)`)
    .option('--flash-size <size>', `the boards' flash size (${Object.keys(FLASH_SIZES).join(', ')}); read from the flash ID when omitted`)
    .option('--no-sim', 'the simulated boards run elsewhere (hil sim): reach them through the ports the rigs give')
    .option('--time-scale <x>', 'time scale of simulated boards started in-process (their boot; flashing runs at the baud rate)', '0.05')
    .addHelpText('after', `
Per board: ask the firmware who it is; if it answers, RESET download in-band (how a board on a PTY,
or without DTR/RTS wired to EN/GPIO0, reaches the ROM loader), else esptool-js's reset for the rig;
write with esptool-js; then wait for the new firmware's HELLO and check its app ELF sha256 against
the image's esp_app_desc_t. A failed board is re-probed (connect, else reset) and the summary says
what it runs now. Exit code 0 when every board was flashed or unchanged and identified (a --port
board that is not in the rigs is flashed and verified by MD5 but not identified), 2 otherwise.

What has run where: all of this runs against simulated boards (ROM loader + lab firmware on PTYs)
with the unmodified esptool-js from npm. Not run on a real board here: the classic DTR/RTS and
USB-JTAG-Serial reset sequences (esptool-js's own code), the real firmware's RESET download
(RTC_CNTL_OPTION1 force-download + esp_restart), and the wait for a USB-Serial-JTAG port to
re-enumerate after it.`)
    .action(async (names: string[], options: FlashCliOptions) => {
      const baud = options.baud === undefined ? undefined : Number(options.baud);
      if (baud !== undefined && (!Number.isInteger(baud) || baud < 9600)) throw new LabError('usage', `--baud ${options.baud} is not a baud rate: use e.g. 921600 or 2000000`);
      if (options.reset !== undefined && !RESET_MODES.includes(options.reset as ResetMode)) {
        throw new LabError('usage', `--reset ${options.reset} is not a reset mode: use ${RESET_MODES.join(', ')}`);
      }
      if (options.flashSize !== undefined && !(options.flashSize in FLASH_SIZES)) {
        throw new LabError('usage', `--flash-size ${options.flashSize} is not a flash size: use one of ${Object.keys(FLASH_SIZES).join(', ')}`);
      }
      const timeScale = Number(options.timeScale);
      if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new LabError('usage', `--time-scale ${options.timeScale}: give a positive number (1 = real time)`);
      // One build for every board: a missing, malformed or corrupted one is one error before anything opens.
      const build = readFlasherArgs(options.build);
      // With --port the rigs are optional: a board not in them is flashed through the device alone.
      const rigsFile = options.rigs ?? DEFAULT_RIGS;
      let rigs: Rigs | undefined;
      try {
        rigs = loadRigs(rigsFile);
      } catch (e) {
        if (!(options.port && options.rigs === undefined && isLabError(e) && /file not found/.test(e.message))) throw e;
      }
      const targets = resolveTargets(names, rigs, {
        ...(options.port ? { port: options.port } : {}),
        ...(baud !== undefined ? { baud } : {}),
        ...(options.reset ? { reset: options.reset as ResetMode } : {}),
      });
      const outcomes = await flashBoards({
        targets, ...(rigs ? { rigs } : {}), build, skipUnchanged: options.skipUnchanged,
        ...(options.flashSize ? { flashSize: options.flashSize as FlashSize } : {}),
        sim: options.sim ? 'auto' : 'off', timeScale, stdout: process.stdout, stderr: process.stderr,
      });
      process.stdout.write(`\n${formatTable(summaryTable(outcomes))}\n`);
      const failed = outcomes.filter((o) => !o.ok);
      if (failed.length > 0) {
        process.stdout.write(`${failed.length} of ${outcomes.length} boards failed: ${failed.map((o) => o.board).join(', ')} (the errors are above, on stderr)\n`);
        process.exitCode = ExitCode.LabError;
      }
    });
}
