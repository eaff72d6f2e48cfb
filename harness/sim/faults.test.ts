import { describe, expect, it } from 'vitest';
import { isLabError } from '../errors.js';
import { BoardFaults, faultsFor, parseFaultSpecs } from './faults.js';

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isLabError(e)) return e.message;
    throw e;
  }
  throw new Error('no error');
};

describe('parseFaultSpecs', () => {
  it('reads the compact form with per-board and all-board entries and fills the rigs.json defaults', () => {
    const specs = parseFaultSpecs('sim-2:reboot,afterInvokes=50,reason=panic; drop-bytes,probability=0.001 ;disconnect,probability=0.5;slow-link,latencyMs=20');
    expect(specs).toEqual([
      { board: 'sim-2', fault: { kind: 'reboot', reason: 'panic', afterInvokes: 50 } },
      { fault: { kind: 'drop-bytes', probability: 0.001, direction: 'both' } },
      { fault: { kind: 'disconnect', durationS: 2, probability: 0.5 } },
      { fault: { kind: 'slow-link', latencyMs: 20 } },
    ]);
    expect(faultsFor('sim-1', specs).map((f) => f.kind)).toEqual(['drop-bytes', 'disconnect', 'slow-link']);
    expect(faultsFor('sim-2', specs)[0]).toEqual({ kind: 'reboot', reason: 'panic', afterInvokes: 50 });
    expect(parseFaultSpecs('reboot,afterInvokes=3')[0]!.fault).toEqual({ kind: 'reboot', reason: 'brownout', afterInvokes: 3 });
  });

  it('reads JSON too', () => {
    expect(parseFaultSpecs('[{"board":"a","kind":"hang","afterInvokes":2,"durationS":1.5}]')).toEqual([
      { board: 'a', fault: { kind: 'hang', afterInvokes: 2, durationS: 1.5 } },
    ]);
  });

  it('names the entry and the fix for bad specs', () => {
    expect(message(() => parseFaultSpecs('explode'))).toMatch(/"explode": unknown fault kind "explode"; use one of reboot, hang/);
    expect(message(() => parseFaultSpecs('reboot'))).toMatch(/needs afterInvokes and\/or probability/);
    expect(message(() => parseFaultSpecs('drop-bytes,probability=2'))).toMatch(/probability must be a probability in \(0, 1\], got 2/);
    expect(message(() => parseFaultSpecs('hang,afterInvokes=1,color=red'))).toMatch(/a hang fault has no field "color"/);
    expect(message(() => parseFaultSpecs('reboot,afterInvokes=1,reason=meteor'))).toMatch(/reason must be brownout, panic or watchdog/);
    expect(message(() => parseFaultSpecs('slow-link'))).toMatch(/needs bytesPerSecond and\/or latencyMs/);
    expect(message(() => parseFaultSpecs('reboot,afterInvokes'))).toMatch(/not <field>=<value>/);
    expect(message(() => parseFaultSpecs('[oops'))).toMatch(/not valid JSON/);
  });
});

describe('BoardFaults', () => {
  it('fires afterInvokes once per boot, counting from each restart, up to `times`', () => {
    const f = new BoardFaults([{ kind: 'reboot', reason: 'brownout', afterInvokes: 3, times: 2 }], 1);
    const fired = (n: number) => Array.from({ length: n }, () => f.afterInference()?.kind ?? '-');
    expect(fired(5)).toEqual(['-', '-', 'reboot', '-', '-']);
    f.restarted();
    expect(fired(4)).toEqual(['-', '-', 'reboot', '-']);
    f.restarted();
    expect(fired(5)).toEqual(['-', '-', '-', '-', '-']); // times: 2
    expect(f.log.map((l) => l.afterInference)).toEqual([3, 3]);
  });

  it('fires with a probability per inference, deterministically for a seed', () => {
    const run = (seed: number) => {
      const f = new BoardFaults([{ kind: 'hang', probability: 0.1, afterInvokes: 5 }], seed);
      return Array.from({ length: 300 }, () => (f.afterInference() ? 1 : 0));
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    expect(a.slice(0, 4)).toEqual([0, 0, 0, 0]);
    const count = a.reduce<number>((x, y) => x + y, 0);
    expect(count).toBeGreaterThan(10);
    expect(count).toBeLessThan(60);
  });

  it('merges byte faults for the serial wire and damages MQTT messages with the same probabilities', () => {
    const f = new BoardFaults([{ kind: 'drop-bytes', probability: 0.5, direction: 'to-host' }, { kind: 'corrupt-bytes', probability: 0.01, direction: 'to-board' }], 3);
    expect(f.wireFaults(9)).toEqual({ seed: 9, drop: 0.5, corrupt: 0.01, direction: 'both' });
    const msg = new Uint8Array(1000).fill(0x55);
    const toHost = f.applyToMessage(msg, 'to-host');
    expect(toHost.length).toBeGreaterThan(400);
    expect(toHost.length).toBeLessThan(600);
    const toBoard = f.applyToMessage(msg, 'to-board');
    expect(toBoard.length).toBe(1000);
    expect(toBoard.some((b) => b !== 0x55)).toBe(true);
    expect(new BoardFaults([], 1).applyToMessage(msg, 'to-host')).toBe(msg);
    expect(new BoardFaults([{ kind: 'slow-link', bytesPerSecond: 1000 }], 1).linkLimit()).toEqual({ bytesPerSecond: 1000 });
  });
});
