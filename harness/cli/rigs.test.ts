import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hil } from './testing/hil.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const labRigs = fileURLToPath(new URL('../config/testdata/good/rigs-lab.json', import.meta.url));

afterEach(() => {
  process.exitCode = undefined;
});

describe('hil rigs', () => {
  it('lists the four simulated boards of the tracked rigs.json', async () => {
    const r = await hil('rigs', '--rigs', path.join(repo, 'rigs.json'));
    expect(r.code).toBe(0);
    expect(r.out).toBe([
      'BOARD  CHIP     LINK                   WHERE                         TAGS                 SIMULATED / EMULATED',
      'sim-1  esp32s3  serial 921600 classic  (PTY of the simulated fleet)  s3,n16r8,sim,serial  simulated esp32s3-devkitc-1-n16r8',
      'sim-2  esp32s3  serial 921600 classic  (PTY of the simulated fleet)  s3,n16r8,sim,serial  simulated esp32s3-devkitc-1-n16r8',
      'sim-3  esp32s3  mqtt                   lab/sim-3 @ embedded broker   s3,n16r8,sim,mqtt    simulated esp32s3-devkitc-1-n16r8',
      'sim-4  esp32s3  mqtt                   lab/sim-4 @ embedded broker   s3,n16r8,sim,mqtt    simulated esp32s3-devkitc-1-n16r8',
      '',
    ].join('\n'));
  });

  it('shows a board on two links as two rows, real ports, and the rigs warnings', async () => {
    const r = await hil('rigs', '--rigs', labRigs);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('desk-2 '))).toEqual([
      expect.stringMatching(/^desk-2 +esp32s3 +serial 115200 usb-jtag +\/dev\/ttyACM0 +s3,n8,desk +-$/),
      expect.stringMatching(/^desk-2 +esp32s3 +mqtt +lab\/desk-2 @ mqtts:\/\/broker\.lab:8883 +s3,n8,desk +-$/),
    ]);
    expect(r.err).toContain('warning: ');
    expect(r.err).toContain('"/dev/ttyACM0" can change when boards are replugged');
  });

  it('prints the boards with defaults applied as JSON', async () => {
    const r = await hil('rigs', '--rigs', path.join(repo, 'rigs.json'), '--json');
    const json = JSON.parse(r.out) as { mqtt: unknown; boards: { id: string; transport: { serial?: { baud: number; flashBaud: number } } }[] };
    expect(json.mqtt).toEqual({ url: 'embedded', embeddedPort: 0 });
    expect(json.boards.map((b) => b.id)).toEqual(['sim-1', 'sim-2', 'sim-3', 'sim-4']);
    expect(json.boards[0].transport.serial).toEqual({ baud: 921600, flashBaud: 921600, reset: 'classic' });
  });

  it('fails with the one-line error and exit code 2 on a broken rigs file', async () => {
    const bad = fileURLToPath(new URL('../config/testdata/bad/rigs-duplicate-id.json', import.meta.url));
    const r = await hil('rigs', '--rigs', bad);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`hil: ${path.relative(process.cwd(), bad)}: /boards/2/id: duplicate board id "sim-2" (also /boards/1/id; ids must be unique)\n`);
  });
});
