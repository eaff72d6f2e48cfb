/**
 * Fuzzing the simulated board's input (PROTOCOL.md "Damaged requests"): random bytes, random frames
 * and corrupted frames thrown straight at the app's byte input. No crash, no hang, every bad frame
 * counted and skipped, and the board still answers a valid PING afterwards. (The same over a real
 * PTY: test/e2e/sim-fuzz.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, encodeFrame, encodeMessage, MessageType } from '../protocol/index.js';
import { createRng, type Rng } from '../stats/rng.js';
import { firmwareRig, type FirmwareRig } from './testing/firmware-rig.js';

const rigs: FirmwareRig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.close();
});

function rig(seed = 1): FirmwareRig {
  const r = firmwareRig(seed);
  rigs.push(r);
  return r;
}

const until = async (f: () => boolean, ms = 5000, what = 'the board'): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 5));
  }
};

const bytes = (rng: Rng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => rng.nextInt(256));

/** Request types minus RESET and SIM_SET_VARIANT, which end the firmware on purpose. */
const REQUEST_TYPES = Object.values(MessageType).filter((t) => t < 0x80 && t !== MessageType.RESET && t !== MessageType.SIM_SET_VARIANT);

/**
 * Like a host honouring HELLO's rx_window (4): after every 4 frames, wait until the board is idle.
 * (A host that floods the board loses requests, as a real UART receive buffer overflows: the
 * firmware counts them in stats.droppedRequests.)
 */
async function windowed(r: FirmwareRig, i: number): Promise<void> {
  if (i % 4 !== 0) return;
  await new Promise((res) => setImmediate(res));
  await until(() => !r.firmware.busy, 10_000, 'the board to go idle');
}

async function ping(r: FirmwareRig, id: number): Promise<void> {
  r.write(encodeMessage({ requestId: id, simulated: false, more: false, body: { type: 'ping', data: Uint8Array.of(id & 0xff) } }));
  await until(() => r.messages.some((m) => m.requestId === id && m.body.type === 'pong'), 5000, `the PONG to ${id}`);
}

describe('fuzzing the simulated board (direct byte input)', () => {
  it('survives 256 KiB of random bytes laced with sync bytes and false headers, then answers a PING', async () => {
    const r = rig();
    const rng = createRng(2024);
    for (let i = 0; i < 64; i++) {
      const chunk = bytes(rng, 4096);
      for (let k = 0; k < 40; k++) {
        const at = rng.nextInt(4094);
        chunk[at] = 0xf5;
        chunk[at + 1] = 0xa5;
      }
      r.write(chunk);
    }
    await ping(r, 60001);
    const s = r.link.stats;
    expect(s.headerErrors).toBeGreaterThan(2000); // every false sync counted
    expect(r.firmware.isStopped).toBe(false);
  });

  it('answers every random well-formed frame with a final reply, and counts bad payloads and unknown types', async () => {
    const r = rig(2);
    const rng = createRng(7);
    const sent: number[] = [];
    for (let i = 1; i <= 600; i++) {
      const known = rng.next() < 0.8;
      const type = known ? REQUEST_TYPES[rng.nextInt(REQUEST_TYPES.length)]! : rng.nextInt(256);
      if (type === MessageType.RESET || type === MessageType.SIM_SET_VARIANT) continue;
      const payload = bytes(rng, rng.next() < 0.5 ? rng.nextInt(16) : rng.nextInt(600));
      r.write(encodeFrame({ version: 1, type, flags: 0, requestId: i, payload }));
      sent.push(i);
      await windowed(r, i);
    }
    await until(() => sent.every((id) => r.messages.some((m) => m.requestId === id && !m.more)), 20_000, 'a final reply to every frame');
    const errors = r.messages.filter((m) => m.body.type === 'error').map((m) => (m.body as { code: number }).code);
    expect(errors).toContain(ErrorCode.BAD_FRAME);
    expect(errors).toContain(ErrorCode.UNKNOWN_COMMAND);
    expect(r.firmware.stats.badPayloads + r.firmware.stats.unknownCommands).toBe(errors.filter((c) => c === ErrorCode.BAD_FRAME || c === ErrorCode.UNKNOWN_COMMAND).length);
    expect(r.firmware.stats.droppedRequests).toBe(0);
    await ping(r, 60002);
  });

  it('loses requests past its receive queue when a host floods it (like a UART buffer overflow), counts them, and recovers', async () => {
    const r = rig(4);
    for (let i = 1; i <= 200; i++) r.write(encodeMessage({ requestId: i, simulated: false, more: false, body: { type: 'memory_report' } }));
    await new Promise((res) => setImmediate(res));
    await until(() => !r.firmware.busy, 10_000, 'the board to go idle');
    const answered = new Set(r.messages.map((m) => m.requestId)).size;
    expect(answered + r.firmware.stats.droppedRequests).toBe(200);
    expect(r.firmware.stats.droppedRequests).toBeGreaterThan(0);
    await ping(r, 60005);
  });

  it('answers each frame with a damaged payload with BAD_FRAME for its id, ignores damaged headers, and reports truncated frames after the line goes idle', async () => {
    const r = rig(3);
    const rng = createRng(99);
    let expectedBad = 0;
    let headerDamage = 0;
    for (let i = 1; i <= 300; i++) {
      const frame = encodeMessage({ requestId: i, simulated: false, more: false, body: { type: 'ping', data: bytes(rng, 1 + rng.nextInt(300)) } });
      const kind = rng.nextInt(3);
      if (kind === 0) {
        frame[12 + rng.nextInt(frame.length - 16)] ^= 1 << rng.nextInt(8); // payload: CRC-32 fails, header fine
        expectedBad++;
      } else if (kind === 1) {
        frame[2 + rng.nextInt(8)] ^= 1 << rng.nextInt(8); // header: CRC-16 fails, nobody to answer
        headerDamage++;
      }
      r.write(frame);
      await windowed(r, i);
    }
    await until(() => r.firmware.stats.badFrames >= expectedBad, 10_000, 'the BAD_FRAME replies');
    await ping(r, 60003);
    const badIds = r.messages.filter((m) => m.body.type === 'error').map((m) => m.requestId);
    expect(badIds.length).toBe(expectedBad);
    expect(r.link.stats.crcErrors).toBe(expectedBad);
    expect(r.link.stats.headerErrors).toBeGreaterThanOrEqual(headerDamage);

    // A frame cut short: answered with BAD_FRAME once the line has been idle (100 ms).
    const cut = encodeMessage({ requestId: 777, simulated: false, more: false, body: { type: 'ping', data: new Uint8Array(100) } });
    r.write(cut.subarray(0, 60));
    await until(() => r.messages.some((m) => m.requestId === 777 && m.body.type === 'error'), 2000, 'BAD_FRAME for the truncated frame');
    expect(r.link.stats.truncated).toBe(1);
    await ping(r, 60004);
  });
});
