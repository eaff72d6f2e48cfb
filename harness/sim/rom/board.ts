/**
 * `SimRomBoard`: the part of a simulated ESP32-S3 below the application - a PTY with a serial wire,
 * the SPI flash, the ROM with its UART download mode (the loader esptool talks to), and booting the
 * app found in flash. The full simulated board (harness/sim/board*.ts) builds on it: it listens for
 * `boot` events with `mode: 'app'` and runs the firmware identified by `event.app` on `board.wire`.
 *
 * Ways in and out of download mode, as on the real chip:
 *  - in: GPIO0 held low at a reset (the classic DTR/RTS sequence; `reset({ gpio0Low: true })`), or
 *    RTC_CNTL_OPTION1 force-download + a software reset (what our firmware's RESET mode=download does,
 *    `enterDownloadMode()`), or `start: 'download'` (a board on a PTY, where no modem line reaches it).
 *  - out: FLASH_END / FLASH_DEFL_END with the reboot flag, stub RUN_USER_CODE, ROM FLASH_END "run user
 *    code", or the RTC watchdog armed through WRITE_REG (esptool targets/esp32s3.py watchdog_reset) -
 *    a reset boots the app unless GPIO0 is low or the force-download bit is still set.
 */
import { EventEmitter } from 'node:events';
import { openPty, type Pty } from '../pty/index.js';
import { SerialWire, type SerialWireOptions } from '../serial-wire.js';
import { SimFlash } from '../flash-memory.js';
import { RomLoader, MAX_FRAME, type LoaderExit } from './loader.js';
import { SlipDecoder, slipEncode } from './slip.js';
import { DEFAULT_CHIP, macForBoard, S3Registers, type ChipProfile } from './registers.js';
import { bootFromFlash, downloadBanner, type BootedApp, type ResetReasonName } from './boot.js';

export type BoardMode = 'download' | 'app' | 'halted' | 'off';

export interface BootEvent {
  mode: Exclude<BoardMode, 'off'>;
  reason: ResetReasonName | 'run-user-code';
  /** The app the bootloader found and verified (mode 'app'). */
  app?: BootedApp;
  /** Why the board halted (mode 'halted'): no bootloader, no valid app, ... */
  error?: string;
}

export interface SimRomBoardEvents {
  boot: [event: BootEvent];
  /** ROM loader trace lines (commands, errors), for a board's debug log. */
  trace: [line: string];
  /** CHANGE_BAUDRATE accepted. */
  baud: [baud: number];
}

export interface SimRomBoardOptions {
  name: string;
  /** The board's flash file (created sparse when missing, kept across restarts). */
  flashPath: string;
  flashSize: number;
  chip?: Partial<ChipProfile>;
  wire?: SerialWireOptions;
  /** A PTY to use; one is opened (and closed with the board) when omitted. */
  pty?: Pty;
  /** Power-on state: the app (default) or the ROM download mode. */
  start?: 'app' | 'download';
}

export class SimRomBoard extends EventEmitter<SimRomBoardEvents> {
  readonly name: string;
  readonly pty: Pty;
  readonly wire: SerialWire;
  readonly flash: SimFlash;
  readonly registers: S3Registers;
  private readonly ownsPty: boolean;
  private modeValue: BoardMode = 'off';
  private loaderValue: RomLoader | undefined;
  private decoder: SlipDecoder | undefined;
  private work: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private bootedApp: BootedApp | undefined;
  private lastBootValue: BootEvent | undefined;
  private readonly onWireData = (bytes: Uint8Array): void => this.decoder?.push(bytes);

  private constructor(options: SimRomBoardOptions) {
    super();
    this.name = options.name;
    this.flash = SimFlash.open(options.flashPath, options.flashSize);
    this.ownsPty = !options.pty;
    this.pty = options.pty ?? openPty();
    this.wire = new SerialWire(this.pty, options.wire);
    const chip: ChipProfile = { ...DEFAULT_CHIP, mac: macForBoard(options.name), ...options.chip };
    this.registers = new S3Registers(chip, {
      flashJedecId: () => this.flash.jedecId,
      watchdogArmed: (ms) => this.armWatchdog(ms),
    });
    this.wire.on('data', this.onWireData);
  }

  /** Create the board and power it on. */
  static start(options: SimRomBoardOptions): SimRomBoard {
    const board = new SimRomBoard(options);
    if (options.start === 'download') board.registers.setForceDownload(true);
    board.powerOn();
    return board;
  }

  /** The device path a serial tool (or the harness) opens. */
  get path(): string {
    return this.pty.path;
  }

  get mode(): BoardMode {
    return this.modeValue;
  }

  /** The ROM loader while in download mode (its `stats` tell what the flasher sent). */
  get loader(): RomLoader | undefined {
    return this.loaderValue;
  }

  /** The latest boot (the power-on one is emitted inside `start`, before anyone can listen). */
  get lastBoot(): BootEvent | undefined {
    return this.lastBootValue;
  }

  /** The app running now (mode 'app'). */
  get app(): BootedApp | undefined {
    return this.modeValue === 'app' ? this.bootedApp : undefined;
  }

  /** The next boot (any mode), or a rejection after `timeoutMs`. */
  nextBoot(timeoutMs = 10_000): Promise<BootEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('boot', onBoot);
        reject(new Error(`board ${this.name} did not boot within ${timeoutMs} ms`));
      }, timeoutMs);
      const onBoot = (e: BootEvent): void => {
        clearTimeout(timer);
        resolve(e);
      };
      this.once('boot', onBoot);
    });
  }

  /** Our firmware's RESET mode=download: set RTC_CNTL_OPTION1 force-download, then esp_restart(). */
  enterDownloadMode(): void {
    this.registers.setForceDownload(true);
    this.restart('RTC_SW_SYS_RST');
  }

  /** Firmware's esp_restart() / RESET mode=app: a software reset (download mode only if still forced). */
  softwareReset(): void {
    this.restart('RTC_SW_SYS_RST');
  }

  /** The EN pin: a chip reset; `gpio0Low` is the boot strap sampled as it comes out of reset. */
  reset(options: { gpio0Low?: boolean } = {}): void {
    this.registers.gpio0Low = options.gpio0Low ?? false;
    this.registers.reset(true);
    this.restart('POWERON');
  }

  /** Power the board off and release the PTY (when the board opened it) and the flash file. */
  async close(): Promise<void> {
    this.stopLoader();
    if (this.watchdog) clearTimeout(this.watchdog);
    this.modeValue = 'off';
    await Promise.race([this.wire.flush(), new Promise((r) => setTimeout(r, 200))]);
    await this.work.catch(() => {});
    this.wire.close();
    if (this.ownsPty) this.pty.close();
    this.flash.close();
  }

  /** Write text to the console (CRLF line ends, as ESP-IDF's console does). */
  print(lines: string[]): void {
    this.wire.write(Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8'));
  }

  private powerOn(): void {
    this.registers.reset(false);
    this.restart('POWERON');
  }

  private restart(reason: ResetReasonName): void {
    this.stopLoader();
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.registers.reset(false);
    if (this.registers.gpio0Low || this.registers.forceDownload) this.startLoader(reason);
    else this.bootApp(reason);
  }

  private startLoader(reason: ResetReasonName): void {
    this.modeValue = 'download';
    // The ROM autobauds on the SYNC pattern, so it follows whatever rate the host uses.
    this.wire.setBoardBaud(undefined);
    this.bootedApp = undefined;
    this.print(downloadBanner(reason, this.registers.gpio0Low));
    const loader = new RomLoader(this.flash, this.registers, (payload) => this.wire.write(slipEncode(payload)));
    loader.on('exit', (how) => this.onLoaderExit(how));
    loader.on('trace', (line) => this.emit('trace', line));
    // The ROM prints its panic as text on the same UART (no SLIP), then the chip is stuck until reset.
    loader.on('panic', (text) => this.wire.write(new TextEncoder().encode(text)));
    loader.on('baud', (baud) => {
      this.wire.setBoardBaud(baud);
      this.emit('baud', baud);
    });
    // The stub keeps the rate the ROM autobauded to (the host's rate when it starts).
    loader.on('stub', () => this.wire.setBoardBaud(this.wire.boardBaudRate ?? this.wire.effectiveBaud()));
    this.loaderValue = loader;
    // Frames are handled one at a time, in order (a compressed block is inflated before the next).
    this.decoder = new SlipDecoder(MAX_FRAME, {
      frame: (payload) => {
        this.work = this.work.then(() => (this.loaderValue === loader ? loader.handleFrame(payload) : undefined));
        this.work.catch((e: unknown) => this.emit('trace', `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
      },
      badFrame: (_reason, partial) => {
        this.work = this.work.then(() => (this.loaderValue === loader ? loader.handleBadFrame(partial) : undefined));
      },
    });
    this.announce({ mode: 'download', reason });
  }

  private stopLoader(): void {
    this.loaderValue?.close();
    this.loaderValue = undefined;
    this.decoder = undefined;
  }

  private onLoaderExit(how: LoaderExit): void {
    // Let the loader's last answer reach the host before the chip goes away.
    void this.wire.flush().then(() => {
      if (how === 'run-user-code') {
        this.stopLoader();
        this.bootApp('run-user-code');
      } else {
        this.restart('RTC_SW_SYS_RST');
      }
    });
  }

  private announce(event: BootEvent): void {
    this.lastBootValue = event;
    this.emit('boot', event);
  }

  private armWatchdog(ms: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      this.restart('RTCWDT_RTC_RST');
    }, ms);
  }

  private bootApp(reason: ResetReasonName | 'run-user-code'): void {
    // The app's console rate is the app layer's business (it may set one with wire.setBoardBaud).
    this.wire.setBoardBaud(undefined);
    const result = bootFromFlash(this.flash, this.registers.chip, reason === 'run-user-code' ? 'RTC_SW_CPU_RST' : reason);
    // Jumping into user code from the loader skips the ROM banner: only the bootloader lines appear.
    const lines = reason === 'run-user-code' ? result.lines.filter((l) => /^[IEW] \(/.test(l)) : result.lines;
    this.print(lines);
    if (result.ok) {
      this.modeValue = 'app';
      this.bootedApp = result.app;
      this.announce({ mode: 'app', reason, app: result.app });
    } else {
      this.modeValue = 'halted';
      this.bootedApp = undefined;
      this.announce({ mode: 'halted', reason, error: result.reason });
    }
  }
}
