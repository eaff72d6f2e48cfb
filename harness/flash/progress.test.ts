import { describe, expect, it } from 'vitest';
import { FlashProgressView } from './progress.js';
import type { FlashReport } from './flasher.js';

function sink() {
  let text = '';
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

const report: FlashReport = {
  board: 'b1', port: '/dev/pts/3', flasherArgs: 'build/flasher_args.json', chip: 'ESP32-S3', baud: 921600, flashSize: '8MB',
  reset: 'watchdog', appElfSha256: 'ab'.repeat(32), wireBytesOut: 0, wireBytesIn: 0, seconds: 6.04,
  regions: [
    { name: 'bootloader', file: 'b.bin', offset: 0, bytes: 21088, action: 'skipped', compressedBytes: 0, wireBytes: 26, seconds: 0.01, md5: '' },
    { name: 'app', file: 'a.bin', offset: 0x10000, bytes: 921696, action: 'written', compressedBytes: 542288, wireBytes: 547204, seconds: 5.9, md5: '' },
  ],
};

describe('FlashProgressView', () => {
  it('prints plain lines on a pipe: phase changes and each quarter of a write, then a summary', () => {
    const s = sink();
    const view = new FlashProgressView(s.out, { tty: false });
    view.update({ board: 'b1', phase: 'connect' });
    view.update({ board: 'b1', phase: 'compare', region: 'app', regionIndex: 1, regionCount: 2 });
    for (const sent of [0, 1000, 30000, 50000, 70000, 99000, 100000]) {
      view.update({ board: 'b1', phase: 'write', region: 'app', sent, total: 100000, regionIndex: 1, regionCount: 2 });
    }
    view.update({ board: 'b1', phase: 'reset' });
    view.done(report);
    expect(s.text()).toBe(
      [
        'b1: connecting to the ROM loader',
        'b1: app: comparing flash MD5',
        'b1: app: writing 0%',
        'b1: app: writing 30%',
        'b1: app: writing 50%',
        'b1: app: writing 99%',
        'b1: app: writing 100%',
        'b1: resetting into the app',
        'b1: flashed in 6.0 s at 921600 baud (watchdog reset)',
        'b1:   0x000000 bootloader       unchanged, skipped',
        'b1:   0x010000 app              921696 bytes (542288 compressed, 547204 on the wire) in 5.90 s',
        '',
      ].join('\n'),
    );
  });

  it('redraws one bar per board in place on a TTY', () => {
    const s = sink();
    const view = new FlashProgressView(s.out, { tty: true });
    view.update({ board: 'b1', phase: 'write', region: 'app', sent: 50, total: 100, regionIndex: 1, regionCount: 2 });
    view.update({ board: 'b2', phase: 'connect' });
    view.update({ board: 'b1', phase: 'write', region: 'app', sent: 100, total: 100, regionIndex: 1, regionCount: 2 });
    const frames = s.text().split('\x1b[2F'); // cursor up two lines = back over both bars
    expect(frames).toHaveLength(2);
    expect(frames[1]).toBe('\x1b[2Kb1         [########################] 100%  app: writing 100%\n\x1b[2Kb2         [........................]   0%  connecting to the ROM loader\n');
    expect(s.text()).toContain('[##################......]  75%  app: writing 50%');
    view.fail('b2');
    expect(s.text().endsWith('\x1b[2Kb2: FAILED\n')).toBe(true);
  });

  it('on a TTY, keeps region summaries and notes until close() so parallel bars keep redrawing in place', () => {
    const s = sink();
    const view = new FlashProgressView(s.out, { tty: true });
    view.update({ board: 'b1', phase: 'connect' });
    view.update({ board: 'b2', phase: 'probe' });
    view.done(report);
    view.note('b2', 'does not answer our protocol');
    view.update({ board: 'b2', phase: 'download-mode' });
    expect(s.text()).not.toContain('unchanged, skipped');
    // Every redraw went back over both bars: nothing was written between them.
    expect(s.text().split('\x1b[2F')).toHaveLength(3);
    expect(s.text()).toContain('\x1b[2Kb1: flashed in 6.0 s at 921600 baud (watchdog reset)\n\x1b[2Kb2         [........................]   0%  restarting into the ROM loader (RESET download)\n');
    view.close();
    expect(s.text().endsWith([
      'b1:   0x000000 bootloader       unchanged, skipped',
      'b1:   0x010000 app              921696 bytes (542288 compressed, 547204 on the wire) in 5.90 s',
      'b2: does not answer our protocol',
      '',
    ].join('\n'))).toBe(true);
  });

  it('on a pipe, notes are lines right away', () => {
    const s = sink();
    const view = new FlashProgressView(s.out, { tty: false });
    view.update({ board: 'b2', phase: 'probe' });
    view.note('b2', 're-probed: not answering');
    view.close();
    expect(s.text()).toBe('b2: asking the firmware who it is\nb2: re-probed: not answering\n');
  });
});
