import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESPLoader, Transport } from 'esptool-js';
import { SimRomBoard } from '../sim/rom/board.js';
import { isMapped, panicText } from '../sim/rom/registers.js';
import { chipRevisionNumber, LabLoader } from './esp-loader.js';
import { NodeWebSerialPort } from './webserial-port.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'esp-loader-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { clean: () => {}, writeLine: () => {}, write: () => {} };

async function mainOn(Loader: typeof ESPLoader, name: string): Promise<{ chip?: string; revision?: number; error?: string }> {
  const board = SimRomBoard.start({ name, flashPath: path.join(dir, `${name}.flash`), flashSize: 8 * 1024 * 1024, start: 'download' });
  const port = new NodeWebSerialPort(board.path, { board: name });
  const transport = new Transport(port as unknown as ConstructorParameters<typeof Transport>[0], false);
  transport.trace = () => {};
  const loader = new Loader({ transport, baudrate: 115200, romBaudrate: 115200, terminal: quiet });
  try {
    const chip = await loader.main('no_reset');
    return { chip, revision: await loader.chip.getChipRevision?.(loader) };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await transport.disconnect().catch(() => {});
    await board.close();
  }
}

describe('esptool-js on the ESP32-S3 ROM loader: the chip revision', () => {
  it('the simulated ROM faults on the ESP32 eFuse address esptool-js 0.7 reads, as the real S3 ROM does in QEMU', () => {
    expect(isMapped(0x3ff5a00c)).toBe(false);
    expect(isMapped(0x60007044)).toBe(true); // the S3's own eFuse block 1
    expect(panicText(0x3ff5a00c)).toMatch(/^Guru Meditation Error: Core {2}0 panic'ed \(LoadStoreError\)[^]*EXCVADDR: 0x3ff5a00c/);
  });

  it('unmodified esptool-js fails against it with the error a user saw against the real ROM', async () => {
    const r = await mainOn(ESPLoader, 'plain');
    expect(r.error).toMatch(/Invalid head of packet \(0x47\)/);
  });

  it('LabLoader reads the S3\'s own eFuse fields: connect and stub work, revision = major * 100 + minor', async () => {
    const r = await mainOn(LabLoader, 'lab');
    expect(r.error).toBeUndefined();
    expect(r.chip).toMatch(/^ESP32-S3/);
    expect(r.revision).toBe(chipRevisionNumber(0, 2)); // the simulated chip is a v0.2
    expect(chipRevisionNumber(1, 2)).toBe(102);
  });
});
