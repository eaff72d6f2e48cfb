import { describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { once } from 'node:events';
import { openPty } from './index.js';

describe('openPty', () => {
  it('gives a device path a serial tool can open, carrying bytes both ways and the baud rate it set', async () => {
    const pty = openPty();
    try {
      expect(pty.path).toMatch(/^\/dev\/pts\/\d+$/);
      const port = new SerialPort({ path: pty.path, baudRate: 921600 });
      await once(port, 'open');
      expect(pty.baudRate()).toBe(921600);

      const fromTool = once(pty.stream, 'data');
      port.write('ping');
      expect(String((await fromTool)[0])).toBe('ping');

      const fromBoard = once(port, 'data');
      pty.stream.write('pong');
      expect(String((await fromBoard)[0])).toBe('pong');

      // A tool closing the device must not take the board's end down: it can be opened again.
      await new Promise<void>((resolve, reject) => port.close((e) => (e ? reject(e) : resolve())));
      const again = new SerialPort({ path: pty.path, baudRate: 115200 });
      await once(again, 'open');
      const later = once(again, 'data');
      pty.stream.write('still here');
      expect(String((await later)[0])).toBe('still here');
      expect(pty.baudRate()).toBe(115200);
      await new Promise<void>((resolve) => again.close(() => resolve()));
    } finally {
      pty.close();
    }
  });
});
