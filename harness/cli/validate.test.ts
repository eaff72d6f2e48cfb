import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { validateFiles } from './validate.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const testdata = path.relative(repo, fileURLToPath(new URL('../config/testdata/', import.meta.url)));

describe('hil validate', () => {
  it('says ok with a summary for good files and the one-line error for bad ones', () => {
    const results = validateFiles([
      path.join(repo, 'rigs.json'),
      path.join(repo, testdata, 'good', 'scenario-full.json'),
      path.join(repo, testdata, 'bad', 'scenario-canary-order.json'),
      path.join(repo, 'package.json'),
    ], { rigs: path.join(repo, 'rigs.json'), variants: path.join(repo, 'firmware', 'variants') });
    const rel = (p: string) => path.relative(process.cwd(), path.join(repo, p));
    expect(results.map((r) => [r.ok, r.line])).toEqual([
      [true, `ok ${rel('rigs.json')} (rigs: 4 boards, 4 simulated)`],
      [true, `ok ${rel(`${testdata}/good/scenario-full.json`)} (scenario: 25 variants x 4 boards x 4 rounds = 400 trials, 5 firmware builds)`],
      [false, `${rel(`${testdata}/bad/scenario-canary-order.json`)}: /canary/quarantineDriftPct: 5% is below flagDriftPct 10% (a board is flagged before it is quarantined)`],
      [false, `${rel('package.json')}: cannot tell whether this is a rigs file, a scenario or a firmware variant (add "$schema": the path of harness/schemas/rigs.schema.json or harness/schemas/scenario.schema.json)`],
    ]);
  });

  it('checks a scenario\'s board selector against the rigs file, and says which variants a board cannot run', () => {
    const [r] = validateFiles([path.join(repo, testdata, 'good', 'scenario-full.json')], { rigs: path.join(repo, testdata, 'good', 'rigs-lab.json') });
    // rigs-lab has desk-2 without PSRAM, and scenario-full asks for a PSRAM arena: desk-2 is left out of those variants.
    expect(r.ok).toBe(true);
    expect(r.line).toMatch(/scenario-full\.json \(scenario: 25 variants x 3 boards x 4 rounds = \d+ trials, 5 firmware builds, \d+ variant\(s\) left out on a board that cannot run them\)$/);
    expect(r.warnings.filter((w) => w.startsWith('skipped ')).every((w) => / on desk-2: the board has no PSRAM \(psramBytes 0 in the rigs\), and the variant's arena is in PSRAM$/.test(w))).toBe(true);
    expect(r.warnings.some((w) => w.startsWith('skipped '))).toBe(true);
  });

  it('checks the firmware variant files', () => {
    const results = validateFiles([path.join(repo, 'firmware', 'variants', 'esp-nn.json'), path.join(repo, 'firmware', 'variants', 'variant.schema.json')]);
    expect(results.map((r) => r.line)).toEqual([
      expect.stringMatching(/^ok .*firmware\/variants\/esp-nn\.json \(firmware variant: esp-nn kernels, esp-nn \d+\.\d+\.\d+\)$/),
      expect.stringMatching(/^skip .*firmware\/variants\/variant\.schema\.json \(a JSON Schema, not a config file\)$/),
    ]);
  });

  it('the real CLI exits 2 and prints every error line when a file is invalid', async () => {
    const run = promisify(execFile);
    const files = [`${testdata}/bad/rigs-typo-in-serial.json`, 'rigs.json', `${testdata}/bad/rigs-comment.json`];
    const failed = await run(process.execPath, ['bin/hil.js', 'validate', ...files], { cwd: repo }).then(
      () => { throw new Error('hil validate should have failed'); },
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(failed.code).toBe(2);
    expect(failed.stdout).toBe('ok rigs.json (rigs: 4 boards, 4 simulated)\n');
    expect(failed.stderr).toBe([
      `${testdata}/bad/rigs-typo-in-serial.json: /boards/0/transport/serial: unknown field "prot" (did you mean "port"?)`,
      `${testdata}/bad/rigs-comment.json:2:3: invalid JSON: comments are not allowed in JSON (use a "description" field instead)`,
      '',
    ].join('\n'));
    const ok = await run(process.execPath, ['bin/hil.js', 'validate', 'rigs.json'], { cwd: repo });
    expect(ok.stdout).toBe('ok rigs.json (rigs: 4 boards, 4 simulated)\n');
  });
});
