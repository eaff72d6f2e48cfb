/**
 * Issue 7, "Done when": the simulated board and the firmware agree message for message. The
 * recorded session of a simulated board (session.json, made by record-session.ts) is replayed
 * against the firmware's command handler on the host (the host board process), and every reply
 * must be the same apart from the measured numbers compare.ts lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ErrorCode, bytesToHex, decodeFrame, decodeMessage, encodeMessage, type Message, type Request,
} from '../../../harness/protocol/index.js';
import { LabError } from '../../../harness/errors.js';
import type { HostBuildResult } from '../host/build.js';
import { compareSessions, formatDifferences } from './compare.js';
import { buildHostBoard, replayOnHostBoard, type HostReplay } from './host-board.js';
import { FIXTURE, recordSimulatedSession, recorderDisagreements, type SimulatedSession } from './record-session.js';
import { readRecording, sessionOf, type RecordedSession } from './recording.js';
import { replayModels } from './session-plan.js';

const decoded = (frames: readonly Uint8Array[]): Message[] => frames.map((f) => decodeMessage(decodeFrame(f)));

function requestOf(bytes: Uint8Array): Request | null {
  try {
    return decodeMessage(decodeFrame(bytes)).body as Request;
  } catch {
    return null;
  }
}

describe('session replay: the simulated board and the firmware command handler agree message for message', () => {
  let build: HostBuildResult;
  let recorded: RecordedSession;
  let replay: HostReplay | undefined;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hil-replay-test-'));

  beforeAll(async () => {
    recorded = sessionOf(readRecording(FIXTURE));
    build = await buildHostBoard();
    if (build.ok) replay = await replayOnHostBoard(build.binary, recorded.exchanges.map((e) => e.request), recorded.notes);
  }, 300_000);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('builds the host board (the firmware\'s command handler as a process)', () => {
    expect(build.ok, `${build.command}\n${build.log}`).toBe(true);
  });

  it('replays the recorded session: the same replies apart from measured numbers', () => {
    expect(replay, 'the host board did not run').toBeDefined();
    expect(replay!.session.exchanges).toHaveLength(recorded.exchanges.length);
    expect(formatDifferences(compareSessions(recorded, replay!.session))).toBe('');
    // RESET ended the host board like a restart; nothing went wrong on the way (ASan/UBSan are on).
    expect(replay!.exitCode, replay!.stderr).toBe(0);
    expect(replay!.logLines.at(-1)).toMatch(/reset requested/);
  });

  it('covers the session issue 7 asks for', () => {
    const types = new Set(recorded.exchanges.map((e) => requestOf(e.request)?.type ?? 'damaged'));
    for (const t of [
      'negotiate', 'ping', 'get_info', 'model_begin', 'model_chunk', 'model_end', 'arena_config', 'set_input', 'invoke',
      'get_output', 'accuracy_begin', 'accuracy_input', 'accuracy_run', 'memory_report', 'log_level', 'sim_set_variant', 'reset', 'damaged',
    ]) expect(types, t).toContain(t);
    const errors = new Set(recorded.exchanges.flatMap((e) => decoded(e.replies)).flatMap((m) => (m.body.type === 'error' ? [m.body.code] : [])));
    for (const code of ['BAD_FRAME', 'UNKNOWN_COMMAND', 'UNSUPPORTED_VERSION', 'BAD_STATE', 'BAD_ARGUMENT', 'BAD_OFFSET', 'MODEL_SHA_MISMATCH', 'MODEL_TOO_LARGE', 'ARENA_TOO_SMALL', 'OUT_OF_MEMORY', 'BAD_TENSOR'] as const) {
      expect(errors, code).toContain(ErrorCode[code]);
    }
    const invokes = recorded.exchanges.filter((e) => {
      const r = requestOf(e.request);
      return r?.type === 'invoke' && r.warmup > 0 && r.measured > 0 && r.profile;
    });
    expect(invokes.length).toBeGreaterThan(0);
    expect(recorded.hello, 'the HELLO the session started with').not.toBeNull();
  });

  it('carries real outputs: both sides give TFLM\'s expected bytes for each model\'s test input', () => {
    const models = replayModels();
    const full = (s: RecordedSession): string[] => s.exchanges.flatMap((e) => {
      const r = requestOf(e.request);
      if (r?.type !== 'get_output' || r.offset !== 0 || r.length !== 0xffffffff) return [];
      return [Buffer.concat(decoded(e.replies).map((m) => (m.body.type === 'output_data' ? m.body.data : new Uint8Array(0)))).toString('hex')];
    });
    const expected = [models.mlp, models.wide, models.float].map((m) => bytesToHex(m.expectedOutput));
    expect(full(recorded)).toEqual(expected);
    expect(full(replay!.session)).toEqual(expected);
  });

  it('answers SIM_SET_VARIANT differently by design: OK on the simulated board, ERROR UNSUPPORTED from the firmware', () => {
    const i = recorded.exchanges.findIndex((e) => requestOf(e.request)?.type === 'sim_set_variant');
    expect(decoded(recorded.exchanges[i]!.replies).map((m) => m.body)).toEqual([{ type: 'ok' }]);
    expect(decoded(replay!.session.exchanges[i]!.replies).map((m) => m.body)).toMatchObject([{ type: 'error', code: ErrorCode.UNSUPPORTED, arg: 0 }]);
  });

  it('fails when the firmware\'s replies differ: one output byte changed in the real replay is caught', () => {
    const changed: RecordedSession = { ...replay!.session, exchanges: replay!.session.exchanges.map((e) => ({ ...e, replies: [...e.replies] })) };
    const i = changed.exchanges.findIndex((e) => requestOf(e.request)?.type === 'get_output' && decoded(e.replies)[0]!.body.type === 'output_data');
    const m = decoded(changed.exchanges[i]!.replies)[0]!;
    if (m.body.type !== 'output_data') throw new Error('not an OUTPUT_DATA');
    const data = Uint8Array.from(m.body.data, (b, k) => (k === 1 ? b ^ 0x40 : b));
    changed.exchanges[i]!.replies[0] = encodeMessage({ ...m, body: { ...m.body, data } });
    const diffs = compareSessions(recorded, changed);
    expect(diffs).toHaveLength(1);
    expect(diffs[0]).toMatchObject({ exchange: i, detail: expect.stringMatching(/^replies\[0\]\.body\.data: /) });
  });

  it('a fresh recording of the simulated board matches the fixture, the simulator\'s own recorder, and the firmware', async () => {
    const fresh: SimulatedSession = await recordSimulatedSession();
    expect(recorderDisagreements(fresh)).toEqual([]);
    expect(fresh.session.exchanges.map((e) => bytesToHex(e.request))).toEqual(recorded.exchanges.map((e) => bytesToHex(e.request)));
    // The checked-in fixture is not stale: the simulator still answers as recorded.
    expect(formatDifferences(compareSessions(recorded, fresh.session, { simulatedVsFirmware: false, sides: ['fixture', 'fresh recording'] }))).toBe('');
    expect(formatDifferences(compareSessions(fresh.session, replay!.session))).toBe('');
  }, 60_000);

  it('names the file and the fix when a recording is damaged', () => {
    const file = path.join(tmp, 'broken.session.json');
    writeFileSync(file, JSON.stringify({ format: 'hil-session', version: 1, hello: null, requests: ['f5a5'], replies: [] }));
    expect(() => readRecording(file)).toThrow(LabError);
    expect(() => readRecording(file)).toThrow(`${file}: replies is missing or malformed`);
    writeFileSync(file, '{"format": "hil-sess');
    expect(() => readRecording(file)).toThrow(/is not a readable JSON session recording .*record it again/);
  });
});
