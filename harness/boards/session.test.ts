import { describe, expect, it } from 'vitest';
import { failureKind } from '../lab/failures.js';
import { MemoryLink, testIdentity } from '../links/testing/memory-link.js';
import { FakeClock, flush } from '../links/testing/fake-clock.js';
import { ErrorCode, type BoardIdentity, type Message, type Request } from '../protocol/index.js';
import { BoardSession, EMULATED_RESTARTS } from './session.js';

/** A board that answers NEGOTIATE, and whatever `answer` says to the rest. */
function rig(options: { kind?: 'serial' | 'tcp' | 'mqtt'; identity?: Partial<BoardIdentity>; answer?: (m: Message<Request>, link: MemoryLink) => void; hardwareReset?: () => boolean; powerCycle?: () => void; resendDamaged?: boolean } = {}) {
  const clock = new FakeClock();
  const link = new MemoryLink({
    kind: options.kind ?? 'serial',
    onRequest: (m, l) => {
      if (m.body.type === 'negotiate') queueMicrotask(() => l.reply(m.requestId, { type: 'negotiated', version: 1 }));
      else options.answer?.(m, l);
    },
    ...(options.hardwareReset ? { hardwareReset: options.hardwareReset } : {}),
  });
  const session = new BoardSession({ id: 'mem-1', link, clock, ...(options.powerCycle ? { powerCycle: options.powerCycle } : {}), ...(options.resendDamaged ? { resendDamaged: true } : {}) });
  const identity = testIdentity(options.identity);
  const connect = async () => {
    const p = session.connect(3000);
    await flush();
    link.hello(identity);
    return p;
  };
  return { clock, link, session, identity, connect };
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}

describe('BoardSession: connecting', () => {
  it('takes the HELLO of a booting board, negotiates, and is ready', async () => {
    const { session, link, connect, identity } = rig();
    const states: string[] = [];
    session.on('state', (c) => states.push(c.to));
    const got = await connect();
    expect(got).toEqual(identity);
    expect(session.state).toBe('ready');
    expect(states).toEqual(['booting', 'ready']);
    expect(link.requests('negotiate')[0].body.versions).toEqual([1]);
    expect(session.identity?.mac).toBe('7c:df:a1:00:00:01');
  });

  it('asks GET_INFO (again every 500 ms) when a board that booted long ago sends no HELLO', async () => {
    let answer = false;
    const { session, link, clock, identity } = rig({
      answer: (m, l) => {
        if (m.body.type === 'get_info' && answer) queueMicrotask(() => l.reply(m.requestId, { type: 'info', ...identity, uptimeMs: 99_000 }));
      },
    });
    const p = session.connect(5000);
    await clock.advance(499);
    expect(link.requests('get_info')).toHaveLength(1);
    await clock.advance(1);
    expect(link.requests('get_info')).toHaveLength(2);
    answer = true;
    await clock.advance(500);
    const got = await p;
    expect(got.uptimeMs).toBe(99_000);
    expect(session.state).toBe('ready');
  });

  it('fails with one sentence naming the board when nothing answers, and is failed', async () => {
    const { session, clock } = rig();
    const p = rejection(session.connect(2000));
    await clock.advance(2000);
    const e = await p;
    expect(e.code).toBe('board-unreachable');
    expect(e.message).toMatch(/^board mem-1 sent no HELLO and did not answer GET_INFO on \/dev\/mem\/mem-1 within 2 s: check that it is powered/);
    expect(session.state).toBe('failed');
  });

  it('over a TCP serial port: the journal calls the link serial, and silence points at what serves the port', async () => {
    const { session, clock } = rig({ kind: 'tcp' });
    expect(session.link).toBe('serial');
    expect(session.address).toBe('tcp://mem.mem-1:1');
    const p = rejection(session.connect(2000));
    await clock.advance(2000);
    expect((await p).message).toBe('board mem-1 sent no HELLO and did not answer GET_INFO on tcp://mem.mem-1:1 within 2 s: check that it is powered, runs the lab firmware and whatever serves its TCP port (the emulator, ser2net) forwards its console UART');
  });

  it('refuses a board whose protocol versions it does not speak', async () => {
    const { session, link } = rig();
    const p = rejection(session.connect(2000));
    await flush();
    link.hello(testIdentity({ protocolMin: 2, protocolMax: 3 }));
    const e = await p;
    expect(e.message).toContain('speaks protocol versions 2..3, this harness speaks 1');
    expect(session.state).toBe('failed');
  });
});

describe('BoardSession: states', () => {
  it('a method in the wrong state throws an error naming the method and the state', async () => {
    const { session } = rig();
    const e = await rejection(session.invoke({ warmup: 0, measured: 1, profile: false, timeoutMs: 1000 }));
    expect(e.code).toBe('board-state');
    expect(e.message).toBe('board mem-1: invoke() cannot run while the session is unknown: connect() first');
  });

  it('runs one request at a time', async () => {
    const { session, connect } = rig();
    await connect();
    const first = session.memory(1000);
    first.catch(() => undefined);
    expect(session.state).toBe('running');
    const e = await rejection(session.ping(1000));
    expect(e.message).toMatch(/ping\(\) cannot run while the session is running \(memory\)/);
  });
});

describe('BoardSession: requests', () => {
  it('numbers requests 1..65535 and wraps to 1, never 0', async () => {
    const { session, link, connect } = rig({ answer: (m, l) => { const b = m.body; if (b.type === 'ping') queueMicrotask(() => l.reply(m.requestId, { type: 'pong', data: b.data })); } });
    await connect();
    const ids: number[] = [];
    for (let i = 0; i < 65536; i++) {
      await session.ping(1000, new Uint8Array([1]));
      ids.push(link.sent[link.sent.length - 1].requestId);
      if (ids.length > 3 && ids[ids.length - 1] === 2) break;
    }
    expect(ids.slice(-4)).toEqual([65534, 65535, 1, 2]);
  });

  it("the inactivity timeout is reset only by the request's own frames", async () => {
    const { session, link, clock, connect } = rig();
    await connect();
    const p = rejection(session.invoke({ warmup: 0, measured: 3, profile: false, timeoutMs: 1000 }));
    await flush();
    const id = link.requests('invoke')[0].requestId;
    await clock.advance(900);
    link.reply(id, { type: 'invoke_cycles', first: 0, cycles: [100] }, true); // progress: 1000 ms again
    await clock.advance(800);
    link.reply(id + 7, { type: 'invoke_cycles', first: 0, cycles: [100] }, true); // another request's frame: no reset
    link.log('I (123) hil: still busy');
    await clock.advance(199);
    expect(session.state).toBe('running');
    await clock.advance(1);
    const e = await p;
    expect(e.code).toBe('timeout');
    expect(e.message).toBe("board mem-1: no reply to INVOKE for 1 s on /dev/mem/mem-1: the board may hang (raise the scenario's timeouts if it is just slow)");
    expect(failureKind(e)).toBe('board');
    expect(session.state).toBe('failed');
    expect((await rejection(session.memory(1000))).message).toContain('memory() cannot run while the session is failed');
  });

  it('collects every reply frame up to the one without MORE and assembles INVOKE', async () => {
    const { session, connect } = rig({
      answer: (m, l) => {
        if (m.body.type !== 'invoke') return;
        queueMicrotask(() => {
          l.reply(m.requestId, { type: 'invoke_cycles', first: 0, cycles: [2400, 2500] }, true);
          l.reply(m.requestId, { type: 'invoke_profile', entries: [{ opIndex: 0, cycles: 2000, name: 'CONV_2D' }] }, true);
          l.reply(m.requestId, { type: 'invoke_result', warmup: 1, measured: 2, cpuMhz: 240, totalCycles: 4900, wallUs: 21 });
        });
      },
    });
    await connect();
    const out = await session.invoke({ warmup: 1, measured: 2, profile: true, timeoutMs: 1000 });
    expect(out).toEqual({ cycles: [2400, 2500], cpuMhz: 240, wallUs: 21, profile: [{ opIndex: 0, cycles: 2000, name: 'CONV_2D' }] });
    expect(session.state).toBe('ready');
  });

  it('selectPartitionModel sends MODEL_SELECT_PARTITION and returns the MODEL_READY of the flash model; an empty partition is the trial\'s fault', async () => {
    let empty = false;
    const { session, link, connect } = rig({
      answer: (m, l) => {
        if (m.body.type !== 'model_select_partition') return;
        queueMicrotask(() => l.reply(m.requestId, empty
          ? { type: 'error', code: ErrorCode.MODEL_PARTITION_EMPTY, arg: 0, message: 'no model image in the model partition' }
          : { type: 'model_ready', size: 1234, sha256: 'ab'.repeat(32), source: 'partition', placement: 'flash' }));
      },
    });
    await connect();
    expect(await session.selectPartitionModel(1000)).toEqual({ type: 'model_ready', size: 1234, sha256: 'ab'.repeat(32), source: 'partition', placement: 'flash' });
    expect(link.requests('model_select_partition')).toHaveLength(1);
    empty = true;
    const e = await rejection(session.selectPartitionModel(1000));
    expect(e.code).toBe('board-error:MODEL_PARTITION_EMPTY');
    expect(e.message).toMatch(/^board mem-1: MODEL_SELECT_PARTITION failed: MODEL_PARTITION_EMPTY/);
    expect(failureKind(e)).toBe('trial');
    expect(session.state).toBe('ready');
  });

  it("a board ERROR becomes a LabError naming the board, the trial's fault for ARENA_TOO_SMALL, and the session stays ready", async () => {
    const { session, connect } = rig({
      answer: (m, l) => {
        if (m.body.type === 'arena_config') queueMicrotask(() => l.reply(m.requestId, { type: 'error', code: ErrorCode.ARENA_TOO_SMALL, arg: 82300, message: 'AllocateTensors() needs 82300 bytes' }));
      },
    });
    await connect();
    const e = await rejection(session.configureArena(4096, 'internal', 1000));
    expect(e.code).toBe('board-error:ARENA_TOO_SMALL');
    expect(e.message).toBe('board mem-1: ARENA_CONFIG failed: ARENA_TOO_SMALL (bytes needed (0 if unknown): 82300): AllocateTensors() needs 82300 bytes');
    expect(failureKind(e)).toBe('trial');
    expect(session.state).toBe('ready');
  });

  it('a damaged reply to INVOKE fails it at once instead of waiting for the timeout (an INVOKE is not sent twice)', async () => {
    const { session, link, connect } = rig();
    await connect();
    const p = rejection(session.invoke({ warmup: 0, measured: 10, profile: false, timeoutMs: 60_000 }));
    await flush();
    link.frameError({ reason: 'crc', type: 0x93, requestId: link.requests('invoke')[0].requestId });
    const e = await p;
    expect(e.code).toBe('link-garbled');
    expect(e.message).toBe('board mem-1: a reply to INVOKE arrived damaged (crc) on /dev/mem/mem-1: the link is noisy (check the cable, the baud rate, or the broker bridge)');
    expect(link.requests('invoke')).toHaveLength(1);
    expect(session.state).toBe('failed');
  });

  it('without resendDamaged, BAD_FRAME fails the request (the scheduler resets and retries the trial)', async () => {
    const { session, link, connect } = rig({
      answer: (m, l) => {
        if (m.body.type === 'memory_report') queueMicrotask(() => l.reply(m.requestId, { type: 'error', code: ErrorCode.BAD_FRAME, arg: 0, message: 'frame CRC-32 mismatch' }));
      },
    });
    await connect();
    const e = await rejection(session.memory(1000));
    expect(e.code).toBe('board-error:BAD_FRAME');
    expect(failureKind(e)).toBe('board');
    expect(link.requests('memory_report')).toHaveLength(1);
  });

  it('with resendDamaged, a request the board got damaged (BAD_FRAME), or a repeatable one whose reply was damaged, is sent again', async () => {
    let n = 0;
    const mem = { type: 'memory' as const, arenaSize: 0, arenaUsed: 0, arenaPlacement: 'none' as const, modelSize: 0, modelPlacement: 'none' as const, imageSize: 0,
      internal: { total: 1, free: 1, minFree: 1, largestFree: 1 }, psram: { total: 0, free: 0, minFree: 0, largestFree: 0 } };
    const { session, link, connect } = rig({
      resendDamaged: true,
      answer: (m, l) => {
        if (m.body.type !== 'memory_report') return;
        const k = n++;
        queueMicrotask(() => {
          if (k === 0) l.reply(m.requestId, { type: 'error', code: ErrorCode.BAD_FRAME, arg: 0, message: 'frame CRC-32 mismatch' });
          else if (k === 1) l.frameError({ reason: 'crc', type: 0x86, requestId: m.requestId });
          else l.reply(m.requestId, mem);
        });
      },
    });
    await connect();
    expect(await session.memory(1000)).toEqual(mem);
    expect(link.requests('memory_report')).toHaveLength(3);
    expect(session.stats().resends).toBe(2);
    expect(session.state).toBe('ready');
  });

  it('with resendDamaged, an upload resumes where the board says it is after a chunk arrived damaged', async () => {
    let next = 0;
    let damaged = false;
    const seen: number[] = [];
    const { session, connect } = rig({
      resendDamaged: true,
      identity: { rxWindow: 3, maxPayload: 1028 },
      answer: (m, l) => {
        const b = m.body;
        if (b.type === 'model_begin') { next = 0; queueMicrotask(() => l.reply(m.requestId, { type: 'chunk_ack', nextOffset: 0 })); }
        if (b.type === 'model_chunk') {
          seen.push(b.offset);
          queueMicrotask(() => {
            if (b.offset === 1024 && !damaged) {
              damaged = true;
              l.reply(m.requestId, { type: 'error', code: ErrorCode.BAD_FRAME, arg: 0, message: 'frame CRC-32 mismatch' });
            } else if (b.offset !== next) {
              l.reply(m.requestId, { type: 'error', code: ErrorCode.BAD_OFFSET, arg: next, message: `expected offset ${next}` });
            } else {
              next += b.data.length;
              l.reply(m.requestId, { type: 'chunk_ack', nextOffset: next });
            }
          });
        }
        if (b.type === 'model_end') queueMicrotask(() => l.reply(m.requestId, { type: 'model_ready', size: next, sha256: 'cd'.repeat(32), source: 'upload', placement: 'psram' }));
      },
    });
    await connect();
    await session.uploadModel(new Uint8Array(5000), 'cd'.repeat(32), 'psram', 1000);
    // 3072 was already in flight when the BAD_FRAME for 1024 came back (window 3)
    expect(seen).toEqual([0, 1024, 2048, 3072, 1024, 2048, 3072, 4096]);
    expect(next).toBe(5000);
    expect(session.state).toBe('ready');
  });

  it('pipelines chunk uploads up to rx_window and no further', async () => {
    let inFlight = 0;
    let most = 0;
    const { session, connect } = rig({
      identity: { rxWindow: 2, maxPayload: 1028 },
      answer: (m, l) => {
        const b = m.body;
        if (b.type === 'model_begin') queueMicrotask(() => l.reply(m.requestId, { type: 'chunk_ack', nextOffset: 0 }));
        if (b.type === 'model_chunk') {
          inFlight++;
          most = Math.max(most, inFlight);
          setTimeout(() => {
            inFlight--;
            l.reply(m.requestId, { type: 'chunk_ack', nextOffset: b.offset + b.data.length });
          }, 1);
        }
        if (b.type === 'model_end') queueMicrotask(() => l.reply(m.requestId, { type: 'model_ready', size: 5000, sha256: 'cd'.repeat(32), source: 'upload', placement: 'psram' }));
      },
    });
    await connect();
    await session.uploadModel(new Uint8Array(5000), 'cd'.repeat(32), 'psram', 1000);
    expect(most).toBe(2);
  });
});

describe('BoardSession: reboots, resets, disconnects', () => {
  it('a HELLO in the middle of a request rejects it at once with board-rebooted and the reset reason', async () => {
    const { session, link, connect, identity } = rig();
    await connect();
    const reboots: BoardIdentity[] = [];
    session.onReboot((id) => reboots.push(id));
    const p = rejection(session.invoke({ warmup: 0, measured: 100, profile: false, timeoutMs: 60_000 }));
    await flush();
    link.log('Brownout detector was triggered');
    link.hello({ ...identity, resetReason: 9, uptimeMs: 1100 });
    const e = await p;
    expect(e.code).toBe('board-rebooted');
    expect(e.message).toBe('board mem-1 rebooted during INVOKE (reset reason: brownout): its model, arena and inputs are gone');
    expect(failureKind(e)).toBe('board');
    expect(reboots.map((r) => r.resetReason)).toEqual([9]);
    expect(session.state).toBe('failed');
  });

  it('over MQTT, a HELLO after a reconnection (uptime goes on) is not a reboot', async () => {
    const { session, link, connect, identity } = rig({ kind: 'mqtt' });
    await connect();
    const reboots: BoardIdentity[] = [];
    session.onReboot((id) => reboots.push(id));
    link.hello({ ...identity, uptimeMs: 50_000 });
    expect(reboots).toEqual([]);
    expect(session.state).toBe('ready');
    link.hello({ ...identity, uptimeMs: 900, resetReason: 4 });
    expect(reboots.map((r) => r.resetReason)).toEqual([4]);
    expect(session.state).toBe('failed');
  });

  it('over MQTT, a reboot whose boot took as long as the last one is still a reboot once time has passed', async () => {
    const { session, link, clock, connect, identity } = rig({ kind: 'mqtt', identity: { uptimeMs: 2700 } });
    await connect();
    const reboots: BoardIdentity[] = [];
    session.onReboot((id) => reboots.push(id));
    await clock.advance(1000);
    link.hello({ ...identity, uptimeMs: 2712 }); // same boot would say >= 3700
    expect(reboots).toHaveLength(1);
  });

  it('over MQTT, a simulated board whose clock runs 100x faster: the rate learned from INVOKE keeps a reboot a reboot', async () => {
    const { session, link, clock, connect, identity } = rig({
      kind: 'mqtt', identity: { uptimeMs: 2700 },
      answer: (m, l) => {
        if (m.body.type === 'invoke') setTimeout(() => l.reply(m.requestId, { type: 'invoke_result', warmup: 0, measured: 0, cpuMhz: 240, totalCycles: 0, wallUs: 1_000_000 }), 0);
      },
    });
    await connect();
    const reboots: BoardIdentity[] = [];
    session.onReboot((id) => reboots.push(id));
    const inv = session.invoke({ warmup: 0, measured: 0, profile: false, timeoutMs: 1000 });
    await clock.advance(10); // 1 s of board time in 10 ms of host time
    await new Promise((r) => setTimeout(r, 5));
    await clock.advance(0);
    await inv;
    await clock.advance(200);
    link.hello({ ...identity, uptimeMs: 23_700 }); // 2700 + 100 x 210 ms: the same boot, reconnected
    expect(reboots).toHaveLength(0);
    await clock.advance(200);
    link.hello({ ...identity, uptimeMs: 25_000 }); // 20 s of board time passed since 23,700: a new boot
    expect(reboots).toHaveLength(1);
  });

  it('reset: RESET unanswered (hung) -> no modem lines -> the power switch, then the fresh HELLO', async () => {
    let cycled = 0;
    const { session, link, clock, connect, identity } = rig({ powerCycle: () => { cycled++; queueMicrotask(() => link.hello({ ...identity, resetReason: 1, uptimeMs: 1000 })); } });
    await connect();
    const p = session.invoke({ warmup: 0, measured: 1, profile: false, timeoutMs: 60_000 }); // hangs
    const lost = rejection(p);
    await flush();
    const r = session.reset(5000);
    expect((await lost).code).toBe('board-reset');
    await clock.advance(1000);
    const got = await r;
    expect(link.requests('reset')).toHaveLength(1);
    expect(link.hardwareResets).toBe(1);
    expect(cycled).toBe(1);
    expect(got.resetReason).toBe(1);
    expect(session.state).toBe('ready');
  });

  it('reset: a board that answers neither RESET nor any reset line fails with what to do', async () => {
    const { session, clock, connect } = rig();
    await connect();
    const p = rejection(session.reset(5000));
    await clock.advance(1000);
    const e = await p;
    expect(e.code).toBe('board-unresponsive');
    expect(e.message).toMatch(/^board mem-1 did not answer RESET .* and its serial link cannot reset it: press its EN button or power-cycle it/);
    expect(session.state).toBe('failed');
  });

  it('a disconnect rejects the pending request at once', async () => {
    const { session, link, connect } = rig();
    await connect();
    const p = rejection(session.memory(60_000));
    await flush();
    link.disconnect('serial port /dev/mem/mem-1 closed (the device went away: unplugged or re-enumerated)');
    const e = await p;
    expect(e.code).toBe('link-down');
    expect(e.message).toBe('board mem-1: serial port /dev/mem/mem-1 closed (the device went away: unplugged or re-enumerated) during MEMORY_REPORT');
    expect(session.state).toBe('failed');
  });

  it('switchVariant waits for the HELLO of the new variant', async () => {
    const { session, link, connect, identity } = rig({
      answer: (m, l) => {
        if (m.body.type === 'sim_set_variant') {
          const variant = m.body.variant;
          queueMicrotask(() => {
            l.reply(m.requestId, { type: 'ok' });
            l.hello({ ...identity, variant, kernelBackend: 'reference', resetReason: 3, uptimeMs: 900 });
          });
        }
      },
    });
    await connect();
    const reboots: BoardIdentity[] = [];
    session.onReboot((id) => reboots.push(id));
    const got = await session.switchVariant('reference', 2000);
    expect(got.variant).toBe('reference');
    expect(session.identity?.kernelBackend).toBe('reference');
    expect(reboots).toEqual([]); // expected, so not a reboot of its own
    expect(link.requests('negotiate')).toHaveLength(2);
    expect(session.state).toBe('ready');
  });
});

describe('BoardSession: enterDownloadMode (RESET mode download, for the flasher)', () => {
  it('sends RESET mode download, then closes the link and forgets the identity; connect takes the board back', async () => {
    const { session, link, connect, identity } = rig({
      answer: (m, l) => {
        if (m.body.type === 'reset') queueMicrotask(() => l.reply(m.requestId, { type: 'ok' }));
      },
    });
    await connect();
    const states: string[] = [];
    session.on('state', (c) => states.push(`${c.to}${c.reason ? ` (${c.reason})` : ''}`));
    await session.enterDownloadMode(1000);
    expect(link.requests('reset').map((m) => m.body)).toEqual([{ type: 'reset', mode: 'download' }]);
    expect(link.isOpen).toBe(false);
    expect(session.state).toBe('unknown');
    expect(session.identity).toBeUndefined();
    expect(states).toEqual(['running (enterDownloadMode)', 'unknown (restarted into the ROM download mode)']);

    // After flashing, the board boots the new app and says HELLO.
    const p = session.connect(3000);
    await flush();
    expect(link.isOpen).toBe(true);
    link.hello({ ...identity, appSha256: 'cd'.repeat(32), uptimeMs: 800 });
    expect((await p).appSha256).toBe('cd'.repeat(32));
    expect(session.state).toBe('ready');
  });

  it('a board that cannot (UNSUPPORTED) stays ready and the link stays open', async () => {
    const { session, link, connect } = rig({
      answer: (m, l) => {
        if (m.body.type === 'reset') queueMicrotask(() => l.reply(m.requestId, { type: 'error', code: ErrorCode.UNSUPPORTED, arg: 0, message: 'no download mode' }));
      },
    });
    await connect();
    const e = await rejection(session.enterDownloadMode(1000));
    expect(e.code).toBe('board-error:UNSUPPORTED');
    expect(e.message).toMatch(/^board mem-1/);
    expect(session.state).toBe('ready');
    expect(link.isOpen).toBe(true);
    expect(session.identity).toBeDefined();
  });

  it('needs a connected board, and a silent one fails the session (not trusted until probed again)', async () => {
    const { session, clock, connect } = rig();
    const early = await rejection(session.enterDownloadMode(1000));
    expect(early.message).toBe('board mem-1: enterDownloadMode() cannot run while the session is unknown: connect() first');
    await connect();
    const p = rejection(session.enterDownloadMode(1000));
    await clock.advance(1000);
    expect((await p).code).toBe('timeout');
    expect(session.state).toBe('failed');
  });
});

describe('BoardSession: emulated boards (a reset is a restart of the emulator)', () => {
  /** An emulator whose first `crashes` boots crash (QEMU ends, the link drops); later boots say HELLO. */
  function emulatedRig(crashes: number) {
    const clock = new FakeClock();
    const link = new MemoryLink({
      kind: 'tcp',
      onRequest: (m, l) => {
        if (m.body.type === 'negotiate') queueMicrotask(() => l.reply(m.requestId, { type: 'negotiated', version: 1 }));
      },
    });
    const identity = testIdentity();
    let boots = 0;
    let crashLine: string | undefined;
    const boot = (): void => {
      boots++;
      if (boots <= crashes) {
        crashLine = `board mem-1: QEMU exited with status 139: QEMU said "Segmentation fault"`;
        queueMicrotask(() => link.disconnect('the emulator ended'));
      } else {
        crashLine = undefined;
        queueMicrotask(() => link.hello(identity));
      }
    };
    const emulator = {
      restarts: 0,
      restart: async () => {
        emulator.restarts++;
        boot();
      },
      crashed: async () => crashLine,
    };
    const session = new BoardSession({ id: 'mem-1', link, clock, emulator });
    return { clock, link, session, identity, emulator, boot };
  }

  it('connect restarts an emulator that crashed while booting, and takes the HELLO of the next boot', async () => {
    const { session, emulator, boot, identity } = emulatedRig(1);
    const p = session.connect(3000);
    await flush();
    boot(); // the first boot (started with the fleet) crashes
    expect(await p).toEqual(identity);
    expect(emulator.restarts).toBe(1);
    expect(session.state).toBe('ready');
  });

  it('connect does not restart an emulator that is running: silence is the board\'s, and connect fails as for any board', async () => {
    const { session, clock, emulator } = emulatedRig(0);
    const p = rejection(session.connect(2000));
    await clock.advance(2000);
    expect((await p).code).toBe('board-unreachable');
    expect(emulator.restarts).toBe(0);
  });

  it(`reset restarts the emulator up to ${EMULATED_RESTARTS} times while it keeps crashing, then fails`, async () => {
    const ok = emulatedRig(2);
    expect(await ok.session.reset(3000)).toEqual(ok.identity);
    expect(ok.emulator.restarts).toBe(3);

    const bad = emulatedRig(EMULATED_RESTARTS);
    const e = await rejection(bad.session.reset(3000));
    expect(e.code).toBe('link-down');
    expect(bad.emulator.restarts).toBe(EMULATED_RESTARTS);
    expect(bad.session.state).toBe('failed');
  });
});

describe('BoardSession: nudging a silent emulated board (nudgeAfterMs)', () => {
  function nudgeRig(options: { nudgeAfterMs?: number; answer: 'at-once' | 'when-nudged' | 'never' }) {
    const clock = new FakeClock();
    let held: Message<Request> | undefined;
    const link = new MemoryLink({
      kind: 'tcp',
      onRequest: (m, l) => {
        if (m.body.type === 'negotiate') queueMicrotask(() => l.reply(m.requestId, { type: 'negotiated', version: 1 }));
        else if (m.body.type === 'ping' && options.answer === 'at-once') queueMicrotask(() => l.reply(m.requestId, { type: 'pong', data: (m.body as { data: Uint8Array }).data }));
        else if (m.body.type === 'ping') held = m;
      },
      // QEMU held the request's last bytes back; the nudge's LF lets them through.
      onNudge: (l) => {
        if (options.answer !== 'when-nudged' || !held) return;
        const m = held;
        held = undefined;
        queueMicrotask(() => l.reply(m.requestId, { type: 'pong', data: (m.body as { data: Uint8Array }).data }));
      },
    });
    const session = new BoardSession({ id: 'mem-1', link, clock, ...(options.nudgeAfterMs !== undefined ? { nudgeAfterMs: options.nudgeAfterMs } : {}) });
    const connect = async (): Promise<void> => {
      const p = session.connect(3000);
      await flush();
      link.hello(testIdentity());
      await p;
    };
    return { clock, link, session, connect, answerHeld: () => {
      const m = held!;
      held = undefined;
      link.reply(m.requestId, { type: 'pong', data: (m.body as { data: Uint8Array }).data });
    } };
  }

  it('a request the board has not answered after 500 ms is nudged once, and then gets its reply', async () => {
    const { session, link, clock, connect } = nudgeRig({ nudgeAfterMs: 500, answer: 'when-nudged' });
    await connect();
    let done = false;
    const p = session.ping(10_000).then((r) => {
      done = true;
      return r;
    });
    await clock.advance(499);
    expect(link.nudges).toBe(0);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(link.nudges).toBe(1);
    expect(session.stats().nudges).toBe(1);
    await clock.advance(60_000);
    expect(link.nudges).toBe(1); // nothing waits: no more nudges
  });

  it('backs off while the board stays silent (0.5, 1.5, 3.5, 7.5 s ... at most every 8 s), and stops once it answers', async () => {
    const { session, link, clock, connect, answerHeld } = nudgeRig({ nudgeAfterMs: 500, answer: 'never' });
    await connect();
    const p = session.ping(60_000);
    await clock.advance(3_500);
    expect(link.nudges).toBe(3);
    await clock.advance(4_000);
    expect(link.nudges).toBe(4);
    await clock.advance(16_000); // 15.5 s, 23.5 s
    expect(link.nudges).toBe(6);
    answerHeld();
    await p;
    await clock.advance(60_000);
    expect(link.nudges).toBe(6);
  });

  it('a board that answers is never nudged, and a session without nudgeAfterMs never nudges', async () => {
    const prompt = nudgeRig({ nudgeAfterMs: 500, answer: 'at-once' });
    await prompt.connect();
    for (let i = 0; i < 3; i++) await prompt.session.ping(1000);
    await prompt.clock.advance(10_000);
    expect(prompt.link.nudges).toBe(0);

    const plain = nudgeRig({ answer: 'never' });
    await plain.connect();
    const p = rejection(plain.session.ping(5000));
    await plain.clock.advance(5000);
    expect((await p).code).toBe('timeout');
    expect(plain.link.nudges).toBe(0);
    expect((await p).message).not.toContain('nudged');
  });

  it('a request that times out although nudged says how many nudges went unanswered', async () => {
    const { session, clock, connect } = nudgeRig({ nudgeAfterMs: 500, answer: 'never' });
    await connect();
    const p = rejection(session.ping(10_000));
    await clock.advance(10_000);
    const e = await p;
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/no reply to PING for 10 s on .* \(its UART nudged 4 times meanwhile\): the board may hang/);
  });
});
