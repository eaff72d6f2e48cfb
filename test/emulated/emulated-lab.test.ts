/**
 * The lab firmware's real binary on two emulated ESP32-S3 boards (Espressif QEMU with the chip's ROM,
 * from ../shared/esp-kit), end to end through the real CLI: the firmware built for QEMU with ESP-IDF,
 * `hil flash` through the real ROM serial loader (byte-exact, then skipped by MD5), `hil rigs
 * --probe`, and `hil run` of scenarios/demo-emulated.json - the demo's float and INT8 CNN on the
 * reference (ANSI C) and ESP-NN (S3 assembly on QEMU's PIE emulation) builds - with every output
 * compared with the host interpreter and every number marked emulated.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResults } from '../../harness/report/results-types.js';
import { buildRegions, ensureEmulatedBuilds, firmwareBuildDir, hasKit, hilCli } from '../esp-kit.js';
import { repoRoot } from '../shared.js';

const BOARDS = ['emu-1', 'emu-2'] as const;

describe.runIf(hasKit)('emulated boards run the real firmware end to end (needs ../shared/esp-kit)', () => {
  let dir: string;
  let rigsFile: string;
  const flashFile = (id: string) => path.join(dir, `${id}.flash.bin`);

  beforeAll(async () => {
    await ensureEmulatedBuilds();
    dir = mkdtempSync(path.join(tmpdir(), 'hil-emulated-'));
    rigsFile = path.join(dir, 'rigs.json');
    // rigs.emulated.json's boards, with their flash files in this test's folder.
    const tracked = JSON.parse(readFileSync(path.join(repoRoot, 'rigs.emulated.json'), 'utf8')) as { boards: Array<Record<string, unknown>> };
    const boards = tracked.boards.map((b) => ({ ...b, emulated: { ...(b.emulated as object), flashFile: flashFile(b.id as string) } }));
    writeFileSync(rigsFile, JSON.stringify({ $schema: path.join(repoRoot, 'harness/schemas/rigs.schema.json'), boards }, null, 2));
  }, 50 * 60_000);

  // A failed test keeps the folder (flash files, QEMU logs, the run's journal) and says where.
  let failed = false;
  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(() => {
    if (!dir) return;
    if (failed) console.error(`emulated-lab: kept ${dir} (rigs, flash files, QEMU logs, reports) for the failed test`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('a run on never-flashed boards stops at once with the command that flashes them', async () => {
    const r = await hilCli(['run', 'scenarios/demo-emulated.json', '--rigs', rigsFile, '--reports-dir', path.join(dir, 'reports')], { timeoutMs: 120_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/emulated boards emu-1, emu-2 have nothing in flash yet .*: flash them first: hil firmware build --variant <variant> --for qemu, then hil flash emu-1 emu-2 --build firmware\/build\/<variant>-qemu/);
  }, 120_000);

  it('hil flash writes the build through the real ROM loader byte for byte, checks the HELLO, and skips it all the second time', async () => {
    const build = path.relative(repoRoot, firmwareBuildDir('esp-nn-qemu'));
    const first = await hilCli(['flash', ...BOARDS, '--rigs', rigsFile, '--build', build], { timeoutMs: 300_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/emu-1\s+flashed\s+3 written/);
    expect(first.stdout).toMatch(/emu-2\s+flashed\s+3 written/);
    expect(first.stdout).toMatch(/restart reset/);
    for (const id of BOARDS) {
      const flash = readFileSync(flashFile(id));
      for (const region of buildRegions('esp-nn-qemu')) {
        expect(Buffer.compare(flash.subarray(region.offset, region.offset + region.bytes.length), region.bytes), `${id}: ${region.file} at 0x${region.offset.toString(16)}`).toBe(0);
      }
    }
    const again = await hilCli(['flash', ...BOARDS, '--rigs', rigsFile, '--build', build], { timeoutMs: 300_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/emu-1\s+unchanged\s+3 skipped/);
    expect(again.stdout).toMatch(/emu-2\s+unchanged\s+3 skipped/);
  }, 600_000);

  it('hil rigs --probe reads each emulated board\'s identity: its own MAC, 240 MHz, 8 MB PSRAM, numbers marked emulated', async () => {
    const r = await hilCli(['rigs', '--rigs', rigsFile, '--probe', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ board: string; provenance: string; identity: { mac: string; cpuMhz: number; psramSize: number; variant: string; simulated: boolean; chipRevision: number } }>;
    expect(rows.map((x) => x.provenance)).toEqual(['emulated', 'emulated']);
    for (const row of rows) {
      expect(row.identity).toMatchObject({ cpuMhz: 240, psramSize: 8 << 20, variant: 'esp-nn', simulated: false, chipRevision: 3 });
      expect(row.identity.mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    }
    expect(rows[0]!.identity.mac).not.toBe(rows[1]!.identity.mac);
  }, 120_000);

  it('hil run of the demo: every trial passes, INT8 outputs bit-exact on reference and ESP-NN builds, float within tolerance, all marked emulated', async () => {
    const reports = path.join(dir, 'reports');
    const r = await hilCli(['run', 'scenarios/demo-emulated.json', '--rigs', rigsFile, '--reports-dir', reports], { timeoutMs: 25 * 60_000 });
    const runDir = path.join(reports, readdirSync(reports).find((d) => d.includes('demo-emulated'))!);
    const results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as RunResults;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('EMULATED: these numbers come from emulated boards');
    expect(results.run.provenances).toEqual(['emulated']);
    expect(results.trials.length).toBe(16);
    const notPassed = results.trials.filter((t) => t.status !== 'passed').map((t) => `${t.id}: ${t.status} ${JSON.stringify(t.errors)}`);
    expect(notPassed, notPassed.join('\n')).toEqual([]);
    expect(results.trials.every((t) => t.provenance === 'emulated')).toBe(true);
    // The run flashed each board with the other build it needed (from the QEMU build directories).
    const events = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; build?: string; ok?: boolean });
    expect(events.filter((e) => e.type === 'board.flashed' && e.ok).map((e) => e.build)).toEqual(expect.arrayContaining(['reference-qemu']));
    for (const v of results.variants) {
      const exact = v.bitExact!;
      expect(exact.trialsNotExact, `${v.id}: ${JSON.stringify(exact.worst)}`).toBe(0);
      if (v.id.includes('int8')) expect(exact.worst.toleratedElements ?? 0, v.id).toBe(0);
      expect(v.provenance).toBe('emulated');
      // The build's static footprint (its size-report.json) is part of the run's identity.
      expect(v.memory?.build?.iramBytes, v.id).toBeGreaterThan(0);
      expect(v.memory?.build?.dramBytes, v.id).toBeGreaterThan(0);
      expect(v.memory?.imageBytes, v.id).toBe(v.memory?.build?.imageBytes);
    }
    // ESP-NN's S3 assembly and the ANSI C kernels gave the same INT8 outputs on the same inputs.
    const digests = (firmware: string) => new Set(results.trials.filter((t) => t.variant.startsWith(`${firmware}/cnn-int8/`)).map((t) => t.accuracy?.outputDigest));
    expect(digests('esp-nn')).toEqual(digests('reference'));
    const html = readFileSync(path.join(runDir, 'report.html'), 'utf8');
    expect(html).toContain('id="emulated-banner"');
    const junit = readFileSync(path.join(runDir, 'junit.xml'), 'utf8');
    expect(junit).toContain('<property name="provenance" value="emulated"/>');
  }, 26 * 60_000);
});
