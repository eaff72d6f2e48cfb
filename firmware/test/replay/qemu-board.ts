/**
 * Replays a recorded session against the lab firmware's real binary in Espressif's QEMU (an
 * emulated ESP32-S3 with the chip's ROM, harness/emu): the build for QEMU written into a fresh flash
 * file, QEMU started on it, the recorded requests written to its UART0 over TCP and the frames up to
 * each final reply collected, exactly as the recording did on the simulated board and as
 * host-board.ts does on the host build of the command handler.
 */
import net from 'node:net';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { EMULATED_NUDGE_AFTER_MS, EMULATED_BOOT_MS } from '../../../harness/boards/lab-board.js';
import { EMULATED_RESTARTS } from '../../../harness/boards/session.js';
import { EmulatedBoard } from '../../../harness/emu/board.js';
import { findQemu } from '../../../harness/emu/qemu.js';
import { writeBuildToFlash } from '../../../test/emulated/flash-file.js';
import { ReplyCollector, type Exchange } from './exchange.js';
import type { RecordedSession } from './recording.js';

export interface EmulatedReplay {
  session: RecordedSession;
  logLines: string[];
  /** HELLOs after the first (RESET restarts the firmware, which says HELLO again). */
  laterHellos: number;
  /** LFs written to a silent board (EMULATED_NUDGE_AFTER_MS), as the lab's session would have. */
  nudges: number;
  /** QEMU crashes while booting, each followed by a restart (as the lab's session restarts them). */
  bootCrashes: string[];
}

export async function replayOnEmulatedBoard(buildId: string, requests: readonly Uint8Array[], notes: readonly string[] = []): Promise<EmulatedReplay> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-replay-qemu-'));
  const settings = { profile: 'esp32s3-devkitc-1-n8r8' as const, flashFile: path.join(dir, 'replay.flash.bin') };
  writeBuildToFlash(settings.flashFile, buildId, 8 << 20);
  const board = new EmulatedBoard({ id: 'replay', settings, host: '127.0.0.1', port: 0, qemu: findQemu() });
  const bootCrashes: string[] = [];
  let socket: net.Socket | undefined;
  try {
    let collector: ReplyCollector;
    for (let attempt = 1; ; attempt++) {
      await board.start('app');
      const s = net.connect(board.address.port, board.address.host);
      socket = s;
      s.setNoDelay(true);
      const c = new ReplyCollector();
      collector = c;
      s.on('data', (chunk: Buffer) => c.push(new Uint8Array(chunk)));
      let closed = false;
      s.on('error', () => undefined); // a crash closes the connection: seen below
      s.on('close', () => {
        closed = true;
      });
      await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
      try {
        // The boot takes ~9 s of wall time in QEMU with -icount; nothing is sent before the HELLO (harness/boards: probeDelayMs).
        await c.until(() => c.hellos.length > 0 || closed, EMULATED_BOOT_MS, 'emulated board HELLO');
        if (c.hellos.length === 0) throw new Error(`emulated board: QEMU closed its UART before the HELLO; last log lines: ${c.logLines.slice(-5).join(' | ')}`);
        break;
      } catch (e) {
        // Espressif's QEMU with PSRAM crashes now and then while the firmware boots (harness/emu/README.md).
        const crash = attempt < EMULATED_RESTARTS ? await board.crashed() : undefined;
        if (!crash) throw e;
        bootCrashes.push(crash);
        s.destroy();
        await board.stop();
      }
    }
    const link = socket;
    const exchanges: Exchange[] = [];
    for (const [i, request] of requests.entries()) {
      const replies = await collector.exchange(request, (b) => link.write(b), { timeoutMs: 60_000, quietMs: 500, nudgeAfterMs: EMULATED_NUDGE_AFTER_MS }, `emulated board, request ${i}${notes[i] ? ` (${notes[i]})` : ''}`);
      exchanges.push({ request, replies });
    }
    return { session: { hello: collector.hellos[0] ?? null, exchanges, notes: [...notes] }, logLines: collector.logLines, laterHellos: collector.hellos.length - 1, nudges: collector.nudges, bootCrashes };
  } finally {
    socket?.destroy();
    await board.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
