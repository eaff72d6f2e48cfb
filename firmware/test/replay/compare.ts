/**
 * Compares two recordings of the same session message by message: the simulated board's (recorded)
 * and the firmware command handler's (replayed). Before comparing, exactly the fields listed in
 * NORMALISED / NORMALISED_ERRORS are replaced, each for the reason written next to it; everything
 * else must be equal: message types, request ids, MORE flags, frame versions, order, error codes,
 * args and messages, CHUNK_ACK offsets, MODEL_READY, ARENA_READY sizes and tensors, output bytes,
 * accuracy outputs, how many cycle counts, profile op indices and names.
 *
 * The numbers that are replaced are still checked where the protocol ties them together, on each
 * side on its own (sideChecks): INVOKE_RESULT total_cycles is the sum of the cycles sent, there is
 * one cycle count per measured inference, cpu_mhz is the HELLO's, MEMORY arena_used is the
 * ARENA_READY's, the accuracy stream has samples x output_bytes bytes.
 */
import {
  ErrorCode, bytesToHex, decodeFrame, decodeMessage, type Message, type MessageBody,
} from '../../../harness/protocol/index.js';
import type { Exchange } from './exchange.js';
import type { RecordedSession } from './recording.js';

/** What a normalised field shows instead of its value. */
export const MEASURED = '<measured>';

/** Frame header flags normalised on every reply. */
export const NORMALISED_HEADER = {
  simulated: 'the SIMULATED flag says who made the numbers (the simulator, the host board), not what the handler did',
} as const;

export interface FieldRule {
  /** Why this field may differ between the simulated board and the firmware. */
  why: string;
  /** What of the value is still compared (default: nothing). */
  keep?: (value: unknown) => unknown;
}

const presence = (what: string) => (v: unknown): string => (typeof v === 'number' && v > 0 ? `${what} present` : `no ${what}`);

/** HELLO and INFO: the build's and the board's identity. */
const IDENTITY: Record<string, FieldRule> = {
  rxWindow: { why: 'a build setting (Kconfig HIL_RX_WINDOW on the board, HandlerConfig on the host board)' },
  simulated: { why: 'who made the numbers: the host board and the simulator both say simulated, a real board does not' },
  resetReason: { why: 'why this boot happened (power-on, software reset, ...): a property of the boot, not of the handler' },
  chipRevision: { why: 'the silicon revision of the board (esp_chip_info)' },
  cpuMhz: { why: 'the variant\'s CPU clock; each side\'s INVOKE_RESULT cpu_mhz is checked against it' },
  flashSize: { why: 'the module\'s flash chip (N8R8 vs N16R8)' },
  psramSize: { why: 'the module\'s PSRAM size; whether there is PSRAM is compared (placements depend on it)', keep: presence('PSRAM') },
  uptimeMs: { why: 'time since boot: measured' },
  mac: { why: 'the board\'s eFuse MAC' },
  appSha256: { why: 'the build\'s identity (esp_app_desc_t ELF sha256): a simulated image vs the host build' },
  variant: { why: 'the build\'s variant name' },
  kernelBackend: { why: 'the build\'s kernel backend (reference / esp-nn)' },
  appVersion: { why: 'the build\'s version (esp_app_desc_t)' },
  idfVersion: { why: 'the ESP-IDF the build used (none on the host)' },
  tflmVersion: { why: 'the TFLM component compiled in (the host board runs its own interpreter)' },
  espNnVersion: { why: 'the ESP-NN component compiled in' },
};

const HEAP: FieldRule = { why: 'heap figures (heap_caps_*): the simulator\'s heap model vs the host platform\'s budgets' };

/** Reply fields holding measured numbers or identity, per reply type. Nothing else is normalised. */
export const NORMALISED: Readonly<Partial<Record<MessageBody['type'], Record<string, FieldRule>>>> = {
  hello: IDENTITY,
  info: IDENTITY,
  invoke_cycles: {
    cycles: {
      why: 'cycle counts around Invoke(): the cost model on the simulator, the host clock (1 ms per operator) in the handler; how many there are is compared',
      keep: (v) => `${(v as number[]).length} cycle counts`,
    },
  },
  invoke_profile: {
    entries: {
      why: 'per-operator cycles of the profiled inference; op indices and kernel names are compared',
      keep: (v) => (v as { opIndex: number; name: string }[]).map((e) => ({ opIndex: e.opIndex, name: e.name, cycles: MEASURED })),
    },
  },
  invoke_result: {
    cpuMhz: { why: 'the variant\'s CPU clock (checked against the same side\'s HELLO)' },
    totalCycles: { why: 'the sum of the measured cycles (checked against the cycles each side sent)' },
    wallUs: { why: 'esp_timer time of the measured loop: measured' },
  },
  arena_ready: {
    used: {
      why: 'arena_used_bytes(): the simulator gives TFLM\'s figure from the lab\'s arena planner (32-bit, plus ESP-NN scratch on esp-nn builds); the host board\'s interpreter is not TFLM and packs tensors its own way (host_runner.hpp). Each side\'s MEMORY arena_used is checked against it',
    },
  },
  memory: {
    arenaUsed: { why: 'the arena figure of ARENA_READY (see arena_ready.used; checked against it on each side)' },
    imageSize: { why: 'the app image size in flash: a simulated image vs a host build' },
    internal: HEAP,
    psram: { ...HEAP, keep: (v) => presence('PSRAM')((v as { total: number }).total) },
  },
};

const HEAP_ERROR: Record<'arg' | 'message', FieldRule> = {
  arg: { why: 'a heap figure (largest free block, or what fits in it): the simulator\'s heap model vs the host platform\'s budgets' },
  message: { why: 'states those figures; its wording is compared with every number masked', keep: (v) => String(v).replace(/\d+/g, '#') },
};

/** Error fields normalised per error code: the arena figure and heap figures. */
export const NORMALISED_ERRORS: Readonly<Partial<Record<number, Record<'arg' | 'message', FieldRule>>>> = {
  [ErrorCode.MODEL_TOO_LARGE]: HEAP_ERROR,
  [ErrorCode.OUT_OF_MEMORY]: HEAP_ERROR,
  [ErrorCode.ARENA_TOO_SMALL]: {
    arg: {
      why: 'the bytes the arena needs: the same figure as ARENA_READY used (TFLM\'s plan vs the host interpreter\'s packing); whether it is known (non-zero) is compared',
      keep: (v) => (v === 0 ? 'bytes needed unknown' : 'bytes needed known'),
    },
    message: { why: 'written by the model runner (TFLM\'s AllocateTensors vs the host interpreter) around that figure' },
  },
};

/**
 * Requests whose replies differ by design. SIM_SET_VARIANT switches a simulated board's firmware;
 * real firmware answers ERROR UNSUPPORTED (PROTOCOL.md "Simulation only").
 */
export const EXPECTED_DIFFERENCES: Readonly<Partial<Record<MessageBody['type'], {
  why: string;
  recorded: (replies: Message[]) => string | null;
  replayed: (replies: Message[]) => string | null;
}>>> = {
  sim_set_variant: {
    why: 'PROTOCOL.md "Simulation only": a simulated board answers OK (or BAD_ARGUMENT for an unknown variant), real firmware answers ERROR UNSUPPORTED',
    recorded: (rs) => (rs.length === 1 && (rs[0]!.body.type === 'ok' || (rs[0]!.body.type === 'error' && rs[0]!.body.code === ErrorCode.BAD_ARGUMENT))
      ? null : 'a simulated board answers SIM_SET_VARIANT with one OK or BAD_ARGUMENT'),
    replayed: (rs) => (rs.length === 1 && rs[0]!.body.type === 'error' && rs[0]!.body.code === ErrorCode.UNSUPPORTED && rs[0]!.body.arg === 0
      ? null : 'real firmware answers SIM_SET_VARIANT with one ERROR UNSUPPORTED, arg 0'),
  },
};

export interface Difference {
  /** Index of the exchange (request) in the session; -1 for the HELLO. */
  exchange: number;
  /** The request, e.g. "model_end (id 31)" or "damaged frame". */
  request: string;
  note: string;
  detail: string;
}

/** A reply as compared: header fields and the body, byte fields as hex, normalised fields replaced. */
export interface ComparableReply {
  version: number;
  /** Always MEASURED (NORMALISED_HEADER). */
  simulated: typeof MEASURED;
  type: string;
  requestId: number;
  more: boolean;
  body: Record<string, unknown>;
}

const RUNS: ReadonlySet<string> = new Set(['invoke_cycles', 'accuracy_output']);

function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function decodeReply(frame: Uint8Array): { version: number; message: Message } | { error: string } {
  try {
    const f = decodeFrame(frame);
    return { version: f.version, message: decodeMessage(f) };
  } catch (e) {
    return { error: `an undecodable frame (${e instanceof Error ? e.message : String(e)}): ${bytesToHex(frame).slice(0, 64)}` };
  }
}

/**
 * Consecutive INVOKE_CYCLES (or ACCURACY_OUTPUT) frames of one request become one message: how a
 * stream is cut into frames depends on elapsed time (a frame at least once per second, PROTOCOL.md
 * "Progress"), which is measured. The pieces must join up (checked in sideChecks).
 */
function mergeRuns(frames: { version: number; message: Message }[]): { version: number; message: Message }[] {
  const out: { version: number; message: Message }[] = [];
  for (const f of frames) {
    const m = f.message;
    const last = out[out.length - 1];
    const prev = last?.message;
    if (last && prev && prev.requestId === m.requestId && prev.body.type === m.body.type && RUNS.has(m.body.type)) {
      if (prev.body.type === 'invoke_cycles' && m.body.type === 'invoke_cycles') {
        last.message = { ...m, body: { ...prev.body, cycles: [...prev.body.cycles, ...m.body.cycles] } };
      } else if (prev.body.type === 'accuracy_output' && m.body.type === 'accuracy_output') {
        last.message = { ...m, body: { ...prev.body, data: Buffer.concat([prev.body.data, m.body.data]) } };
      }
      continue;
    }
    out.push({ ...f });
  }
  return out;
}

/** One message as compared (after mergeRuns). */
export function comparable(version: number, m: Message): ComparableReply {
  const body = plain(m.body) as Record<string, unknown>;
  const rules = m.body.type === 'error' ? NORMALISED_ERRORS[m.body.code] : NORMALISED[m.body.type];
  for (const [field, rule] of Object.entries(rules ?? {})) {
    if (field in body) body[field] = rule.keep ? rule.keep((m.body as unknown as Record<string, unknown>)[field]) : MEASURED;
  }
  const { type, ...fields } = body;
  return { version, simulated: MEASURED, type: String(type), requestId: m.requestId, more: m.more, body: fields };
}

/** The replies of one exchange as compared; frames that do not decode are kept as their error. */
export function comparableReplies(frames: readonly Uint8Array[]): (ComparableReply | string)[] {
  const decoded = frames.map(decodeReply);
  const out: (ComparableReply | string)[] = [];
  let run: { version: number; message: Message }[] = [];
  const flush = (): void => {
    for (const r of mergeRuns(run)) out.push(comparable(r.version, r.message));
    run = [];
  };
  for (const d of decoded) {
    if ('error' in d) {
      flush();
      out.push(d.error);
    } else {
      run.push(d);
    }
  }
  flush();
  return out;
}

function diff(a: unknown, b: unknown, at: string, out: string[]): void {
  if (Object.is(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${at}: ${a.length} items vs ${b.length} items (${short(a)} vs ${short(b)})`);
    else a.forEach((x, i) => diff(x, b[i], `${at}[${i}]`, out));
    return;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`, out);
    return;
  }
  out.push(`${at}: ${short(a)} vs ${short(b)}`);
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** "model_end (id 31)", or what is wrong with a request that is not a decodable frame. */
export function describeRequest(bytes: Uint8Array): string {
  try {
    const f = decodeFrame(bytes);
    try {
      return `${decodeMessage(f).body.type} (id ${f.requestId})`;
    } catch {
      return `frame of type 0x${f.type.toString(16).padStart(2, '0')}, version ${f.version} (id ${f.requestId})`;
    }
  } catch (e) {
    return `damaged frame (${e instanceof Error ? e.message : String(e)})`;
  }
}

function requestType(bytes: Uint8Array): MessageBody['type'] | null {
  try {
    return decodeMessage(decodeFrame(bytes)).body.type;
  } catch {
    return null;
  }
}

function messages(frames: readonly Uint8Array[]): Message[] {
  return frames.flatMap((f) => {
    const d = decodeReply(f);
    return 'error' in d ? [] : [d.message];
  });
}

/**
 * Protocol invariants that tie measured numbers together, checked on one side's session; each
 * finding names the exchange. `side` names the side in the text.
 */
export function sideChecks(session: RecordedSession, side: string): Difference[] {
  const out: Difference[] = [];
  const hello = session.hello ? decodeReply(session.hello) : null;
  const helloMhz = hello && !('error' in hello) && hello.message.body.type === 'hello' ? hello.message.body.cpuMhz : null;
  let arenaUsed = 0;
  session.exchanges.forEach((e: Exchange, i) => {
    const add = (detail: string): void => {
      out.push({ exchange: i, request: describeRequest(e.request), note: session.notes[i] ?? '', detail: `${side}: ${detail}` });
    };
    const ms = messages(e.replies);
    const req = (() => {
      try {
        return decodeMessage(decodeFrame(e.request)).body;
      } catch {
        return null;
      }
    })();
    const result = ms.find((m) => m.body.type === 'invoke_result')?.body;
    if (req?.type === 'invoke' && result?.type === 'invoke_result') {
      let count = 0;
      let sum = 0;
      for (const m of ms) {
        if (m.body.type !== 'invoke_cycles') continue;
        if (m.body.first !== count) add(`INVOKE_CYCLES first ${m.body.first}, expected ${count} (cycle counts lost or repeated)`);
        count += m.body.cycles.length;
        sum += m.body.cycles.reduce((n, c) => n + c, 0);
      }
      if (count !== req.measured) add(`${count} cycle counts for ${req.measured} measured inferences`);
      if (result.totalCycles !== sum) add(`INVOKE_RESULT total_cycles ${result.totalCycles} is not the sum of the cycles sent, ${sum}`);
      if (helloMhz !== null && result.cpuMhz !== helloMhz) add(`INVOKE_RESULT cpu_mhz ${result.cpuMhz}, HELLO said ${helloMhz}`);
    }
    const accuracy = ms.find((m) => m.body.type === 'accuracy_result')?.body;
    if (accuracy?.type === 'accuracy_result') {
      let at = 0;
      for (const m of ms) {
        if (m.body.type !== 'accuracy_output') continue;
        if (m.body.offset !== at) add(`ACCURACY_OUTPUT at offset ${m.body.offset}, expected ${at}`);
        if (m.body.total !== accuracy.samples * accuracy.outputBytes) add(`ACCURACY_OUTPUT total ${m.body.total}, ACCURACY_RESULT says ${accuracy.samples} x ${accuracy.outputBytes}`);
        at += m.body.data.length;
      }
      if (at !== accuracy.samples * accuracy.outputBytes) add(`${at} accuracy output bytes, ACCURACY_RESULT says ${accuracy.samples} x ${accuracy.outputBytes}`);
    }
    for (const m of ms) {
      if (m.body.type === 'arena_ready') arenaUsed = m.body.used;
      if (m.body.type === 'memory') {
        const expected = m.body.arenaSize > 0 ? arenaUsed : 0;
        if (m.body.arenaUsed !== expected) add(`MEMORY arena_used ${m.body.arenaUsed}, the last ARENA_READY said ${expected}`);
      }
    }
    // An arena that went away: a failed ARENA_CONFIG freed the old one first, a new model drops it.
    const dropsArena = req?.type === 'arena_config' || req?.type === 'model_begin' || req?.type === 'model_select_partition';
    if (dropsArena && !ms.some((m) => m.body.type === 'arena_ready')) arenaUsed = 0;
  });
  return out;
}

export interface CompareOptions {
  /**
   * The replayed side is firmware, the recorded side a simulated board: hold the requests of
   * EXPECTED_DIFFERENCES to their documented answers (default). False compares two recordings of
   * the same kind (a fresh simulator recording with the fixture) reply for reply everywhere.
   */
  simulatedVsFirmware?: boolean;
  /** Names of the two sides in per-side findings. */
  sides?: [string, string];
}

/**
 * Every difference between the recorded (simulated board) and the replayed (firmware handler)
 * session after normalisation, plus each side's invariant findings. Empty: they agree.
 */
export function compareSessions(recorded: RecordedSession, replayed: RecordedSession, options: CompareOptions = {}): Difference[] {
  const { simulatedVsFirmware = true, sides = ['simulated board', 'firmware handler'] } = options;
  const out: Difference[] = [];
  const helloA = recorded.hello ? comparableReplies([recorded.hello]) : [];
  const helloB = replayed.hello ? comparableReplies([replayed.hello]) : [];
  const helloDiffs: string[] = [];
  diff(helloA, helloB, 'hello', helloDiffs);
  for (const d of helloDiffs) out.push({ exchange: -1, request: 'HELLO at boot', note: '', detail: d });

  const n = Math.max(recorded.exchanges.length, replayed.exchanges.length);
  for (let i = 0; i < n; i++) {
    const a = recorded.exchanges[i];
    const b = replayed.exchanges[i];
    const request = describeRequest((a ?? b)!.request);
    const note = recorded.notes[i] ?? replayed.notes[i] ?? '';
    const add = (detail: string): void => {
      out.push({ exchange: i, request, note, detail });
    };
    if (!a || !b) {
      add(a ? 'the replay has no such exchange' : 'the recording has no such exchange');
      continue;
    }
    if (bytesToHex(a.request) !== bytesToHex(b.request)) {
      add('the replay sent other request bytes than the recording');
      continue;
    }
    const type = requestType(a.request);
    const expected = type !== null ? EXPECTED_DIFFERENCES[type] : undefined;
    if (simulatedVsFirmware && expected) {
      const ra = expected.recorded(messages(a.replies));
      const rb = expected.replayed(messages(b.replies));
      if (ra) add(`recorded: ${ra}`);
      if (rb) add(`replayed: ${rb}`);
      continue;
    }
    const diffs: string[] = [];
    diff(comparableReplies(a.replies), comparableReplies(b.replies), 'replies', diffs);
    for (const d of diffs) add(d);
  }
  out.push(...sideChecks(recorded, sides[0]), ...sideChecks(replayed, sides[1]));
  return out;
}

/** One line per difference, for a test failure. */
export function formatDifferences(diffs: readonly Difference[]): string {
  return diffs.map((d) => `#${d.exchange} ${d.request}${d.note ? ` [${d.note}]` : ''}: ${d.detail}`).join('\n');
}
