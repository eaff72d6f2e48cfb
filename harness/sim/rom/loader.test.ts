import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimFlash } from '../flash-memory.js';
import { RomLoader, ROM_SYNC_VALUE, type LoaderExit } from './loader.js';
import { checksum, Op } from './protocol.js';
import { DEFAULT_CHIP, Reg, RTC_WDT_WKEY, S3Registers } from './registers.js';

/** A tiny host: builds request frames and decodes the loader's answers. */
interface Answer {
  op: number;
  value: number;
  data: Uint8Array;
  status: number[];
}

let dir: string;
let flash: SimFlash;
let sent: Uint8Array[];
let loader: RomLoader;
let registers: S3Registers;
let exits: LoaderExit[];
let watchdogMs: number[];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'romloader-'));
  flash = SimFlash.open(path.join(dir, 'b.flash'), 8 * 1024 * 1024);
  sent = [];
  exits = [];
  watchdogMs = [];
  registers = new S3Registers(DEFAULT_CHIP, { flashJedecId: () => flash.jedecId, watchdogArmed: (ms) => watchdogMs.push(ms) });
  loader = new RomLoader(flash, registers, (p) => sent.push(p));
  loader.on('exit', (how) => exits.push(how));
});
afterEach(() => {
  flash.close();
  rmSync(dir, { recursive: true, force: true });
});

function u32(...ws: number[]): Uint8Array {
  const out = new Uint8Array(ws.length * 4);
  const v = new DataView(out.buffer);
  ws.forEach((w, i) => v.setUint32(i * 4, w >>> 0, true));
  return out;
}

function frame(op: number, data: Uint8Array = new Uint8Array(0), chk = 0): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  out[1] = op;
  v.setUint16(2, data.length, true);
  v.setUint32(4, chk, true);
  out.set(data, 8);
  return out;
}

function dataPacket(payload: Uint8Array, seq: number): [Uint8Array, number] {
  const out = new Uint8Array(16 + payload.length);
  out.set(u32(payload.length, seq, 0, 0));
  out.set(payload, 16);
  return [out, checksum(payload)];
}

function answers(statusLen: number): Answer[] {
  return sent.splice(0).map((p) => {
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const body = p.subarray(8);
    return { op: p[1]!, value: v.getUint32(4, true), data: body.subarray(0, body.length - statusLen), status: [...body.subarray(body.length - statusLen)] };
  });
}

async function command(op: number, data?: Uint8Array, chk?: number): Promise<Answer[]> {
  await loader.handleFrame(frame(op, data, chk));
  return answers(loader.mode === 'stub' ? 2 : 4);
}

const SYNC = Uint8Array.from([0x07, 0x07, 0x12, 0x20, ...new Array(32).fill(0x55)]);

/** Upload a "stub" with MEM_* and run it: the loader answers OHAI and switches to stub semantics. */
async function runStub(): Promise<void> {
  const text = Uint8Array.from({ length: 100 }, (_, i) => i);
  await command(Op.MEM_BEGIN, u32(text.length, 1, 0x1800, 0x40378000));
  const [pkt, chk] = dataPacket(text, 0);
  await command(Op.MEM_DATA, pkt, chk);
  await loader.handleFrame(frame(Op.MEM_END, u32(0, 0x40378010)));
  const [memEnd, ohai] = sent.splice(0);
  expect(memEnd![1]).toBe(Op.MEM_END);
  expect(Buffer.from(ohai!).toString()).toBe('OHAI');
  expect(loader.mode).toBe('stub');
}

describe('RomLoader (ROM mode)', () => {
  it('answers SYNC eight times with the ROM value and 4 status bytes', async () => {
    const got = await command(Op.SYNC, SYNC);
    expect(got).toHaveLength(8);
    for (const a of got) expect(a).toMatchObject({ op: Op.SYNC, value: ROM_SYNC_VALUE, status: [0, 0, 0, 0] });
  });

  it('answers the registers esptool reads to detect an ESP32-S3 v0.2 and its MAC', async () => {
    const read = async (addr: number) => (await command(Op.READ_REG, u32(addr)))[0]!.value;
    expect(await read(Reg.CHIP_DETECT_MAGIC)).toBe(9);
    const w3 = await read(Reg.EFUSE_BLOCK1 + 12);
    const w5 = await read(Reg.EFUSE_BLOCK1 + 20);
    expect((w3 >> 18) & 7).toBe(2); // minor revision
    expect((w5 >> 24) & 3).toBe(0); // major revision
    const mac0 = await read(Reg.EFUSE_BLOCK1);
    const mac1 = await read(Reg.EFUSE_BLOCK1 + 4);
    expect([(mac1 >> 8) & 0xff, mac1 & 0xff, mac0 >>> 24]).toEqual([0x7c, 0xdf, 0xa1]);
    const info = (await command(Op.GET_SECURITY_INFO))[0]!;
    expect(info.data.length).toBe(20);
    expect(new DataView(info.data.buffer, info.data.byteOffset).getUint32(12, true)).toBe(9); // chip_id
  });

  it('answers garbage with INVALID_MESSAGE and keeps serving the next command', async () => {
    await loader.handleFrame(Uint8Array.of(0x00, Op.READ_REG, 0xff, 0x00, 0, 0, 0, 0, 1, 2)); // size lies
    expect(answers(4)[0]).toMatchObject({ op: Op.READ_REG, status: [1, 0x05, 0, 0] });
    loader.handleBadFrame(Uint8Array.of(0x00, Op.SYNC));
    expect(answers(4)[0]).toMatchObject({ op: Op.SYNC, status: [1, 0x05, 0, 0] });
    expect(await command(Op.ERASE_FLASH)).toMatchObject([{ status: [1, 0x05, 0, 0] }]); // stub-only command
    expect((await command(Op.READ_REG, u32(Reg.CHIP_DETECT_MAGIC)))[0]!.value).toBe(9);
    expect(loader.stats.badFrames).toBe(2);
  });

  it('needs SPI_ATTACH before flash commands, then writes with the data checksum checked', async () => {
    expect((await command(Op.FLASH_BEGIN, u32(4096, 1, 4096, 0x10000, 0)))[0]!.status).toEqual([1, 0x06, 0, 0]);
    await command(Op.SPI_ATTACH, u32(0, 0));
    expect((await command(Op.FLASH_BEGIN, u32(4096, 1, 4096, 0x10000, 0)))[0]!.status).toEqual([0, 0, 0, 0]);
    const block = new Uint8Array(4096).fill(0x42);
    const [pkt, chk] = dataPacket(block, 0);
    expect((await command(Op.FLASH_DATA, pkt, chk ^ 1))[0]!.status).toEqual([1, 0x07, 0, 0]); // checksum error
    expect((await command(Op.FLASH_DATA, pkt, chk))[0]!.status).toEqual([0, 0, 0, 0]);
    const md5 = (await command(Op.SPI_FLASH_MD5, u32(0x10000, 4096, 0, 0)))[0]!;
    // The ROM answers 32 hex characters (serial-protocol.rst "Verifying Uploaded Data").
    expect(Buffer.from(md5.data).toString()).toBe(createHash('md5').update(block).digest('hex'));
    await command(Op.FLASH_END, u32(1));
    expect(exits).toEqual(['run-user-code']);
  });
});

describe('RomLoader (stub mode)', () => {
  it('runs the uploaded stub: OHAI, 2 status bytes, SYNC value 0, unknown commands 0xFF', async () => {
    await runStub();
    const sync = await command(Op.SYNC, SYNC);
    expect(sync).toHaveLength(8);
    expect(sync[0]).toMatchObject({ value: 0, status: [0, 0] });
    expect((await command(0x7e))[0]!.status).toEqual([0xff, 0]);
  });

  it('refuses MEM_END into memory it was not given', async () => {
    await command(Op.MEM_BEGIN, u32(4, 1, 4, 0x3fcb2dc0));
    const [pkt, chk] = dataPacket(Uint8Array.of(1, 2, 3, 4), 0);
    await command(Op.MEM_DATA, pkt, chk);
    expect((await command(Op.MEM_END, u32(0, 0x40379524)))[0]!.status).toEqual([1, 0x0f, 0, 0]);
    expect(loader.mode).toBe('rom');
    expect((await command(Op.MEM_BEGIN, u32(4, 1, 4, 0x20000000)))[0]!.status).toEqual([1, 0x0f, 0, 0]); // not RAM
  });

  it('inflates FLASH_DEFL_DATA blocks into flash and answers MD5 as 16 raw bytes', async () => {
    await runStub();
    const image = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 31) ^ (i >> 7));
    const z = deflateSync(image, { level: 9 });
    const blocks = Math.ceil(z.length / 4096);
    expect((await command(Op.FLASH_DEFL_BEGIN, u32(image.length, blocks, 4096, 0x20000)))[0]!.status).toEqual([0, 0]);
    for (let seq = 0; seq < blocks; seq++) {
      const [pkt, chk] = dataPacket(z.subarray(seq * 4096, (seq + 1) * 4096), seq);
      expect((await command(Op.FLASH_DEFL_DATA, pkt, chk))[0]!.status).toEqual([0, 0]);
    }
    expect((await command(Op.FLASH_DEFL_END, u32(1)))[0]!.status).toEqual([0, 0]);
    expect(exits).toEqual([]); // 1 = stay in the stub
    const md5 = (await command(Op.SPI_FLASH_MD5, u32(0x20000, image.length, 0, 0)))[0]!;
    expect(Buffer.from(md5.data).toString('hex')).toBe(createHash('md5').update(image).digest('hex'));
    expect(loader.stats).toMatchObject({ flashDataPackets: blocks, flashDataBytes: z.length, flashBytesWritten: image.length });
  });

  it('reports a corrupt deflate stream and missing data at FLASH_DEFL_END', async () => {
    await runStub();
    await command(Op.FLASH_DEFL_BEGIN, u32(1000, 1, 4096, 0x20000));
    const [pkt, chk] = dataPacket(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 0);
    // The stub ACKs a block before writing it, so the inflate error shows on the next command.
    expect((await command(Op.FLASH_DEFL_DATA, pkt, chk))[0]!.status).toEqual([0, 0]);
    expect((await command(Op.FLASH_DEFL_END, u32(1)))[0]!.status).toEqual([0xc7, 0]);
    await command(Op.FLASH_DEFL_BEGIN, u32(1000, 1, 4096, 0x20000));
    expect((await command(Op.FLASH_DEFL_END, u32(1)))[0]!.status).toEqual([0xc8, 0]); // not enough data
  });

  it('streams READ_FLASH in acknowledged blocks and ends with the MD5', async () => {
    await runStub();
    flash.program(0x30000, Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff));
    await loader.handleFrame(frame(Op.READ_FLASH, u32(0x30000, 3000, 1024, 2)));
    const [resp, ...blocks] = sent.splice(0);
    expect(resp![1]).toBe(Op.READ_FLASH);
    expect(blocks.map((b) => b.length)).toEqual([1024, 1024]); // max 2 in flight
    await loader.handleFrame(u32(1024));
    expect(sent.splice(0).map((b) => b.length)).toEqual([952]);
    await loader.handleFrame(u32(3000));
    const [digest] = sent.splice(0);
    expect(Buffer.from(digest!).toString('hex')).toBe(flash.md5Hex(0x30000, 3000));
    expect((await command(Op.READ_REG, u32(Reg.CHIP_DETECT_MAGIC)))[0]!.value).toBe(9); // back to commands
  });

  it('leaves the loader on RUN_USER_CODE (no answer) and on FLASH_END with the reboot flag', async () => {
    await runStub();
    await loader.handleFrame(frame(Op.RUN_USER_CODE));
    expect(sent).toHaveLength(0);
    expect(exits).toEqual(['run-user-code']);

    const second = new RomLoader(flash, registers, (p) => sent.push(p));
    second.on('exit', (how) => exits.push(how));
    loader = second;
    await runStub();
    await command(Op.FLASH_BEGIN, u32(0, 0, 0x4000, 0));
    await command(Op.FLASH_END, u32(0));
    expect(exits).toEqual(['run-user-code', 'software-reset']);
  });
});

describe('registers behind WRITE_REG', () => {
  it('arms the RTC watchdog only when unlocked with the key, as esptool watchdog_reset() does', async () => {
    await command(Op.WRITE_REG, u32(Reg.RTC_CNTL_WDTCONFIG0, 0x80000000 | (5 << 28), 0xffffffff, 0)); // locked
    expect(watchdogMs).toEqual([]);
    await command(Op.WRITE_REG, u32(Reg.RTC_CNTL_WDTWPROTECT, RTC_WDT_WKEY, 0xffffffff, 0));
    await command(Op.WRITE_REG, u32(Reg.RTC_CNTL_WDTCONFIG1, 2000, 0xffffffff, 0));
    await command(Op.WRITE_REG, u32(Reg.RTC_CNTL_WDTCONFIG0, ((1 << 31) | (5 << 28) | (1 << 8) | 2) >>> 0, 0xffffffff, 0));
    expect(watchdogMs).toHaveLength(1);
    expect(watchdogMs[0]).toBeCloseTo(14.7, 0); // 2000 cycles of the ~136 kHz RTC slow clock
  });

  it('clears the force-download bit through a masked write, and runs the flash ID command', async () => {
    registers.setForceDownload(true);
    await command(Op.WRITE_REG, u32(Reg.RTC_CNTL_OPTION1, 0, 1, 0));
    expect(registers.forceDownload).toBe(false);
    // esptool's runSpiflashCommand(RDID): MISO length, USR2 = command 0x9f, CMD = USR, read W0.
    await command(Op.WRITE_REG, u32(0x60002028, 23, 0xffffffff, 0));
    await command(Op.WRITE_REG, u32(0x60002020, (7 << 28) | 0x9f, 0xffffffff, 0));
    await command(Op.WRITE_REG, u32(0x60002000, 1 << 18, 0xffffffff, 0));
    expect((await command(Op.READ_REG, u32(0x60002000)))[0]!.value & (1 << 18)).toBe(0);
    expect((await command(Op.READ_REG, u32(0x60002058)))[0]!.value).toBe(0x1740c8); // GigaDevice, 8 MB
  });

  it('turns CHANGE_BAUDRATE into a baud event after answering at the old rate', async () => {
    const bauds: number[] = [];
    loader.on('baud', (b) => bauds.push(b));
    expect((await command(Op.CHANGE_BAUDRATE, u32(921600, 0)))[0]!.status).toEqual([0, 0, 0, 0]);
    expect(bauds).toEqual([921600]);
  });
});
