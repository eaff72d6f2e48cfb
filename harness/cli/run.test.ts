import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hil } from './testing/hil.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

afterEach(() => {
  process.exitCode = undefined;
});

describe('hil run: mistakes end in one line and exit 2, before any run exists', () => {
  const reports = mkdtempSync(path.join(tmpdir(), 'hil-cli-run-'));
  const cases: Array<[string, string[], RegExp]> = [
    ['no scenario', ['run', '--reports-dir', reports], /^hil: hil run needs a scenario file \(e\.g\. hil run scenarios\/demo\.json\), or --resume <run-id>\n$/],
    ['a missing scenario', ['run', 'scenarios/nope.json', '--reports-dir', reports], /^hil: scenarios\/nope\.json: file not found \(check the path\)\n$/],
    ['a bad time scale', ['run', 'scenarios/demo.json', '--time-scale', 'fast', '--reports-dir', reports], /^hil: --time-scale fast: give a positive number/],
    ['an unknown run to resume', ['run', '--resume', '20990101-000000-x-abcd', '--reports-dir', reports], /^hil: no run journal at .*20990101-000000-x-abcd\/events\.jsonl/],
    ['a run id that is a path', ['run', '--resume', '../etc', '--reports-dir', reports], /^hil: "\.\.\/etc" is not a run id/],
    ['--no-sim with simulated boards that have no port', ['run', 'scenarios/demo.json', '--no-sim', '--reports-dir', reports, '--rigs', path.join(repo, 'rigs.json')],
      /^hil: .*rigs\.json: board "sim-1" is simulated without a serial port, so with --no-sim there is no device to reach it on/],
  ];
  for (const [what, args, expected] of cases) {
    it(what, async () => {
      const cwd = process.cwd();
      process.chdir(repo);
      try {
        const r = await hil(...args);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(expected);
        expect(r.err.split('\n').filter((l) => l !== '')).toHaveLength(1);
      } finally {
        process.chdir(cwd);
      }
    });
  }

  it('--no-sim with the embedded broker names the broker problem', async () => {
    const rigs = path.join(reports, 'rigs-mqtt.json');
    writeFileSync(rigs, JSON.stringify({ mqtt: { url: 'embedded' }, boards: [{ id: 'm1', chip: 'esp32s3', transport: { mqtt: { topic: 'lab/m1' } }, tags: ['sim'], simulated: { profile: 'esp32s3-devkitc-1-n16r8' } }] }));
    const r = await hil('run', path.join(repo, 'scenarios/demo.json'), '--no-sim', '--rigs', rigs, '--reports-dir', reports);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\/mqtt\/url is "embedded", a broker that only exists inside the hil process that starts the simulated boards/);
  });
});
