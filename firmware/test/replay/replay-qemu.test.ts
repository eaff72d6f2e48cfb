/**
 * The recorded session of a simulated board (session.json) replayed against the lab firmware's real
 * binary in Espressif's QEMU, for the reference (ANSI C) and ESP-NN (S3 assembly) builds: the same
 * replies apart from the measured numbers compare.ts lists - the same check replay.test.ts makes
 * against the command handler built for the host, now with TFLM, ESP-NN, ESP-IDF's drivers and the
 * chip's boot in the loop. And one number the host replay cannot check: ARENA_READY's arena_used,
 * TFLM's own figure on the S3, must equal what the simulated board reported from the lab's arena
 * planner (plus ESP-NN's scratch on esp-nn builds).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, decodeFrame, decodeMessage, ErrorCode, type Message, type Request } from '../../../harness/protocol/index.js';
import { ensureEmulatedBuilds, hasKit, useKitEnv } from '../../../test/esp-kit.js';
import { compareSessions, formatDifferences } from './compare.js';
import { replayOnEmulatedBoard, type EmulatedReplay } from './qemu-board.js';
import { FIXTURE } from './record-session.js';
import { readRecording, sessionOf, type RecordedSession } from './recording.js';
import { replayModels } from './session-plan.js';

const decoded = (frames: readonly Uint8Array[]): Message[] => frames.map((f) => decodeMessage(decodeFrame(f)));
const requestOf = (bytes: Uint8Array): Request | null => {
  try {
    return decodeMessage(decodeFrame(bytes)).body as Request;
  } catch {
    return null;
  }
};

function arenaUsed(s: RecordedSession): number[] {
  return s.exchanges.flatMap((e) => decoded(e.replies).flatMap((m) => (m.body.type === 'arena_ready' ? [m.body.used] : [])));
}

function fullOutputs(s: RecordedSession): string[] {
  return s.exchanges.flatMap((e) => {
    const r = requestOf(e.request);
    if (r?.type !== 'get_output' || r.offset !== 0 || r.length !== 0xffffffff) return [];
    return [Buffer.concat(decoded(e.replies).map((m) => (m.body.type === 'output_data' ? m.body.data : new Uint8Array(0)))).toString('hex')];
  });
}

describe.runIf(hasKit)('session replay against the real firmware in QEMU (needs ../shared/esp-kit)', () => {
  let recorded: RecordedSession;
  beforeAll(async () => {
    useKitEnv();
    await ensureEmulatedBuilds();
    recorded = sessionOf(readRecording(FIXTURE));
  }, 50 * 60_000);

  for (const variant of ['reference', 'esp-nn'] as const) {
    describe(`${variant} build`, () => {
      let replay: EmulatedReplay;
      beforeAll(async () => {
        replay = await replayOnEmulatedBoard(`${variant}-qemu`, recorded.exchanges.map((e) => e.request), recorded.notes);
        // QEMU's own troubles, which the lab's session handles the same way (harness/emu/README.md).
        if (replay.nudges > 0 || replay.bootCrashes.length > 0) console.log(`replay on ${variant}-qemu: ${replay.nudges} nudge(s) of a silent UART, QEMU crashed while booting ${replay.bootCrashes.length} time(s)${replay.bootCrashes.map((c) => `\n  ${c}`).join('')}`);
      }, 5 * 60_000);

      it('answers every recorded request as the simulated board did, apart from measured numbers', () => {
        expect(replay.session.exchanges).toHaveLength(recorded.exchanges.length);
        expect(formatDifferences(compareSessions(recorded, replay.session))).toBe('');
        const hello = decodeMessage(decodeFrame(replay.session.hello!)).body;
        expect(hello).toMatchObject({ type: 'hello', variant, kernelBackend: variant, simulated: false, cpuMhz: 240 });
      });

      it('reports TFLM\'s arena_used exactly as the simulated board\'s arena planner predicted', () => {
        expect(arenaUsed(replay.session)).toEqual(arenaUsed(recorded));
        expect(arenaUsed(recorded).length).toBeGreaterThan(0);
      });

      it('gives TFLM\'s expected outputs for each model\'s test input, and ERROR UNSUPPORTED to SIM_SET_VARIANT', () => {
        const models = replayModels();
        expect(fullOutputs(replay.session)).toEqual([models.mlp, models.wide, models.float].map((m) => bytesToHex(m.expectedOutput)));
        const i = recorded.exchanges.findIndex((e) => requestOf(e.request)?.type === 'sim_set_variant');
        expect(decoded(replay.session.exchanges[i]!.replies).map((m) => m.body)).toMatchObject([{ type: 'error', code: ErrorCode.UNSUPPORTED, arg: 0 }]);
      });
    });
  }
});
