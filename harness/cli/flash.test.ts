import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRigs, type BoardConfig, type Rigs } from '../config/index.js';
import { readFlasherArgs, type FirmwareBuild } from '../flash/flasher-args.js';
import { makeImageSet, type ImageSet } from '../flash/testing/make-image-set.js';
import type { BoardIdentity, LabBoard } from '../lab/board.js';
import type { OpenFleet } from '../lab/run.js';
import { testIdentity } from '../links/testing/memory-link.js';
import { flashBoards, resolveTargets, summaryTable, type FlashOutcome } from './flash.js';
import { formatTable } from './rigs.js';
import { hil } from './testing/hil.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const repoRigs = path.join(repo, 'rigs.json');
const labRigs = fileURLToPath(new URL('../config/testdata/good/rigs-lab.json', import.meta.url));

let set: ImageSet;
let build: FirmwareBuild;
let rigs: Rigs;
beforeAll(() => {
  set = makeImageSet({ seed: 51, appSize: 64 * 1024, modelSize: 16 * 1024 });
  build = readFlasherArgs(set.dir);
  rigs = loadRigs(repoRigs);
});
afterAll(() => set.cleanup());
afterEach(() => {
  process.exitCode = undefined;
});

describe('resolveTargets: board ids and tags of the rigs', () => {
  it('takes ids and tags in the order named, each board once, with the rig\'s flash baud and reset', () => {
    const t = resolveTargets(['sim-2', 'serial'], rigs, {});
    expect(t.map((x) => [x.id, x.baud, x.reset, x.port])).toEqual([['sim-2', 921600, 'classic', undefined], ['sim-1', 921600, 'classic', undefined]]);
    expect(t[0].config?.simulated).toBeDefined();
  });

  it('flashes at the lower of --baud and the rig\'s flashBaud; --reset overrides the rig', () => {
    const lab = loadRigs(labRigs);
    const desk = lab.boards.find((b) => b.transport.serial?.reset === 'usb-jtag')!;
    expect(resolveTargets([desk.id], lab, { baud: 2_000_000 })[0]).toMatchObject({ baud: desk.transport.serial!.flashBaud, reset: 'usb-jtag', port: desk.transport.serial!.port });
    expect(resolveTargets([desk.id], lab, { baud: 115200, reset: 'classic' })[0]).toMatchObject({ baud: 115200, reset: 'classic' });
  });

  it('--port flashes a board of the rigs through that device, reached like a real board', () => {
    const [t] = resolveTargets(['sim-1'], rigs, { port: '/dev/ttyUSB3' });
    expect(t.port).toBe('/dev/ttyUSB3');
    expect(t.config?.transport.serial?.port).toBe('/dev/ttyUSB3');
    expect(t.config?.simulated).toBeUndefined();
  });

  it('--port with a name the rigs do not know (or none) is a board of its own, at 921600 baud by default', () => {
    expect(resolveTargets(['bench-9'], rigs, { port: '/dev/ttyUSB0' })).toEqual([{ id: 'bench-9', port: '/dev/ttyUSB0', baud: 921600, reset: 'classic' }]);
    expect(resolveTargets([], undefined, { port: '/dev/ttyACM1', reset: 'usb-jtag' })).toEqual([{ id: 'ttyACM1', port: '/dev/ttyACM1', baud: 921600, reset: 'usb-jtag' }]);
  });

  const mistakes: Array<[string, string[], { port?: string }, string]> = [
    ['an unknown id, with a "did you mean"', ['sim-5'], {}, 'no board or tag "sim-5" in rigs.json (did you mean "sim-1"?)'],
    ['an unknown tag, with a "did you mean"', ['seria'], {}, 'no board or tag "seria" in rigs.json (did you mean "serial"?)'],
    ['nothing close: the boards and tags there', ['bench'], {}, 'no board or tag "bench" in rigs.json (boards: "sim-1", "sim-2", "sim-3", "sim-4"; tags: "mqtt", "n16r8", "s3", "serial", "sim")'],
    ['a board without a serial transport', ['sim-3'], {}, 'board "sim-3" has no serial, rfc2217 or tcp transport in rigs.json: flashing needs its serial console (add transport.serial with its port)'],
    ['a tag that selects one', ['sim'], {}, 'tag "sim" selects board "sim-3", which has no serial, rfc2217 or tcp transport in rigs.json: flashing needs its serial console (add transport.serial with its port, or name the boards to flash)'],
    ['--port with two boards', ['serial'], { port: '/dev/ttyUSB0' }, '--port names one device, but 2 boards were selected (sim-1, sim-2): flash them by their rigs entries, or name one board'],
    ['no board at all', [], {}, 'hil flash needs the boards to flash: board ids or tags of rigs.json (boards: "sim-1", "sim-2", "sim-3", "sim-4"; tags: "mqtt", "n16r8", "s3", "serial", "sim"), or --port <device>'],
  ];
  for (const [what, names, options, message] of mistakes) {
    it(`one sentence for ${what}`, () => {
      expect(() => resolveTargets(names, rigs, options)).toThrow(message);
    });
  }
});

describe('the summary table', () => {
  const id = testIdentity({ projectName: 'tinyml_bench', appVersion: 'v1.0.51', appSha256: '35d7811b25fb'.padEnd(64, '0') });
  const region = (name: string, action: 'written' | 'skipped') => ({ name, file: `${name}.bin`, offset: 0, bytes: 1, action, compressedBytes: 0, wireBytes: 0, seconds: 0, md5: '' });
  it('says per board what was written or skipped, the bytes on the wire, the time and the identity', () => {
    const outcomes: FlashOutcome[] = [
      { board: 'sim-1', ok: true, regions: [region('bootloader', 'written'), region('app', 'written')], regionCount: 2, wireBytes: 773_222, seconds: 10.84, identity: id, check: 'checked' },
      { board: 'sim-2', ok: true, regions: [region('bootloader', 'skipped'), region('app', 'skipped')], regionCount: 2, wireBytes: 15_565, seconds: 1.2, identity: id, check: 'checked' },
      { board: 'bench-3', ok: true, regions: [region('bootloader', 'skipped'), region('app', 'written')], regionCount: 2, wireBytes: 1024, seconds: 3, check: 'not-checked' },
      { board: 'sim-4', ok: false, regions: [region('bootloader', 'skipped')], regionCount: 2, seconds: 7.3, check: 'silent' },
      { board: 'sim-5', ok: false, regions: [], regionCount: 2, seconds: 2, identity: id, check: 'answering' },
    ];
    expect(formatTable(summaryTable(outcomes))).toBe([
      'BOARD    RESULT     REGIONS               ON THE WIRE  SECONDS  IDENTITY',
      'sim-1    flashed    2 written             755.1 KB     10.8     ok (tinyml_bench v1.0.51, app 35d7811b25fb)',
      'sim-2    unchanged  2 skipped             15.2 KB      1.2      ok (tinyml_bench v1.0.51, app 35d7811b25fb)',
      'bench-3  flashed    1 written, 1 skipped  1.0 KB       3.0      not checked (not in the rigs)',
      'sim-4    FAILED     1 skipped of 2        -            7.3      re-probed: not answering',
      'sim-5    FAILED     0 written of 2        -            2.0      re-probed: runs tinyml_bench v1.0.51, app 35d7811b25fb',
    ].join('\n'));
  });
});

/** A board the fake fleet hands out: answers (or not) as told; its port does not exist. */
function fakeBoard(id: string, answers: { connect: BoardIdentity | Error; reset?: BoardIdentity | Error }): LabBoard & { calls: string[] } {
  const calls: string[] = [];
  const settle = (x: BoardIdentity | Error) => (x instanceof Error ? Promise.reject(x) : Promise.resolve(x));
  return {
    id, link: 'serial', address: `/dev/ttyNOPE-${id}`, identity: undefined, calls,
    connect: (ms) => { calls.push(`connect ${ms}`); return settle(answers.connect); },
    reset: (ms) => { calls.push(`reset ${ms}`); return settle(answers.reset ?? new Error('no reset')); },
    release: async () => { calls.push('release'); },
    onLog: () => {}, onReboot: () => {},
    uploadModel: () => Promise.reject(new Error('unused')), configureArena: () => Promise.reject(new Error('unused')),
    setInput: () => Promise.reject(new Error('unused')), invoke: () => Promise.reject(new Error('unused')),
    runAccuracy: () => Promise.reject(new Error('unused')), memory: () => Promise.reject(new Error('unused')),
    close: async () => { calls.push('close'); },
  };
}

describe('flashBoards: a failed board is re-probed, the others carry on', () => {
  function real(id: string): BoardConfig {
    return { id, chip: 'esp32s3', identity: {}, tags: ['t'], transport: { serial: { port: `/dev/ttyNOPE-${id}`, baud: 115200, flashBaud: 921600, reset: 'classic' } } };
  }

  it('one line per failed board on stderr; the re-probe says what each runs now, or that it does not answer', async () => {
    const running = testIdentity({ projectName: 'tinyml_bench', appVersion: 'v0.9.0', appSha256: 'fe'.repeat(32) });
    const boards = new Map<string, ReturnType<typeof fakeBoard>>([
      ['r1', fakeBoard('r1', { connect: running })],
      ['r2', fakeBoard('r2', { connect: new Error('sent no HELLO'), reset: new Error('board r2 did not answer RESET and its serial link cannot reset it: press its EN button') })],
    ]);
    let closed = false;
    const open: OpenFleet = async ({ selected, sim }) => {
      expect(selected.map((s) => [s.board.id, s.transport])).toEqual([['r1', 'serial'], ['r2', 'serial']]);
      expect(sim).toBe('off');
      return { boards, notes: [], close: async () => { closed = true; } };
    };
    const fakeRigs: Rigs = { file: '/x/rigs.json', label: 'rigs.json', mqtt: { url: 'embedded', embeddedPort: 0 }, boards: [real('r1'), real('r2')], warnings: [] };
    let out = '';
    let err = '';
    const outcomes = await flashBoards({
      targets: resolveTargets(['t'], fakeRigs, {}), rigs: fakeRigs, build, skipUnchanged: true, sim: 'off',
      stdout: { write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => { err += s; return true; } } as unknown as NodeJS.WritableStream,
      timeouts: { probeMs: 10, reprobeMs: 20 }, open,
    });
    expect(closed).toBe(true);
    expect(err.split('\n')).toEqual([
      'hil: board r1: cannot open /dev/ttyNOPE-r1 for board r1: Error: No such file or directory, cannot open /dev/ttyNOPE-r1 (is the board plugged in, and is the port in the rig right?)',
      'hil: board r2: cannot open /dev/ttyNOPE-r2 for board r2: Error: No such file or directory, cannot open /dev/ttyNOPE-r2 (is the board plugged in, and is the port in the rig right?)',
      '',
    ]);
    expect(outcomes.map((o) => [o.board, o.ok, o.check, o.identity?.appSha256])).toEqual([['r1', false, 'answering', 'fe'.repeat(32)], ['r2', false, 'silent', undefined]]);
    // r1 answered before: it would have been asked to enter download mode (a fake has no such request), so its link was released.
    expect(boards.get('r1')!.calls).toEqual(['connect 10', 'release', 'connect 20']);
    expect(boards.get('r2')!.calls).toEqual(['connect 10', 'release', 'connect 20', 'reset 20']);
    expect(out).toContain(`flashing ${set.flasherArgsPath} (tinyml_bench v1.0.51, app ${set.appElfSha256.slice(0, 12)}) onto r1, r2\n`);
    expect(out).toContain('r2: does not answer the lab protocol (sent no HELLO); relying on the classic reset to reach the ROM loader\n');
    expect(out).toContain('r1: re-probed: answering, runs tinyml_bench v0.9.0, app fefefefefefe (variant esp-nn)\n');
    expect(out).toContain('r2: re-probed: not answering - board r2 did not answer RESET and its serial link cannot reset it: press its EN button\n');
    expect(out).toContain('r1: FAILED\n');
  });
});

describe('hil flash: mistakes end in one line and exit 2 before any board is touched', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['an unknown tag', () => ['flash', 'serail', '--rigs', repoRigs, '--build', set.dir], /^hil: no board or tag "serail" in .*rigs\.json \(did you mean "serial"\?\)\n$/],
    ['a board without a serial transport', () => ['flash', 'sim-4', '--rigs', repoRigs, '--build', set.dir], /^hil: board "sim-4" has no serial, rfc2217 or tcp transport in .*rigs\.json: flashing needs its serial console/],
    ['a missing build', () => ['flash', 'sim-1', '--rigs', repoRigs, '--build', path.join(set.dir, 'nope')], /^hil: .*nope\/flasher_args\.json does not exist: point --build at an ESP-IDF build directory/],
    ['a bad --baud', () => ['flash', 'sim-1', '--rigs', repoRigs, '--build', set.dir, '--baud', 'fast'], /^hil: --baud fast is not a baud rate: use e\.g\. 921600 or 2000000\n$/],
    ['a bad --reset', () => ['flash', 'sim-1', '--rigs', repoRigs, '--build', set.dir, '--reset', 'dtr'], /^hil: --reset dtr is not a reset mode: use classic, usb-jtag, none\n$/],
    ['a missing rigs file given with --rigs', () => ['flash', 'x', '--port', '/dev/null', '--rigs', '/nope/rigs.json', '--build', set.dir], /^hil: \/nope\/rigs\.json: file not found/],
    ['--no-sim and a simulated board with no port', () => ['flash', 'sim-1', '--rigs', repoRigs, '--build', set.dir, '--no-sim'], /^hil: .*rigs\.json: board "sim-1" is simulated without a serial port, so with --no-sim there is no device to reach it on/],
  ];
  for (const [what, args, expected] of cases) {
    it(what, async () => {
      const r = await hil(...args());
      expect(r.code).toBe(2);
      expect(r.err).toMatch(expected);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    });
  }
});
