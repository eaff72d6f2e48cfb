/**
 * `flashBoard`: flash one board with an ESP-IDF build using **unmodified esptool-js** (npm) through
 * the Web-Serial adapter, the way `idf.py flash` would, plus what a lab needs:
 *
 *  connect (classic DTR/RTS or USB-JTAG-Serial reset; `none` for a board already in download mode,
 *  e.g. a simulated board on a PTY) -> esptool stub -> the highest baud the rig allows -> for each
 *  region, ask the board's flash MD5 and **skip regions that already match** -> write the rest
 *  compressed, verified by MD5 -> reset into the app (RTS, or the RTC watchdog when no modem line
 *  reaches the board) -> wait for the firmware's hello and check its app ELF sha256 against the
 *  image's esp_app_desc_t.
 *
 * Every failure is a `FlashError` (a LabError) naming the board and the file, with the regions done
 * so far; the caller marks the board failed and re-probes it - never half-known.
 */
import { createHash } from 'node:crypto';
import { Transport, type FlashSizeValues } from 'esptool-js';
import { LabLoader } from './esp-loader.js';
import { LabError, isLabError } from '../errors.js';
import { parseTcpUrl } from '../links/tcp-connect.js';
import { NodeWebSerialPort, lookupUsbIds, type WebSerialPortInfo } from './webserial-port.js';
import { NodeWebSerialTcpPort } from './webserial-tcp.js';
import { NodeWebSerialRfc2217Port } from './webserial-rfc2217.js';
import { parseRfc2217Url } from '../links/rfc2217-connection.js';
import type { WebSerialStreamPort } from './webserial-streams.js';
import { prepareRegions, readFlasherArgs, type FirmwareBuild, type PreparedRegion } from './flasher-args.js';
import { FLASH_SIZES, type FlashSize } from './image.js';

export type ResetMode = 'classic' | 'usb-jtag' | 'none';

/** What the board-session layer reports from the firmware's hello after the reset. */
export interface BoardHello {
  appElfSha256: string;
  projectName?: string;
  version?: string;
}

/**
 * `probe` and `download-mode` come before esptool-js (flashThroughSession: asking the firmware who it
 * is, then RESET mode download); the rest are flashBoard's own.
 */
export type FlashPhase = 'probe' | 'download-mode' | 'connect' | 'compare' | 'write' | 'reset' | 'hello' | 'done';

export interface FlashProgress {
  board: string;
  phase: FlashPhase;
  region?: string;
  /** Bytes of the region's compressed stream sent so far, and its total. */
  sent?: number;
  total?: number;
  /** Regions finished so far and in all. */
  regionIndex?: number;
  regionCount?: number;
}

export interface FlashBoardOptions {
  board: string;
  /**
   * Serial device of the board (/dev/ttyACM0, /dev/pts/N), or its raw TCP serial port as
   * `tcp://host:port` (an emulated board, ser2net; no modem lines: use `reset: 'none'` with the
   * board already in download mode, and it is reset by the RTC watchdog afterwards).
   */
  port: string;
  /** A build directory (with flasher_args.json) or an already-read build. */
  build: string | FirmwareBuild;
  /** The board's flash size; read from its flash ID when omitted. */
  flashSize?: FlashSize;
  /** Highest baud rate the rig allows (default 921600); the ROM is always reached at 115200 first. */
  baud?: number;
  reset?: ResetMode;
  /** USB ids of the port when the rig knows them (else looked up; PTYs have none). */
  usbIds?: WebSerialPortInfo;
  /** Skip regions whose flash MD5 already matches (default true). */
  skipUnchanged?: boolean;
  /**
   * The board kind's reset into its app after flashing, instead of DTR/RTS or the RTC watchdog: an
   * emulated board restarts QEMU on the same flash file (harness/emu). Called after the port closed.
   */
  restartAfter?: () => Promise<void>;
  /** Provided by the board-session layer: resolves with the hello the firmware sends after boot. */
  waitForHello?: () => Promise<BoardHello>;
  helloTimeoutMs?: number;
  onProgress?: (p: FlashProgress) => void;
  /** esptool-js's own log lines. */
  log?: (line: string) => void;
}

export interface RegionReport {
  name: string;
  file: string;
  offset: number;
  /** Bytes of the region as written to flash. */
  bytes: number;
  action: 'written' | 'skipped';
  /** Size of the deflated stream sent (written regions). */
  compressedBytes: number;
  /** Bytes the host put on the wire for this region (SLIP framing and packet headers included). */
  wireBytes: number;
  seconds: number;
  md5: string;
}

export interface FlashReport {
  board: string;
  port: string;
  flasherArgs: string;
  chip: string;
  baud: number;
  flashSize: FlashSize;
  regions: RegionReport[];
  /** How the board was brought back to its app ('restart': the board kind's own, `restartAfter`). */
  reset: 'hard-reset' | 'watchdog' | 'restart';
  /** The identity the board reported, when a hello callback was given. */
  hello?: BoardHello;
  appElfSha256: string;
  /** Bytes written to / read from the port over the whole session, and the wall time. */
  wireBytesOut: number;
  wireBytesIn: number;
  seconds: number;
}

export class FlashError extends LabError {
  constructor(
    message: string,
    readonly board: string,
    readonly file: string | undefined,
    readonly phase: FlashPhase,
    readonly regions: RegionReport[],
    options?: { cause?: unknown },
  ) {
    super('flash', message, options);
  }
}

/** RTC registers esptool's S3 `hard_reset()` / `watchdog_reset()` write (esptool targets/esp32s3.py). */
const S3 = {
  RTC_CNTL_OPTION1_REG: 0x6000812c,
  FORCE_DOWNLOAD_BOOT_MASK: 0x1,
  RTC_CNTL_WDTCONFIG0_REG: 0x60008098,
  RTC_CNTL_WDTCONFIG1_REG: 0x6000809c,
  RTC_CNTL_WDTWPROTECT_REG: 0x600080b0,
  RTC_CNTL_WDT_WKEY: 0x50d83aa1,
} as const;

/** esptool-js's Transport logs a few lines with console.log whatever `tracing` says; keep them in our log. */
class LabTransport extends Transport {
  constructor(port: WebSerialStreamPort, private readonly sink: (line: string) => void) {
    super(port as unknown as ConstructorParameters<typeof Transport>[0], false);
  }

  override trace(message: string): void {
    this.sink(`transport: ${message}`);
  }
}

const ESPTOOL_RESET = { classic: 'default_reset', 'usb-jtag': 'usb_reset', none: 'no_reset' } as const;

function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function flashBoard(options: FlashBoardOptions): Promise<FlashReport> {
  const started = performance.now();
  const board = options.board;
  const log = options.log ?? (() => {});
  const progress = (p: Omit<FlashProgress, 'board'>): void => options.onProgress?.({ board, ...p });
  const build = typeof options.build === 'string' ? readFlasherArgs(options.build) : options.build;
  const baud = options.baud ?? 921600;
  if (!Number.isInteger(baud) || baud < 9600) {
    throw new LabError('flash', `baud rate ${String(options.baud)} for board ${board} is not a usable serial rate: use e.g. 460800, 921600 or 2000000`);
  }
  const resetMode = options.reset ?? 'classic';
  const regionsDone: RegionReport[] = [];
  let phase: FlashPhase = 'connect';
  let currentFile: string | undefined;
  const fail = (message: string, cause?: unknown): FlashError =>
    new FlashError(`board ${board}: ${message}`, board, currentFile, phase, regionsDone, { cause });

  const tcp = parseTcpUrl(options.port);
  const rfc2217 = parseRfc2217Url(options.port);
  const port: WebSerialStreamPort = tcp
    ? new NodeWebSerialTcpPort(tcp, { board })
    : rfc2217
      ? new NodeWebSerialRfc2217Port(rfc2217, { board })
      : new NodeWebSerialPort(options.port, { board, info: options.usbIds ?? (await lookupUsbIds(options.port)) });
  const transport = new LabTransport(port, log);
  const loader = new LabLoader({
    transport,
    baudrate: baud,
    romBaudrate: 115200,
    terminal: { clean: () => {}, writeLine: (s: string) => log(s), write: (s: string) => log(s) },
  });
  let connected = false;
  try {
    progress({ phase });
    let chip: string;
    try {
      chip = await loader.main(ESPTOOL_RESET[resetMode]);
      connected = true;
    } catch (e) {
      if (isLabError(e)) throw fail(e.message, e);
      throw fail(
        `no answer from the ESP32-S3 ROM loader on ${options.port} (${messageOf(e)}): the board is not in download mode` +
          (port.isPty || tcp || port.modemLinesUnavailable || resetMode === 'none'
            ? ' - put it there in-band first (the firmware\'s RESET mode=download, or `hil sim --download`)'
            : ' - check the rig\'s reset mode (classic or usb-jtag) and the cable, or hold BOOT while pressing RESET'),
        e,
      );
    }

    let flashSize = options.flashSize;
    if (!flashSize) {
      const detected = await loader.detectFlashSize();
      if (!detected || !(detected in FLASH_SIZES)) throw fail(`could not read the flash size from the flash ID (got ${String(detected)}): set the board's flash size in the rig`);
      flashSize = detected as FlashSize;
    }
    let regions: PreparedRegion[];
    try {
      regions = prepareRegions(build, { name: board, flashSize });
    } catch (e) {
      if (isLabError(e)) throw fail(e.message, e);
      throw e;
    }

    for (const [index, region] of regions.entries()) {
      currentFile = region.file;
      phase = 'compare';
      progress({ phase, region: region.name, regionIndex: index, regionCount: regions.length });
      const t0 = performance.now();
      const out0 = port.counters.bytesWritten;
      let onBoard: string;
      try {
        onBoard = await loader.flashMd5sum(region.offset, region.bytes.length);
      } catch (e) {
        throw fail(`lost contact while reading the flash MD5 at 0x${region.offset.toString(16)} for ${region.file} (${messageOf(e)})`, e);
      }
      if ((options.skipUnchanged ?? true) && onBoard === region.md5) {
        regionsDone.push({
          name: region.name, file: region.file, offset: region.offset, bytes: region.bytes.length, action: 'skipped',
          compressedBytes: 0, wireBytes: port.counters.bytesWritten - out0, seconds: (performance.now() - t0) / 1000, md5: region.md5,
        });
        progress({ phase, region: region.name, regionIndex: index + 1, regionCount: regions.length });
        continue;
      }
      phase = 'write';
      let compressedBytes = 0;
      const wireBefore = port.counters.bytesWritten;
      const tWrite = performance.now();
      try {
        await loader.writeFlash({
          fileArray: [{ data: region.bytes, address: region.offset }],
          // The harness already put the build's flash settings into the bootloader header
          // (prepareRegions): "keep" makes esptool-js write exactly the bytes whose MD5 we know.
          flashMode: 'keep',
          flashFreq: 'keep',
          flashSize: 'keep' as FlashSizeValues,
          eraseAll: false,
          compress: true,
          calculateMD5Hash: md5Hex,
          reportProgress: (_file: number, sent: number, total: number) => {
            compressedBytes = total;
            progress({ phase, region: region.name, sent, total, regionIndex: index, regionCount: regions.length });
          },
        });
      } catch (e) {
        if (/MD5 of file does not match/i.test(messageOf(e))) {
          throw fail(`the flash MD5 after writing ${region.file} at 0x${region.offset.toString(16)} does not match the file: the write was corrupted; flash again, and replace the cable or lower --baud if it repeats`, e);
        }
        throw fail(`lost contact while writing ${region.file} at 0x${region.offset.toString(16)} (${messageOf(e)}): the flash is now partly written; flash the board again`, e);
      }
      regionsDone.push({
        name: region.name, file: region.file, offset: region.offset, bytes: region.bytes.length, action: 'written',
        compressedBytes, wireBytes: port.counters.bytesWritten - wireBefore, seconds: (performance.now() - tWrite) / 1000, md5: region.md5,
      });
    }
    currentFile = undefined;

    phase = 'reset';
    progress({ phase });
    let reset: FlashReport['reset'];
    try {
      if (options.restartAfter) {
        // The board kind resets by restarting (an emulated board: QEMU has no reset lines, and after
        // the stub the emulated chip is unusable until restarted): let go of the port first.
        await transport.disconnect().catch(() => {});
        connected = false;
        await options.restartAfter();
        reset = 'restart';
      } else {
        // esptool S3 hard_reset(): clear the force-download bit first, or the chip comes back in the
        // ROM loader (arduino-esp32 #6762) - it is exactly how our firmware entered download mode.
        await loader.writeReg(S3.RTC_CNTL_OPTION1_REG, 0, S3.FORCE_DOWNLOAD_BOOT_MASK);
        if (resetMode !== 'none' && !port.modemLinesUnavailable) {
          await loader.after('hard_reset');
          reset = 'hard-reset';
        }
        if (resetMode === 'none' || port.modemLinesUnavailable) {
          // No modem line reaches the board (a PTY, or --reset none): reset it with the RTC watchdog,
          // as esptool's ESP32S3ROM.watchdog_reset() does for boards on USB-OTG.
          await loader.writeReg(S3.RTC_CNTL_WDTWPROTECT_REG, S3.RTC_CNTL_WDT_WKEY);
          await loader.writeReg(S3.RTC_CNTL_WDTCONFIG1_REG, 2000);
          await loader.writeReg(S3.RTC_CNTL_WDTCONFIG0_REG, ((1 << 31) | (5 << 28) | (1 << 8) | 2) >>> 0);
          // The watchdog is armed: the chip resets ~15 ms from now (2000 RTC slow-clock cycles). Re-locking
          // the registers is a courtesy; on a slow host the reset can win the race and its answer never
          // comes. That is the reset we asked for: the HELLO step checks that the app came up.
          await loader.writeReg(S3.RTC_CNTL_WDTWPROTECT_REG, 0).catch(() => {});
          reset = 'watchdog';
        }
      }
    } catch (e) {
      if (isLabError(e)) throw fail(e.message, e);
      throw fail(`could not reset the board into its app after flashing (${messageOf(e)}): reset it by hand`, e);
    }
    await transport.disconnect().catch(() => {});
    connected = false;

    const expected = build.app.description.appElfSha256;
    let hello: BoardHello | undefined;
    if (options.waitForHello) {
      phase = 'hello';
      currentFile = build.app.region.file;
      progress({ phase });
      const timeoutMs = options.helloTimeoutMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        hello = await Promise.race([
          options.waitForHello(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no hello within ${timeoutMs / 1000} s`)), timeoutMs);
          }),
        ]);
      } catch (e) {
        throw fail(`the firmware from ${build.app.region.file} did not say hello after the reset (${messageOf(e)}): the app may not boot - check the board's log`, e);
      } finally {
        if (timer) clearTimeout(timer);
      }
      if (hello.appElfSha256.toLowerCase() !== expected.toLowerCase()) {
        throw fail(
          `after flashing, the board runs app ${hello.appElfSha256.slice(0, 16)}…${hello.projectName ? ` (${hello.projectName} ${hello.version ?? ''})`.trimEnd() : ''} but ${build.app.region.file} is ${expected.slice(0, 16)}… (${build.app.description.projectName} ${build.app.description.version}): the board did not boot the image just written - check the partition table / OTA data, or that the rig's port and link belong to the same board`,
        );
      }
    }
    phase = 'done';
    progress({ phase });
    return {
      board, port: options.port, flasherArgs: build.flasherArgsPath, chip, baud, flashSize,
      regions: regionsDone, reset: reset!, hello, appElfSha256: expected,
      wireBytesOut: port.counters.bytesWritten, wireBytesIn: port.counters.bytesRead,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (connected || port.isOpen) await transport.disconnect().catch(() => port.close());
  }
}
