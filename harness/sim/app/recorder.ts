/**
 * A replayable record of a session with a simulated board: every request frame the app received
 * and the reply frames it sent for it, as hex, in order. The firmware's command handler
 * (firmware/components/hil_core) replays the requests and must give the same replies apart from
 * the numbers a board measures (harness/sim/README.md "Session recordings" lists them).
 *
 * File format (JSON):
 *   { "format": "hil-session", "version": 1, "board": "sim-1", "variant": "esp-nn",
 *     "simulated": true, "recordedAt": "<ISO time>",
 *     "hello": "<hex of the HELLO the session started with>",
 *     "requests": ["<hex of request frame 0>", ...],
 *     "replies": [["<hex of reply frame>", ...], ...] }   // replies[i] answer requests[i]
 */
import { writeFileSync } from 'node:fs';
import { bytesToHex } from '../../protocol/index.js';

export const RECORDING_FORMAT = 'hil-session';
export const RECORDING_VERSION = 1;

export interface SessionRecording {
  format: typeof RECORDING_FORMAT;
  version: typeof RECORDING_VERSION;
  board: string;
  variant: string;
  simulated: true;
  recordedAt: string;
  hello: string | null;
  requests: string[];
  replies: string[][];
}

export class SessionRecorder {
  private readonly recording: SessionRecording;
  private current: string[] | null = null;

  constructor(board: string, variant: string) {
    this.recording = {
      format: RECORDING_FORMAT, version: RECORDING_VERSION, board, variant, simulated: true,
      recordedAt: new Date().toISOString(), hello: null, requests: [], replies: [],
    };
  }

  hello(frame: Uint8Array): void {
    if (this.recording.hello === null) this.recording.hello = bytesToHex(frame);
  }

  /** A request frame starts being handled; the frames sent until the next `request` answer it. */
  request(frame: Uint8Array): void {
    this.current = [];
    this.recording.requests.push(bytesToHex(frame));
    this.recording.replies.push(this.current);
  }

  reply(frame: Uint8Array): void {
    this.current?.push(bytesToHex(frame));
  }

  /** The request is done (its final reply went out, or the board stopped answering it). */
  done(): void {
    this.current = null;
  }

  get exchanges(): number {
    return this.recording.requests.length;
  }

  toJSON(): SessionRecording {
    return this.recording;
  }

  save(file: string): void {
    writeFileSync(file, JSON.stringify(this.recording, null, 1) + '\n');
  }
}
