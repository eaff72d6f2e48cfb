/**
 * An in-memory `Link` for unit tests (CONVENTIONS.md, node-serialport's MockBinding: a mock of the
 * same interface is what tests use): the test plays the board. It sees every request the session
 * sends (decoded) and answers with `reply`, `hello` or raw events, on whatever schedule it likes.
 */
import { EventEmitter } from 'node:events';
import {
  decodeFrame, decodeMessage, encodeMessage, type BoardIdentity, type Message, type MessageBody, type Request,
} from '../../protocol/index.js';
import type { BoardPresence, Link, LinkEvents, LinkFrameError, LinkKind, LinkStats } from '../link.js';
import { emptyStats } from '../link.js';

export interface MemoryLinkOptions {
  board?: string;
  kind?: LinkKind;
  /** Called with each request the session sends (e.g. to answer it at once). */
  onRequest?: (request: Message<Request>, link: MemoryLink) => void;
  /** Called on each `nudge()`. */
  onNudge?: (link: MemoryLink) => void;
  /** What `hardwareReset()` does: false = the link has no modem lines. */
  hardwareReset?: () => boolean;
}

export class MemoryLink extends EventEmitter<LinkEvents> implements Link {
  readonly kind: LinkKind;
  readonly board: string;
  readonly address: string;
  readonly helloOnReconnect: boolean;
  presence: BoardPresence = 'unknown';
  isOpen = false;
  opens = 0;
  /** Every request sent, decoded, in order. */
  readonly sent: Message<Request>[] = [];
  hardwareResets = 0;
  private readonly counters: LinkStats = emptyStats();

  constructor(private readonly options: MemoryLinkOptions = {}) {
    super();
    this.kind = options.kind ?? 'serial';
    this.board = options.board ?? 'mem-1';
    this.address = { serial: `/dev/mem/${this.board}`, tcp: `tcp://mem.${this.board}:1`, rfc2217: `rfc2217://mem.${this.board}:1`, mqtt: `lab/${this.board}` }[this.kind];
    this.helloOnReconnect = this.kind === 'mqtt';
  }

  async open(): Promise<void> {
    this.isOpen = true;
    this.opens++;
  }

  async send(frame: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new Error('MemoryLink: send on a closed link');
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
    const msg = decodeMessage(decodeFrame(frame)) as Message<Request>;
    this.sent.push(msg);
    this.options.onRequest?.(msg, this);
  }

  /** Link.nudge: counted, and passed to `onNudge` (a test's board that holds a request until nudged). */
  nudges = 0;
  async nudge(): Promise<void> {
    this.nudges++;
    this.options.onNudge?.(this);
  }

  async hardwareReset(): Promise<boolean> {
    this.hardwareResets++;
    return this.options.hardwareReset?.() ?? false;
  }

  async close(): Promise<void> {
    this.isOpen = false;
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  /** The requests of one type sent so far. */
  requests<T extends Request['type']>(type: T): Message<Extract<Request, { type: T }>>[] {
    return this.sent.filter((m) => m.body.type === type) as Message<Extract<Request, { type: T }>>[];
  }

  /** The board sends `body` as a reply to request `requestId`. */
  reply(requestId: number, body: MessageBody, more = false): void {
    this.frame({ requestId, simulated: true, more, body });
  }

  frame(msg: Message): void {
    const frame = decodeFrame(encodeMessage(msg));
    this.counters.framesIn++;
    this.emit('frame', frame);
  }

  hello(identity: BoardIdentity): void {
    this.frame({ requestId: 0, simulated: true, more: false, body: { type: 'hello', ...identity } });
  }

  log(line: string): void {
    this.emit('log', line);
  }

  frameError(e: LinkFrameError): void {
    this.emit('frame-error', e);
  }

  disconnect(reason = 'cable pulled'): void {
    this.isOpen = false;
    this.emit('disconnect', reason);
  }
}

/** A plausible identity for tests. */
export function testIdentity(over: Partial<BoardIdentity> = {}): BoardIdentity {
  return {
    protocolMin: 1, protocolMax: 1, maxPayload: 4096, rxWindow: 4, simulated: true, resetReason: 1, cores: 2,
    chipRevision: 2, cpuMhz: 240, flashSize: 16 << 20, psramSize: 8 << 20, uptimeMs: 1200, mac: '7c:df:a1:00:00:01',
    appSha256: 'ab'.repeat(32), chip: 'esp32s3', variant: 'esp-nn', kernelBackend: 'esp-nn', appVersion: 'v0.1.0-sim',
    projectName: 'hil-bench', idfVersion: 'v5.3.3', tflmVersion: '1.3.5', espNnVersion: '1.1.2',
    ...over,
  };
}
