/**
 * A simulated board's console PTY, marked "closed" until a host opens it.
 *
 * A PTY master cannot tell when someone opens the slave, and serialport discards buffered input
 * when it opens a port (tcflush), so a board that printed its boot log before anyone listened
 * would show nothing. So the console is left configured at `CLOSED_BAUD` (50 baud, a rate no
 * serial tool uses) and the board's wire holds its output (`SerialWire` `holdUntilOpen`) until
 * the terminal's rate changes: the host has opened and configured the port. Then it sees the boot
 * log and the HELLO from the start, the way `idf.py monitor` shows a board it just reset.
 */
import { SerialPort } from 'serialport';
import { openPty, type Pty } from './pty/index.js';

export const CLOSED_BAUD = 50;

/** Open a PTY and set its terminal to CLOSED_BAUD through the slave side (then close that handle). */
export async function openConsolePty(): Promise<Pty> {
  const pty = openPty();
  try {
    const port = new SerialPort({ path: pty.path, baudRate: CLOSED_BAUD, hupcl: false, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve) => port.close(() => resolve()));
  } catch (e) {
    pty.close();
    throw e;
  }
  return pty;
}
