/**
 * A pseudo-terminal owned by a simulated board: `path` is the device a serial tool opens
 * (`/dev/pts/N`), `stream` is the board's side of the wire. See pty.c for why this is native.
 */
import { createRequire } from 'node:module';
import { closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import tty from 'node:tty';
import { LabError } from '../../errors.js';

interface PtyAddon {
  openPty(): { master: number; slave: number; path: string };
  baudRate(fd: number): number;
}

let addon: PtyAddon | undefined;

function loadAddon(): PtyAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const file = fileURLToPath(new URL('../../../build/Release/hil_pty.node', import.meta.url));
  try {
    addon = require(file) as PtyAddon;
  } catch (e) {
    throw new LabError('pty', `the PTY addon ${file} is not built: run \`npm install\` (it compiles harness/sim/pty/pty.c with node-gyp)`, { cause: e });
  }
  return addon;
}

export interface Pty {
  /** Device path of the terminal, as a serial tool opens it. */
  readonly path: string;
  /** The board's end: bytes written here arrive at the serial tool, and the tool's bytes come out. */
  readonly stream: tty.ReadStream;
  /** Baud rate the serial tool configured on the device (-1 if not a standard rate). */
  baudRate(): number;
  close(): void;
}

export function openPty(): Pty {
  const lib = loadAddon();
  const { master, slave, path } = lib.openPty();
  const stream = new tty.ReadStream(master);
  // The PTY driver reports EIO on the master when nobody holds the slave; we hold `slave` open for
  // the board's lifetime, so an EIO here only means we are closing.
  stream.on('error', () => {});
  let closed = false;
  return {
    path,
    stream,
    baudRate: () => (closed ? -1 : lib.baudRate(master)),
    close() {
      if (closed) return;
      closed = true;
      stream.destroy();
      try { closeSync(slave); } catch { /* already closed */ }
    },
  };
}
