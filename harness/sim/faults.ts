/**
 * Faults a simulated board injects so the harness's recovery can be tested (rigs.json
 * `simulated.faults`, or `hil sim --faults`): reboot mid-run with a brown-out / panic / watchdog
 * banner, hang, dropped or corrupted bytes, a slow link, a disconnect. Seeded by the board's seed,
 * so the same run with the same traffic fails the same way.
 *
 * Event faults (reboot, hang, disconnect) are checked after every inference: `afterInvokes` alone
 * fires once that many inferences ran since the board (re)started; with `probability` it may fire
 * on every inference after that (from the first one without `afterInvokes`); `times` caps how
 * often it fires over the board's life. Byte faults and slow links are properties of the link.
 */
import { LabError } from '../errors.js';
import type { SimulatedFault } from '../config/types.js';
import { createRng, type Rng } from '../stats/rng.js';
import type { LinkLimit, WireFaults } from './serial-wire.js';

export type FaultEvent =
  | { kind: 'reboot'; reason: 'brownout' | 'panic' | 'watchdog' }
  | { kind: 'hang'; durationS?: number }
  | { kind: 'disconnect'; durationS: number };

/** A fault for one board (`board` set) or for every board, from `--faults`. */
export interface FaultSpec {
  board?: string;
  fault: SimulatedFault;
}

const KINDS = ['reboot', 'hang', 'drop-bytes', 'corrupt-bytes', 'slow-link', 'disconnect'] as const;
type Kind = (typeof KINDS)[number];

const FIELDS: Record<Kind, readonly string[]> = {
  reboot: ['reason', 'afterInvokes', 'probability', 'times'],
  hang: ['durationS', 'afterInvokes', 'probability', 'times'],
  'drop-bytes': ['probability', 'direction'],
  'corrupt-bytes': ['probability', 'direction'],
  'slow-link': ['bytesPerSecond', 'latencyMs'],
  disconnect: ['durationS', 'afterInvokes', 'probability', 'times'],
};

const EXAMPLE = 'e.g. --faults "sim-2:reboot,afterInvokes=50,reason=panic;drop-bytes,probability=0.001"';

/**
 * Parse a `--faults` spec: entries separated by `;`, each `[<board>:]<kind>[,<field>=<value>...]`
 * with the fields of rigs.json's fault objects, or the same as JSON (an array of fault objects,
 * each with an optional "board"). Throws a one-line LabError naming the entry and the fix.
 */
export function parseFaultSpecs(spec: string): FaultSpec[] {
  const text = spec.trim();
  if (text === '') return [];
  if (text.startsWith('[') || text.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new LabError('faults', `--faults: not valid JSON (${(e as Error).message}); ${EXAMPLE}`);
    }
    const list = Array.isArray(data) ? data : [data];
    return list.map((item, i) => {
      if (!item || typeof item !== 'object') throw new LabError('faults', `--faults: entry ${i + 1} is not an object; ${EXAMPLE}`);
      const { board, ...rest } = item as Record<string, unknown>;
      if (board !== undefined && typeof board !== 'string') throw new LabError('faults', `--faults: entry ${i + 1}: "board" must be a board id string`);
      return { ...(board ? { board } : {}), fault: checkFault(rest, `entry ${i + 1}`) };
    });
  }
  return text.split(';').map((s) => s.trim()).filter((s) => s !== '').map((entry) => {
    const [head, ...pairs] = entry.split(',').map((s) => s.trim());
    let board: string | undefined;
    let kind = head!;
    const colon = head!.lastIndexOf(':');
    if (colon >= 0) {
      board = head!.slice(0, colon);
      kind = head!.slice(colon + 1);
      if (board === '') throw new LabError('faults', `--faults: "${entry}": empty board id before ":"; ${EXAMPLE}`);
    }
    const raw: Record<string, unknown> = { kind };
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new LabError('faults', `--faults: "${entry}": "${pair}" is not <field>=<value>; ${EXAMPLE}`);
      const key = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      raw[key] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    }
    return { ...(board ? { board } : {}), fault: checkFault(raw, `"${entry}"`) };
  });
}

/** Validate one fault object (the rigs.json schema's rules) and fill its defaults. */
export function checkFault(raw: Record<string, unknown>, where: string): SimulatedFault {
  const fail = (msg: string): never => {
    throw new LabError('faults', `--faults: ${where}: ${msg}`);
  };
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    fail(`unknown fault kind ${JSON.stringify(kind)}; use one of ${KINDS.join(', ')}`);
  }
  const k = kind as Kind;
  for (const key of Object.keys(raw)) {
    if (key !== 'kind' && !FIELDS[k].includes(key)) fail(`a ${k} fault has no field "${key}" (it takes ${FIELDS[k].join(', ')})`);
  }
  const num = (key: string, ok: (v: number) => boolean, what: string): number | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !ok(v)) fail(`${key} must be ${what}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const prob = (key: string) => num(key, (v) => v > 0 && v <= 1, 'a probability in (0, 1]');
  const triggers = () => {
    const afterInvokes = num('afterInvokes', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    const probability = prob('probability');
    const times = num('times', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
    if (afterInvokes === undefined && probability === undefined) fail(`a ${k} fault needs afterInvokes and/or probability (when it fires)`);
    return { ...(afterInvokes !== undefined ? { afterInvokes } : {}), ...(probability !== undefined ? { probability } : {}), ...(times !== undefined ? { times } : {}) };
  };
  switch (k) {
    case 'reboot': {
      const reason = raw.reason ?? 'brownout';
      if (reason !== 'brownout' && reason !== 'panic' && reason !== 'watchdog') fail(`reason must be brownout, panic or watchdog, got ${JSON.stringify(reason)}`);
      return { kind: 'reboot', reason: reason as 'brownout', ...triggers() };
    }
    case 'hang': {
      const durationS = num('durationS', (v) => v > 0, 'a number of seconds > 0');
      return { kind: 'hang', ...(durationS !== undefined ? { durationS } : {}), ...triggers() };
    }
    case 'disconnect':
      return { kind: 'disconnect', durationS: num('durationS', (v) => v > 0, 'a number of seconds > 0') ?? 2, ...triggers() };
    case 'drop-bytes':
    case 'corrupt-bytes': {
      const probability = prob('probability');
      if (probability === undefined) fail(`a ${k} fault needs probability (per byte)`);
      const direction = raw.direction ?? 'both';
      if (direction !== 'both' && direction !== 'to-host' && direction !== 'to-board') fail(`direction must be to-host, to-board or both, got ${JSON.stringify(direction)}`);
      return { kind: k, probability: probability!, direction: direction as 'both' };
    }
    case 'slow-link': {
      const bytesPerSecond = num('bytesPerSecond', (v) => Number.isInteger(v) && v >= 10, 'an integer >= 10');
      const latencyMs = num('latencyMs', (v) => v >= 0, 'a number of milliseconds >= 0');
      if (bytesPerSecond === undefined && latencyMs === undefined) fail('a slow-link fault needs bytesPerSecond and/or latencyMs (how slow)');
      return { kind: 'slow-link', ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}), ...(latencyMs !== undefined ? { latencyMs } : {}) };
    }
  }
}

/** The faults of `board` among `--faults` specs (those without a board apply to all). */
export function faultsFor(board: string, specs: readonly FaultSpec[]): SimulatedFault[] {
  return specs.filter((s) => s.board === undefined || s.board === board).map((s) => s.fault);
}

interface EventState {
  fault: Extract<SimulatedFault, { kind: 'reboot' | 'hang' | 'disconnect' }>;
  rng: Rng;
  fired: number;
}

/** One board's faults while it runs. */
export class BoardFaults {
  readonly faults: readonly SimulatedFault[];
  private readonly events: EventState[];
  private readonly byteRng: Rng;
  private sinceStart = 0;
  /** Every event fault that fired, in order (what a report can show). */
  readonly log: { kind: FaultEvent['kind']; afterInference: number; detail: string }[] = [];

  constructor(faults: readonly SimulatedFault[], seed: number) {
    this.faults = faults;
    this.events = faults.flatMap((f, i) => (f.kind === 'reboot' || f.kind === 'hang' || f.kind === 'disconnect'
      ? [{ fault: f, rng: createRng(((seed >>> 0) * 131 + i * 7919 + 1) >>> 0), fired: 0 }]
      : []));
    this.byteRng = createRng(((seed >>> 0) * 977 + 12345) >>> 0);
  }

  /** The board (re)started: `afterInvokes` counts from here. */
  restarted(): void {
    this.sinceStart = 0;
  }

  /** After each inference: the event fault that fires now, if any (at most one). */
  afterInference(): FaultEvent | undefined {
    const n = ++this.sinceStart;
    for (const e of this.events) {
      const f = e.fault;
      if (f.times !== undefined && e.fired >= f.times) continue;
      const after = f.afterInvokes ?? 0;
      let fire: boolean;
      if (f.probability === undefined) fire = n === Math.max(1, after);
      else fire = n >= Math.max(1, after) && e.rng.next() < f.probability;
      if (!fire) continue;
      e.fired++;
      const event: FaultEvent = f.kind === 'reboot' ? { kind: 'reboot', reason: f.reason }
        : f.kind === 'hang' ? { kind: 'hang', ...(f.durationS !== undefined ? { durationS: f.durationS } : {}) }
          : { kind: 'disconnect', durationS: f.durationS };
      this.log.push({ kind: event.kind, afterInference: n, detail: JSON.stringify(f) });
      return event;
    }
    return undefined;
  }

  /** Byte faults for a serial wire (drop and corrupt merged; different directions become 'both'). */
  wireFaults(seed: number): WireFaults | undefined {
    const drop = this.faults.find((f) => f.kind === 'drop-bytes');
    const corrupt = this.faults.find((f) => f.kind === 'corrupt-bytes');
    if (!drop && !corrupt) return undefined;
    const dirs = new Set([drop, corrupt].flatMap((f) => (f && (f.kind === 'drop-bytes' || f.kind === 'corrupt-bytes') ? [f.direction] : [])));
    return {
      seed,
      drop: drop?.kind === 'drop-bytes' ? drop.probability : 0,
      corrupt: corrupt?.kind === 'corrupt-bytes' ? corrupt.probability : 0,
      direction: dirs.size === 1 ? [...dirs][0]! : 'both',
    };
  }

  linkLimit(): LinkLimit | undefined {
    const f = this.faults.find((x) => x.kind === 'slow-link');
    return f?.kind === 'slow-link' ? { ...(f.bytesPerSecond !== undefined ? { bytesPerSecond: f.bytesPerSecond } : {}), ...(f.latencyMs !== undefined ? { latencyMs: f.latencyMs } : {}) } : undefined;
  }

  /**
   * Byte faults on a message link (MQTT): the same probabilities, applied to each message's bytes.
   * Returns the bytes to deliver (maybe shorter, maybe with flipped bits).
   */
  applyToMessage(bytes: Uint8Array, direction: 'to-host' | 'to-board'): Uint8Array {
    let out: Uint8Array | undefined;
    for (const f of this.faults) {
      if (f.kind !== 'drop-bytes' && f.kind !== 'corrupt-bytes') continue;
      if (f.direction !== 'both' && f.direction !== direction) continue;
      const src = out ?? bytes;
      const next: number[] = [];
      for (const b of src) {
        if (this.byteRng.next() >= f.probability) next.push(b);
        else if (f.kind === 'corrupt-bytes') next.push(b ^ (1 << Math.floor(this.byteRng.next() * 8)));
      }
      out = Uint8Array.from(next);
    }
    return out ?? bytes;
  }
}
