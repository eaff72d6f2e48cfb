/**
 * `npm run bench:flash`: flash a realistic ~1.2 MB image set into a simulated ESP32-S3 over a PTY
 * with the real esptool-js, at baud rates a rig would use, on a wire throttled to the configured
 * rate (10 bits per byte, 8N1). Prints, per baud rate: image bytes, compressed bytes, bytes the host
 * put on the wire while writing (counted by the simulated board's serial wire), their ratio to the
 * compressed size (aim: within 5 % - SLIP escaping and packet headers are the overhead), the write
 * time against the link's theoretical minimum (compressed bytes * 10 / baud), the whole session
 * (connect, stub upload at 115200, verify, reset), and a re-flash where every region is skipped.
 *
 * Usage: npm run bench:flash [-- --baud 921600,2000000] [--app-kb 900]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimRomBoard } from '../harness/sim/rom/board.js';
import { flashBoard, type FlashReport } from '../harness/flash/flasher.js';
import { makeImageSet } from '../harness/flash/testing/make-image-set.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const bauds = arg('baud', '921600,2000000').split(',').map((s) => Number(s.trim()));
const appKb = Number(arg('app-kb', '900'));
const dir = mkdtempSync(path.join(tmpdir(), 'hil-bench-flash-'));
const set = makeImageSet({ seed: 1, appSize: appKb * 1024, dir: path.join(dir, 'build') });

const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

interface Row {
  baud: number;
  image: number;
  compressed: number;
  wire: number;
  writeSeconds: number;
  minSeconds: number;
  sessionSeconds: number;
  reflashSeconds: number;
  reflashWire: number;
}

async function benchAt(baud: number): Promise<Row> {
  const board = SimRomBoard.start({ name: `bench-${baud}`, flashPath: path.join(dir, `bench-${baud}.flash`), flashSize: 8 * 1024 * 1024, start: 'download' });
  try {
    let writeStart: { t: number; bytes: number } | undefined;
    let writeEnd: { t: number; bytes: number } | undefined;
    const snapshot = () => ({ t: performance.now(), bytes: board.wire.stats.bytesToBoard });
    const hello = async () => {
      const e = board.mode === 'app' ? board.lastBoot! : await board.nextBoot();
      if (!e.app) throw new Error(`board did not boot: ${e.error}`);
      return { appElfSha256: e.app.description.appElfSha256 };
    };
    const report: FlashReport = await flashBoard({
      board: board.name, port: board.path, build: set.dir, baud, reset: 'none', waitForHello: hello,
      onProgress: (p) => {
        if (p.phase === 'write' && !writeStart) writeStart = snapshot();
        if (p.phase === 'reset' && !writeEnd) writeEnd = snapshot();
      },
    });
    const written = report.regions.filter((r) => r.action === 'written');
    const compressed = written.reduce((n, r) => n + r.compressedBytes, 0);

    // Re-flash the same build: the firmware's RESET mode=download, then every region is skipped.
    board.enterDownloadMode();
    const before = board.wire.stats.bytesToBoard;
    const again = await flashBoard({ board: board.name, port: board.path, build: set.dir, baud, reset: 'none', waitForHello: hello });
    if (again.regions.some((r) => r.action !== 'skipped')) throw new Error('re-flash wrote data: the MD5 skip did not work');
    return {
      baud,
      image: report.regions.reduce((n, r) => n + r.bytes, 0),
      compressed,
      wire: writeEnd!.bytes - writeStart!.bytes,
      writeSeconds: (writeEnd!.t - writeStart!.t) / 1000,
      minSeconds: (compressed * 10) / baud,
      sessionSeconds: report.seconds,
      reflashSeconds: again.seconds,
      reflashWire: board.wire.stats.bytesToBoard - before,
    };
  } finally {
    await board.close();
  }
}

try {
  console.log(`flash bench: ${set.files.length} regions (${set.files.map((f) => `${f.name} ${fmt(f.bytes.length)} B`).join(', ')}), simulated ESP32-S3 on a PTY, wire throttled at 10 bits/byte`);
  for (const baud of bauds) {
    const r = await benchAt(baud);
    console.log('');
    console.log(`baud ${fmt(r.baud)}`);
    console.log(`  image bytes                ${fmt(r.image)}`);
    console.log(`  compressed bytes           ${fmt(r.compressed)}  (${pct(r.compressed / r.image)} of the image)`);
    console.log(`  on the wire, host->board   ${fmt(r.wire)}  (while writing; SLIP + headers + MD5 checks)`);
    console.log(`  on-wire / compressed       ${(r.wire / r.compressed).toFixed(4)}  (${pct(r.wire / r.compressed - 1)} overhead; aim < 5 %) ${r.wire / r.compressed <= 1.05 ? 'OK' : 'OVER'}`);
    console.log(`  write time                 ${r.writeSeconds.toFixed(2)} s  vs theoretical minimum ${r.minSeconds.toFixed(2)} s (compressed * 10 / baud) = ${(r.writeSeconds / r.minSeconds).toFixed(2)}x`);
    console.log(`  whole session              ${r.sessionSeconds.toFixed(2)} s  (connect + stub at 115200, baud change, MD5 compare, write, verify, watchdog reset, hello)`);
    console.log(`  re-flash, all skipped      ${r.reflashSeconds.toFixed(2)} s  (${fmt(r.reflashWire)} bytes host->board: sync, stub upload, MD5 requests; no image data)`);
  }
} finally {
  set.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
