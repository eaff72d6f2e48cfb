/**
 * Bounds-checked navigation of a FlatBuffer on top of the `flatbuffers` runtime's `ByteBuffer`.
 *
 * The runtime trusts its input (an offset past the end reads `undefined` as 0, a huge vector length
 * is taken at its word), so every position is checked here before it is read, and a file that
 * points outside itself ends in one `FlatBufferError` naming the place. Termination and memory are
 * bounded too: uoffsets are unsigned and point forward only (no cycles); vector lengths are checked
 * against the bytes that remain before anything is allocated; and every decoded table and vector
 * element is charged to a budget proportional to the file size, so a small file whose tables all
 * point at the same big vector cannot make the reader do quadratic work.
 *
 * Layout rules followed: flatbuffers `reflection`-free wire format (google/flatbuffers
 * docs/source/internals.md): a table starts with an int32 soffset to its vtable; a vtable is uint16
 * [vtable bytes, table inline bytes, field offsets...]; uoffsets are uint32 relative to where they
 * are stored; vectors and strings are a uint32 length followed by the elements.
 */
import { ByteBuffer } from 'flatbuffers';

/** A structural problem of the FlatBuffer; the reader turns it into a `LabError` naming the file. */
export class FlatBufferError extends Error {
  override readonly name = 'FlatBufferError';
}

/** Work budget: decoded bytes allowed per byte of file, plus a constant for tiny files. */
const BUDGET_PER_FILE_BYTE = 4;
const BUDGET_BASE = 1 << 16;
const utf8 = new TextDecoder();

export class FbFile {
  readonly bb: ByteBuffer;
  readonly size: number;
  private budget: number;

  constructor(readonly bytes: Uint8Array) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    this.budget = BUDGET_PER_FILE_BYTE * bytes.length + BUDGET_BASE;
  }

  /** Charges `n` decoded bytes to the work budget. */
  spend(n: number, where: string): void {
    this.budget -= n;
    if (this.budget < 0) {
      throw new FlatBufferError(
        `corrupt: ${where} makes the reader decode more than ${BUDGET_PER_FILE_BYTE}x the file's ${this.size} bytes ` +
        '(tables that all point at the same data)');
    }
  }

  /** Checks that `[pos, pos + len)` lies inside the file. */
  check(pos: number, len: number, what: string): void {
    if (pos < 0 || pos + len > this.size) {
      throw new FlatBufferError(
        pos + len > this.size && pos >= 0
          ? `truncated or corrupt: ${what} ends at byte ${pos + len} but the file has ${this.size} bytes`
          : `corrupt: ${what} starts at byte ${pos}, outside the file`);
    }
  }

  /** The 4-character file identifier (bytes 4..8), or null when the file is shorter than 8 bytes. */
  identifier(): string | null {
    if (this.size < 8) return null;
    return String.fromCharCode(...this.bytes.subarray(4, 8));
  }

  /** Follows the uoffset stored at `pos`; the target must leave room for `minBytes`. */
  follow(pos: number, minBytes: number, what: string): number {
    this.check(pos, 4, `the offset to ${what}`);
    const target = pos + this.bb.readUint32(pos);
    this.check(target, minBytes, what);
    return target;
  }

  root(): Table {
    return this.tableAt(this.follow(0, 4, 'the root table'), 'model');
  }

  tableAt(pos: number, where: string): Table {
    this.check(pos, 4, `${where} (table)`);
    const vtable = pos - this.bb.readInt32(pos);
    this.check(vtable, 4, `${where} (vtable)`);
    const vtableSize = this.bb.readUint16(vtable);
    const inlineSize = this.bb.readUint16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) {
      throw new FlatBufferError(`corrupt: ${where} has a vtable of ${vtableSize} bytes at byte ${vtable}`);
    }
    this.check(vtable, vtableSize, `${where} (vtable)`);
    this.check(pos, Math.max(inlineSize, 4), `${where} (table)`);
    this.spend(Math.max(inlineSize, 4), where);
    return new Table(this, pos, where, vtable, vtableSize, inlineSize);
  }
}

/** The raw layout of a table (for options tables the lab keeps as bytes): field offsets and inline bytes. */
export interface RawTable {
  /** Offset of each vtable field from the table start (0 = absent). */
  fieldOffsets: number[];
  /** The table's inline bytes, starting with the 4-byte soffset (zeroed). */
  inline: Uint8Array;
  /** The table start's position modulo 8 in the file (keeps 8-byte fields aligned when copied). */
  alignment: number;
}

export class Table {
  constructor(
    readonly file: FbFile,
    readonly pos: number,
    /** Where this table is in the model, for error messages, e.g. `subgraph 0 tensor 12`. */
    readonly where: string,
    private readonly vtable: number,
    private readonly vtableSize: number,
    private readonly inlineSize: number,
  ) {}

  /** A table with no fields: every accessor returns its default (used for absent options tables). */
  static empty(file: FbFile, where: string): Table {
    return new Table(file, 0, where, 0, 0, 0);
  }

  /** Absolute position of field `id` (checked to hold `size` bytes), or 0 when the field is absent. */
  private field(id: number, size: number, name: string): number {
    const slot = 4 + 2 * id;
    if (slot >= this.vtableSize) return 0;
    const offset = this.file.bb.readUint16(this.vtable + slot);
    if (offset === 0) return 0;
    const pos = this.pos + offset;
    this.file.check(pos, size, `${this.where} field '${name}'`);
    return pos;
  }

  has(id: number): boolean {
    const slot = 4 + 2 * id;
    return slot < this.vtableSize && this.file.bb.readUint16(this.vtable + slot) !== 0;
  }

  int8(id: number, name: string, def = 0): number {
    const p = this.field(id, 1, name);
    return p ? this.file.bb.readInt8(p) : def;
  }

  uint8(id: number, name: string, def = 0): number {
    const p = this.field(id, 1, name);
    return p ? this.file.bb.readUint8(p) : def;
  }

  bool(id: number, name: string, def = false): boolean {
    const p = this.field(id, 1, name);
    return p ? this.file.bb.readUint8(p) !== 0 : def;
  }

  int32(id: number, name: string, def = 0): number {
    const p = this.field(id, 4, name);
    return p ? this.file.bb.readInt32(p) : def;
  }

  uint32(id: number, name: string, def = 0): number {
    const p = this.field(id, 4, name);
    return p ? this.file.bb.readUint32(p) : def;
  }

  float32(id: number, name: string, def = 0): number {
    const p = this.field(id, 4, name);
    return p ? this.file.bb.readFloat32(p) : def;
  }

  /** An unsigned 64-bit field as a number (exact up to 2^53; larger values are past any file anyway). */
  uint64(id: number, name: string, def = 0): number {
    const p = this.field(id, 8, name);
    return p ? this.file.bb.readUint32(p) + this.file.bb.readUint32(p + 4) * 2 ** 32 : def;
  }

  table(id: number, name: string): Table | null {
    const p = this.field(id, 4, name);
    if (!p) return null;
    const where = `${this.where} ${name}`;
    return this.file.tableAt(this.file.follow(p, 4, where), where);
  }

  /** Start and length of the vector at field `id`, its elements checked to lie inside the file. */
  private vector(id: number, elemSize: number, name: string): { start: number; length: number } | null {
    const p = this.field(id, 4, name);
    if (!p) return null;
    const what = `${this.where} ${name}`;
    const at = this.file.follow(p, 4, what);
    const length = this.file.bb.readUint32(at);
    const start = at + 4;
    if (length * elemSize > this.file.size - start) {
      throw new FlatBufferError(
        `truncated or corrupt: ${what} at byte ${at} claims ${length} entries of ${elemSize} bytes ` +
        `but only ${this.file.size - start} bytes remain`);
    }
    this.file.spend(length * elemSize, what);
    return { start, length };
  }

  string(id: number, name: string): string | null {
    const v = this.vector(id, 1, name);
    if (!v) return null;
    return utf8.decode(this.file.bytes.subarray(v.start, v.start + v.length));
  }

  /** A `[ubyte]` vector as a view into the file (no copy). */
  bytes(id: number, name: string): Uint8Array | null {
    const p = this.field(id, 4, name);
    if (!p) return null;
    const what = `${this.where} ${name}`;
    const at = this.file.follow(p, 4, what);
    const length = this.file.bb.readUint32(at);
    this.file.check(at + 4, length, `${what} (${length} bytes)`);
    return this.file.bytes.subarray(at + 4, at + 4 + length);
  }

  int32s(id: number, name: string): number[] | null {
    const v = this.vector(id, 4, name);
    if (!v) return null;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.file.bb.readInt32(v.start + 4 * i);
    return out;
  }

  float32s(id: number, name: string): number[] | null {
    const v = this.vector(id, 4, name);
    if (!v) return null;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.file.bb.readFloat32(v.start + 4 * i);
    return out;
  }

  /** A `[long]` vector; every value must be a safe integer (zero points are small in practice). */
  int64s(id: number, name: string): number[] | null {
    const v = this.vector(id, 8, name);
    if (!v) return null;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) {
      const at = v.start + 8 * i;
      const value = this.file.bb.readUint32(at) + this.file.bb.readInt32(at + 4) * 2 ** 32;
      if (!Number.isSafeInteger(value)) {
        throw new FlatBufferError(`corrupt: ${this.where} ${name}[${i}] is ${this.file.bb.readInt64(at)}, out of range`);
      }
      out[i] = value;
    }
    return out;
  }

  /** A vector of tables; element `i` is named `<name> i` in messages (e.g. `subgraph 0 tensor 3`). */
  tables(id: number, name: string): Table[] | null {
    const v = this.vector(id, 4, name);
    if (!v) return null;
    const out = new Array<Table>(v.length);
    for (let i = 0; i < v.length; i++) {
      const where = `${this.where === 'model' ? '' : `${this.where} `}${name} ${i}`;
      out[i] = this.file.tableAt(this.file.follow(v.start + 4 * i, 4, where), where);
    }
    return out;
  }

  /** The table's field offsets and inline bytes, to copy a table of scalars without knowing its fields. */
  raw(): RawTable {
    if (this.vtableSize === 0) return { fieldOffsets: [], inline: new Uint8Array(4), alignment: 0 };
    const fieldCount = Math.max(0, (this.vtableSize - 4) / 2);
    const fieldOffsets: number[] = [];
    for (let i = 0; i < fieldCount; i++) {
      const offset = this.file.bb.readUint16(this.vtable + 4 + 2 * i);
      if (offset !== 0 && offset + 1 > this.inlineSize) {
        throw new FlatBufferError(`corrupt: ${this.where} field ${i} at offset ${offset} lies outside its ${this.inlineSize}-byte table`);
      }
      fieldOffsets.push(offset);
    }
    // A copy with the soffset zeroed: it points at this file's vtable and means nothing elsewhere.
    const inline = this.file.bytes.slice(this.pos, this.pos + Math.max(this.inlineSize, 4));
    inline.fill(0, 0, 4);
    return { fieldOffsets, inline, alignment: this.pos % 8 };
  }
}
