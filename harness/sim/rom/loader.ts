/**
 * The simulated ESP32-S3 serial loader: the ROM's UART download mode and, once esptool has uploaded
 * and "run" its flasher stub, the stub's protocol. One instance lives for one stay in download mode
 * (a reset brings the ROM back, without the stub).
 *
 * Behaviour follows espressif/esptool docs/en/advanced-topics/serial-protocol.rst and the stub's
 * source (flasher_stub/stub_flasher.c, cmd_loop): status bytes (ROM 4, stub 2), SYNC answered eight
 * times (value 0x20120707 from the ROM, 0 from the stub - esptool uses that to detect a running stub),
 * MD5 as 32 hex characters (ROM) or 16 raw bytes (stub), the ROM writes a block before it ACKs while
 * the stub ACKs first and reports a failure on the next command, FLASH_END's word (0 reboot, 1 run
 * user code / stay), stub-only commands 0xd0-0xd3, READ_FLASH with acks and a trailing MD5.
 *
 * "Running" the stub: the loader cannot execute Xtensa code, so a MEM_END that jumps into code it
 * was given is taken as esptool starting its flasher stub: it greets with OHAI and switches to stub
 * semantics. Garbage never crashes it: a malformed request gets INVALID_MESSAGE (ROM) or BAD_DATA_LEN
 * (stub) and the loader carries on with the next frame.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { FLASH_SECTOR_SIZE, FlashRangeError, type SimFlash } from '../flash-memory.js';
import { Inflater } from './inflater.js';
import { buildResponse, checksum, Op, opName, parseRequest, RomError, StubError, words } from './protocol.js';
import { LoadStoreFault, panicText, type S3Registers } from './registers.js';

export type LoaderMode = 'rom' | 'stub';
/** How the loader asks the board to leave: a software reset, or jump straight into the app. */
export type LoaderExit = 'software-reset' | 'run-user-code';

export interface RomLoaderEvents {
  exit: [how: LoaderExit];
  /** CHANGE_BAUDRATE: the loader now talks at this rate (after its answer went out at the old one). */
  baud: [baud: number];
  stub: [];
  /** One line per command, for a board's debug log. */
  trace: [line: string];
  /** The chip faulted (a read of an unmapped address): the ROM's panic text; the loader is silent until a reset. */
  panic: [text: string];
}

export interface RomLoaderStats {
  commands: number;
  badFrames: number;
  errorResponses: number;
  /** FLASH_DATA / FLASH_DEFL_DATA packets accepted, and their payload bytes as received. */
  flashDataPackets: number;
  flashDataBytes: number;
  /** Bytes programmed into flash by FLASH_* commands. */
  flashBytesWritten: number;
  md5Requests: number;
}

/** Largest data block the stub takes (stub_flasher.h MAX_WRITE_BLOCK). esptool-js sends 0x4000. */
export const STUB_MAX_WRITE_BLOCK = 0x4000;
/**
 * The ROM's receive limit here is the same 16 KB: esptool.py sends the ROM 1 KB blocks, esptool-js
 * (no-stub / secure download mode) sends 16 KB; the real ROM's buffer size is not documented.
 */
export const ROM_MAX_DATA_BLOCK = 0x4000;
/** A frame can carry at most a data block, the 16-byte data header and the 8-byte packet header. */
export const MAX_FRAME = STUB_MAX_WRITE_BLOCK + 16 + 8 + 64;
export const ROM_SYNC_VALUE = 0x20120707;
const SYNC_PAYLOAD = Uint8Array.from([0x07, 0x07, 0x12, 0x20, ...new Array<number>(32).fill(0x55)]);
/** ESP32-S3 RAM the ROM lets MEM_BEGIN load into (esptool targets/esp32s3.py MEMORY_MAP). */
const RAM_RANGES: Array<[number, number, string]> = [
  [0x3fc88000, 0x3fd00000, 'DRAM'],
  [0x40370000, 0x403e0000, 'IRAM'],
];

interface MemDownload {
  size: number;
  offset: number;
  received: number;
  nextSeq: number;
}

interface FlashDownload {
  compressed: boolean;
  offset: number;
  /** Bytes the host announced it will write (ROM deflate: rounded up to its block size). */
  size: number;
  written: number;
  inflater?: Inflater;
  /** Stub: a write that failed after its ACK went out is reported on the next data or END command. */
  pendingError?: number;
}

interface FlashRead {
  offset: number;
  length: number;
  blockSize: number;
  maxInFlight: number;
  sent: number;
  acked: number;
  md5: ReturnType<typeof createHash>;
}

export class RomLoader extends EventEmitter<RomLoaderEvents> {
  private modeValue: LoaderMode = 'rom';
  private spiAttached = false;
  private mem: MemDownload | undefined;
  private readonly ram: Array<{ address: number; length: number }> = [];
  private flashDl: FlashDownload | undefined;
  private reading: FlashRead | undefined;
  private exited = false;
  readonly stats: RomLoaderStats = {
    commands: 0, badFrames: 0, errorResponses: 0, flashDataPackets: 0, flashDataBytes: 0, flashBytesWritten: 0, md5Requests: 0,
  };

  constructor(
    private readonly flash: SimFlash,
    private readonly registers: S3Registers,
    /** Sends one frame's payload (the board SLIP-encodes it onto the wire). */
    private readonly send: (payload: Uint8Array) => void,
  ) {
    super();
  }

  get mode(): LoaderMode {
    return this.modeValue;
  }

  /** A frame the SLIP decoder could not read (bad escape, too long): answer like a malformed request. */
  handleBadFrame(partial: Uint8Array): void {
    this.stats.badFrames++;
    if (this.exited || this.reading) return;
    const op = partial.length >= 2 ? partial[1]! : 0;
    this.emit('trace', `bad SLIP frame (${partial.length} bytes read)`);
    this.fail(op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
  }

  async handleFrame(frame: Uint8Array): Promise<void> {
    if (this.exited) return;
    if (this.reading) {
      this.readAck(frame);
      return;
    }
    const req = parseRequest(frame);
    if ('invalid' in req) {
      this.stats.badFrames++;
      this.emit('trace', `invalid request: ${req.invalid}`);
      if (req.op !== undefined) this.fail(req.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
      return;
    }
    this.stats.commands++;
    this.emit('trace', `${this.modeValue} ${opName(req.op)} (${req.data.length} bytes)`);
    try {
      await this.dispatch(req.op, req.data, req.checksum);
    } catch (e) {
      if (e instanceof LoadStoreFault) {
        this.emit('trace', `  -> ${e.message}: panic`);
        this.close();
        this.emit('panic', panicText(e.address));
        return;
      }
      if (!(e instanceof FlashRangeError)) throw e;
      this.fail(req.op, RomError.INVALID_PARAMETER, StubError.FAILED_SPI_OP);
    }
  }

  /** Stop talking (the chip is resetting). */
  close(): void {
    this.exited = true;
    this.flashDl?.inflater?.close();
    this.flashDl = undefined;
    this.reading = undefined;
  }

  // --- responses -------------------------------------------------------------------------------

  private status(error: number): Uint8Array {
    if (this.modeValue === 'stub') return Uint8Array.of(error, 0);
    return error === 0 ? new Uint8Array(4) : Uint8Array.of(1, error, 0, 0);
  }

  private ok(op: number, value = 0, data: Uint8Array = new Uint8Array(0)): void {
    this.send(buildResponse(op, value, data, this.status(0)));
  }

  private fail(op: number, romError: number, stubError: number): void {
    this.stats.errorResponses++;
    const code = this.modeValue === 'stub' ? stubError : romError;
    this.emit('trace', `  -> error 0x${code.toString(16)}`);
    this.send(buildResponse(op, 0, new Uint8Array(0), this.status(code)));
  }

  // --- commands ----------------------------------------------------------------------------------

  private async dispatch(op: number, data: Uint8Array, chk: number): Promise<void> {
    const stub = this.modeValue === 'stub';
    const maxBlock = stub ? STUB_MAX_WRITE_BLOCK : ROM_MAX_DATA_BLOCK;
    if (data.length > maxBlock + 16) return this.fail(op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    switch (op) {
      case Op.SYNC:
        return this.sync(data);
      case Op.READ_REG:
        if (data.length !== 4) return this.badLength(op);
        return this.ok(op, this.registers.read(words(data, 1)[0]!));
      case Op.WRITE_REG: {
        // Four words per write (address, value, mask, delay); esptool-js appends a second write to
        // UART_DATE_REG as a delay, so accept any whole number of them (stub: handle_write_reg).
        if (data.length === 0 || data.length % 16 !== 0) return this.badLength(op);
        for (let i = 0; i < data.length; i += 16) {
          const [address, value, mask] = words(data.subarray(i, i + 16), 3);
          this.registers.write(address!, value!, mask!);
        }
        return this.ok(op);
      }
      case Op.GET_SECURITY_INFO:
        if (data.length !== 0) return this.badLength(op);
        return this.ok(op, 0, this.securityInfo());
      case Op.SPI_ATTACH:
        // ROM: the word plus a second (zero) word; stub: one word (serial-protocol.rst SPI_ATTACH).
        if (data.length !== (stub ? 4 : 8)) return this.badLength(op);
        this.spiAttached = true;
        return this.ok(op);
      case Op.SPI_SET_PARAMS:
        if (data.length !== 24) return this.badLength(op);
        return this.ok(op);
      case Op.CHANGE_BAUDRATE: {
        if (data.length !== 8) return this.badLength(op);
        const [baud] = words(data, 1);
        if (!baud) return this.fail(op, RomError.INVALID_PARAMETER, StubError.BAD_DATA_LEN);
        this.ok(op);
        this.emit('baud', baud);
        return;
      }
      case Op.MEM_BEGIN:
        return this.memBegin(data);
      case Op.MEM_DATA:
        return this.memData(data, chk);
      case Op.MEM_END:
        return this.memEnd(data);
      case Op.FLASH_BEGIN:
      case Op.FLASH_DEFL_BEGIN:
        return this.flashBegin(op, data);
      case Op.FLASH_DATA:
      case Op.FLASH_DEFL_DATA:
        return this.flashData(op, data, chk);
      case Op.FLASH_END:
      case Op.FLASH_DEFL_END:
        return this.flashEnd(op, data);
      case Op.SPI_FLASH_MD5:
        return this.md5(data);
    }
    if (!stub) return this.fail(op, RomError.INVALID_MESSAGE, 0); // the ROM does not know 0xd0-0xd3
    switch (op) {
      case Op.ERASE_FLASH:
        if (data.length !== 0) return this.badLength(op);
        this.flash.eraseAll();
        return this.ok(op);
      case Op.ERASE_REGION: {
        if (data.length !== 8) return this.badLength(op);
        const [offset, size] = words(data, 2) as [number, number];
        if (offset % FLASH_SECTOR_SIZE !== 0 || size % FLASH_SECTOR_SIZE !== 0) return this.fail(op, 0, StubError.BAD_DATA_LEN);
        this.flash.eraseRange(offset, size);
        return this.ok(op);
      }
      case Op.READ_FLASH:
        return this.readFlash(data);
      case Op.RUN_USER_CODE:
        // No response: "Returning from here will run user code" (stub_flasher.c).
        return this.exit('run-user-code');
    }
    return this.fail(op, 0, StubError.CMD_NOT_IMPLEMENTED);
  }

  private badLength(op: number): void {
    this.fail(op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
  }

  private sync(data: Uint8Array): void {
    if (data.length !== SYNC_PAYLOAD.length || data.some((b, i) => b !== SYNC_PAYLOAD[i])) return this.badLength(Op.SYNC);
    const value = this.modeValue === 'stub' ? 0 : ROM_SYNC_VALUE;
    for (let i = 0; i < 8; i++) this.ok(Op.SYNC, value);
  }

  /** GET_SECURITY_INFO (20 bytes on the S3): flags, flash_crypt_cnt, 7 key purposes, chip_id, eco. */
  private securityInfo(): Uint8Array {
    const out = new Uint8Array(20);
    const view = new DataView(out.buffer);
    view.setUint32(0, 0, true); // no secure boot, no flash encryption, no secure download mode
    view.setUint32(12, 9, true); // chip_id: ESP32-S3 (esptool IMAGE_CHIP_ID)
    view.setUint32(16, this.registers.chip.majorRevision * 100 + this.registers.chip.minorRevision, true);
    return out;
  }

  private memBegin(data: Uint8Array): void {
    if (data.length !== 16) return this.badLength(Op.MEM_BEGIN);
    const [size, , , offset] = words(data, 4) as [number, number, number, number];
    const range = RAM_RANGES.find(([lo, hi]) => offset >= lo && offset + size <= hi);
    if (!range) return this.fail(Op.MEM_BEGIN, RomError.RAM_ADDRESS, StubError.BAD_DATA_LEN);
    this.mem = { size, offset, received: 0, nextSeq: 0 };
    this.ok(Op.MEM_BEGIN);
  }

  private memData(data: Uint8Array, chk: number): void {
    const mem = this.mem;
    if (!mem) return this.fail(Op.MEM_DATA, RomError.FAILED, StubError.NOT_IN_FLASH_MODE);
    if (data.length < 16) return this.badLength(Op.MEM_DATA);
    const [len, seq] = words(data, 2) as [number, number];
    const payload = data.subarray(16);
    if (len !== payload.length) return this.badLength(Op.MEM_DATA);
    if (checksum(payload) !== (chk & 0xff)) return this.fail(Op.MEM_DATA, RomError.CHECKSUM, StubError.BAD_DATA_CHECKSUM);
    if (seq !== mem.nextSeq || mem.received + len > mem.size) return this.fail(Op.MEM_DATA, RomError.RAM_SIZE, StubError.BAD_DATA_LEN);
    mem.nextSeq++;
    mem.received += len;
    if (mem.received === mem.size) this.ram.push({ address: mem.offset, length: mem.size });
    this.ok(Op.MEM_DATA);
  }

  private memEnd(data: Uint8Array): void {
    if (data.length !== 8) return this.badLength(Op.MEM_END);
    const [noEntry, entry] = words(data, 2) as [number, number];
    this.mem = undefined;
    if (noEntry !== 0 || entry === 0) return this.ok(Op.MEM_END);
    const inCode = this.ram.some((r) => entry >= r.address && entry < r.address + r.length && entry >= 0x40370000);
    if (!inCode) return this.fail(Op.MEM_END, RomError.RAM_ADDRESS, StubError.BAD_DATA_LEN);
    this.ok(Op.MEM_END);
    // The flasher stub starts: it attaches the SPI flash itself and greets (stub_main: SLIP_send "OHAI").
    this.modeValue = 'stub';
    this.spiAttached = true;
    this.flashDl = undefined;
    this.send(new TextEncoder().encode('OHAI'));
    this.emit('stub');
  }

  private flashBegin(op: number, data: Uint8Array): void {
    const stub = this.modeValue === 'stub';
    // The ROM takes a fifth word (1 = encrypted write); the stub takes four (serial-protocol.rst).
    if (stub ? data.length !== 16 : data.length !== 16 && data.length !== 20) return this.badLength(op);
    const [size, , blockSize, offset, encrypted] = words(data, 5) as [number, number, number, number, number];
    if (stub && blockSize > STUB_MAX_WRITE_BLOCK) return this.fail(op, 0, StubError.BAD_BLOCKSIZE);
    if (!stub && !this.spiAttached) {
      // "On ESP32-S3 ROM loader, it is required to send this command [SPI_ATTACH] before interacting
      // with SPI flash" (serial-protocol.rst). esptool-js never sends it: fine with its stub only.
      return this.fail(op, RomError.FAILED, 0);
    }
    if (encrypted) return this.fail(op, RomError.FAILED, 0);
    this.flashDl?.inflater?.close();
    this.flashDl = undefined;
    if (size > 0) {
      const start = Math.floor(offset / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE;
      const end = Math.ceil((offset + size) / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE;
      if (end > this.flash.size) return this.fail(op, RomError.INVALID_PARAMETER, StubError.FAILED_SPI_OP);
      this.flash.eraseRange(start, end - start);
    }
    const compressed = op === Op.FLASH_DEFL_BEGIN;
    this.flashDl = { compressed, offset, size, written: 0, inflater: compressed ? new Inflater() : undefined };
    this.ok(op);
  }

  private async flashData(op: number, data: Uint8Array, chk: number): Promise<void> {
    const stub = this.modeValue === 'stub';
    const dl = this.flashDl;
    const compressed = op === Op.FLASH_DEFL_DATA;
    if (!dl || dl.compressed !== compressed) return this.fail(op, RomError.FAILED, StubError.NOT_IN_FLASH_MODE);
    if (data.length < 16) return this.badLength(op);
    const [len] = words(data, 1) as [number];
    const payload = data.subarray(16);
    if (len !== payload.length) return this.badLength(op);
    if (checksum(payload) !== (chk & 0xff)) return this.fail(op, RomError.CHECKSUM, StubError.BAD_DATA_CHECKSUM);
    if (stub && dl.pendingError) return this.fail(op, 0, dl.pendingError);
    this.stats.flashDataPackets++;
    this.stats.flashDataBytes += payload.length;
    // The stub ACKs a block as soon as it is received and writes it while the next one arrives
    // (serial-protocol.rst "Writing Data"); the ROM writes first, then answers.
    if (stub) this.ok(op);
    const error = await this.writeBlock(dl, payload);
    if (stub) {
      if (error) dl.pendingError = error.stub;
      return;
    }
    if (error) return this.fail(op, error.rom, 0);
    this.ok(op);
  }

  private async writeBlock(dl: FlashDownload, payload: Uint8Array): Promise<{ rom: number; stub: number } | undefined> {
    let bytes = payload;
    if (dl.inflater) {
      try {
        bytes = await dl.inflater.push(payload);
      } catch {
        return { rom: RomError.DEFLATE, stub: StubError.INFLATE_ERROR };
      }
      if (dl.written + bytes.length > dl.size) return { rom: RomError.DEFLATE, stub: StubError.TOO_MUCH_DATA };
    } else if (this.modeValue === 'stub' && dl.written + bytes.length > dl.size) {
      // The stub writes exactly the announced size; esptool pads the last block with 0xFF.
      bytes = bytes.subarray(0, Math.max(0, dl.size - dl.written));
    }
    const at = dl.offset + dl.written;
    if (at + bytes.length > this.flash.size) return { rom: RomError.FLASH_WRITE, stub: StubError.FAILED_SPI_OP };
    this.flash.program(at, bytes);
    dl.written += bytes.length;
    this.stats.flashBytesWritten += bytes.length;
    return undefined;
  }

  private flashEnd(op: number, data: Uint8Array): void {
    const stub = this.modeValue === 'stub';
    if (data.length !== 4) return this.badLength(op);
    const [runUserCode] = words(data, 1) as [number];
    const dl = this.flashDl;
    if (stub) {
      // stub_write_flash.c handle_flash_end: not in flash mode, data missing, or a deferred write error.
      if (!dl) return this.fail(op, 0, StubError.NOT_IN_FLASH_MODE);
      if (dl.pendingError) return this.fail(op, 0, dl.pendingError);
      if (dl.written < dl.size) return this.fail(op, 0, StubError.NOT_ENOUGH_DATA);
    }
    dl?.inflater?.close();
    this.flashDl = undefined;
    this.ok(op);
    // "0 to reboot, 1 to run user code" (serial-protocol.rst); the stub stays on 1 (stub_flasher.c).
    if (runUserCode === 0) this.exit('software-reset');
    else if (!stub) this.exit('run-user-code');
  }

  private md5(data: Uint8Array): void {
    if (data.length !== 16) return this.badLength(Op.SPI_FLASH_MD5);
    if (this.modeValue === 'rom' && !this.spiAttached) return this.fail(Op.SPI_FLASH_MD5, RomError.FAILED, 0);
    const [address, size] = words(data, 2) as [number, number];
    if (address + size > this.flash.size) return this.fail(Op.SPI_FLASH_MD5, RomError.FLASH_READ, StubError.FAILED_SPI_OP);
    this.stats.md5Requests++;
    const digest = this.flash.md5(address, size);
    // ROM: 32 lowercase hex characters; stub: the 16 raw bytes (serial-protocol.rst "Verifying Uploaded Data").
    const body = this.modeValue === 'stub' ? digest : new TextEncoder().encode(Buffer.from(digest).toString('hex'));
    this.ok(Op.SPI_FLASH_MD5, 0, body);
  }

  private readFlash(data: Uint8Array): void {
    if (data.length !== 16) return this.badLength(Op.READ_FLASH);
    const [offset, length, blockSize, maxInFlight] = words(data, 4) as [number, number, number, number];
    if (offset + length > this.flash.size || blockSize === 0 || blockSize > STUB_MAX_WRITE_BLOCK || maxInFlight === 0) {
      return this.fail(Op.READ_FLASH, 0, StubError.BAD_DATA_LEN);
    }
    this.ok(Op.READ_FLASH);
    if (length === 0) {
      this.send(new Uint8Array(createHash('md5').digest()));
      return;
    }
    this.reading = { offset, length, blockSize, maxInFlight, sent: 0, acked: 0, md5: createHash('md5') };
    this.pumpRead();
  }

  /** Send blocks while fewer than max_in_flight are unacknowledged (stub_commands.c handle_flash_read). */
  private pumpRead(): void {
    const r = this.reading;
    if (!r) return;
    while (r.sent < r.length && r.sent - r.acked < r.maxInFlight * r.blockSize) {
      const n = Math.min(r.blockSize, r.length - r.sent);
      const block = this.flash.read(r.offset + r.sent, n);
      r.md5.update(block);
      r.sent += n;
      this.send(block);
    }
  }

  private readAck(frame: Uint8Array): void {
    const r = this.reading!;
    if (frame.length !== 4) {
      this.stats.badFrames++;
      return; // not an ack: the real stub would wait for one too
    }
    r.acked = Math.max(r.acked, new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, true));
    if (r.acked >= r.length) {
      this.reading = undefined;
      this.send(new Uint8Array(r.md5.digest()));
      return;
    }
    this.pumpRead();
  }

  private exit(how: LoaderExit): void {
    this.emit('trace', `leaving the loader: ${how}`);
    this.close();
    this.emit('exit', how);
  }
}
