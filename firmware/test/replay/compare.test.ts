import { describe, expect, it } from 'vitest';
import {
  ErrorCode, MessageType, decodeFrame, decodeMessage, encodeFrame, encodeMessage, type Message, type MessageBody, type Request,
} from '../../../harness/protocol/index.js';
import { compareSessions, comparableReplies, formatDifferences, MEASURED, NORMALISED, NORMALISED_ERRORS } from './compare.js';
import type { RecordedSession } from './recording.js';

/**
 * A small session as each side would answer it. `side` changes only what may differ: measured
 * numbers, identity, the arena figure, how streams are cut into frames, SIM_SET_VARIANT.
 */
type Side = 'sim' | 'fw';

const frame = (requestId: number, body: MessageBody, more = false, simulated = true): Uint8Array =>
  encodeMessage({ requestId, simulated, more, body });

const identity = (side: Side) => ({
  protocolMin: 1, protocolMax: 1, maxPayload: 4096, rxWindow: side === 'sim' ? 4 : 2, simulated: true, resetReason: side === 'sim' ? 1 : 3,
  cores: 2, chipRevision: 2, cpuMhz: side === 'sim' ? 240 : 160, flashSize: side === 'sim' ? 16 << 20 : 8 << 20, psramSize: 8 << 20,
  uptimeMs: side === 'sim' ? 1234 : 5, mac: side === 'sim' ? '7c:df:a1:00:00:01' : '02:00:00:00:00:01',
  appSha256: (side === 'sim' ? 'ab' : '01').repeat(32), chip: 'esp32s3', variant: side === 'sim' ? 'esp-nn' : 'host',
  kernelBackend: side === 'sim' ? 'esp-nn' : 'reference', appVersion: side === 'sim' ? 'v0.1.0-sim' : 'host-test', projectName: 'hil_bench',
  idfVersion: side === 'sim' ? 'v5.3.3' : 'none', tflmVersion: side === 'sim' ? '1.3.5' : 'none', espNnVersion: side === 'sim' ? '1.1.2' : 'none',
});

const heap = (side: Side) => (side === 'sim' ? { total: 300_000, free: 250_000, minFree: 240_000, largestFree: 200_000 } : { total: 327_680, free: 327_000, minFree: 326_000, largestFree: 327_000 });

interface Step { request: Request | Uint8Array; replies: (side: Side, id: number) => Uint8Array[] }

function steps(): Step[] {
  const used = (side: Side): number => (side === 'sim' ? 668 : 51);
  return [
    { request: { type: 'ping', data: Uint8Array.of(1, 2) }, replies: (_s, id) => [frame(id, { type: 'pong', data: Uint8Array.of(1, 2) })] },
    { request: { type: 'get_info' }, replies: (s, id) => [frame(id, { type: 'info', ...identity(s) })] },
    { request: { type: 'model_chunk', offset: 0, data: Uint8Array.of(1) }, replies: (_s, id) => [frame(id, { type: 'chunk_ack', nextOffset: 256 })] },
    { request: { type: 'model_end' }, replies: (_s, id) => [frame(id, { type: 'model_ready', size: 1344, sha256: 'cd'.repeat(32), source: 'upload', placement: 'psram' })] },
    {
      request: { type: 'arena_config', size: 32, placement: 'internal' },
      replies: (s, id) => [frame(id, { type: 'error', code: ErrorCode.ARENA_TOO_SMALL, arg: used(s), message: s === 'sim' ? `AllocateTensors() needs at least ${used(s)} arena bytes` : `the host interpreter needs ${used(s)} arena bytes` })],
    },
    {
      request: { type: 'arena_config', size: 16 << 20, placement: 'internal' },
      replies: (s, id) => [frame(id, { type: 'error', code: ErrorCode.OUT_OF_MEMORY, arg: heap(s).largestFree, message: `no 16777216-byte block (largest free block: ${heap(s).largestFree} bytes)` })],
    },
    {
      request: { type: 'arena_config', size: 8192, placement: 'internal' },
      replies: (s, id) => [frame(id, {
        type: 'arena_ready', size: 8192, placement: 'internal', used: used(s),
        inputs: [{ dtype: 'int8', bytes: 8, shape: [1, 8], scale: 0.04, zeroPoint: 0 }],
        outputs: [{ dtype: 'int8', bytes: 3, shape: [1, 3], scale: 0.2, zeroPoint: 1 }],
      })],
    },
    {
      request: { type: 'invoke', warmup: 1, measured: 3, profile: true },
      replies: (s, id) => {
        const c = s === 'sim' ? [12_960, 13_001, 12_950] : [720_000, 720_000, 720_000];
        const cycles = s === 'sim'
          ? [frame(id, { type: 'invoke_cycles', first: 0, cycles: c }, true)]
          // The firmware's clock made it send a progress frame after the first inference.
          : [frame(id, { type: 'invoke_cycles', first: 0, cycles: c.slice(0, 1) }, true), frame(id, { type: 'invoke_cycles', first: 1, cycles: c.slice(1) }, true)];
        return [
          ...cycles,
          frame(id, { type: 'invoke_profile', entries: [{ opIndex: 0, cycles: s === 'sim' ? 500 : 240_000, name: 'FULLY_CONNECTED' }, { opIndex: 1, cycles: 99, name: 'RESHAPE' }] }, true),
          frame(id, { type: 'invoke_result', warmup: 1, measured: 3, cpuMhz: identity(s).cpuMhz, totalCycles: c.reduce((a, b) => a + b, 0), wallUs: s === 'sim' ? 163 : 9000 }),
        ];
      },
    },
    { request: { type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff }, replies: (_s, id) => [frame(id, { type: 'output_data', tensor: 0, offset: 0, total: 3, data: Uint8Array.of(1, 3, 0xff) })] },
    {
      request: { type: 'accuracy_run' },
      replies: (s, id) => {
        const data = Uint8Array.from({ length: 12 }, (_, i) => i * 5);
        const out = s === 'sim'
          ? [frame(id, { type: 'accuracy_output', offset: 0, total: 12, data }, true)]
          : [frame(id, { type: 'accuracy_output', offset: 0, total: 12, data: data.subarray(0, 5) }, true), frame(id, { type: 'accuracy_output', offset: 5, total: 12, data: data.subarray(5) }, true)];
        return [...out, frame(id, { type: 'accuracy_result', samples: 4, outputBytes: 3 })];
      },
    },
    {
      request: { type: 'memory_report' },
      replies: (s, id) => [frame(id, {
        type: 'memory', arenaSize: 8192, arenaUsed: used(s), arenaPlacement: 'internal', modelSize: 1344, modelPlacement: 'psram',
        imageSize: s === 'sim' ? 1_100_000 : 1_234_567, internal: heap(s), psram: { total: 8 << 20, free: s === 'sim' ? 8_000_000 : 8_300_000, minFree: 7_900_000, largestFree: 7_800_000 },
      })],
    },
    {
      request: (() => {
        const b = encodeMessage({ requestId: 12, simulated: false, more: false, body: { type: 'ping', data: Uint8Array.of(9, 9, 9) } });
        b[13] ^= 1;
        return b;
      })(),
      replies: (_s) => [frame(12, { type: 'error', code: ErrorCode.BAD_FRAME, arg: 0, message: 'frame CRC-32 failed (type 0x01): resend the request' })],
    },
    {
      request: { type: 'sim_set_variant', variant: 'reference' },
      replies: (s, id) => [s === 'sim' ? frame(id, { type: 'ok' }) : frame(id, { type: 'error', code: ErrorCode.UNSUPPORTED, arg: 0, message: 'this is real firmware' })],
    },
  ];
}

function session(side: Side): RecordedSession {
  return {
    hello: frame(0, { type: 'hello', ...identity(side) }),
    exchanges: steps().map((s, i) => {
      const id = i + 1;
      const request = s.request instanceof Uint8Array ? s.request : encodeMessage({ requestId: id, simulated: false, more: false, body: s.request });
      return { request, replies: s.replies(side, id) };
    }),
    notes: steps().map(() => ''),
  };
}

/** The exchange of `session` whose request is of `type`. */
function indexOf(s: RecordedSession, type: number): number {
  return s.exchanges.findIndex((e) => e.request[3] === type && e.replies.length > 0);
}

/** `session('fw')` with reply `reply` of the exchange of request `type` replaced by `f(message)`. */
function changed(type: number, reply: number, f: (m: Message) => Message): RecordedSession {
  const s = session('fw');
  const e = s.exchanges[indexOf(s, type)]!;
  e.replies = e.replies.map((r, i) => (i === reply ? encodeMessage(f(decodeMessage(decodeFrame(r)))) : r));
  return s;
}

const withBody = <T extends MessageBody['type']>(m: Message, patch: (b: Extract<MessageBody, { type: T }>) => MessageBody): Message =>
  ({ ...m, body: patch(m.body as Extract<MessageBody, { type: T }>) });

describe('compareSessions: the simulated board\'s recording vs the firmware handler\'s replay', () => {
  it('finds them equal when only measured numbers, identity, the arena figure and frame splits differ', () => {
    const diffs = compareSessions(session('sim'), session('fw'));
    expect(formatDifferences(diffs)).toBe('');
  });

  it('shows what it replaced and what it kept of a normalised reply', () => {
    const s = session('fw');
    const invoke = comparableReplies(s.exchanges[indexOf(s, MessageType.INVOKE)]!.replies);
    expect(invoke).toEqual([
      { version: 1, simulated: MEASURED, type: 'invoke_cycles', requestId: 8, more: true, body: { first: 0, cycles: '3 cycle counts' } },
      {
        version: 1, simulated: MEASURED, type: 'invoke_profile', requestId: 8, more: true,
        body: { entries: [{ opIndex: 0, name: 'FULLY_CONNECTED', cycles: MEASURED }, { opIndex: 1, name: 'RESHAPE', cycles: MEASURED }] },
      },
      { version: 1, simulated: MEASURED, type: 'invoke_result', requestId: 8, more: false, body: { warmup: 1, measured: 3, cpuMhz: MEASURED, totalCycles: MEASURED, wallUs: MEASURED } },
    ]);
    const oom = comparableReplies(s.exchanges[5]!.replies)[0];
    expect(oom).toMatchObject({ type: 'error', body: { code: ErrorCode.OUT_OF_MEMORY, arg: MEASURED, message: 'no #-byte block (largest free block: # bytes)' } });
  });

  it('gives every normalised field a reason', () => {
    const rules = [...Object.values(NORMALISED), ...Object.values(NORMALISED_ERRORS)].flatMap((r) => Object.values(r ?? {}));
    expect(rules.length).toBeGreaterThan(20);
    for (const rule of rules) expect(rule.why.length).toBeGreaterThan(15);
  });

  // Each case changes one reply of the firmware's side the way a real disagreement would.
  const cases: [string, () => RecordedSession, RegExp][] = [
    ['an output byte', () => changed(MessageType.GET_OUTPUT, 0, (m) => withBody<'output_data'>(m, (b) => ({ ...b, data: Uint8Array.of(1, 3, 0xfe) }))), /replies\[0\]\.body\.data: "0103ff" vs "0103fe"/],
    ['an error code', () => changed(MessageType.ARENA_CONFIG, 0, (m) => withBody<'error'>(m, (b) => ({ ...b, code: ErrorCode.OUT_OF_MEMORY, arg: 0 }))), /body\.code: 12 vs 13/],
    ['a MORE flag', () => changed(MessageType.GET_OUTPUT, 0, (m) => ({ ...m, more: true })), /replies\[0\]\.more: false vs true/],
    ['a request id', () => changed(MessageType.MODEL_END, 0, (m) => ({ ...m, requestId: 99 })), /replies\[0\]\.requestId: 4 vs 99/],
    ['a CHUNK_ACK offset', () => changed(MessageType.MODEL_CHUNK, 0, (m) => withBody<'chunk_ack'>(m, (b) => ({ ...b, nextOffset: 255 }))), /body\.nextOffset: 256 vs 255/],
    ['a MODEL_READY digest', () => changed(MessageType.MODEL_END, 0, (m) => withBody<'model_ready'>(m, (b) => ({ ...b, sha256: 'ce'.repeat(32) }))), /body\.sha256/],
    ['a profile kernel name', () => changed(MessageType.INVOKE, 2, (m) => withBody<'invoke_profile'>(m, (b) => ({ ...b, entries: b.entries.map((e) => ({ ...e, name: e.name === 'RESHAPE' ? 'SQUEEZE' : e.name })) }))), /entries\[1\]\.name: "RESHAPE" vs "SQUEEZE"/],
    ['a profile op index', () => changed(MessageType.INVOKE, 2, (m) => withBody<'invoke_profile'>(m, (b) => ({ ...b, entries: b.entries.map((e) => ({ ...e, opIndex: e.opIndex + 1 })) }))), /entries\[0\]\.opIndex: 0 vs 1/],
    ['an accuracy output byte', () => changed(MessageType.ACCURACY_RUN, 1, (m) => withBody<'accuracy_output'>(m, (b) => ({ ...b, data: Uint8Array.from(b.data, (x, i) => (i === 0 ? x ^ 1 : x)) }))), /replies\[0\]\.body\.data/],
    ['an ACCURACY_RESULT count', () => changed(MessageType.ACCURACY_RUN, 2, (m) => withBody<'accuracy_result'>(m, (b) => ({ ...b, samples: 5 }))), /body\.samples: 4 vs 5/],
    ['the PSRAM a board has', () => {
      const s = session('fw');
      s.hello = frame(0, { type: 'hello', ...identity('fw'), psramSize: 0 });
      return s;
    }, /hello\[0\]\.body\.psramSize: "PSRAM present" vs "no PSRAM"/],
    ['the frame version of a reply', () => {
      const s = session('fw');
      const e = s.exchanges[indexOf(s, MessageType.MODEL_END)]!;
      e.replies = [encodeFrame({ ...decodeFrame(e.replies[0]!), version: 2 })];
      return s;
    }, /replies\[0\]: .* vs "an undecodable frame \(frame of protocol version 2/],
  ];

  for (const [what, make, expected] of cases) {
    it(`fails on a changed reply: ${what}`, () => {
      const diffs = compareSessions(session('sim'), make());
      expect(diffs.length).toBeGreaterThan(0);
      expect(formatDifferences(diffs)).toMatch(expected);
    });
  }

  it('fails on a changed error arg and a changed error message', () => {
    const s = session('fw');
    const bad = s.exchanges.findIndex((e) => e.request[3] === MessageType.PING && e.replies[0]![3] === MessageType.ERROR);
    s.exchanges[bad]!.replies = [frame(12, { type: 'error', code: ErrorCode.BAD_FRAME, arg: 1, message: 'frame CRC-32 failed (type 0x01): resend it' })];
    const text = formatDifferences(compareSessions(session('sim'), s));
    expect(text).toMatch(/#11 damaged frame .*body\.arg: 0 vs 1/);
    expect(text).toMatch(/body\.message: "frame CRC-32 failed \(type 0x01\): resend the request" vs "frame CRC-32 failed \(type 0x01\): resend it"/);
  });

  it('fails on a changed tensor description in ARENA_READY', () => {
    const s = session('fw');
    const i = s.exchanges.findIndex((e) => e.replies[0]![3] === MessageType.ARENA_READY);
    const m = decodeMessage(decodeFrame(s.exchanges[i]!.replies[0]!));
    if (m.body.type !== 'arena_ready') throw new Error('fixture');
    s.exchanges[i]!.replies = [encodeMessage({ ...m, body: { ...m.body, inputs: [{ ...m.body.inputs[0]!, shape: [8, 1] }] } })];
    expect(formatDifferences(compareSessions(session('sim'), s))).toMatch(/inputs\[0\]\.shape\[0\]: 1 vs 8/);
  });

  it('fails when a reply is missing, added or of another type', () => {
    const missing = session('fw');
    const get = indexOf(missing, MessageType.GET_OUTPUT);
    missing.exchanges[get]!.replies = [];
    expect(formatDifferences(compareSessions(session('sim'), missing))).toMatch(/get_output \(id 9\).*replies: 1 items vs 0 items/);

    const extra = session('fw');
    extra.exchanges[get]!.replies = [...extra.exchanges[get]!.replies, frame(9, { type: 'ok' })];
    expect(formatDifferences(compareSessions(session('sim'), extra))).toMatch(/replies: 1 items vs 2 items/);

    const other = session('fw');
    other.exchanges[get]!.replies = [frame(9, { type: 'error', code: ErrorCode.BAD_TENSOR, arg: 0, message: 'no output' })];
    expect(formatDifferences(compareSessions(session('sim'), other))).toMatch(/replies\[0\]\.type: "output_data" vs "error"/);

    const shorter = session('fw');
    shorter.exchanges.pop();
    expect(formatDifferences(compareSessions(session('sim'), shorter))).toMatch(/the replay has no such exchange/);
  });

  it('fails when fewer cycle counts come back, even though their values are not compared', () => {
    const s = changed(MessageType.INVOKE, 1, (m) => withBody<'invoke_cycles'>(m, (b) => ({ ...b, cycles: b.cycles.slice(1) })));
    const text = formatDifferences(compareSessions(session('sim'), s));
    expect(text).toMatch(/body\.cycles: "3 cycle counts" vs "2 cycle counts"/);
    expect(text).toMatch(/firmware handler: 2 cycle counts for 3 measured inferences/);
  });

  it('checks the measured numbers each side ties together: total_cycles, cpu_mhz, MEMORY arena_used, stream offsets', () => {
    const total = changed(MessageType.INVOKE, 3, (m) => withBody<'invoke_result'>(m, (b) => ({ ...b, totalCycles: b.totalCycles + 1 })));
    expect(formatDifferences(compareSessions(session('sim'), total))).toMatch(/firmware handler: INVOKE_RESULT total_cycles 2160001 is not the sum of the cycles sent, 2160000/);
    const mhz = changed(MessageType.INVOKE, 3, (m) => withBody<'invoke_result'>(m, (b) => ({ ...b, cpuMhz: 240 })));
    expect(formatDifferences(compareSessions(session('sim'), mhz))).toMatch(/INVOKE_RESULT cpu_mhz 240, HELLO said 160/);
    const arena = changed(MessageType.MEMORY_REPORT, 0, (m) => withBody<'memory'>(m, (b) => ({ ...b, arenaUsed: 668 })));
    expect(formatDifferences(compareSessions(session('sim'), arena))).toMatch(/MEMORY arena_used 668, the last ARENA_READY said 51/);
    const gap = changed(MessageType.INVOKE, 1, (m) => withBody<'invoke_cycles'>(m, (b) => ({ ...b, first: 2 })));
    expect(formatDifferences(compareSessions(session('sim'), gap))).toMatch(/INVOKE_CYCLES first 2, expected 1/);
    const offset = changed(MessageType.ACCURACY_RUN, 1, (m) => withBody<'accuracy_output'>(m, (b) => ({ ...b, offset: 6 })));
    expect(formatDifferences(compareSessions(session('sim'), offset))).toMatch(/ACCURACY_OUTPUT at offset 6, expected 5/);
  });

  it('holds SIM_SET_VARIANT to the documented difference: OK from a simulated board, UNSUPPORTED from firmware', () => {
    const ok = session('fw');
    const i = indexOf(ok, MessageType.SIM_SET_VARIANT);
    ok.exchanges[i]!.replies = [frame(i + 1, { type: 'ok' })];
    expect(formatDifferences(compareSessions(session('sim'), ok))).toMatch(/sim_set_variant .*replayed: real firmware answers SIM_SET_VARIANT with one ERROR UNSUPPORTED/);
    const sim = session('sim');
    sim.exchanges[i]!.replies = [frame(i + 1, { type: 'error', code: ErrorCode.UNSUPPORTED, arg: 0, message: 'x' })];
    expect(formatDifferences(compareSessions(sim, session('fw')))).toMatch(/recorded: a simulated board answers SIM_SET_VARIANT with one OK or BAD_ARGUMENT/);
  });
});
