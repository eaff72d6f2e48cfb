import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { SimRomBoard, type BootEvent } from './board.js';
import { makeImageSet, type ImageSet } from '../../flash/testing/make-image-set.js';
import { SimFlash } from '../flash-memory.js';
import { slipEncode } from './slip.js';

const MB = 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'simrom-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function imageSet(options: Parameters<typeof makeImageSet>[0] = {}): ImageSet {
  const set = makeImageSet({ appSize: 100 * 1024, modelSize: 32 * 1024, ...options });
  cleanups.push(() => set.cleanup());
  return set;
}

/** Put an image set into a flash file directly (what a finished flashing leaves behind). */
function burn(flashPath: string, set: ImageSet): void {
  const flash = SimFlash.open(flashPath, 8 * MB);
  for (const f of set.files) {
    flash.eraseRange(f.offset, Math.ceil(f.bytes.length / 4096) * 4096);
    flash.program(f.offset, f.bytes);
  }
  flash.close();
}

async function start(options: Parameters<typeof SimRomBoard.start>[0]): Promise<{ board: SimRomBoard; console: () => string; port: SerialPort; firstBoot: BootEvent }> {
  const board = SimRomBoard.start({ ...options, wire: { throttle: false } });
  cleanups.push(() => board.close());
  const port = new SerialPort({ path: board.path, baudRate: 115200 });
  await once(port, 'open');
  cleanups.push(() => new Promise<void>((r) => port.close(() => r())));
  let text = '';
  port.on('data', (b: Buffer) => (text += b.toString('latin1')));
  const firstBoot = board.lastBoot!;
  // Output from before the host opened the device is gone (as with a real UART): reset the board
  // with the console attached when the test needs the boot log.
  if (options.start !== 'download') {
    const again = board.nextBoot();
    board.reset();
    await again;
  }
  await new Promise((r) => setTimeout(r, 50));
  return { board, console: () => text, port, firstBoot };
}

describe('SimRomBoard', () => {
  it('boots the app found in flash and reports its esp_app_desc_t identity, with a real-looking boot log', async () => {
    const dir = tempDir();
    const set = imageSet({ seed: 4 });
    burn(path.join(dir, 'b.flash'), set);
    const { board, console: log } = await start({ name: 'b', flashPath: path.join(dir, 'b.flash'), flashSize: 8 * MB });
    expect(board.mode).toBe('app');
    expect(board.app?.description.appElfSha256).toBe(set.appElfSha256);
    expect(board.app?.partition.label).toBe('factory');
    await new Promise((r) => setTimeout(r, 50));
    expect(log()).toContain('ESP-ROM:esp32s3-20210327');
    expect(log()).toMatch(/rst:0x1 \(POWERON\),boot:0x8 \(SPI_FAST_FLASH_BOOT\)/);
    expect(log()).toMatch(/load:0x3fce3810,len:0x/);
    expect(log()).toMatch(/I \(\d+\) boot:  3 model +data 0x40 +01 40 /);
    expect(log()).toContain('I (');
    expect(log()).toMatch(/boot: Loaded app from partition at offset 0x10000/);
  });

  it('halts on blank flash and on a corrupted app, saying why as the bootloader would', async () => {
    const dir = tempDir();
    const blank = await start({ name: 'blank', flashPath: path.join(dir, 'blank.flash'), flashSize: 8 * MB });
    expect(blank.firstBoot).toMatchObject({ mode: 'halted' });
    expect(blank.firstBoot.error).toMatch(/no bootloader at 0x0/);
    await new Promise((r) => setTimeout(r, 50));
    expect(blank.console()).toContain('invalid header: 0xffffffff');

    const set = imageSet({ corrupt: 'app-checksum' });
    burn(path.join(dir, 'bad.flash'), set);
    const bad = await start({ name: 'bad', flashPath: path.join(dir, 'bad.flash'), flashSize: 8 * MB });
    expect(bad.firstBoot.mode).toBe('halted');
    expect(bad.firstBoot.error).toMatch(/factory at 0x10000: image checksum is 0x.. but its segments sum to 0x../);
    await new Promise((r) => setTimeout(r, 50));
    expect(bad.console()).toMatch(/E \(\d+\) esp_image: Checksum failed\. Calculated 0x[0-9a-f]+ read 0x[0-9a-f]+/);
    expect(bad.console()).toMatch(/Factory app partition is not bootable/);
  });

  it('enters download mode in-band (force-download + restart), answers the loader, and a watchdog reset boots the app', async () => {
    const dir = tempDir();
    const set = imageSet();
    burn(path.join(dir, 'b.flash'), set);
    const { board, console: log, port } = await start({ name: 'b', flashPath: path.join(dir, 'b.flash'), flashSize: 8 * MB });
    expect(board.mode).toBe('app');
    const download = board.nextBoot();
    board.enterDownloadMode();
    expect(await download).toMatchObject({ mode: 'download', reason: 'RTC_SW_SYS_RST' });
    await new Promise((r) => setTimeout(r, 50));
    expect(log()).toMatch(/rst:0x3 \(RTC_SW_SYS_RST\),boot:0x8 \(SPI_FAST_FLASH_BOOT\)\r\nwaiting for download\r\n/);

    // A host clears the force-download bit and arms the RTC watchdog (esptool watchdog_reset()).
    const writeReg = (addr: number, value: number, mask = 0xffffffff) => {
      const data = Buffer.alloc(16);
      data.writeUInt32LE(addr, 0);
      data.writeUInt32LE(value >>> 0, 4);
      data.writeUInt32LE(mask >>> 0, 8);
      const f = Buffer.alloc(8 + 16);
      f[1] = 0x09;
      f.writeUInt16LE(16, 2);
      data.copy(f, 8);
      port.write(Buffer.from(slipEncode(f)));
    };
    const app = board.nextBoot();
    writeReg(0x6000812c, 0, 1);
    writeReg(0x600080b0, 0x50d83aa1);
    writeReg(0x6000809c, 2000);
    writeReg(0x60008098, (1 << 31) | (5 << 28) | (1 << 8) | 2);
    writeReg(0x600080b0, 0);
    expect(await app).toMatchObject({ mode: 'app', reason: 'RTCWDT_RTC_RST' });
    expect(board.app?.description.appElfSha256).toBe(set.appElfSha256);
    expect(board.loader).toBeUndefined();
  });

  it('comes back in download mode after a watchdog reset while the force-download bit is still set', async () => {
    const dir = tempDir();
    const { board } = await start({ name: 'b', flashPath: path.join(dir, 'b.flash'), flashSize: 8 * MB, start: 'download' });
    expect(board.mode).toBe('download');
    const next = board.nextBoot();
    board.softwareReset();
    expect((await next).mode).toBe('download');
    const off = board.nextBoot();
    board.reset(); // EN pin: a chip reset clears the RTC option register
    expect((await off).mode).toBe('halted'); // blank flash
  });
});
