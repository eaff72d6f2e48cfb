/**
 * A noisy line (corrupted bytes, seeded), with the session's `resendDamaged`: a request the board got damaged is answered BAD_FRAME
 * and sent again, a damaged reply fails its request at once and a repeatable one is sent again,
 * a chunked upload resumes where the board says it is - and the results are still exact, with no
 * reset. Serial, on a PTY or behind a TCP serial port (the noise is on the board's UART, which
 * ser2net or the emulator forwards as it is): both directions. MQTT: replies only, because a damaged command message is
 * dropped by the board without an answer (PROTOCOL.md section 6: a message must be exactly one
 * valid frame), which only a timeout can tell; TCP does not damage bytes, a broken bridge would.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardSession } from '../../harness/boards/session.js';
import { valuesOf } from '../../harness/lab/tensor-bytes.js';
import { sha256Hex } from '../../harness/protocol/index.js';
import { Interpreter } from '../../harness/tflite/interpreter.js';
import { readModel } from '../../harness/tflite/reader.js';
import { aedesTarget, ptyTarget, tcpTarget, type ConformanceRig } from './targets.js';

const model = new Uint8Array(readFileSync(new URL('../../models/demo/fashion_cnn_int8.tflite', import.meta.url)));
const T = 10_000;

const lines = [
  { target: ptyTarget, direction: 'both' as const },
  { target: tcpTarget, direction: 'both' as const },
  { target: aedesTarget, direction: 'to-host' as const },
];

describe.each(lines)('a noisy line ($direction) over $target.name', ({ target, direction }) => {
  let rig: ConformanceRig;
  let s: BoardSession;

  beforeAll(async () => {
    rig = await target.start([{ kind: 'corrupt-bytes', probability: direction === 'both' ? 5e-5 : 2e-3, direction }]);
    s = rig.session({ resendDamaged: true });
    await s.connect(T);
  });

  afterAll(async () => {
    await s?.close();
    await rig?.stop();
  });

  it('uploads and runs correctly, resending what the line damaged', async () => {
    const sha = sha256Hex(model);
    for (let i = 0; i < 3; i++) {
      const ready = await s.uploadModelDetailed(model, sha, 'psram', T);
      expect(ready.sha256).toBe(sha);
    }
    await s.configureArena(64 * 1024, 'internal', T);
    const input = Uint8Array.from({ length: 784 }, (_, i) => (i * 37) & 0xff);
    await s.setInput(0, input, T);
    await s.invoke({ warmup: 0, measured: 5, profile: false, timeoutMs: T });
    const it = new Interpreter(readModel(model));
    it.setInput(0, valuesOf('int8', input));
    it.invoke();
    const out = it.output(0);
    expect(await s.getOutput(0, T)).toEqual(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    expect(s.stats().resends).toBeGreaterThan(0); // the line did damage requests, and nothing failed
    expect(s.state).toBe('ready');
  });
});
