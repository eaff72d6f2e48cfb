import { describe, expect, it } from 'vitest';
import { ConsoleReporter, type ConsoleOutput } from './console.js';
import { reportFixture } from './testing/fixture.js';
import { expectGolden } from './testing/golden.js';

class Capture implements ConsoleOutput {
  text = '';
  constructor(readonly isTTY: boolean, readonly columns = 120) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

const fx = reportFixture();

function replay(tty: boolean): string {
  const out = new Capture(tty);
  let clock = 0;
  const c = new ConsoleReporter({ stream: out, now: () => (clock += 50) });
  for (const e of fx.events) c.onEvent(e);
  c.onEnd(fx.results, { outDir: 'reports/nightly-2025-01-06', files: ['reports/nightly-2025-01-06/results.json', 'reports/nightly-2025-01-06/report.html'] });
  return out.text;
}

describe('console reporter', () => {
  it('prints plain progress lines and the summary when not a TTY (golden)', () => {
    const text = replay(false);
    expect(text).not.toContain('\u001b[');
    expectGolden('console.txt', text);
  });

  it('marks simulated numbers, names the HTML report and the exit code', () => {
    const lines = replay(false).trimEnd().split('\n');
    expect(lines[0]).toBe('SIMULATED: these numbers come from simulated boards (harness/sim), not from ESP32-S3 hardware');
    expect(lines.filter((l) => l.startsWith('SIMULATED: '))).toHaveLength(2);
    expect(lines.at(-2)).toBe('report: reports/nightly-2025-01-06/report.html');
    expect(lines.at(-1)).toMatch(/^exit 1: 1 regression gate failed \(first: esp-nn\/cnn-int8\/65536-internal\/240mhz: latency\.median \+[45]\.\d\d% /);
    expect(lines).toContain('sim-2: QUARANTINED: 3 trial failures in a row (last: no answer to invoke within 10 s); finishing the run on the other boards');
  });

  it('redraws a block of board lines in place on a TTY', () => {
    const text = replay(true);
    expect(text).toContain('\u001b[5F\u001b[J'); // cursor up over the header + 4 board lines, clear
    expect(text).not.toMatch(/^\[ ?\d+\/96\]/m);
    const lastBlock = text.slice(text.lastIndexOf('run nightly-2025-01-06: '), text.indexOf('SIMULATED', text.lastIndexOf('run nightly-2025-01-06: ')));
    expect(lastBlock).toContain('run nightly-2025-01-06: 93/96 trials');
    expect(lastBlock).toMatch(/sim-1 \[#{20}\] 24\/24 done/);
    expect(lastBlock).toMatch(/sim-2 \[#+\.+\] 21\/24 QUARANTINED/);
  });
});
