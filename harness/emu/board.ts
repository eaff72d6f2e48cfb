/**
 * One emulated ESP32-S3: an Espressif QEMU process the lab starts, restarts and stops.
 *
 * Lifecycle, labgrid-style: `start(strap)` makes sure the board's flash file exists (erased, the
 * profile's size), writes its eFuse image, and starts QEMU, which listens for UART0 on the rig's
 * TCP address and waits there until the lab connects. `restart(strap)` is the board kind's reset
 * strategy - QEMU has no EN or BOOT lines, so "reset" and "power cycle" are a restart on the same
 * flash file, and "download mode" is a restart with the download strapping. `stop()` ends it.
 *
 * QEMU runs under a small shell guard that kills it when the lab's end of the guard's stdin closes,
 * so an emulator never outlives the lab process that started it, even one killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { EMULATED_PROFILES } from '../config/profiles.js';
import type { EmulatedBoardSettings } from '../config/types.js';
import { LabError } from '../errors.js';
import { efuseImage, emulatedMac } from './efuse.js';
import { listeningPort, qemuArgs, type StrapMode } from './qemu.js';

export interface EmulatedBoardOptions {
  id: string;
  settings: EmulatedBoardSettings;
  /** The rig's TCP address (port 0: QEMU picks one at the first start; restarts keep it). */
  host: string;
  port: number;
  /** The QEMU binary (findQemu). */
  qemu: string;
  /** Base MAC (rigs.json identity.mac), else one derived from the board id. */
  mac?: string;
  /** QEMU's own messages (stderr), line by line. */
  log?: (line: string) => void;
  /** How long QEMU may take to listen (default 10 s). */
  startTimeoutMs?: number;
  /** QEMU ended on its own while serving the board (one line: status and its last message). */
  onCrash?: (message: string) => void;
}

export type EmulatedBoardState = 'stopped' | 'starting' | 'running';

/**
 * Kills QEMU ("$@") when stdin reaches end of file (the lab closed it, or died); exits with QEMU's
 * status when QEMU ends on its own. QEMU's stderr passes through; its pid comes first.
 */
const GUARD = [
  // A background job's stdin is /dev/null unless redirected (POSIX sh without job control): keep
  // the lab's pipe on fd 3 for the watcher.
  'exec 3<&0',
  '"$@" </dev/null &',
  'q=$!',
  'echo "hil-qemu-pid $q" >&2',
  '{ cat <&3 >/dev/null; kill $q 2>/dev/null; } &',
  'w=$!',
  'wait $q; rc=$?',
  'kill $w 2>/dev/null',
  'exit $rc',
].join('\n');

export class EmulatedBoard {
  readonly id: string;
  readonly settings: EmulatedBoardSettings;
  readonly host: string;
  readonly mac: string;
  private readonly options: EmulatedBoardOptions;
  private port: number;
  private child: ChildProcess | undefined;
  /** The QEMU being stopped on purpose (its exit is not a crash). */
  private stopping: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private current: StrapMode | undefined;
  private state_: EmulatedBoardState = 'stopped';
  /** QEMU starts since this object was made (the first start counts). */
  starts = 0;

  constructor(options: EmulatedBoardOptions) {
    this.options = options;
    this.id = options.id;
    this.settings = options.settings;
    this.host = options.host;
    this.port = options.port;
    this.mac = (options.mac ?? emulatedMac(options.id)).toLowerCase();
  }

  get state(): EmulatedBoardState {
    return this.state_;
  }

  /** The strapping QEMU runs with now (undefined when stopped). */
  get strap(): StrapMode | undefined {
    return this.current;
  }

  /** UART0's TCP address; the port is known once QEMU listened (or when the rig names one). */
  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** The eFuse image beside the flash file. */
  get efuseFile(): string {
    return `${this.settings.flashFile}.efuse.bin`;
  }

  /** Creates the flash file (erased: 0xFF) when missing; refuses one of another size. */
  prepareFlash(): void {
    const file = this.settings.flashFile;
    const bytes = EMULATED_PROFILES[this.settings.profile].flashBytes;
    if (existsSync(file)) {
      const size = statSync(file).size;
      if (size !== bytes) {
        throw new LabError('emulator', `board ${this.id}: flash file ${file} is ${size} bytes but profile "${this.settings.profile}" has ${bytes / (1024 * 1024)} MB of flash: delete the file (the board starts erased) or pick the profile it was made for`);
      }
    } else {
      mkdirSync(path.dirname(file), { recursive: true });
      const fd = openSync(file, 'wx');
      try {
        const erased = Buffer.alloc(1024 * 1024, 0xff);
        for (let done = 0; done < bytes; done += erased.length) writeSync(fd, erased, 0, Math.min(erased.length, bytes - done));
      } finally {
        closeSync(fd);
      }
    }
    writeFileSync(this.efuseFile, efuseImage(this.mac));
  }

  /**
   * True when the flash holds no second-stage bootloader (its first byte is not the image magic
   * 0xE9): a board never flashed, or whose flash file does not exist yet.
   */
  isBlank(): boolean {
    try {
      const fd = openSync(this.settings.flashFile, 'r');
      try {
        const first = Buffer.alloc(1);
        readSync(fd, first, 0, 1, 0);
        return first[0] !== 0xe9;
      } finally {
        closeSync(fd);
      }
    } catch {
      return true;
    }
  }

  /** Starts QEMU with `strap`; resolves once it listens for the lab's connection. */
  async start(strap: StrapMode): Promise<void> {
    if (this.state_ !== 'stopped') throw new LabError('board-state', `board ${this.id}: start() cannot run while its emulator is ${this.state_}: stop() or restart() it`);
    this.state_ = 'starting';
    this.lastExit = undefined;
    try {
      this.prepareFlash();
      await this.spawnQemu(strap);
      this.current = strap;
      this.state_ = 'running';
      this.starts++;
    } catch (e) {
      this.state_ = 'stopped';
      throw e;
    }
  }

  /** QEMU's own output (stderr) of every start, beside the flash file. */
  get logFile(): string {
    return `${this.settings.flashFile}.qemu.log`;
  }

  /** Why QEMU last ended on its own (a crash), if it did. */
  lastExit: string | undefined;

  private spawnQemu(strap: StrapMode): Promise<void> {
    const args = qemuArgs({ profile: this.settings.profile, flashFile: this.settings.flashFile, efuseFile: this.efuseFile, host: this.host, port: this.port, strap });
    const child = spawn('/bin/sh', ['-c', GUARD, 'hil-qemu', this.options.qemu, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    appendFileSync(this.logFile, `--- ${new Date().toISOString()} start (${strap}): ${this.options.qemu} ${args.join(' ')}\n`);
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    let stderr = '';
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (error?: LabError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => {
        done(new LabError('emulator', `board ${this.id}: QEMU did not start listening on ${this.host}:${this.port || '(any port)'} within ${timeoutMs / 1000} s${lastLine(stderr)}`));
        void this.kill();
      }, timeoutMs);
      let partial = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        appendFileSync(this.logFile, chunk);
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line !== '' && !line.startsWith('hil-qemu-pid ')) this.options.log?.(line);
        const port = listeningPort(stderr);
        if (port !== undefined) {
          this.port = port;
          done();
        }
      });
      child.on('error', (e) => done(new LabError('emulator', `board ${this.id}: could not run QEMU (${e.message})`, { cause: e })));
      child.on('close', (code) => {
        const message = qemuExitMessage(this.id, this.settings.flashFile, code, stderr);
        if (this.child === child && this.stopping !== child) {
          // Ended on its own (not by stop()): a crash the board's link will see as a closed connection.
          this.child = undefined;
          this.current = undefined;
          this.state_ = 'stopped';
          this.lastExit = message;
          appendFileSync(this.logFile, `--- ${new Date().toISOString()} exited on its own: ${message}\n`);
          if (settled) this.options.onCrash?.(message);
        }
        done(new LabError('emulator', message));
      });
    });
  }

  /**
   * Whether QEMU ended on its own (crashed) - waiting up to `withinMs` for its exit to be seen, since
   * the lab usually notices a crash first as its UART connection closing. The crash's one line, or
   * undefined when QEMU is still running or was stopped on purpose.
   */
  async crashed(withinMs = 2000): Promise<string | undefined> {
    const exited = this.exited;
    if (this.child && exited && this.stopping !== this.child) {
      await Promise.race([exited, new Promise((r) => setTimeout(r, withinMs))]);
    }
    return this.state_ === 'stopped' ? this.lastExit : undefined;
  }

  /** Ends QEMU (the board is then "unplugged": its link sees the connection close). */
  async stop(): Promise<void> {
    if (!this.child) {
      this.state_ = 'stopped';
      this.current = undefined;
      return;
    }
    await this.kill();
  }

  /** The board kind's reset: QEMU restarted on the same flash file, with `strap`. */
  async restart(strap: StrapMode): Promise<void> {
    await this.stop();
    await this.start(strap);
  }

  private async kill(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return;
    this.stopping = child;
    child.stdin?.end(); // the guard kills QEMU at end of input
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    if (this.child === child) this.child = undefined;
    this.current = undefined;
    this.state_ = 'stopped';
  }
}

function lastLine(stderr: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('hil-qemu-pid ')).pop();
  return line ? `: QEMU said "${line}"` : '';
}

/** One line for a QEMU that ended before or while serving the board. */
export function qemuExitMessage(board: string, flashFile: string, code: number | null, stderr: string): string {
  if (/Failed to get "write" lock|Is another process using the image/i.test(stderr)) {
    return `board ${board}: its flash file ${flashFile} is in use by another emulator (another hil process runs this board?): stop that one, or give the board another emulated.flashFile`;
  }
  if (/Address already in use|Failed to bind socket/i.test(stderr)) {
    return `board ${board}: QEMU could not listen on its TCP port (address already in use): give the board another "tcp" port in rigs.json, or "127.0.0.1:0" for any free port`;
  }
  if (/unsupported machine type|machine type .* not found|esp32s3/i.test(stderr) && /machine/i.test(stderr)) {
    return `board ${board}: this QEMU has no esp32s3 machine${lastLine(stderr)}: use Espressif's QEMU (idf_tools.py install qemu-xtensa), not upstream's`;
  }
  return `board ${board}: QEMU exited${code === null ? '' : ` with status ${code}`}${lastLine(stderr)}`;
}
