/**
 * A simulated firmware on a temporary flash, with its serial session on an in-memory wire: for
 * tests that throw bytes straight at the app's input (no PTY, no throttling).
 */
import { Duplex } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrameDecoder, decodeMessage, type Message } from '../../protocol/index.js';
import { parsePartitionTable, PARTITION_TABLE_OFFSET } from '../../flash/partition-table.js';
import { parseEspImage } from '../../flash/image.js';
import { SimFlash } from '../flash-memory.js';
import { SerialWire } from '../serial-wire.js';
import { SerialLink } from '../transport-serial.js';
import { BoardClock } from '../app/clock.js';
import { SimFirmware } from '../app/firmware.js';
import { installSimulatedFirmware } from '../app/firmware-image.js';
import { parseVariant } from '../app/variants.js';

export interface FirmwareRig {
  firmware: SimFirmware;
  link: SerialLink;
  /** Bytes from the "host" into the board. */
  write(bytes: Uint8Array): void;
  /** Everything the board sent, decoded. */
  messages: Message[];
  lines: string[];
  close(): void;
}

export function firmwareRig(seed = 1): FirmwareRig {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-rig-'));
  const flash = SimFlash.open(path.join(dir, 'flash'), 16 * 1024 * 1024);
  const variant = parseVariant('esp-nn')!;
  const images = installSimulatedFirmware(flash, variant);
  const app = parseEspImage(images.app, 'app').app!;
  const decoder = new FrameDecoder();
  const messages: Message[] = [];
  const lines: string[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      for (const e of decoder.push(chunk)) {
        if (e.kind === 'frame') messages.push(decodeMessage(e.frame));
        else if (e.kind === 'log') lines.push(e.line);
      }
      cb();
    },
  });
  const wire = new SerialWire({ stream, baudRate: () => 921600 }, { throttle: false });
  const link = new SerialLink(wire);
  const firmware = new SimFirmware({
    board: 'rig', variant, seed, clock: new BoardClock(0.001),
    host: { reset() {}, setVariant() {}, afterInference: () => true, log: (l) => link.print([l]) },
    flash, partitions: parsePartitionTable(flash.read(PARTITION_TABLE_OFFSET, 0xc00), 'table'),
    links: { serial: true, mqtt: false },
    identity: {
      appElfSha256: app.appElfSha256, appVersion: app.version, projectName: app.projectName, idfVersion: app.idfVersion,
      tflmVersion: '1.3.5', resetReason: 1, mac: [0x7c, 0xdf, 0xa1, 0, 0, seed & 0xff], chipRevision: 2,
      flashBytes: flash.size, psramBytes: 8 * 1024 * 1024, psramMode: 'octal', imageBytes: images.app.length,
    },
  });
  link.attach(firmware);
  return {
    firmware, link, messages, lines,
    write: (bytes) => stream.push(Buffer.from(bytes)),
    close() {
      firmware.stop();
      link.close();
      wire.close();
      flash.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
