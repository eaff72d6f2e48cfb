/**
 * `SimBoard`: one simulated ESP32-S3 running the lab's benchmark firmware.
 *
 * Below the app it is a `SimRomBoard` (harness/sim/rom): a console PTY with a baud-throttled serial
 * wire, SPI flash in a sparse file, the ROM with its download mode (esptool-js flashes it), and the
 * 2nd-stage bootloader booting the app found in flash. On every boot into the app this class starts
 * the simulated firmware (harness/sim/app) under the identity of the image in flash, prints the
 * ESP-IDF start-up log, and sends HELLO on the console; on MQTT the firmware connects (after Wi-Fi
 * comes up) and sends HELLO there too. Both links reach the same firmware, as on a real board.
 *
 * Faults (harness/sim/faults.ts) act here: reboots with a brown-out / panic / watchdog banner,
 * hangs, disconnects of the serial line or the MQTT connection, byte faults and slow links.
 */
import { EventEmitter } from 'node:events';
import type { SimulatedFault, SimulatedProfileName } from '../config/types.js';
import { SIMULATED_PROFILES } from '../config/profiles.js';
import { LabError } from '../errors.js';
import { RESET_REASONS } from '../protocol/index.js';
import { SimFlash } from './flash-memory.js';
import { SimRomBoard, type BootEvent } from './rom/board.js';
import { bootFromFlash, type BootedApp, type ResetReasonName } from './rom/boot.js';
import type { Pty } from './pty/index.js';
import { CLOSED_BAUD, openConsolePty } from './console-pty.js';
import { SerialLink } from './transport-serial.js';
import { MqttBoardLink } from './transport-mqtt.js';
import { BoardFaults, type FaultEvent } from './faults.js';
import { BoardClock } from './app/clock.js';
import { appBootLog, logLine } from './app/boot-log.js';
import { SimFirmware, type FirmwareHost } from './app/firmware.js';
import { installSimulatedFirmware, isBlank, TFLM_VERSION, variantMarker } from './app/firmware-image.js';
import { DEFAULT_VARIANT, parseVariant, type SimVariant } from './app/variants.js';
import { internalRegions } from './app/heap.js';
import { SessionRecorder } from './app/recorder.js';

export interface SimBoardOptions {
  id: string;
  profile?: SimulatedProfileName;
  /** Latency noise, MAC and fault randomness (rigs.json `simulated.seed`). Default 1. */
  seed?: number;
  faults?: readonly SimulatedFault[];
  /** The board's flash file (created sparse and factory-programmed when new; kept across runs). */
  flashPath: string;
  /**
   * The console as a link: its baud rate (a UART console only understands a host at that rate;
   * a USB-Serial-JTAG console takes any). Without it the console still exists but is not the
   * board's link in rigs.json.
   */
  serial?: { baud: number; console?: 'uart' | 'usb-jtag' };
  mqtt?: { url: string; topic: string; protocolVersion?: 4 | 5; username?: string; password?: string; tls?: { caFile?: string; certFile?: string; keyFile?: string } };
  /** Wall seconds per board second (default 1; tests use e.g. 0.01). */
  timeScale?: number;
  /** Power on into the ROM download mode (a PTY has no modem lines to strap GPIO0). */
  start?: 'app' | 'download';
  /** The variant a blank flash is programmed with (default "esp-nn"). */
  variant?: string;
  /** Base MAC "aa:bb:cc:dd:ee:ff" (rigs.json identity.mac); default derived from the seed. */
  mac?: string;
  /** Write the session recording (requests and replies) to this file when the board stops. */
  recordFile?: string;
  rxWindow?: number;
}

export type SimBoardState = 'booting' | 'app' | 'hung' | 'download' | 'halted' | 'off';

export interface SimBoardEvents {
  /** The firmware is up and has sent its HELLO on the console. */
  ready: [info: { variant: string; appElfSha256: string; resetReason: string }];
  /** The chip (re)booted: into the app, the ROM loader, or nowhere (no valid app). */
  boot: [info: { mode: BootEvent['mode']; reason: string; error?: string }];
  fault: [event: FaultEvent];
  /** A line of the board log (console and MQTT log topic). */
  log: [line: string];
}

/** esp_reset_reason_t codes (PROTOCOL.md `reset_reason`). */
const RESET = { poweron: 1, sw: 3, panic: 4, task_wdt: 6, wdt: 7, brownout: 9 } as const;

/** A MAC in Espressif's OUI from the seed, so each simulated board has its own. */
export function macForSeed(seed: number): number[] {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x5a17) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  return [0x7c, 0xdf, 0xa1, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
}

function parseMac(mac: string, id: string): number[] {
  const parts = mac.split(':').map((p) => Number.parseInt(p, 16));
  if (parts.length !== 6 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new LabError('sim', `board ${id}: MAC "${mac}" is not six hex bytes like 7c:df:a1:00:00:01 (fix identity.mac in rigs.json)`);
  }
  return parts;
}

export class SimBoard extends EventEmitter<SimBoardEvents> {
  readonly id: string;
  readonly seed: number;
  readonly faults: BoardFaults;
  readonly rom: SimRomBoard;
  readonly serial: SerialLink;
  readonly mqtt: MqttBoardLink | undefined;
  readonly timeScale: number;
  private readonly pty: Pty;
  private readonly options: SimBoardOptions;
  private readonly profile: (typeof SIMULATED_PROFILES)[SimulatedProfileName];
  private readonly mac: number[];
  private readonly recorder: SessionRecorder | undefined;
  private variantValue: SimVariant;
  private fw: SimFirmware | undefined;
  private clock: BoardClock | undefined;
  private stateValue: SimBoardState = 'off';
  private timers = new Set<NodeJS.Timeout>();
  private bootGeneration = 0;
  private stopped = false;

  private constructor(options: SimBoardOptions, pty: Pty, variant: SimVariant) {
    super();
    this.options = options;
    this.id = options.id;
    this.seed = options.seed ?? 1;
    this.timeScale = options.timeScale ?? 1;
    this.profile = SIMULATED_PROFILES[options.profile ?? 'esp32s3-devkitc-1-n16r8'];
    this.mac = options.mac ? parseMac(options.mac, options.id) : macForSeed(this.seed);
    this.faults = new BoardFaults(options.faults ?? [], this.seed);
    this.variantValue = variant;
    this.pty = pty;
    this.recorder = options.recordFile ? new SessionRecorder(options.id, variant.name) : undefined;
    const psramMb = Math.round(this.profile.psramBytes / (1024 * 1024));
    this.rom = SimRomBoard.start({
      name: options.id,
      flashPath: options.flashPath,
      flashSize: this.profile.flashBytes,
      chip: {
        mac: this.mac,
        embeddedPsramMb: psramMb === 8 ? 8 : psramMb === 2 ? 2 : 0,
        console: options.serial?.console === 'usb-jtag' ? 'usb-jtag' : 'uart',
      },
      wire: { holdUntilOpen: { closedBaud: CLOSED_BAUD }, faults: this.faults.wireFaults(this.seed) },
      pty,
      start: options.start ?? 'app',
    });
    const limit = this.faults.linkLimit();
    if (limit) this.rom.wire.setLinkLimit(limit);
    this.serial = new SerialLink(this.rom.wire);
    this.mqtt = options.mqtt
      ? new MqttBoardLink({
        ...options.mqtt, clientId: `hil-sim-${options.id}`, faults: this.faults,
        note: (text) => this.log(logLine('I', this.boardMs(), 'mqtt_client', text)),
      })
      : undefined;
    this.mqtt?.setLinkLimit(limit);
    this.rom.on('boot', (e) => this.onRomBoot(e));
    if (this.rom.lastBoot) this.onRomBoot(this.rom.lastBoot);
  }

  /** Create the board (its flash factory-programmed when blank) and power it on. */
  static async start(options: SimBoardOptions): Promise<SimBoard> {
    const variant = parseVariant(options.variant ?? DEFAULT_VARIANT);
    if (!variant) throw new LabError('sim', `board ${options.id}: unknown firmware variant "${options.variant}" (use reference, esp-nn or esp-nn-<x.y.z>, optionally -80mhz / -160mhz)`);
    const profile = SIMULATED_PROFILES[options.profile ?? 'esp32s3-devkitc-1-n16r8'];
    if (!profile) throw new LabError('sim', `board ${options.id}: unknown simulated profile "${options.profile}"`);
    const flash = SimFlash.open(options.flashPath, profile.flashBytes);
    try {
      if (isBlank(flash)) installSimulatedFirmware(flash, variant); // factory programming
    } finally {
      flash.close();
    }
    const pty = await openConsolePty();
    return new SimBoard(options, pty, variant);
  }

  /** Device path of the console (what a serial terminal or the harness opens). */
  get path(): string {
    return this.pty.path;
  }

  get state(): SimBoardState {
    return this.stateValue;
  }

  get variant(): SimVariant {
    return this.variantValue;
  }

  /** The firmware running now (undefined while booting, in download mode, halted). */
  get firmware(): SimFirmware | undefined {
    return this.fw;
  }

  /** Resolves at the next `ready` (HELLO sent), or rejects after `timeoutMs` of wall time. */
  nextReady(timeoutMs = 10_000): Promise<SimBoardEvents['ready'][0]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('ready', onReady);
        reject(new Error(`simulated board ${this.id} did not boot its app within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (info: SimBoardEvents['ready'][0]): void => {
        clearTimeout(timer);
        resolve(info);
      };
      this.once('ready', onReady);
    });
  }

  /** The EN button: a chip reset into the app (or into the ROM loader with `download`). */
  reset(options: { download?: boolean } = {}): void {
    this.rom.reset({ gpio0Low: options.download ?? false });
  }

  /** Power off: save the recording, say "offline" on MQTT, release the PTY and the flash file. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.mqtt?.close(); // "offline" and a clean DISCONNECT before the chip goes away
    this.halt();
    this.stateValue = 'off';
    if (this.recorder && this.options.recordFile) this.recorder.save(this.options.recordFile);
    this.serial.close();
    await this.rom.close();
    this.pty.close();
  }

  /** The session recording so far (when `recordFile` was given). */
  get recording(): SessionRecorder | undefined {
    return this.recorder;
  }

  // ------------------------------------------------------------------------------------ boot

  /** Board milliseconds since the last reset (0 before the app started). */
  private boardMs(): number {
    return this.clock ? this.clock.nowUs() / 1000 : 0;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Stop the firmware and everything scheduled for it (a reset in progress). */
  private halt(): void {
    this.bootGeneration++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.fw?.stop();
    this.fw = undefined;
    this.serial.attach(undefined);
    this.mqtt?.drop();
  }

  private log(line: string): void {
    if (this.stopped) return;
    this.serial.print([line]);
    this.mqtt?.log(line);
    this.emit('log', line);
  }

  private onRomBoot(e: BootEvent): void {
    if (this.stopped) return;
    this.halt();
    this.emit('boot', { mode: e.mode, reason: e.reason, ...(e.error ? { error: e.error } : {}) });
    if (e.mode === 'app' && e.app) {
      const reason = e.reason === 'POWERON' ? RESET.poweron : e.reason === 'RTCWDT_RTC_RST' ? RESET.wdt : RESET.sw;
      this.bootApp(e.app, reason);
    } else {
      this.stateValue = e.mode === 'download' ? 'download' : 'halted';
    }
  }

  /** After the bootloader handed over: ESP-IDF start-up, then the firmware and its HELLO. */
  private bootApp(app: BootedApp, resetReason: number): void {
    this.stateValue = 'booting';
    this.faults.restarted();
    const flash = this.rom.flash;
    const marked = variantMarker(flash, app.partition.offset, app.image);
    if (marked) this.variantValue = parseVariant(marked) ?? this.variantValue;
    const variant = this.variantValue;
    const desc = app.description;
    const links = { serial: true, mqtt: !!this.mqtt };
    const log = appBootLog({
      board: this.id, variant, projectName: desc.projectName, appVersion: desc.version, idfVersion: desc.idfVersion,
      appElfSha256: desc.appElfSha256, compileDate: desc.date, compileTime: desc.time,
      chipRevision: { major: this.rom.registers.chip.majorRevision, minor: this.rom.registers.chip.minorRevision },
      flashBytes: this.profile.flashBytes, psramBytes: this.profile.psramBytes, psramMode: this.profile.psramMode,
      internalRegions: internalRegions(), imageBytes: app.image.imageLength,
      modelPartition: app.partitions.some((p) => p.label === 'model' && p.type === 0x01), links: 1 + (this.mqtt ? 1 : 0),
      rxWindow: this.options.rxWindow ?? 4, tflmVersion: TFLM_VERSION,
    });
    const clock = new BoardClock(this.timeScale);
    this.clock = clock;
    const generation = this.bootGeneration;
    const host: FirmwareHost = {
      reset: (mode) => this.afterReply(() => (mode === 'download' ? this.rom.enterDownloadMode() : this.rom.softwareReset())),
      setVariant: (v) => this.afterReply(() => {
        installSimulatedFirmware(this.rom.flash, v);
        this.variantValue = v;
        this.rom.softwareReset();
      }),
      afterInference: () => this.onInference(),
      log: (line) => this.log(line),
    };
    const fw = new SimFirmware({
      board: this.id, variant, seed: this.seed, clock, host, flash, partitions: app.partitions, links,
      rxWindow: this.options.rxWindow ?? 4, recorder: this.recorder,
      identity: {
        appElfSha256: desc.appElfSha256, appVersion: desc.version, projectName: desc.projectName, idfVersion: desc.idfVersion,
        tflmVersion: TFLM_VERSION, resetReason, mac: this.mac,
        chipRevision: this.rom.registers.chip.majorRevision * 100 + this.rom.registers.chip.minorRevision,
        flashBytes: this.profile.flashBytes, psramBytes: this.profile.psramBytes, psramMode: this.profile.psramMode,
        imageBytes: app.image.imageLength,
      },
    });
    this.later(clock.wallMs(log.readyMs * 1000), () => {
      if (generation !== this.bootGeneration) return;
      // A UART console runs at the firmware's configured rate; USB-Serial-JTAG has none.
      const s = this.options.serial;
      this.rom.wire.setBoardBaud(s && s.console !== 'usb-jtag' ? s.baud : undefined);
      this.serial.print(log.lines);
      for (const line of log.lines) this.emit('log', line);
      this.fw = fw;
      this.stateValue = 'app';
      this.serial.attach(fw);
      fw.sendHello(this.serial);
      this.emit('ready', { variant: variant.name, appElfSha256: desc.appElfSha256, resetReason: RESET_REASONS[resetReason] ?? String(resetReason) });
      // Wi-Fi association and DHCP take about a second and a half before the MQTT client connects.
      if (this.mqtt) this.later(clock.wallMs(1_500_000), () => generation === this.bootGeneration && this.mqtt!.connect(fw));
    });
  }

  /** Run `fn` once the reply just sent has left (the firmware drains its transports before restarting). */
  private afterReply(fn: () => void): void {
    const generation = this.bootGeneration;
    void Promise.race([this.rom.wire.flush(), new Promise((r) => setTimeout(r, 200))]).then(() => {
      // MQTT publishes are asynchronous too: give them a moment, as app_main drains for 200 ms.
      setTimeout(() => {
        if (generation === this.bootGeneration && !this.stopped) fn();
      }, 20);
    });
  }

  // ------------------------------------------------------------------------------------ faults

  private onInference(): boolean {
    const event = this.faults.afterInference();
    if (!event) return true;
    this.emit('fault', event);
    const fw = this.fw;
    switch (event.kind) {
      case 'reboot':
        setImmediate(() => this.faultReboot(event.reason));
        return false;
      case 'hang':
        this.stateValue = 'hung';
        fw?.suspend();
        if (event.durationS !== undefined) {
          this.later(event.durationS * 1000 * this.timeScale, () => {
            if (this.fw === fw && fw) {
              fw.resume();
              this.stateValue = 'app';
            }
          });
        }
        return false;
      case 'disconnect': {
        const ms = event.durationS * 1000 * this.timeScale;
        if (this.options.serial) {
          this.rom.wire.disconnect();
          this.later(ms, () => this.rom.wire.reconnect());
        }
        if (this.mqtt && fw) {
          this.mqtt.drop();
          this.later(ms, () => this.fw === fw && this.mqtt!.connect(fw));
        }
        return true;
      }
    }
  }

  /** The chip resets in the middle of a run: what ESP-IDF prints, then the ROM and bootloader again. */
  private faultReboot(reason: 'brownout' | 'panic' | 'watchdog'): void {
    if (this.stopped) return;
    const ms = Math.round(this.boardMs());
    const sha = this.fw?.identity.appElfSha256.slice(0, 16) ?? '';
    this.halt();
    const banner: Record<typeof reason, string[]> = {
      brownout: ['', 'Brownout detector was triggered', ''],
      panic: [
        "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.", '',
        'Core  1 register dump:',
        'PC      : 0x42014b3e  PS      : 0x00060e30  A0      : 0x82009a7c  A1      : 0x3fcf1c40  ',
        'EXCVADDR: 0x00000000  LBEG    : 0x40056f5c  LEND    : 0x40056f72  LCOUNT  : 0x00000000  ', '',
        'Backtrace: 0x42014b3b:0x3fcf1c40 0x42009a79:0x3fcf1c70 0x4037a1e5:0x3fcf1ca0', '',
        `ELF file SHA256: ${sha}`, '', 'Rebooting...',
      ],
      watchdog: [
        logLine('E', ms, 'task_wdt', 'Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:'),
        logLine('E', ms, 'task_wdt', ' - hil_bench (CPU 1)'),
        logLine('E', ms, 'task_wdt', 'Tasks currently running:'),
        logLine('E', ms, 'task_wdt', 'CPU 0: IDLE0'),
        logLine('E', ms, 'task_wdt', 'CPU 1: hil_bench'),
        logLine('E', ms, 'task_wdt', 'Aborting.'), '',
        'abort() was called at PC 0x42017a3f on core 0', '',
        'Backtrace: 0x40375b2a:0x3fcf0b60 0x4037d8f1:0x3fcf0b80 0x40383b22:0x3fcf0ba0', '',
        `ELF file SHA256: ${sha}`, '', 'Rebooting...',
      ],
    };
    this.serial.print(banner[reason]);
    const romReason: ResetReasonName = reason === 'brownout' ? 'POWERON' : 'RTC_SW_CPU_RST';
    const booted = bootFromFlash(this.rom.flash, this.rom.registers.chip, romReason);
    const lines = booted.lines.map((l) => (reason === 'brownout' && l.startsWith('rst:0x1 (POWERON)')
      ? l.replace('rst:0x1 (POWERON)', 'rst:0xf (BROWNOUT_RST)')
      : l));
    if (reason !== 'brownout') lines.splice(lines.findIndex((l) => l.startsWith('rst:')) + 1, 0, 'Saved PC:0x42014b3e');
    this.serial.print(lines);
    this.emit('boot', { mode: booted.ok ? 'app' : 'halted', reason: reason === 'brownout' ? 'BROWNOUT_RST' : 'RTC_SW_CPU_RST', ...(booted.ok ? {} : { error: booted.reason }) });
    if (!booted.ok) {
      this.stateValue = 'halted';
      return;
    }
    this.bootApp(booted.app, reason === 'brownout' ? RESET.brownout : reason === 'panic' ? RESET.panic : RESET.task_wdt);
  }
}
