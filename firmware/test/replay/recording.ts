/**
 * The replay fixture: a session recording in the simulated board's format (`hil-session` v1,
 * harness/sim/app/recorder.ts, harness/sim/README.md "Session recordings") with one addition, a
 * `notes` line per request saying what it checks. Any `hil sim --record` file reads here too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LabError } from '../../../harness/errors.js';
import { bytesToHex, hexToBytes } from '../../../harness/protocol/index.js';
import { RECORDING_FORMAT, RECORDING_VERSION, type SessionRecording } from '../../../harness/sim/app/recorder.js';
import type { Exchange } from './exchange.js';

export interface ReplayRecording extends SessionRecording {
  /** notes[i] says what requests[i] checks (optional: plain recordings have none). */
  notes?: string[];
}

/** A recording as bytes: the HELLO the session started with and the exchanges. */
export interface RecordedSession {
  hello: Uint8Array | null;
  exchanges: Exchange[];
  notes: string[];
}

const isHex = (s: unknown): s is string => typeof s === 'string' && /^([0-9a-f]{2})*$/.test(s);

/** Reads and checks a recording; a damaged file ends in one LabError naming the file and the field. */
export function readRecording(file: string): ReplayRecording {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LabError('replay', `${file} is not a readable JSON session recording (${e instanceof Error ? e.message : String(e)}): record it again with \`npx tsx firmware/test/replay/record-session.ts\``);
  }
  const r = json as Partial<ReplayRecording>;
  const bad = (field: string): never => {
    throw new LabError('replay', `${file}: ${field} is missing or malformed (expected a ${RECORDING_FORMAT} v${RECORDING_VERSION} recording): record it again with \`npx tsx firmware/test/replay/record-session.ts\``);
  };
  if (r.format !== RECORDING_FORMAT) bad('format');
  if (r.version !== RECORDING_VERSION) bad('version');
  if (r.hello !== null && !isHex(r.hello)) bad('hello');
  if (!Array.isArray(r.requests) || !r.requests.every(isHex)) bad('requests');
  if (!Array.isArray(r.replies) || r.replies.length !== r.requests!.length) bad('replies');
  r.replies!.forEach((rs, i) => {
    if (!Array.isArray(rs) || !rs.every(isHex)) bad(`replies[${i}]`);
  });
  if (r.notes !== undefined && (!Array.isArray(r.notes) || r.notes.length !== r.requests!.length)) bad('notes');
  return r as ReplayRecording;
}

export function sessionOf(recording: ReplayRecording): RecordedSession {
  return {
    hello: recording.hello === null ? null : hexToBytes(recording.hello),
    exchanges: recording.requests.map((req, i) => ({ request: hexToBytes(req), replies: recording.replies[i]!.map(hexToBytes) })),
    notes: recording.notes ?? recording.requests.map(() => ''),
  };
}

export function recordingOf(session: RecordedSession, meta: { board: string; variant: string; recordedAt?: string }): ReplayRecording {
  return {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    board: meta.board,
    variant: meta.variant,
    simulated: true,
    recordedAt: meta.recordedAt ?? new Date().toISOString(),
    hello: session.hello === null ? null : bytesToHex(session.hello),
    requests: session.exchanges.map((e) => bytesToHex(e.request)),
    replies: session.exchanges.map((e) => e.replies.map(bytesToHex)),
    notes: session.notes,
  };
}

/** Same layout as the simulator's SessionRecorder.save (one space of indent). */
export function writeRecording(file: string, recording: ReplayRecording): void {
  writeFileSync(file, JSON.stringify(recording, null, 1) + '\n');
}
