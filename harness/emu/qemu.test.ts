import { describe, expect, it } from 'vitest';
import { isLabError } from '../errors.js';
import { qemuExitMessage } from './board.js';
import { efuseImage, emulatedMac, macOfEfuseImage, EFUSE_IMAGE_BYTES } from './efuse.js';
import { findQemu, listeningPort, qemuArgs } from './qemu.js';

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isLabError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a LabError');
}

describe('finding QEMU', () => {
  const executables = new Set(['/opt/kit/bin/qemu-system-xtensa', '/usr/local/bin/qemu-system-xtensa']);
  const isExe = (f: string) => executables.has(f);

  it('takes $HIL_QEMU first, then qemu-system-xtensa on PATH', () => {
    expect(findQemu({ HIL_QEMU: '/opt/kit/bin/qemu-system-xtensa', PATH: '/usr/local/bin' }, isExe)).toBe('/opt/kit/bin/qemu-system-xtensa');
    expect(findQemu({ PATH: '/usr/bin:/usr/local/bin' }, isExe)).toBe('/usr/local/bin/qemu-system-xtensa');
  });

  it('names both places in one line when there is none, and a bad HIL_QEMU on its own', () => {
    expect(failure(() => findQemu({ PATH: '/usr/bin' }, isExe))).toBe(
      'no QEMU for emulated boards: neither HIL_QEMU is set nor qemu-system-xtensa on PATH; install Espressif\'s QEMU (python $IDF_PATH/tools/idf_tools.py install qemu-xtensa) and put it on PATH, or set HIL_QEMU to its qemu-system-xtensa',
    );
    expect(failure(() => findQemu({ HIL_QEMU: '/nowhere/qemu', PATH: '/usr/local/bin' }, isExe))).toMatch(/^HIL_QEMU=\/nowhere\/qemu is not an executable file: /);
  });
});

describe('the QEMU command line of an emulated board', () => {
  const spec = { flashFile: '/lab/emu-1.flash.bin', efuseFile: '/lab/emu-1.flash.bin.efuse.bin', host: '127.0.0.1', port: 0 } as const;

  it('gives an N8R8 board its flash, eFuses, 8 MB octal PSRAM and UART0 on a TCP server that waits for the lab', () => {
    const args = qemuArgs({ ...spec, profile: 'esp32s3-devkitc-1-n8r8', strap: 'app' });
    expect(args).toEqual(expect.arrayContaining(['-machine', 'esp32s3', '-drive', 'file=/lab/emu-1.flash.bin,if=mtd,format=raw', '-m', '8M', '-serial', 'tcp:127.0.0.1:0,server=on,wait=on']));
    expect(args.join(' ')).toContain('driver=ssi_psram,property=is_octal,value=true');
    expect(args.join(' ')).toContain('driver=nvram.esp32s3.efuse,property=drive,value=efuse');
    expect(args.join(' ')).not.toContain('strap_mode');
    // The app counts instructions: 4 ns each on the virtual clock the cycle counter follows.
    expect(args.join(' ')).toContain('-icount shift=2');
  });

  it('straps the download mode (0x07) only when asked - without PSRAM, which crashes QEMU in flash writes - and gives a board without PSRAM none', () => {
    const download = qemuArgs({ ...spec, profile: 'esp32s3-devkitc-1-n8r8', strap: 'download' }).join(' ');
    expect(download).toContain('driver=esp32s3.gpio,property=strap_mode,value=0x07');
    expect(download).not.toContain('ssi_psram');
    expect(download).not.toContain('-icount'); // the ROM loader's flash writes need no instruction counting
    const n8 = qemuArgs({ ...spec, profile: 'esp32s3-devkitc-1-n8', strap: 'app' });
    expect(n8).not.toContain('-m');
    expect(n8.join(' ')).not.toContain('ssi_psram');
  });

  it('reads the port QEMU chose from its waiting line', () => {
    expect(listeningPort('qemu-system-xtensa: -serial tcp:127.0.0.1:0,server=on,wait=on: info: QEMU waiting for connection on: disconnected:tcp:127.0.0.1:46731,server=on\n')).toBe(46731);
    expect(listeningPort('Adding SPI flash device\n')).toBeUndefined();
  });

  it('turns QEMU failures into one line naming the board and the fix', () => {
    expect(qemuExitMessage('emu-1', '/lab/f.bin', 1, 'qemu-system-xtensa: -drive file=/lab/f.bin,if=mtd,format=raw: Failed to get "write" lock\nIs another process using the image [/lab/f.bin]?\n')).toBe(
      'board emu-1: its flash file /lab/f.bin is in use by another emulator (another hil process runs this board?): stop that one, or give the board another emulated.flashFile',
    );
    expect(qemuExitMessage('emu-1', '/lab/f.bin', 1, 'qemu-system-xtensa: -serial tcp:127.0.0.1:5601,server=on,wait=on: Failed to bind socket: Address already in use\n')).toMatch(/^board emu-1: QEMU could not listen on its TCP port/);
    expect(qemuExitMessage('emu-1', '/lab/f.bin', 134, 'hil-qemu-pid 12\nsomething broke\n')).toBe('board emu-1: QEMU exited with status 134: QEMU said "something broke"');
  });
});

describe('the eFuse image', () => {
  it('holds the chip revision idf.py qemu burns (v0.3) and the board\'s MAC where esptool reads it', () => {
    const image = efuseImage('7c:df:a1:12:34:56');
    expect(image.length).toBe(EFUSE_IMAGE_BYTES);
    expect(image[38]).toBe(0x0c);
    // BLOCK1 word 0 = MAC bytes 2..5, word 1 = bytes 0..1 (little-endian words).
    expect([...image.subarray(24, 32)]).toEqual([0x56, 0x34, 0x12, 0xa1, 0xdf, 0x7c, 0, 0]);
    expect(macOfEfuseImage(image)).toBe('7c:df:a1:12:34:56');
  });

  it('derives a stable, locally administered unicast MAC per board id', () => {
    expect(emulatedMac('emu-1')).toBe(emulatedMac('emu-1'));
    expect(emulatedMac('emu-1')).not.toBe(emulatedMac('emu-2'));
    expect(emulatedMac('emu-1')).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(() => efuseImage('01:00:5e:00:00:01')).toThrow(/multicast/);
  });
});
