import { describe, expect, it } from 'vitest';
import { encodeMessage, type Frame } from '../protocol/index.js';
import type { LinkFrameError } from './link.js';
import { SerialLink } from './serial-link.js';
import { serialOpenError } from './serial-errors.js';
import { FakeClock } from './testing/fake-clock.js';

function capture(link: SerialLink) {
  const out: string[] = [];
  link.on('frame', (f: Frame) => out.push(`frame ${f.requestId}`));
  link.on('log', (l: string) => out.push(`log ${l}`));
  link.on('frame-error', (e: LinkFrameError) => out.push(`error ${e.reason}${e.requestId !== undefined ? ` ${e.requestId}` : ''}`));
  return out;
}

describe('SerialLink: bytes to frames and log lines', () => {
  const pong = encodeMessage({ requestId: 7, simulated: true, more: false, body: { type: 'pong', data: new Uint8Array([1, 2, 3]) } });

  it('never takes a chunk for a message: frames and lines split and merged anywhere come out whole', async () => {
    const clock = new FakeClock();
    const link = new SerialLink({ board: 'b1', path: '/dev/null', baudRate: 115200, clock });
    const out = capture(link);
    const stream = Buffer.concat([Buffer.from('I (31) boot: ESP-IDF v5.3.3\r\nrst:0x1 (POWERON)'), Buffer.from(pong), Buffer.from(',boot:0x8\n'), Buffer.from(pong)]);
    for (let i = 0; i < stream.length; i += 5) link.receive(stream.subarray(i, i + 5));
    expect(out).toEqual(['log I (31) boot: ESP-IDF v5.3.3', 'frame 7', 'log rst:0x1 (POWERON),boot:0x8', 'frame 7']);
    expect(link.stats()).toMatchObject({ framesIn: 2, logLines: 2, bytesIn: stream.length, frameErrors: 0 });
  });

  it('after 100 ms without input, a frame cut short is a truncated error and a line without newline comes out', async () => {
    const clock = new FakeClock();
    const link = new SerialLink({ board: 'b1', path: '/dev/null', baudRate: 115200, clock });
    const out = capture(link);
    link.receive(Buffer.from('abort() was called'));
    link.receive(pong.subarray(0, 14));
    await clock.advance(99);
    expect(out).toEqual([]);
    await clock.advance(1);
    expect(out[0]).toBe('error truncated 7');
    expect(out.at(-1)).toMatch(/^log abort\(\) was called/);
  });

  it('checks its options up front', () => {
    expect(() => new SerialLink({ board: 'b1', path: '', baudRate: 115200 })).toThrow('path is required');
    expect(() => new SerialLink({ board: 'b1', path: '/dev/x', baudRate: 0 })).toThrow('baudRate must be a positive integer, got 0');
  });
});

describe('SerialLink: open errors name the board and the fix', () => {
  it('a missing port', async () => {
    const link = new SerialLink({ board: 'bench-3', path: '/dev/serial/by-id/usb-no-such-board', baudRate: 115200 });
    await expect(link.open()).rejects.toMatchObject({
      code: 'link-missing',
      message: 'board bench-3: serial port /dev/serial/by-id/usb-no-such-board does not exist: plug the board in, or fix transport.serial.port in rigs.json (a /dev/serial/by-id/... path names the board itself and survives re-plugging)',
    });
  });

  it('permission denied says dialout', () => {
    const e = serialOpenError('bench-3', '/dev/ttyACM0', new Error('Error: Permission denied, cannot open /dev/ttyACM0'));
    expect(e.code).toBe('link-permission');
    expect(e.message).toBe('board bench-3: no permission to open /dev/ttyACM0: add your user to the dialout group (sudo usermod -aG dialout $USER, then log in again)');
  });

  it('a port another program holds', () => {
    expect(serialOpenError('b', '/dev/ttyUSB0', new Error('Error Resource temporarily unavailable Cannot lock port')).message)
      .toBe('board b: serial port /dev/ttyUSB0 is in use by another program: close it (idf.py monitor, screen, minicom) and try again');
  });

  it('a file that is no serial device', async () => {
    const link = new SerialLink({ board: 'b', path: '/dev/null', baudRate: 115200 });
    await expect(link.open()).rejects.toMatchObject({ code: 'link-not-serial', message: 'board b: /dev/null is not a serial device: fix transport.serial.port in rigs.json' });
  });
});
