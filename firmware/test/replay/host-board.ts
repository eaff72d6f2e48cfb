/**
 * Replays a recorded session against the firmware's command handler on the host: the host board
 * process of firmware/test/host-app (host_board_main.cpp: hil_core's CommandHandler and Session,
 * the host Platform and the host interpreter; serial bytes on stdin, frames and log lines on
 * stdout), built with the firmware host tests' g++ helper (ASan/UBSan, content-hash cache).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildHostTest, componentSources, firmwareDir, HIL_PROTOCOL_SOURCES, hostBuildDir, type HostBuildResult } from '../host/build.js';
import { ReplyCollector, type Exchange } from './exchange.js';
import type { RecordedSession } from './recording.js';

const hostApp = (f: string): string => path.join(firmwareDir, 'test', 'host-app', f);

/** The host board executable (same sources as firmware/test/host-app/host-board.test.ts builds). */
export function buildHostBoard(): Promise<HostBuildResult> {
  return buildHostTest(
    [
      ...componentSources(path.join(firmwareDir, 'components', 'hil_core')),
      ...HIL_PROTOCOL_SOURCES,
      ...['host_platform.cpp', 'host_runner.cpp', 'host_board_main.cpp'].map(hostApp),
    ],
    path.join(hostBuildDir, 'host_board'),
    { includeDirs: [path.join(firmwareDir, 'components', 'hil_core', 'include'), hostApp('.')] },
  );
}

export interface HostReplay {
  session: RecordedSession;
  logLines: string[];
  exitCode: number | null;
  stderr: string;
}

/**
 * Starts the host board, waits for its HELLO, writes each recorded request and collects the frames
 * up to its final reply, exactly as the recording did on the simulated board. The process ends
 * after RESET (or when stdin closes).
 */
export async function replayOnHostBoard(binary: string, requests: readonly Uint8Array[], notes: readonly string[] = []): Promise<HostReplay> {
  const child = spawn(binary, [], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const collector = new ReplyCollector();
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => collector.push(new Uint8Array(chunk)));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // A write after the process ended (a crash) must fail the replay, not the test runner.
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await collector.until(() => collector.hellos.length > 0, 10_000, 'host board HELLO');
    const exchanges: Exchange[] = [];
    for (const [i, request] of requests.entries()) {
      if (child.exitCode !== null) throw new Error(`host board exited (code ${child.exitCode}) before request ${i}: ${stderr.slice(-2000)}`);
      const replies = await collector.exchange(request, (b) => child.stdin.write(b),
        { timeoutMs: 20_000, quietMs: 300 }, `host board, request ${i}${notes[i] ? ` (${notes[i]})` : ''}`);
      exchanges.push({ request, replies });
    }
    child.stdin.end();
    const exitCode = await exited;
    return { session: { hello: collector.hellos[0] ?? null, exchanges, notes: [...notes] }, logLines: collector.logLines, exitCode, stderr };
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
