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
}

export async function replayOnEmulatedBoard(buildId: string, requests: readonly Uint8Array[], notes: readonly string[] = []): Promise<EmulatedReplay> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-replay-qemu-'));
  const settings = { profile: 'esp32s3-devkitc-1-n8r8' as const, flashFile: path.join(dir, 'replay.flash.bin') };
  writeBuildToFlash(settings.flashFile, buildId, 8 << 20);
  const board = new EmulatedBoard({ id: 'replay', settings, host: '127.0.0.1', port: 0, qemu: findQemu() });
  await board.start('app');
  const socket = net.connect(board.address.port, board.address.host);
  socket.setNoDelay(true);
  const collector = new ReplyCollector();
  socket.on('data', (chunk: Buffer) => collector.push(new Uint8Array(chunk)));
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // The boot takes ~1.5 s of wall time in QEMU; nothing is sent before the HELLO (harness/boards: probeDelayMs).
    await collector.until(() => collector.hellos.length > 0, 30_000, 'emulated board HELLO');
    const exchanges: Exchange[] = [];
    for (const [i, request] of requests.entries()) {
      const replies = await collector.exchange(request, (b) => socket.write(b), { timeoutMs: 60_000, quietMs: 500 }, `emulated board, request ${i}${notes[i] ? ` (${notes[i]})` : ''}`);
      exchanges.push({ request, replies });
    }
    return { session: { hello: collector.hellos[0] ?? null, exchanges, notes: [...notes] }, logLines: collector.logLines, laterHellos: collector.hellos.length - 1 };
  } finally {
    socket.destroy();
    await board.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
