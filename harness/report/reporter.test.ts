import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../lab/events.js';
import { ReporterMux, type Reporter, type ReporterFailure } from './reporter.js';
import type { RunResults } from './results-types.js';

const event = (seq: number): LabEvent => ({ type: 'board.log', board: 'sim-1', line: `line ${seq}`, seq, ts: seq });
const results = {} as RunResults;

class Recorder implements Reporter {
  seen: number[] = [];
  constructor(readonly name: string) {}
  onEvent(e: LabEvent): void {
    this.seen.push(e.seq);
  }
  onEnd(): string[] {
    return [`${this.name}.out`];
  }
}

describe('reporter multiplexer', () => {
  it('passes every event to every reporter and collects the files they write', async () => {
    const a = new Recorder('a');
    const b = new Recorder('b');
    const mux = new ReporterMux([a, b]);
    for (let i = 1; i <= 3; i++) mux.onEvent(event(i));
    expect(await mux.onEnd(results, '/tmp/x')).toEqual({ files: ['a.out', 'b.out'], failures: [] });
    expect(a.seen).toEqual([1, 2, 3]);
    expect(b.seen).toEqual([1, 2, 3]);
  });

  it('switches off a reporter that throws, reports it once, and the others keep going', async () => {
    const failures: ReporterFailure[] = [];
    const ok = new Recorder('ok');
    let calls = 0;
    const bad: Reporter = {
      name: 'html',
      onEvent(e) {
        calls++;
        if (e.seq === 2) throw new Error('disk full');
      },
      onEnd: () => ['never.html'],
    };
    const mux = new ReporterMux([bad, ok], { onFailure: (f) => failures.push(f) });
    for (let i = 1; i <= 5; i++) mux.onEvent(event(i));
    const end = await mux.onEnd(results, '/tmp/x');
    expect(calls).toBe(2);
    expect(ok.seen).toEqual([1, 2, 3, 4, 5]);
    expect(failures).toEqual([{ reporter: 'html', hook: 'onEvent', message: 'disk full' }]);
    expect(end).toEqual({ files: ['ok.out'], failures });
  });

  it('awaits asynchronous hooks before ending and isolates one that rejects', async () => {
    const failures: ReporterFailure[] = [];
    const slowSeen: number[] = [];
    const slow: Reporter = {
      name: 'slow',
      async onEvent(e) {
        await new Promise((r) => setTimeout(r, 20));
        slowSeen.push(e.seq);
      },
      onEnd: () => [`slow saw ${slowSeen.length}`],
    };
    const rejecting: Reporter = { name: 'junit', onEvent: async () => { throw new Error('nope'); } };
    const mux = new ReporterMux([slow, rejecting], { onFailure: (f) => failures.push(f) });
    for (let i = 1; i <= 3; i++) mux.onEvent(event(i));
    const end = await mux.onEnd(results, '/tmp/x');
    expect(end.files).toEqual(['slow saw 3']);
    expect(failures).toEqual([{ reporter: 'junit', hook: 'onEvent', message: 'nope' }]);
  });

  it('a reporter failing at the end does not stop the ones after it, which see the files written before', async () => {
    const failures: ReporterFailure[] = [];
    let contextFiles: readonly string[] = [];
    const mux = new ReporterMux([
      { name: 'json', onEnd: () => ['results.json'] },
      { name: 'html', onEnd: async () => { throw new Error('chart.js missing'); } },
      { name: 'console', onEnd: (_r, ctx) => { contextFiles = ctx.files; } },
    ], { onFailure: (f) => failures.push(f) });
    const end = await mux.onEnd(results, '/tmp/x');
    expect(contextFiles).toEqual(['results.json']);
    expect(end).toEqual({ files: ['results.json'], failures: [{ reporter: 'html', hook: 'onEnd', message: 'chart.js missing' }] });
  });
});
