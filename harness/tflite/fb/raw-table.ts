/**
 * Options tables of operators the lab does not interpret (e.g. SVDFOptions of keyword_scrambled)
 * are kept as raw bytes (`OperatorOptions` kind 'Unknown') so the writer can put them back
 * unchanged. A flatbuffers table is not one contiguous blob (its vtable may sit anywhere, shared
 * with other tables), so the bytes are this module's own small encoding of the table's layout:
 *
 *   u16 field count | u16 inline size | u8 alignment (table start mod 8) | u8 0
 *   | u16 field offset x field count | inline bytes (starting with the 4-byte soffset, zeroed)
 *
 * all little-endian. Copying is only correct for tables of scalars: `OPTIONS_TYPES_WITH_REFERENCES`
 * lists the options tables that hold vectors or strings, and the writer refuses those.
 */
import type { Builder } from 'flatbuffers';
import type { RawTable } from './table.js';

const HEADER = 6;

export function encodeRawTable(raw: RawTable): Uint8Array {
  const n = raw.fieldOffsets.length;
  const out = new Uint8Array(HEADER + 2 * n + raw.inline.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, n, true);
  view.setUint16(2, raw.inline.length, true);
  out[4] = raw.alignment;
  raw.fieldOffsets.forEach((offset, i) => view.setUint16(HEADER + 2 * i, offset, true));
  out.set(raw.inline, HEADER + 2 * n);
  return out;
}

/** Decodes `encodeRawTable`'s bytes; null when they are not such an encoding. */
export function decodeRawTable(bytes: Uint8Array): RawTable | null {
  if (bytes.length < HEADER) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint16(0, true);
  const inlineSize = view.getUint16(2, true);
  const alignment = bytes[4];
  if (alignment > 7 || inlineSize < 4 || bytes.length !== HEADER + 2 * n + inlineSize) return null;
  const fieldOffsets = Array.from({ length: n }, (_, i) => view.getUint16(HEADER + 2 * i, true));
  if (fieldOffsets.some((o) => o !== 0 && (o < 4 || o >= inlineSize))) return null;
  return { fieldOffsets, inline: bytes.subarray(HEADER + 2 * n), alignment };
}

/**
 * Writes the table into `builder` as one blob (vtable, padding, then the table) and returns the
 * table's offset. The table lands at the same position modulo 8 as in the file it came from, so a
 * 64-bit field stays aligned. The blob's soffset points back to its own vtable, which makes the blob
 * position-independent.
 */
export function writeRawTable(builder: Builder, raw: RawTable): number {
  const vtableSize = 4 + 2 * raw.fieldOffsets.length;
  // The blob start is 8-aligned (prep below); pad the vtable so the table start has the old alignment.
  const vtableSpan = vtableSize + ((raw.alignment - vtableSize) % 8 + 8) % 8;
  const blob = new Uint8Array(vtableSpan + raw.inline.length);
  const view = new DataView(blob.buffer);
  view.setUint16(0, vtableSize, true);
  view.setUint16(2, raw.inline.length, true);
  raw.fieldOffsets.forEach((offset, i) => view.setUint16(4 + 2 * i, offset, true));
  blob.set(raw.inline, vtableSpan);
  view.setInt32(vtableSpan, vtableSpan, true); // soffset: table start - vtable start
  builder.prep(8, blob.length);
  builder.pad(blob.length);
  const start = builder.dataBuffer().capacity() - builder.offset();
  builder.dataBuffer().bytes().set(blob, start);
  return builder.offset() - vtableSpan;
}

/** A 32-bit integer field of a raw table (e.g. SVDFOptions.rank for the arena planner), or `def` when absent. */
export function rawTableInt32(raw: RawTable, fieldId: number, def: number): number {
  const offset = raw.fieldOffsets[fieldId] ?? 0;
  if (offset === 0 || offset + 4 > raw.inline.length) return def;
  return new DataView(raw.inline.buffer, raw.inline.byteOffset, raw.inline.byteLength).getInt32(offset, true);
}
