import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError, describeBoardError, errorName } from './errors.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { loadGoldenMessages } from './golden.js';
import { messageFromJson, messageToJson } from './json.js';
import {
  BODY_TYPE_CODES, type Message, MessageType, REPLIES, decodeBody, decodeMessage, decodeMessageBytes,
  encodeBody, encodeMessage, isRequest,
} from './messages.js';
import { bytesToHex, hexToBytes } from './wire.js';

const golden = loadGoldenMessages();

function reasonOf(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (e instanceof ProtocolError) return e.reason;
    throw e;
  }
}

describe('messages against the golden frames', () => {
  it('covers every message type of the spec', () => {
    const covered = new Set(golden.messages.map((g) => g.message.body.type));
    expect([...covered].sort()).toEqual(Object.keys(BODY_TYPE_CODES).sort());
  });

  for (const g of golden.messages) {
    it(`${g.name}: decode(hex) == message${g.decodeOnly ? '' : ' and encode(message) == hex'}`, () => {
      const decoded = decodeMessageBytes(hexToBytes(g.hex));
      expect(messageToJson(decoded)).toEqual(g.message);
      if (!g.decodeOnly) {
        expect(bytesToHex(encodeMessage(messageFromJson(g.message)))).toBe(g.hex);
        expect(bytesToHex(encodeMessage(decoded))).toBe(g.hex);
      }
    });
  }

  for (const g of golden.invalid) {
    it(`${g.name}: rejected as ${g.error}`, () => {
      const frame = decodeFrame(hexToBytes(g.hex)); // the frame itself is valid
      expect(reasonOf(() => decodeMessage(frame))).toBe(g.error);
    });
  }
});

describe('message codec details', () => {
  it('names the message and field when the payload is short', () => {
    expect(() => decodeBody(MessageType.MODEL_BEGIN, new Uint8Array(10))).toThrow('model_begin: payload ends inside sha256');
    expect(() => decodeBody(MessageType.OK, new Uint8Array(1))).toThrow('ok: 1 bytes after the last field');
  });

  it('refuses to encode a field out of range, naming it', () => {
    const bad = (body: unknown) => () => encodeBody(body as Parameters<typeof encodeBody>[0]);
    expect(bad({ type: 'chunk_ack', nextOffset: -1 })).toThrow('chunk_ack: nextOffset must be an integer 0..4294967295, got -1');
    expect(bad({ type: 'chunk_ack', nextOffset: 2 ** 32 })).toThrow(ProtocolError);
    expect(bad({ type: 'model_begin', size: 1, sha256: 'abc', destination: 'psram' })).toThrow('sha256 must be 64 lower-case hex digits');
    expect(bad({ type: 'arena_config', size: 1, placement: 'sram' })).toThrow('placement must be one of none, internal, psram, flash');
    expect(bad({ type: 'sim_set_variant', variant: 'x'.repeat(256) })).toThrow('variant must be a string of at most 255 UTF-8 bytes');
    expect(bad({ type: 'model_chunk', offset: 0, data: new Uint8Array(4093) })).toThrow(/payload would exceed 4096/);
    expect(bad({ type: 'invoke_result', warmup: 0, measured: 0, cpuMhz: 240, totalCycles: 2 ** 53, wallUs: 0 })).toThrow(/totalCycles/);
    expect(bad({ type: 'no_such_message' })).toThrow(/unknown message body type no_such_message/);
  });

  it('cuts an over-long ERROR text at a character boundary instead of failing', () => {
    const message = `${'é'.repeat(200)}`; // 400 UTF-8 bytes
    const msg: Message = { requestId: 3, simulated: false, more: false, body: { type: 'error', code: ErrorCode.INTERNAL, arg: 0, message } };
    const back = decodeMessageBytes(encodeMessage(msg)).body;
    expect(back.type === 'error' && back.message).toBe('é'.repeat(127));
  });

  it('keeps u64 cycle sums exact up to 2^53 and float scales exact in binary32', () => {
    const big = 2 ** 53 - 1;
    const r = decodeBody(MessageType.INVOKE_RESULT, encodeBody({ type: 'invoke_result', warmup: 1, measured: 2, cpuMhz: 240, totalCycles: big, wallUs: 5 }));
    expect(r).toMatchObject({ totalCycles: big, wallUs: 5 });
    const scale = Math.fround(0.003921568859368563);
    const a = decodeBody(MessageType.ARENA_READY, encodeBody({
      type: 'arena_ready', size: 1, placement: 'psram', used: 1, outputs: [],
      inputs: [{ dtype: 'uint8', bytes: 3, shape: [1, 3], scale, zeroPoint: 0 }],
    }));
    expect(a.type === 'arena_ready' && a.inputs[0].scale).toBe(scale);
  });

  it('sets the SIMULATED and MORE header flags from the envelope', () => {
    const bytes = encodeMessage({ requestId: 7, simulated: true, more: true, body: { type: 'invoke_cycles', first: 0, cycles: [1] } });
    expect(bytes[4]).toBe(0x03);
    expect(decodeMessageBytes(bytes)).toMatchObject({ requestId: 7, simulated: true, more: true });
  });

  it('rejects a frame of a protocol version it does not speak', () => {
    const frame = decodeFrame(encodeMessage({ requestId: 1, simulated: false, more: false, body: { type: 'get_info' } }, 2));
    expect(frame.version).toBe(2);
    expect(reasonOf(() => decodeMessage(frame))).toBe('unsupported-version');
  });

  it('messageFromJson names what is wrong in a recorded message', () => {
    expect(() => messageFromJson({ requestId: 1, simulated: false, more: false, body: { type: 'chunk_ack' } })).toThrow('chunk_ack: nextOffset must be an integer');
    expect(() => messageFromJson({ requestId: 1, simulated: false, more: false, body: { type: 'ping', data: 'xyz' } })).toThrow(/hex digits/);
    expect(() => messageFromJson({ body: { type: 'ok' } })).toThrow(/requestId must be a number/);
    expect(() => messageFromJson(null)).toThrow(/JSON object/);
  });

  it('declares a final reply for every request, and every reply type exists', () => {
    for (const [type, code] of Object.entries(BODY_TYPE_CODES)) {
      const body = { type } as Parameters<typeof isRequest>[0];
      expect(isRequest(body)).toBe(code < 0x80);
      if (code < 0x80) expect(REPLIES[type as keyof typeof REPLIES]).toBeDefined();
    }
    for (const r of Object.values(REPLIES)) {
      for (const t of [r.final, ...r.partial]) expect(BODY_TYPE_CODES[t]).toBeGreaterThanOrEqual(0x80);
    }
  });

  it('describes board errors in one line', () => {
    expect(describeBoardError(ErrorCode.ARENA_TOO_SMALL, 82300, 'arena of 65536 bytes is too small'))
      .toBe('ARENA_TOO_SMALL (bytes needed (0 if unknown): 82300): arena of 65536 bytes is too small');
    expect(describeBoardError(ErrorCode.BUSY, 0, '')).toBe('BUSY: the board cannot take the request now');
    expect(errorName(999)).toBe('ERROR_999');
  });

  it('round-trips every golden message through encodeFrame/decodeFrame of its frame', () => {
    for (const g of golden.messages.filter((m) => !m.decodeOnly)) {
      const msg = messageFromJson(g.message);
      expect(messageToJson(decodeMessage(decodeFrame(encodeFrame(decodeFrame(encodeMessage(msg))))))).toEqual(g.message);
    }
  });
});
