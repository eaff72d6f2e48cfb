/**
 * The golden frames of firmware/protocol/golden/ (written by generate.py from PROTOCOL.md), typed.
 * The TypeScript and C++ codec tests read them; so can anything else that must speak the protocol
 * byte for byte (the simulated board, the firmware's command handler tests).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DecoderStats, DecodeErrorReason } from './frame.js';
import type { JsonMessage } from './json.js';

export const goldenDir = fileURLToPath(new URL('../../firmware/protocol/golden/', import.meta.url));
export const goldenMessagesPath = `${goldenDir}messages.json`;
export const goldenStreamsPath = `${goldenDir}streams.json`;

export interface GoldenMessage {
  name: string;
  hex: string;
  message: JsonMessage;
  /** Only decode(hex) == message holds (the frame has bytes a v1 encoder does not write). */
  decodeOnly?: boolean;
}

export interface GoldenInvalid {
  name: string;
  hex: string;
  error: 'unknown-type' | 'bad-payload' | 'unsupported-version';
}

export type GoldenEvent =
  | { kind: 'log'; line: string }
  | { kind: 'frame'; hex: string }
  | { kind: 'error'; reason: DecodeErrorReason; type?: number; requestId?: number };

export interface GoldenStream {
  name: string;
  description: string;
  hex: string;
  flush: boolean;
  events: GoldenEvent[];
  stats: DecoderStats;
}

export function loadGoldenMessages(): { messages: GoldenMessage[]; invalid: GoldenInvalid[] } {
  return JSON.parse(readFileSync(goldenMessagesPath, 'utf8')) as { messages: GoldenMessage[]; invalid: GoldenInvalid[] };
}

export function loadGoldenStreams(): GoldenStream[] {
  return (JSON.parse(readFileSync(goldenStreamsPath, 'utf8')) as { streams: GoldenStream[] }).streams;
}
