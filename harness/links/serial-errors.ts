/**
 * What went wrong opening a serial port, in one sentence naming the board and the fix. node-serialport
 * reports open failures as plain Errors whose text carries the OS reason ("No such file or
 * directory, cannot open /dev/ttyACM0"), without an errno code, so the text is what we match.
 */
import { LabError } from '../errors.js';

export function serialOpenError(board: string, path: string, e: unknown): LabError {
  const text = e instanceof Error ? e.message : String(e);
  const t = text.toLowerCase();
  if (t.includes('no such file') || t.includes('enoent')) {
    return new LabError('link-missing', `board ${board}: serial port ${path} does not exist: plug the board in, or fix transport.serial.port in rigs.json (a /dev/serial/by-id/... path names the board itself and survives re-plugging)`, { cause: e });
  }
  if (t.includes('permission denied') || t.includes('eacces')) {
    return new LabError('link-permission', `board ${board}: no permission to open ${path}: add your user to the dialout group (sudo usermod -aG dialout $USER, then log in again)`, { cause: e });
  }
  if (t.includes('cannot lock port') || t.includes('resource temporarily unavailable') || t.includes('ebusy') || t.includes('device or resource busy')) {
    return new LabError('link-busy', `board ${board}: serial port ${path} is in use by another program: close it (idf.py monitor, screen, minicom) and try again`, { cause: e });
  }
  if (t.includes('inappropriate ioctl')) {
    return new LabError('link-not-serial', `board ${board}: ${path} is not a serial device: fix transport.serial.port in rigs.json`, { cause: e });
  }
  return new LabError('link-open', `board ${board}: cannot open serial port ${path} (${text}): check the cable and transport.serial.port in rigs.json`, { cause: e });
}
