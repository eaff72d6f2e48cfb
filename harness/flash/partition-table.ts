/**
 * The binary ESP-IDF partition table (what `partitions.csv` becomes, flashed at 0x8000): read it to
 * find the app a board boots and the `model` data partition, and build one for tests.
 *
 * Format, from ESP-IDF `components/partition_table/gen_esp32part.py`: 32-byte entries
 *   u16 magic 0x50AA (bytes AA 50), u8 type, u8 subtype, u32 offset, u32 size, char label[16], u32 flags
 * then an MD5 entry (bytes EB EB, 14 x FF, then the MD5 of all entries before it), then 0xFF up to
 * 0xC00 bytes (MAX_PARTITION_LENGTH). A row of 0xFF ends the table.
 */
import { createHash } from 'node:crypto';
import { LabError } from '../errors.js';

export const PARTITION_TABLE_OFFSET = 0x8000;
export const PARTITION_TABLE_MAX_LENGTH = 0xc00;
const ENTRY_SIZE = 32;
const ENTRY_MAGIC = [0xaa, 0x50] as const;
const MD5_MAGIC = [0xeb, 0xeb] as const;
/** App partitions are mapped by the MMU in 64 KB pages, so they must start on a 64 KB boundary. */
export const APP_PARTITION_ALIGN = 0x10000;
export const DATA_PARTITION_ALIGN = 0x1000;

export const PARTITION_TYPES: Record<string, number> = { app: 0x00, data: 0x01 };
export const APP_SUBTYPES: Record<string, number> = {
  factory: 0x00, test: 0x20,
  ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`ota_${i}`, 0x10 + i])),
};
export const DATA_SUBTYPES: Record<string, number> = {
  ota: 0x00, phy: 0x01, nvs: 0x02, coredump: 0x03, nvs_keys: 0x04, efuse: 0x05, undefined: 0x06,
  esphttpd: 0x80, fat: 0x81, spiffs: 0x82, littlefs: 0x83,
};

export interface Partition {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  encrypted: boolean;
  readonly: boolean;
}

export interface PartitionSpec {
  label: string;
  type: 'app' | 'data' | number;
  /** A name (`factory`, `ota_0`, `nvs`, `phy`, ...) or a number (custom data subtypes are 0x40-0xFE). */
  subtype: string | number;
  offset: number;
  size: number;
  encrypted?: boolean;
  readonly?: boolean;
}

function nameOf(table: Record<string, number>, value: number): string | undefined {
  return Object.entries(table).find(([, v]) => v === value)?.[0];
}

export function typeName(p: Partition): string {
  return nameOf(PARTITION_TYPES, p.type) ?? `0x${p.type.toString(16)}`;
}

export function subtypeName(p: Partition): string {
  const table = p.type === PARTITION_TYPES.app ? APP_SUBTYPES : p.type === PARTITION_TYPES.data ? DATA_SUBTYPES : {};
  return nameOf(table, p.subtype) ?? `0x${p.subtype.toString(16)}`;
}

/** Parse a binary table; `what` names it in errors (a file path, or "partition table of board b1"). */
export function parsePartitionTable(bytes: Uint8Array, what: string): Partition[] {
  const fail = (why: string): never => {
    throw new LabError('partition-table', `${what} is not a valid partition table: ${why} (regenerate it with idf.py partition-table)`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Partition[] = [];
  for (let pos = 0; pos + ENTRY_SIZE <= Math.min(bytes.length, PARTITION_TABLE_MAX_LENGTH); pos += ENTRY_SIZE) {
    const row = bytes.subarray(pos, pos + ENTRY_SIZE);
    if (row.every((b) => b === 0xff)) break;
    if (row[0] === MD5_MAGIC[0] && row[1] === MD5_MAGIC[1]) {
      const stored = Buffer.from(row.subarray(16, 32)).toString('hex');
      const calculated = createHash('md5').update(bytes.subarray(0, pos)).digest('hex');
      if (stored !== calculated) fail(`its MD5 entry says ${stored} but the entries hash to ${calculated}`);
      break;
    }
    if (row[0] !== ENTRY_MAGIC[0] || row[1] !== ENTRY_MAGIC[1]) {
      fail(`entry ${entries.length} at offset 0x${pos.toString(16)} starts with 0x${row[0]!.toString(16)} 0x${row[1]!.toString(16)}, not the entry magic AA 50`);
    }
    const labelBytes = row.subarray(12, 28);
    const end = labelBytes.indexOf(0);
    const flags = view.getUint32(pos + 28, true);
    entries.push({
      label: Buffer.from(end < 0 ? labelBytes : labelBytes.subarray(0, end)).toString('utf8'),
      type: row[2]!,
      subtype: row[3]!,
      offset: view.getUint32(pos + 4, true),
      size: view.getUint32(pos + 8, true),
      encrypted: (flags & 1) !== 0,
      readonly: (flags & 2) !== 0,
    });
  }
  // A table without an MD5 entry is valid too (gen_esp32part.py --disable-md5sum).
  if (entries.length === 0) fail('it has no entries');
  return entries;
}

function resolveSpec(spec: PartitionSpec): Partition {
  const type = typeof spec.type === 'number' ? spec.type : PARTITION_TYPES[spec.type];
  if (type === undefined) throw new TypeError(`partition ${spec.label}: unknown type ${String(spec.type)}`);
  let subtype: number | undefined;
  if (typeof spec.subtype === 'number') subtype = spec.subtype;
  else subtype = (type === PARTITION_TYPES.app ? APP_SUBTYPES : DATA_SUBTYPES)[spec.subtype];
  if (subtype === undefined) throw new TypeError(`partition ${spec.label}: unknown subtype ${String(spec.subtype)}`);
  return { label: spec.label, type, subtype, offset: spec.offset, size: spec.size, encrypted: spec.encrypted ?? false, readonly: spec.readonly ?? false };
}

/** Build the binary table (0xC00 bytes, with the MD5 entry), as gen_esp32part.py writes it. */
export function buildPartitionTable(specs: PartitionSpec[]): Uint8Array {
  const parts = specs.map(resolveSpec);
  if ((parts.length + 1) * ENTRY_SIZE > PARTITION_TABLE_MAX_LENGTH) throw new RangeError(`too many partitions (${parts.length})`);
  const out = new Uint8Array(PARTITION_TABLE_MAX_LENGTH).fill(0xff);
  const view = new DataView(out.buffer);
  parts.forEach((p, i) => {
    const pos = i * ENTRY_SIZE;
    const label = Buffer.from(p.label, 'utf8');
    if (label.length > 16) throw new RangeError(`partition label ${p.label} is longer than 16 bytes`);
    out[pos] = ENTRY_MAGIC[0];
    out[pos + 1] = ENTRY_MAGIC[1];
    out[pos + 2] = p.type;
    out[pos + 3] = p.subtype;
    view.setUint32(pos + 4, p.offset, true);
    view.setUint32(pos + 8, p.size, true);
    out.fill(0, pos + 12, pos + 28);
    out.set(label, pos + 12);
    view.setUint32(pos + 28, (p.encrypted ? 1 : 0) | (p.readonly ? 2 : 0), true);
  });
  const md5At = parts.length * ENTRY_SIZE;
  out[md5At] = MD5_MAGIC[0];
  out[md5At + 1] = MD5_MAGIC[1];
  out.set(createHash('md5').update(out.subarray(0, md5At)).digest(), md5At + 16);
  return out;
}

/** Problems a bootloader would trip over: misaligned partitions, overlaps, partitions past the flash. */
export function partitionTableProblems(parts: Partition[], flashSize: number): string[] {
  const problems: string[] = [];
  const tableEnd = PARTITION_TABLE_OFFSET + 0x1000;
  for (const p of parts) {
    const align = p.type === PARTITION_TYPES.app ? APP_PARTITION_ALIGN : DATA_PARTITION_ALIGN;
    if (p.offset % align !== 0) problems.push(`partition ${p.label} at 0x${p.offset.toString(16)} is not aligned to 0x${align.toString(16)}`);
    if (p.offset < tableEnd) problems.push(`partition ${p.label} at 0x${p.offset.toString(16)} overlaps the bootloader or the partition table (partitions start at 0x${tableEnd.toString(16)} or later)`);
    if (p.offset + p.size > flashSize) problems.push(`partition ${p.label} (0x${p.offset.toString(16)}+0x${p.size.toString(16)}) ends past the ${flashSize / (1024 * 1024)} MB flash`);
  }
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.offset + prev.size > cur.offset) problems.push(`partitions ${prev.label} and ${cur.label} overlap`);
  }
  return problems;
}

export function findPartition(parts: Partition[], label: string): Partition | undefined {
  return parts.find((p) => p.label === label);
}

/** App partitions in boot-priority order without OTA data: factory first, then ota_0, ota_1, ... */
export function appPartitions(parts: Partition[]): Partition[] {
  return parts
    .filter((p) => p.type === PARTITION_TYPES.app && (p.subtype === APP_SUBTYPES.factory || (p.subtype >= 0x10 && p.subtype <= 0x1f)))
    .sort((a, b) => a.subtype - b.subtype);
}

export function otaAppPartitions(parts: Partition[]): Partition[] {
  return parts.filter((p) => p.type === PARTITION_TYPES.app && p.subtype >= 0x10 && p.subtype <= 0x1f).sort((a, b) => a.subtype - b.subtype);
}

export function otaDataPartition(parts: Partition[]): Partition | undefined {
  return parts.find((p) => p.type === PARTITION_TYPES.data && p.subtype === DATA_SUBTYPES.ota);
}
