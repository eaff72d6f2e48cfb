/**
 * The requests a session has in flight: their ids (1..65535, wrapping, never 0: PROTOCOL.md
 * section 3), their reply frames, and one **inactivity** timer each that only that request's own
 * frames reset (CONVENTIONS.md: MQTT.js #1861 shows the bug of resetting a liveness timer on any
 * traffic). The board answers requests one at a time in arrival order, so a request's timer runs
 * only while it is the oldest one in flight: the ones behind it cannot show progress before it
 * is done, however long that takes.
 */
import type { Message } from '../protocol/index.js';
import type { Clock } from '../links/link.js';

export interface PendingRequest {
  readonly id: number;
  /** The request's name for messages, e.g. "INVOKE". */
  readonly what: string;
  readonly timeoutMs: number;
  readonly replies: Message[];
  readonly sentAt: number;
}

interface Entry extends PendingRequest {
  replies: Message[];
  timer: unknown;
  resolve(replies: Message[]): void;
  reject(e: Error): void;
}

export class RequestTracker {
  private lastId = 0;
  private readonly inFlight: Entry[] = [];

  constructor(
    private readonly clock: Clock,
    /** Called when the oldest request saw no frame of its own for its timeout. */
    private readonly onTimeout: (request: PendingRequest) => void,
  ) {}

  get size(): number {
    return this.inFlight.length;
  }

  /** The oldest request in flight. */
  get head(): PendingRequest | undefined {
    return this.inFlight[0];
  }

  /** The next request id: 1..65535, skipping 0 and ids still in flight. */
  nextId(): number {
    for (;;) {
      this.lastId = (this.lastId % 0xffff) + 1;
      if (!this.inFlight.some((e) => e.id === this.lastId)) return this.lastId;
    }
  }

  /** Tracks request `id`; resolves with all its reply frames once one arrives without MORE. */
  track(id: number, what: string, timeoutMs: number): Promise<Message[]> {
    if (!(timeoutMs > 0)) throw new RangeError(`${what}: timeout must be a positive number of ms, got ${timeoutMs}`);
    return new Promise<Message[]>((resolve, reject) => {
      const entry: Entry = { id, what, timeoutMs, replies: [], sentAt: this.clock.now(), timer: undefined, resolve, reject };
      this.inFlight.push(entry);
      if (this.inFlight.length === 1) this.arm(entry);
    });
  }

  /** A reply frame: true when it belongs to a request in flight. */
  deliver(msg: Message): boolean {
    const i = this.inFlight.findIndex((e) => e.id === msg.requestId);
    if (i < 0) return false;
    const entry = this.inFlight[i];
    entry.replies.push(msg);
    if (msg.more) {
      if (i === 0) this.arm(entry);
      return true;
    }
    this.remove(i);
    entry.resolve(entry.replies);
    return true;
  }

  /** Ends request `id` with `error` (e.g. its send failed, or its reply frame was damaged). */
  fail(id: number, error: Error): boolean {
    const i = this.inFlight.findIndex((e) => e.id === id);
    if (i < 0) return false;
    const entry = this.inFlight[i];
    this.remove(i);
    entry.reject(error);
    return true;
  }

  /** Ends every request in flight; `error` may depend on the request. */
  failAll(error: Error | ((request: PendingRequest) => Error)): void {
    const all = this.inFlight.splice(0);
    for (const e of all) this.disarm(e);
    for (const e of all) e.reject(typeof error === 'function' ? error(e) : error);
  }

  has(id: number): boolean {
    return this.inFlight.some((e) => e.id === id);
  }

  private remove(i: number): void {
    const [entry] = this.inFlight.splice(i, 1);
    this.disarm(entry);
    if (i === 0 && this.inFlight.length > 0) this.arm(this.inFlight[0]);
  }

  private arm(entry: Entry): void {
    this.disarm(entry);
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.inFlight[0] === entry) this.onTimeout(entry);
    }, entry.timeoutMs);
  }

  private disarm(entry: Entry): void {
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
  }
}
