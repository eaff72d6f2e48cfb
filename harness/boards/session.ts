/**
 * A session with one board over one link (harness/links): the protocol's request/reply rules
 * (PROTOCOL.md section 3) and the board's states, labgrid-style (CONVENTIONS.md):
 *
 *   unknown --connect--> booting --HELLO/INFO + NEGOTIATE--> ready <--> running (one request at a time)
 *        any failure of the board or its link (timeout, reboot, disconnect, damaged reply) --> failed
 *        failed --connect / reset--> booting --> ready
 *
 * A method called in a state that does not allow it throws a `board-state` LabError naming the
 * method and the state; after a failure the board is not trusted until it is probed again. The
 * board's own ERROR replies (ARENA_TOO_SMALL, ...) leave the session `ready`: the board is fine,
 * the request was not.
 *
 * The session satisfies the scheduler's `LabBoard` (harness/lab/board.ts) directly.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { LabError, isLabError } from '../errors.js';
import type { AccuracyRequest, InvokeOutcome, InvokeRequest, LabBoard } from '../lab/board.js';
import type { Clock, Link, LinkFrameError, LinkKind } from '../links/link.js';
import { systemClock } from '../links/link.js';
import {
  ProtocolError, REPLIES, SUPPORTED_VERSIONS, assembleAccuracy, errorName, assembleInvoke, assembleOutput, chunkDataSize,
  decodeMessage, encodeMessage, splitChunks,
  type ArenaReady, type BoardIdentity, type Frame, type Hello, type Info, type Memory, type Message, type ModelReady,
  type Placement, type Request,
} from '../protocol/index.js';
import { BoardErrorReply, fmtMs, leavesBoardUntrusted, resetReasonName } from './errors.js';
import { RequestTracker, type PendingRequest } from './requests.js';

export type SessionState = 'unknown' | 'booting' | 'ready' | 'running' | 'failed';

export interface BoardSessionEvents {
  /** A line of board log text (boot banner, ESP-IDF log). */
  log: [line: string];
  /** A HELLO outside connect/reset/switchVariant: the board rebooted on its own. */
  reboot: [identity: BoardIdentity];
  state: [change: { from: SessionState; to: SessionState; reason?: string }];
}

/** What a session needs of an emulated board (harness/emu EmulatedBoard). */
export interface RestartingEmulator {
  restart(strap: 'app' | 'download'): Promise<void>;
  /** QEMU's crash line when it ended on its own (waiting briefly for its exit), else undefined. */
  crashed?(withinMs?: number): Promise<string | undefined>;
}

/** Restarts of an emulated board's reset before a QEMU that keeps crashing while it boots fails the reset. */
export const EMULATED_RESTARTS = 3;

export interface BoardSessionOptions {
  /** The board's id in rigs.json. */
  id: string;
  link: Link;
  clock?: Clock;
  /**
   * The power switch, for a board that answers neither RESET nor the link's hardware reset (a
   * hung board on a PTY or on MQTT). The simulated fleet passes `SimBoard.reset`.
   */
  powerCycle?: () => void | Promise<void>;
  /**
   * An emulated board (harness/emu): its reset is a restart of the emulator, which ends the link's
   * connection - the session closes its link first, restarts the emulator into the app, and opens
   * the link again for the fresh boot. Flashing uses it too (download mode is a restart).
   */
  emulator?: RestartingEmulator;
  /** How long RESET may go unanswered before the hardware reset (default 1000 ms). */
  resetAnswerMs?: number;
  /** How often connect asks GET_INFO again while no HELLO came (default 500 ms). */
  probeIntervalMs?: number;
  /**
   * How long connect waits for a HELLO before it first asks GET_INFO (default 0). An emulated board
   * boots when the lab connects (its QEMU waits for the connection), so its HELLO comes by itself;
   * and Espressif's QEMU with PSRAM sometimes crashes when bytes reach UART0 while the chip boots
   * (found here: about 1 boot in 15 with a steady stream of GET_INFO), so the lab stays quiet first.
   */
  probeDelayMs?: number;
  /**
   * How long the board's own boot may take, on top of the timeouts callers give connect and reset
   * (default 0). An emulated board runs its boot in QEMU with -icount, which takes ~9 s of wall time
   * here (harness/emu/README.md); a scenario's hello timeout is about the firmware, not the emulator.
   */
  bootMs?: number;
  /** Protocol versions this host speaks (default: the codec's). */
  versions?: readonly number[];
  /**
   * Recover from frames a noisy line damaged without failing the request: send a request again
   * after BAD_FRAME (or after a damaged reply when it is repeatable), resume a chunked upload
   * where the board says it is. Default false: every damaged frame fails its request (a board
   * failure, so the scheduler resets the board and retries the trial, and the noise shows in the
   * journal). Resends are counted in `stats().resends`.
   */
  resendDamaged?: boolean;
  /**
   * Emulated boards: while a request waits and the board has sent nothing for this long, nudge the
   * link (one LF, Link.nudge), then again after twice as long, and so on (at most every
   * MAX_NUDGE_INTERVAL_MS). Espressif's QEMU sometimes keeps a request's last bytes in its UART
   * receive FIFO, below the FIFO-full threshold, with no receive-timeout interrupt to tell the
   * firmware, until another byte arrives (harness/emu/README.md); the LF is that byte, and the
   * firmware drops it as an empty line. Default off: a real UART raises its timeout interrupt.
   * Nudges are counted in `stats().nudges`.
   */
  nudgeAfterMs?: number;
}

/** The longest wait between two nudges of a silent emulated board (BoardSessionOptions.nudgeAfterMs). */
export const MAX_NUDGE_INTERVAL_MS = 8000;

export type ChunkPlacement = Extract<Placement, 'internal' | 'psram'>;

interface HelloWaiter {
  resolve(identity: BoardIdentity): void;
  reject(e: Error): void;
}

export interface PingResult {
  /** Host round trip of one PING/PONG, in ms (a link measure; never used for latency). */
  roundTripMs: number;
  bytes: number;
}

function identityOf(body: Hello | Info): BoardIdentity {
  const { type: _type, ...identity } = body;
  return identity;
}

const NAMES: Record<Request['type'], string> = {
  ping: 'PING', get_info: 'GET_INFO', negotiate: 'NEGOTIATE', reset: 'RESET', log_level: 'LOG_LEVEL',
  memory_report: 'MEMORY_REPORT', model_begin: 'MODEL_BEGIN', model_chunk: 'MODEL_CHUNK', model_end: 'MODEL_END',
  model_select_partition: 'MODEL_SELECT_PARTITION', arena_config: 'ARENA_CONFIG', set_input: 'SET_INPUT',
  invoke: 'INVOKE', get_output: 'GET_OUTPUT', accuracy_begin: 'ACCURACY_BEGIN', accuracy_input: 'ACCURACY_INPUT',
  accuracy_run: 'ACCURACY_RUN', sim_set_variant: 'SIM_SET_VARIANT',
};

const noop = (): void => undefined;

/** Times one request is sent again after BAD_FRAME or a damaged reply. */
const MAX_RESENDS = 2;
/** Times in a row a chunked upload may resume without getting further (a noisy line that still moves data never fails). */
const MAX_RESUMES = 3;

/** Requests that do the same when sent twice: the only ones sent again after a damaged reply. */
const REPEATABLE = new Set<Request['type']>(['ping', 'get_info', 'negotiate', 'log_level', 'memory_report', 'get_output', 'arena_config', 'model_begin', 'accuracy_begin']);

/**
 * BAD_FRAME: the board never ran the request, so any request may go again. A damaged reply: the
 * board did run it, so only a repeatable one; INVOKE and ACCURACY_RUN are not resent (a resent one
 * would queue behind the still-running original and outlive its silence limit).
 */
function resendable(body: Request, e: unknown): boolean {
  if (e instanceof BoardErrorReply) return e.boardName === 'BAD_FRAME';
  return isLabError(e) && e.code === 'link-garbled' && REPEATABLE.has(body.type);
}

/** What else to check when a board on this kind of link says nothing at all. */
const CONSOLE_HINT: Record<LinkKind, string> = {
  serial: ' and the baud rate in rigs.json matches its console',
  tcp: ' and whatever serves its TCP port (the emulator, ser2net) forwards its console UART',
  rfc2217: ' and ser2net forwards its console UART at the baud rate in rigs.json',
  mqtt: '',
};

function journalLinkKind(kind: LinkKind): LabBoard['link'] {
  return kind === 'tcp' || kind === 'rfc2217' ? 'serial' : kind;
}

export class BoardSession extends EventEmitter<BoardSessionEvents> implements LabBoard {
  readonly id: string;
  /**
   * The link as the journal names it (harness/lab/events.ts knows serial and MQTT, and so does
   * results.schema.json): a TCP serial port carries the board's UART bytes, so it is `serial` there;
   * `address` (tcp://host:port) and `connection.kind` tell it apart.
   */
  readonly link: LabBoard['link'];
  readonly address: string;
  /** The emulator of an emulated board (its reset strategy is a restart), else undefined. */
  readonly emulator: RestartingEmulator | undefined;
  /** BoardSessionOptions.bootMs: what connect and reset add to their timeouts (LabBoard.bootMs). */
  readonly bootMs: number;
  /** The link this session talks over. */
  readonly connection: Link;
  private readonly clock: Clock;
  private readonly options: BoardSessionOptions;
  private readonly versions: readonly number[];
  private readonly requests: RequestTracker;
  private stateValue: SessionState = 'unknown';
  private stateReason: string | undefined;
  private identityValue: BoardIdentity | undefined;
  private version = 1;
  private helloWaiter: HelloWaiter | undefined;
  /** Bumped by connect/reset/release/close: an operation that outlived one does not touch the state. */
  private generation = 0;
  private closed = false;
  /** Frames nobody waited for (replies to abandoned requests) and frames that did not decode. */
  private readonly counters = { strayFrames: 0, badFrames: 0, reboots: 0, resends: 0, nudges: 0 };
  /** options.nudgeAfterMs: the pending nudge, and how long it waits. */
  private nudgeTimer: unknown;
  private nudgeDelayMs = 0;
  /** Nudges since the board last said something (named in a timeout's message). */
  private silentNudges = 0;
  private readonly detach: () => void;

  constructor(options: BoardSessionOptions) {
    super();
    this.options = options;
    this.id = options.id;
    this.connection = options.link;
    this.link = journalLinkKind(options.link.kind);
    this.address = options.link.address;
    this.emulator = options.emulator;
    this.bootMs = options.bootMs ?? 0;
    this.clock = options.clock ?? systemClock;
    this.versions = options.versions ?? SUPPORTED_VERSIONS;
    this.requests = new RequestTracker(this.clock, (r) => this.requestTimedOut(r));
    const l = options.link;
    const onFrame = (f: Frame) => {
      this.heard();
      this.onFrame(f);
    };
    const onLog = (line: string) => {
      this.heard();
      this.emit('log', line);
    };
    const onFrameError = (e: LinkFrameError) => {
      this.heard();
      this.onFrameError(e);
    };
    const onDisconnect = (reason: string) => this.onDisconnect(reason);
    l.on('frame', onFrame).on('log', onLog).on('frame-error', onFrameError).on('disconnect', onDisconnect);
    this.detach = () => {
      l.off('frame', onFrame).off('log', onLog).off('frame-error', onFrameError).off('disconnect', onDisconnect);
    };
  }

  // ------------------------------------------------------------------------------ state

  get state(): SessionState {
    return this.stateValue;
  }

  /** Why the session is in its state (e.g. the failure that made it `failed`). */
  get reason(): string | undefined {
    return this.stateReason;
  }

  get identity(): BoardIdentity | undefined {
    return this.identityValue;
  }

  /** The protocol version negotiated with the board. */
  get protocolVersion(): number {
    return this.version;
  }

  stats(): { strayFrames: number; badFrames: number; reboots: number; resends: number; nudges: number; inFlight: number } {
    return { ...this.counters, inFlight: this.requests.size };
  }

  onLog(listener: (line: string) => void): void {
    this.on('log', listener);
  }

  onReboot(listener: (identity: BoardIdentity) => void): void {
    this.on('reboot', listener);
  }

  private setState(to: SessionState, reason?: string): void {
    const from = this.stateValue;
    this.stateValue = to;
    this.stateReason = reason;
    if (from !== to) this.emit('state', { from, to, ...(reason !== undefined ? { reason } : {}) });
  }

  private require(method: string, allowed: readonly SessionState[]): void {
    if (this.closed) throw new LabError('board-state', `board ${this.id}: ${method}() called after close(): open a new session`);
    if (allowed.includes(this.stateValue)) return;
    const hint = this.stateValue === 'unknown' ? 'connect() first'
      : this.stateValue === 'failed' ? 'reset() or connect() it first, the board is not trusted after a failure'
        : this.stateValue === 'running' ? 'one request at a time: wait for the current one'
          : 'wait until it is ready';
    throw new LabError('board-state', `board ${this.id}: ${method}() cannot run while the session is ${this.stateValue}${this.stateReason ? ` (${this.stateReason})` : ''}: ${hint}`);
  }

  /** Runs one method in state `running`; the board's failures leave it `failed`, its ERROR replies `ready`. */
  private async op<T>(method: string, work: () => Promise<T>): Promise<T> {
    this.require(method, ['ready']);
    const gen = this.generation;
    this.setState('running', method);
    try {
      const out = await work();
      if (gen === this.generation && this.stateValue === 'running') this.setState('ready');
      return out;
    } catch (e) {
      const err = this.labError(e, method);
      if (gen === this.generation && this.stateValue === 'running') {
        if (leavesBoardUntrusted(err)) this.setState('failed', `${method}: ${err instanceof Error ? err.message : String(err)}`);
        else this.setState('ready');
      }
      throw err;
    }
  }

  /** Replies that do not fit together are the link's or the board's fault, not a harness bug. */
  private labError(e: unknown, what: string): unknown {
    if (e instanceof ProtocolError) {
      return new LabError('board-protocol', `board ${this.id}: the replies to ${what} do not fit together (${e.message}): frames were lost or damaged on ${this.address}`, { cause: e });
    }
    return e;
  }

  // ------------------------------------------------------------------------------ link events

  private onFrame(frame: Frame): void {
    let msg: Message;
    try {
      msg = decodeMessage(frame);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.counters.badFrames++;
      const what = this.requests.head?.what ?? 'a request';
      this.requests.fail(frame.requestId, new LabError('board-protocol', `board ${this.id}: a reply to ${what} could not be decoded (${e.message}): the board runs a firmware this harness does not understand, or the link damages frames`));
      return;
    }
    if (msg.body.type === 'hello') {
      this.onHello(identityOf(msg.body));
      return;
    }
    if (msg.body.type === 'info') this.noteUptime(msg.body.uptimeMs);
    if (!this.requests.deliver(msg)) this.counters.strayFrames++;
  }

  /** The board's uptime in its latest HELLO / INFO, and the host time it arrived. */
  private lastUptimeMs = -1;
  private lastUptimeAt = 0;

  private noteUptime(ms: number): void {
    this.lastUptimeMs = ms;
    this.lastUptimeAt = this.clock.now();
  }

  /**
   * How many board milliseconds pass per host millisecond, at least: 1 for a real board, up to
   * 1 / timeScale for a simulated one. Learned from INVOKE (the board's `wall_us` of the measured
   * loop over the host time of the whole request, which also holds the link's delays, so it is a
   * lower bound).
   */
  private boardClockRate = 1;

  /**
   * Whether a HELLO with `uptimeMs` comes from the same boot as the last HELLO / INFO (a board
   * that only reconnected to the broker) rather than from a new one. Same boot: its uptime went
   * on by the board time that passed, `last + rate * elapsed`, and a reconnection takes at least a
   * second (esp-mqtt waits `reconnect_timeout_ms`, 10 s by default, espressif/esp-mqtt
   * mqtt_config.h MQTT_RECON_DEFAULT_MS). New boot: its uptime is the boot time B, while `last >= B`
   * (the earlier HELLO also came after a boot) and `rate * elapsed >= B` (the reboot itself took
   * that long). The threshold `last + max(1 s, rate * elapsed / 2)` lies between the two, with
   * room for clock drift and for a board whose uptime jitters (a simulated board at time scale
   * 0.01 turns 1 ms of host jitter into 100 ms of uptime).
   */
  private sameBoot(uptimeMs: number): boolean {
    if (this.lastUptimeMs < 0) return false;
    const elapsed = this.clock.now() - this.lastUptimeAt;
    return uptimeMs >= this.lastUptimeMs + Math.max(1000, (this.boardClockRate * elapsed) / 2);
  }

  private onHello(identity: BoardIdentity): void {
    const previous = this.identityValue;
    const sameBoot = this.sameBoot(identity.uptimeMs);
    this.identityValue = identity;
    this.noteUptime(identity.uptimeMs);
    const waiter = this.helloWaiter;
    if (waiter) {
      this.helloWaiter = undefined;
      this.version = 1; // a board speaks version 1 after every boot (PROTOCOL.md section 3)
      waiter.resolve(identity);
      return;
    }
    if (this.closed || this.stateValue === 'unknown') return;
    // Over MQTT a board says HELLO after every reconnection to the broker; its uptime tells a
    // reconnect from a reboot (PROTOCOL.md section 6).
    const reconnect = this.connection.helloOnReconnect && previous !== undefined
      && sameBoot && identity.appSha256 === previous.appSha256;
    if (reconnect) {
      if (this.requests.size > 0) {
        this.requests.failAll((r) => new LabError('board-reconnected', `board ${this.id} reconnected to the MQTT broker during ${r.what}: replies it sent while away are lost`));
        this.setState('failed', 'it reconnected to the broker in the middle of a request');
      }
      return;
    }
    this.version = 1;
    this.counters.reboots++;
    const reason = resetReasonName(identity.resetReason);
    this.requests.failAll((r) => new LabError('board-rebooted', `board ${this.id} rebooted during ${r.what} (reset reason: ${reason}): its model, arena and inputs are gone`));
    this.setState('failed', `it rebooted (reset reason: ${reason})`);
    this.emit('reboot', identity);
  }

  private onFrameError(e: LinkFrameError): void {
    // A frame cut short because the connection just ended (ser2net restarted, the network dropped):
    // not damage - the link's disconnect, which follows at once, fails its request as link-down.
    if (e.reason === 'truncated' && !this.connection.isOpen) return;
    this.counters.badFrames++;
    // A damaged MQTT message is one frame: with its header unreadable, it still answered the oldest request.
    const id = e.requestId ?? (e.wholeMessage ? this.requests.head?.id : undefined);
    if (id === undefined || !this.requests.has(id)) return;
    const what = this.requests.head?.id === id ? this.requests.head.what : 'a request';
    this.requests.fail(id, new LabError('link-garbled', `board ${this.id}: a reply to ${what} arrived damaged (${e.reason}) on ${this.address}: the link is noisy (check the cable, the baud rate, or the broker bridge)`));
  }

  private onDisconnect(reason: string): void {
    this.requests.failAll((r) => new LabError('link-down', `board ${this.id}: ${reason} during ${r.what}`));
    this.helloWaiter?.reject(new LabError('link-down', `board ${this.id}: ${reason} while waiting for its HELLO`));
    this.helloWaiter = undefined;
    if (this.stateValue !== 'unknown') this.setState('failed', reason);
  }

  private requestTimedOut(r: PendingRequest): void {
    const offline = this.connection.presence === 'offline' ? '; its MQTT status is offline' : '';
    const nudged = this.silentNudges > 0 ? ` (its UART nudged ${this.silentNudges} time${this.silentNudges === 1 ? '' : 's'} meanwhile)` : '';
    this.requests.failAll(new LabError('timeout', `board ${this.id}: no reply to ${r.what} for ${fmtMs(r.timeoutMs)} on ${this.address}${offline}${nudged}: the board may hang (raise the scenario's timeouts if it is just slow)`));
  }

  // ------------------------------------------------------------------------------ nudges

  /** Something came from the board, or a request went to it: the silence starts again. */
  private heard(): void {
    if (this.nudgeTimer !== undefined) {
      this.clock.clearTimeout(this.nudgeTimer);
      this.nudgeTimer = undefined;
    }
    this.silentNudges = 0;
    const after = this.options.nudgeAfterMs;
    if (!after || !this.connection.nudge || this.requests.size === 0 || this.closed) return;
    this.nudgeDelayMs = after;
    this.armNudge();
  }

  private armNudge(): void {
    this.nudgeTimer = this.clock.setTimeout(() => {
      this.nudgeTimer = undefined;
      if (this.requests.size === 0 || this.closed || !this.connection.isOpen) return;
      this.counters.nudges++;
      this.silentNudges++;
      this.connection.nudge?.().catch(noop); // a link that went down says so through its disconnect
      this.nudgeDelayMs = Math.min(this.nudgeDelayMs * 2, MAX_NUDGE_INTERVAL_MS);
      this.armNudge();
    }, this.nudgeDelayMs);
  }

  // ------------------------------------------------------------------------------ requests

  /** Sends `body` and resolves with all its reply frames (the last one without MORE). */
  private exchange(body: Request, timeoutMs: number): Promise<Message[]> {
    const id = this.requests.nextId();
    const bytes = encodeMessage({ requestId: id, simulated: false, more: false, body }, this.version);
    const replies = this.requests.track(id, NAMES[body.type], timeoutMs);
    this.heard();
    this.connection.send(bytes).catch((e: unknown) => {
      this.requests.fail(id, isLabError(e) ? e : new LabError('link-down', `board ${this.id}: sending ${NAMES[body.type]} failed (${(e as Error).message})`, { cause: e }));
    });
    return replies;
  }

  /** The replies, after checking the final one is the request's success reply (else its ERROR as a LabError). */
  private checked(body: Request, replies: Message[]): Message[] {
    const last = replies[replies.length - 1].body;
    if (last.type === 'error') throw new BoardErrorReply(this.id, NAMES[body.type], last.code, last.arg, last.message);
    const expected = REPLIES[body.type].final;
    if (last.type !== expected) {
      throw new LabError('board-protocol', `board ${this.id}: ${NAMES[body.type]} was answered with ${last.type.toUpperCase()}, not ${expected.toUpperCase()}: the board runs a firmware this harness does not understand`);
    }
    return replies;
  }

  /**
   * One request, sent again (at most twice, with `resendDamaged`) when it did not get through: the board answered
   * BAD_FRAME (the request arrived damaged, so it did not run; PROTOCOL.md "Damaged requests"), or
   * the reply arrived damaged and the request is safe to repeat.
   */
  private async request(body: Request, timeoutMs: number): Promise<Message[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.checked(body, await this.exchange(body, timeoutMs));
      } catch (e) {
        if (!this.options.resendDamaged || attempt >= MAX_RESENDS || !resendable(body, e)) throw e;
        this.counters.resends++;
      }
    }
  }

  private async final<T extends Message['body']['type']>(body: Request, timeoutMs: number, _type: T): Promise<Extract<Message['body'], { type: T }>> {
    const replies = await this.request(body, timeoutMs);
    return replies[replies.length - 1].body as Extract<Message['body'], { type: T }>;
  }

  /**
   * Sends `bodies` with up to `rx_window` of them in flight (HELLO field; PROTOCOL.md "Window"),
   * in order. Stops sending at the first failure and lets what is in flight settle: the outcome of
   * each request sent, in order.
   */
  private async pipelined(bodies: Request[], timeoutMs: number): Promise<({ reply: Message['body'] } | { error: unknown })[]> {
    const window = Math.max(1, this.identityValue?.rxWindow ?? 1);
    const outcomes: ({ reply: Message['body'] } | { error: unknown })[] = [];
    const inFlight: { body: Request; replies: Promise<Message[]> }[] = [];
    let failed = false;
    const settle = async (): Promise<void> => {
      const { body, replies } = inFlight.shift()!;
      try {
        const r = this.checked(body, await replies);
        outcomes.push({ reply: r[r.length - 1].body });
      } catch (error) {
        outcomes.push({ error });
        failed = true;
      }
    };
    for (const body of bodies) {
      if (inFlight.length >= window) await settle();
      if (failed) break;
      const replies = this.exchange(body, timeoutMs);
      replies.catch(noop); // awaited in order by settle(); an early rejection is not unhandled
      inFlight.push({ body, replies });
    }
    while (inFlight.length > 0) await settle();
    return outcomes;
  }

  /**
   * All of `data` in chunks that fill a frame, pipelined. With `resendDamaged`, a chunk that did not
   * get through (BAD_FRAME, a damaged CHUNK_ACK) does not fail the upload: it resumes where the board says it is - the
   * `arg` of a BAD_OFFSET (PROTOCOL.md: "the host resumes from there"), else after the last chunk
   * it acknowledged - as long as it gets further (MAX_RESUMES rounds in a row without progress fail).
   */
  private async sendChunks(kind: 'model_chunk' | 'set_input' | 'accuracy_input', data: Uint8Array, make: (offset: number, data: Uint8Array) => Request, timeoutMs: number): Promise<void> {
    const size = chunkDataSize(kind, this.maxPayload());
    let from = 0;
    let stalled = 0; // rounds in a row that got no further
    while (from < data.length) {
      const chunks = splitChunks(data.subarray(from), size).map((c) => ({ offset: from + c.offset, data: c.data }));
      const outcomes = await this.pipelined(chunks.map((c) => make(c.offset, c.data)), timeoutMs);
      let resumeAt: number | undefined;
      let acked = from;
      let failedAt: number | undefined;
      outcomes.forEach((o, i) => {
        const expected = chunks[i].offset + chunks[i].data.length;
        if ('reply' in o) {
          if (o.reply.type !== 'chunk_ack' || o.reply.nextOffset !== expected) {
            throw new LabError('board-protocol', `board ${this.id}: ${NAMES[kind]} at offset ${chunks[i].offset} was acknowledged with next offset ${o.reply.type === 'chunk_ack' ? o.reply.nextOffset : o.reply.type}, expected ${expected}`);
          }
          acked = Math.max(acked, expected);
        } else {
          failedAt ??= i;
          if (o.error instanceof BoardErrorReply && o.error.boardName === 'BAD_OFFSET') resumeAt = o.error.arg;
        }
      });
      if (failedAt === undefined) return;
      const { error } = outcomes[failedAt] as { error: unknown };
      const recoverable = (e: unknown) => (e instanceof BoardErrorReply && (e.boardName === 'BAD_FRAME' || e.boardName === 'BAD_OFFSET')) || (isLabError(e) && e.code === 'link-garbled');
      // SET_INPUT chunks may come in any order: the board has everything before the failed one.
      const next = kind === 'set_input' ? chunks[failedAt].offset : resumeAt ?? (acked > chunks[failedAt].offset ? acked : chunks[failedAt].offset);
      stalled = next > from ? 0 : stalled + 1;
      if (!this.options.resendDamaged || stalled > MAX_RESUMES || !outcomes.every((o) => 'reply' in o || recoverable(o.error))) throw error;
      from = next;
      this.counters.resends++;
    }
  }

  private waitHello(timeoutMs: number, what: string): Promise<BoardIdentity> {
    this.helloWaiter?.reject(new LabError('board-state', `board ${this.id}: superseded by ${what}`));
    return new Promise<BoardIdentity>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.helloWaiter === waiter) this.helloWaiter = undefined;
        reject(new LabError('board-unreachable', `board ${this.id} sent no HELLO within ${fmtMs(timeoutMs)} ${what} on ${this.address}${this.connection.presence === 'offline' ? ' (its MQTT status is offline: check its power and network)' : ''}: check that it is powered and runs the lab firmware`));
      }, timeoutMs);
      const waiter: HelloWaiter = {
        resolve: (id) => { this.clock.clearTimeout(timer); resolve(id); },
        reject: (e) => { this.clock.clearTimeout(timer); reject(e); },
      };
      this.helloWaiter = waiter;
    });
  }

  private cancelHelloWait(): void {
    const w = this.helloWaiter;
    this.helloWaiter = undefined;
    w?.reject(new LabError('cancelled', `board ${this.id}: no longer waiting for a HELLO`));
  }

  // ------------------------------------------------------------------------------ connect, reset

  /**
   * Opens the link and gets the board's identity: its HELLO (a board that is just booting, or
   * whose output was held until the port opened), or the INFO answering GET_INFO (a board that
   * booted earlier), asked again every `probeIntervalMs`. Then NEGOTIATE.
   */
  async connect(timeoutMs: number): Promise<BoardIdentity> {
    this.require('connect', ['unknown', 'failed', 'ready']);
    timeoutMs += this.bootMs;
    const gen = ++this.generation;
    this.requests.failAll(new LabError('cancelled', `board ${this.id}: connecting again`));
    this.setState('booting', 'connecting');
    try {
      if (!this.connection.isOpen) await this.connection.open();
      let identity: BoardIdentity;
      try {
        identity = await this.probe(timeoutMs);
      } catch (e) {
        // An emulated board whose QEMU crashed while booting (harness/emu/README.md) is restarted,
        // as its reset would: the crash is the emulator's, not the firmware's.
        const crash = this.options.emulator ? await this.options.emulator.crashed?.() : undefined;
        if (!crash) throw e;
        identity = await this.restartEmulator(timeoutMs);
      }
      await this.negotiate(identity, timeoutMs);
      if (gen === this.generation) this.setState('ready');
      return identity;
    } catch (e) {
      if (gen === this.generation && !this.closed) this.setState('failed', `connect: ${(e as Error).message}`);
      throw e;
    }
  }

  private probe(timeoutMs: number): Promise<BoardIdentity> {
    const interval = this.options.probeIntervalMs ?? 500;
    return new Promise<BoardIdentity>((resolve, reject) => {
      let finished = false;
      const finish = (settle: () => void): void => {
        if (finished) return;
        finished = true;
        this.clock.clearTimeout(deadline);
        if (this.helloWaiter === waiter) this.helloWaiter = undefined;
        this.requests.failAll(new LabError('cancelled', `board ${this.id}: probe finished`));
        settle();
      };
      const deadline = this.clock.setTimeout(() => finish(() => reject(new LabError('board-unreachable',
        `board ${this.id} sent no HELLO and did not answer GET_INFO on ${this.address} within ${fmtMs(timeoutMs)}${this.connection.presence === 'offline' ? ' (its MQTT status is offline: check its power and network)' : ''}: check that it is powered, runs the lab firmware${CONSOLE_HINT[this.connection.kind]}`))), timeoutMs);
      const waiter: HelloWaiter = {
        resolve: (id) => finish(() => resolve(id)),
        reject: (e) => finish(() => reject(e)),
      };
      this.helloWaiter?.reject(new LabError('cancelled', `board ${this.id}: connecting again`));
      this.helloWaiter = waiter;
      const ask = (): void => {
        if (finished) return;
        this.exchange({ type: 'get_info' }, interval).then((replies) => {
          const body = replies[replies.length - 1].body;
          if (body.type === 'info') {
            const identity = identityOf(body);
            this.identityValue = identity;
            finish(() => resolve(identity));
          } else if (body.type === 'error' && errorName(body.code) !== 'BAD_FRAME') {
            finish(() => reject(new BoardErrorReply(this.id, 'GET_INFO', body.code, body.arg, body.message)));
          } else {
            ask();
          }
        }, (e: unknown) => {
          if (finished) return;
          // Still booting, its HELLO went by before we listened, or the line damaged the answer: ask again.
          if (isLabError(e) && (e.code === 'timeout' || e.code === 'link-garbled')) ask();
          else finish(() => reject(e));
        });
      };
      const delay = this.options.probeDelayMs ?? 0;
      if (delay > 0) this.clock.setTimeout(ask, delay);
      else ask();
    });
  }

  private async negotiate(identity: BoardIdentity, timeoutMs: number): Promise<void> {
    const common = this.versions.filter((v) => v >= identity.protocolMin && v <= identity.protocolMax);
    if (common.length === 0) {
      throw new LabError('board-protocol', `board ${this.id} speaks protocol versions ${identity.protocolMin}..${identity.protocolMax}, this harness speaks ${this.versions.join(', ')}: flash a firmware of the same lab release, or update the harness`);
    }
    const reply = await this.final({ type: 'negotiate', versions: [...this.versions] }, timeoutMs, 'negotiated');
    if (!this.versions.includes(reply.version)) {
      throw new LabError('board-protocol', `board ${this.id} chose protocol version ${reply.version}, which this harness did not offer (${this.versions.join(', ')})`);
    }
    this.version = reply.version;
  }

  /**
   * Back to a known state: RESET over the protocol; when the board does not answer it within
   * `resetAnswerMs` (hung), the link's hardware reset (DTR/RTS), else the `powerCycle` hook. Then
   * its fresh HELLO and NEGOTIATE. Allowed in every state: it is how a failed board is recovered.
   */
  async reset(timeoutMs: number): Promise<BoardIdentity> {
    this.require('reset', ['unknown', 'booting', 'ready', 'running', 'failed']);
    const gen = ++this.generation;
    this.requests.failAll((r) => new LabError('board-reset', `board ${this.id} was reset during ${r.what}`));
    this.cancelHelloWait();
    this.setState('booting', 'resetting');
    try {
      if (this.options.emulator) {
        const identity = await this.restartEmulator(timeoutMs);
        await this.negotiate(identity, timeoutMs);
        if (gen === this.generation) this.setState('ready', 'reset');
        return identity;
      }
      if (!this.connection.isOpen) await this.connection.open();
      const answerMs = Math.min(this.options.resetAnswerMs ?? 1000, timeoutMs);
      const hello = this.waitHello(timeoutMs + answerMs, 'after a reset');
      hello.catch(noop);
      const answer = await Promise.race([
        this.request({ type: 'reset', mode: 'app' }, answerMs).then(() => 'ok' as const, (e: unknown) => e),
        hello.then(() => 'hello' as const, () => 'hello' as const),
      ]);
      if (answer === 'hello') {
        this.requests.failAll(new LabError('cancelled', `board ${this.id}: it said HELLO before answering RESET`));
      } else if (answer !== 'ok') {
        // No answer (hung), a garbled one, or a board that cannot RESET: use the hardware.
        const hardwareHelps = answer instanceof BoardErrorReply || (isLabError(answer) && ['timeout', 'link-down', 'link-timeout', 'link-garbled'].includes(answer.code));
        if (!hardwareHelps) throw answer;
        await this.hardReset(answer);
      }
      const identity = await hello;
      await this.negotiate(identity, timeoutMs);
      if (gen === this.generation) this.setState('ready', 'reset');
      return identity;
    } catch (e) {
      this.cancelHelloWait();
      if (gen === this.generation && !this.closed) this.setState('failed', `reset: ${(e as Error).message}`);
      throw e;
    }
  }

  /**
   * An emulated board's reset: its emulator restarted into the app, and its boot's HELLO. The board
   * kind has no reset lines, and a restart also revives a QEMU that crashed; one that crashes again
   * while booting (Espressif's QEMU with PSRAM does, now and then: harness/emu/README.md) is restarted
   * up to EMULATED_RESTARTS times.
   */
  private async restartEmulator(timeoutMs: number): Promise<BoardIdentity> {
    const emulator = this.options.emulator!;
    timeoutMs += this.bootMs;
    for (let attempt = 1; ; attempt++) {
      // Closing on purpose is not a disconnect: the HELLO wait survives it.
      await this.connection.close();
      const hello = this.waitHello(timeoutMs, 'after its emulator restarted');
      hello.catch(noop);
      await emulator.restart('app');
      await this.connection.open();
      try {
        return await hello;
      } catch (e) {
        const crash = attempt < EMULATED_RESTARTS ? await emulator.crashed?.() : undefined;
        if (!crash) throw e;
      }
    }
  }

  private async hardReset(why: unknown): Promise<void> {
    if (await this.connection.hardwareReset()) return;
    if (this.options.powerCycle) {
      await this.options.powerCycle();
      return;
    }
    const detail = isLabError(why) ? why.message : String(why);
    throw new LabError('board-unresponsive', `board ${this.id} did not answer RESET (${detail}) and its ${this.connection.kind} link cannot reset it: press its EN button or power-cycle it${this.connection.kind === 'serial' ? ' (or use a USB-UART bridge with DTR/RTS auto-reset)' : ''}`);
  }

  // ------------------------------------------------------------------------------ operations

  /** PING with `data` (default 16 random bytes): the link's round trip, checked byte for byte. */
  ping(timeoutMs: number, data: Uint8Array = randomBytes(16)): Promise<PingResult> {
    return this.op('ping', async () => {
      const t0 = this.clock.now();
      const pong = await this.final({ type: 'ping', data }, timeoutMs, 'pong');
      const roundTripMs = this.clock.now() - t0;
      if (Buffer.compare(Buffer.from(pong.data), Buffer.from(data)) !== 0) {
        throw new LabError('board-protocol', `board ${this.id}: PONG carried ${pong.data.length} bytes that differ from the ${data.length} sent: the link damages data`);
      }
      return { roundTripMs, bytes: data.length };
    });
  }

  /** GET_INFO: the board's identity now (uptime, clock). */
  getInfo(timeoutMs: number): Promise<BoardIdentity> {
    return this.op('getInfo', async () => {
      const info = identityOf(await this.final({ type: 'get_info' }, timeoutMs, 'info'));
      this.identityValue = info;
      return info;
    });
  }

  /**
   * MODEL_BEGIN, the MODEL_CHUNKs pipelined up to `rx_window`, MODEL_END: the board checks the
   * SHA-256 (a wrong one is `board-error:MODEL_SHA_MISMATCH`). `timeoutMs` is per request.
   */
  uploadModel(model: Uint8Array, sha256: string, destination: ChunkPlacement, timeoutMs: number): Promise<void> {
    return this.op('uploadModel', async () => {
      await this.uploadModelReady(model, sha256, destination, timeoutMs);
    });
  }

  /** `uploadModel` with the board's MODEL_READY (size, digest, placement). */
  uploadModelDetailed(model: Uint8Array, sha256: string, destination: ChunkPlacement, timeoutMs: number): Promise<ModelReady> {
    return this.op('uploadModel', () => this.uploadModelReady(model, sha256, destination, timeoutMs));
  }

  private async uploadModelReady(model: Uint8Array, sha256: string, destination: ChunkPlacement, timeoutMs: number): Promise<ModelReady> {
    await this.final({ type: 'model_begin', size: model.length, sha256, destination }, timeoutMs, 'chunk_ack');
    await this.sendChunks('model_chunk', model, (offset, data) => ({ type: 'model_chunk', offset, data }), timeoutMs);
    const ready = await this.final({ type: 'model_end' }, timeoutMs, 'model_ready');
    if (ready.size !== model.length || ready.sha256 !== sha256.toLowerCase()) {
      throw new LabError('board-protocol', `board ${this.id}: MODEL_READY reports ${ready.size} bytes with sha256 ${ready.sha256}, not the ${model.length} bytes with ${sha256} uploaded`);
    }
    return ready;
  }

  /**
   * MODEL_SELECT_PARTITION: the board loads the model in its flash `model` partition (written by
   * `hil flash`) in place. Its MODEL_READY carries that model's size and SHA-256 for the caller to
   * check; an empty or unreadable partition is `board-error:MODEL_PARTITION_EMPTY` / `MODEL_INVALID`.
   */
  selectPartitionModel(timeoutMs: number): Promise<ModelReady> {
    return this.op('selectPartitionModel', () => this.final({ type: 'model_select_partition' }, timeoutMs, 'model_ready'));
  }

  /** ARENA_CONFIG: the arena, `arena_used_bytes()` and the model's tensors. */
  configureArena(size: number, placement: ChunkPlacement, timeoutMs: number): Promise<ArenaReady> {
    return this.op('configureArena', () => this.final({ type: 'arena_config', size, placement }, timeoutMs, 'arena_ready'));
  }

  /** SET_INPUTs writing all of `data` into input tensor `tensor`, pipelined. */
  setInput(tensor: number, data: Uint8Array, timeoutMs: number): Promise<void> {
    return this.op('setInput', async () => {
      await this.sendChunks('set_input', data, (offset, chunk) => ({ type: 'set_input', tensor, offset, data: chunk }), timeoutMs);
    });
  }

  /**
   * INVOKE: `warmup` + `measured` inferences timed on the board (never by host round trips). The
   * inactivity limit is reset by the board's progress frames (at least one per second).
   */
  invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    return this.op('invoke', async () => {
      const t0 = this.clock.now();
      const replies = await this.request({ type: 'invoke', warmup: request.warmup, measured: request.measured, profile: request.profile }, request.timeoutMs);
      const out = assembleInvoke(replies);
      const hostMs = this.clock.now() - t0;
      if (hostMs > 0 && out.result.wallUs > 0) this.boardClockRate = Math.max(this.boardClockRate, out.result.wallUs / 1000 / hostMs);
      return {
        cycles: out.cycles, cpuMhz: out.result.cpuMhz, wallUs: out.result.wallUs,
        ...(request.profile ? { profile: out.profile } : {}),
      };
    });
  }

  /** GET_OUTPUT of a whole output tensor. */
  getOutput(tensor: number, timeoutMs: number): Promise<Uint8Array> {
    return this.op('getOutput', async () => {
      const replies = await this.request({ type: 'get_output', tensor, offset: 0, length: 0xffffffff }, timeoutMs);
      const out = assembleOutput(replies);
      if (out.data.length !== out.total) {
        throw new LabError('board-protocol', `board ${this.id}: GET_OUTPUT of tensor ${tensor} returned ${out.data.length} of its ${out.total} bytes`);
      }
      return out.data;
    });
  }

  /**
   * The accuracy pass: every sample through the model on the board, all output tensors of each
   * sample concatenated. A board that cannot hold the whole batch answers OUT_OF_MEMORY with the
   * largest batch it can take (PROTOCOL.md "Accuracy pass"): the batch is then sent in parts.
   */
  runAccuracy(request: AccuracyRequest): Promise<Uint8Array> {
    const { data, samples, sampleBytes, timeoutMs } = request;
    if (!Number.isInteger(samples) || samples < 1 || !Number.isInteger(sampleBytes) || sampleBytes < 1 || data.length !== samples * sampleBytes) {
      throw new RangeError(`runAccuracy: ${data.length} bytes are not ${samples} samples of ${sampleBytes} bytes`);
    }
    return this.op('runAccuracy', async () => {
      const parts: Uint8Array[] = [];
      let perBatch = samples;
      for (let first = 0; first < samples;) {
        const n = Math.min(perBatch, samples - first);
        try {
          await this.final({ type: 'accuracy_begin', samples: n, sampleBytes }, timeoutMs, 'chunk_ack');
        } catch (e) {
          const fits = e instanceof BoardErrorReply && e.boardName === 'OUT_OF_MEMORY' ? Math.floor(e.arg / sampleBytes) : 0;
          if (fits >= 1 && fits < n) {
            perBatch = fits;
            continue;
          }
          throw e;
        }
        const batch = data.subarray(first * sampleBytes, (first + n) * sampleBytes);
        await this.sendChunks('accuracy_input', batch, (offset, data) => ({ type: 'accuracy_input', offset, data }), timeoutMs);
        const result = assembleAccuracy(await this.request({ type: 'accuracy_run' }, timeoutMs));
        if (result.samples !== n) {
          throw new LabError('board-protocol', `board ${this.id}: ACCURACY_RUN reports ${result.samples} samples, ${n} were sent`);
        }
        parts.push(result.outputs);
        first += n;
      }
      return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    });
  }

  /** MEMORY_REPORT: arena used, heap free / minimum free / largest block, internal and PSRAM. */
  memory(timeoutMs: number): Promise<Memory> {
    return this.op('memory', () => this.final({ type: 'memory_report' }, timeoutMs, 'memory'));
  }

  /**
   * Simulated boards: SIM_SET_VARIANT, then the board reboots into that firmware variant; resolves
   * with the HELLO that reports it. A real board answers `board-error:UNSUPPORTED`.
   */
  switchVariant(variant: string, timeoutMs: number): Promise<BoardIdentity> {
    return this.op('switchVariant', async () => {
      const hello = this.waitHello(timeoutMs, `after switching to variant ${variant}`);
      hello.catch(noop);
      try {
        await this.request({ type: 'sim_set_variant', variant }, timeoutMs);
      } catch (e) {
        this.cancelHelloWait();
        throw e;
      }
      const identity = await hello;
      if (identity.variant !== variant) {
        throw new LabError('board-variant', `board ${this.id} came back as variant ${identity.variant} after switching to ${variant}`);
      }
      await this.negotiate(identity, timeoutMs);
      return identity;
    });
  }

  /**
   * RESET mode download (PROTOCOL.md 0x04, mode 1): the firmware sets RTC_CNTL_FORCE_DOWNLOAD_BOOT
   * and restarts into the ROM serial loader - the way into download mode where no modem line reaches
   * EN/GPIO0 (a PTY, USB-Serial-JTAG, a bridge without auto-reset). Once the board answers OK it no
   * longer runs our firmware, so the link is closed for the flasher and the session is `unknown`
   * with no identity: after flashing, `connect` takes the board back and learns what it runs now.
   * A board that cannot do it answers UNSUPPORTED (`board-error:UNSUPPORTED`, the session stays ready).
   */
  enterDownloadMode(timeoutMs: number): Promise<void> {
    return this.op('enterDownloadMode', async () => {
      await this.final({ type: 'reset', mode: 'download' }, timeoutMs, 'ok');
      ++this.generation;
      this.requests.failAll(new LabError('cancelled', `board ${this.id}: it restarted into the ROM download mode`));
      this.cancelHelloWait();
      this.identityValue = undefined;
      this.lastUptimeMs = -1;
      await this.connection.close();
      this.setState('unknown', 'restarted into the ROM download mode');
    });
  }

  /** Closes the link so another program (the flasher) can open the port; `connect` takes it back. */
  async release(): Promise<void> {
    this.require('release', ['unknown', 'ready', 'failed']);
    ++this.generation;
    this.requests.failAll(new LabError('cancelled', `board ${this.id}: link released`));
    this.cancelHelloWait();
    await this.connection.close();
    this.setState('unknown', 'link released');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heard(); // stops the nudges
    ++this.generation;
    this.requests.failAll((r) => new LabError('stopped', `board ${this.id}: the session was closed during ${r.what}`));
    this.cancelHelloWait();
    this.detach();
    await this.connection.close();
    this.setState('unknown', 'closed');
  }

  private maxPayload(): number {
    return this.identityValue?.maxPayload ?? 4096;
  }
}
