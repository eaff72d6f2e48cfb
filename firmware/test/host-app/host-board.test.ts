/**
 * The firmware's command handler as a host process (test/host-app/host_board_main.cpp), driven by
 * the harness's TypeScript codec (harness/protocol): the two sides of protocol v1 talking to each
 * other over a byte stream, as a board and the lab do over a serial port. This is the shape the
 * session-replay test needs (the simulated board's recorded requests in, the handler's replies out).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assembleInvoke, assembleOutput, encodeMessage, FrameDecoder, decodeMessage, inputRequests, modelUploadRequests,
  type Message, type MessageBody,
} from '../../../harness/protocol/index.js';
import { buildHostTest, componentSources, firmwareDir, HIL_PROTOCOL_SOURCES, hostBuildDir, type HostBuildResult } from '../host/build.js';
import { writeHostTestModels } from './models.js';

const hostApp = (f: string): string => path.join(firmwareDir, 'test', 'host-app', f);

/** A running host board: send requests, await each request's replies (until a frame without MORE). */
class HostBoard {
  private readonly decoder = new FrameDecoder();
  private readonly messages: Message[] = [];
  readonly logLines: string[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => {
      for (const e of this.decoder.push(new Uint8Array(chunk))) {
        if (e.kind === 'frame') this.messages.push(decodeMessage(e.frame));
        else if (e.kind === 'log') this.logLines.push(e.line);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The next message matching `pick`, waiting up to 10 s. */
  async take(pick: (m: Message) => boolean): Promise<Message> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const i = this.messages.findIndex(pick);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`host board: no matching reply (log: ${this.logLines.join(' | ')})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async request(body: MessageBody): Promise<Message[]> {
    const requestId = this.nextId++;
    this.child.stdin.write(encodeMessage({ requestId, simulated: false, more: false, body }));
    const replies: Message[] = [];
    for (;;) {
      const m = await this.take((x) => x.requestId === requestId);
      replies.push(m);
      if (!m.more) return replies;
    }
  }

  /** The one reply of a request; fails with the board's error when it answered ERROR. */
  async one<T extends MessageBody['type']>(body: MessageBody, type: T): Promise<Extract<MessageBody, { type: T }>> {
    const replies = await this.request(body);
    expect(replies.map((r) => r.body.type)).toEqual([type]);
    return replies[0].body as Extract<MessageBody, { type: T }>;
  }
}

describe('host board: the C++ command handler driven by the TypeScript codec over a byte stream', () => {
  let build: HostBuildResult;
  let models = '';
  let child: ChildProcessWithoutNullStreams | null = null;
  let board: HostBoard;

  beforeAll(async () => {
    models = mkdtempSync(path.join(os.tmpdir(), 'hil-host-board-'));
    writeHostTestModels(models);
    build = await buildHostTest(
      [
        ...componentSources(path.join(firmwareDir, 'components', 'hil_core')),
        ...HIL_PROTOCOL_SOURCES,
        ...['host_platform.cpp', 'host_runner.cpp', 'host_board_main.cpp'].map(hostApp),
      ],
      path.join(hostBuildDir, 'host_board'),
      { includeDirs: [path.join(firmwareDir, 'components', 'hil_core', 'include'), hostApp('.')] },
    );
    if (!build.ok) return;
    child = spawn(build.binary, [], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    board = new HostBoard(child);
  }, 300_000);

  afterAll(() => {
    child?.stdin.end();
    child?.kill();
    if (models) rmSync(models, { recursive: true, force: true });
  });

  it('compiles', () => expect(build.ok, `${build.command}\n${build.log}`).toBe(true));

  it('boots like a board: a log line, then HELLO with request id 0, flagged simulated', async () => {
    const hello = await board.take((m) => m.body.type === 'hello');
    expect(hello.requestId).toBe(0);
    expect(hello.simulated).toBe(true);
    expect(hello.body).toMatchObject({ type: 'hello', protocolMin: 1, protocolMax: 1, maxPayload: 4096, chip: 'esp32s3', cpuMhz: 240 });
    expect(board.logLines[0]).toMatch(/^I \(0\) hil: host board/);
  });

  it('uploads a model, allocates an arena, runs it and returns the expected output', async () => {
    const model = new Uint8Array(readFileSync(path.join(models, 'mlp_int8.tflite')));
    const upload = modelUploadRequests(model, 'psram');
    let last: Message[] = [];
    for (const body of upload) last = await board.request(body);
    expect(last.map((m) => m.body)).toMatchObject([{ type: 'model_ready', size: model.length, source: 'upload', placement: 'psram' }]);

    const arena = await board.one({ type: 'arena_config', size: 4096, placement: 'internal' }, 'arena_ready');
    expect(arena.inputs.map((t) => [t.dtype, t.shape])).toEqual([['int8', [1, 8]]]);

    for (const body of inputRequests(0, new Uint8Array(readFileSync(path.join(models, 'mlp_int8.in.bin'))))) {
      await board.one(body, 'chunk_ack');
    }
    const invoke = assembleInvoke(await board.request({ type: 'invoke', warmup: 1, measured: 3, profile: true }));
    // The host interpreter advances the host clock 1 ms per operator; mlp_int8 has three.
    expect(invoke.cycles).toEqual([720000, 720000, 720000]);
    expect(invoke.latencyUs).toEqual([3000, 3000, 3000]);
    expect(invoke.profile.map((e) => e.name)).toEqual(['FULLY_CONNECTED', 'RESHAPE', 'FULLY_CONNECTED']);

    const out = assembleOutput(await board.request({ type: 'get_output', tensor: 0, offset: 0, length: 0xffffffff }));
    expect([...out.data]).toEqual([...new Uint8Array(readFileSync(path.join(models, 'mlp_int8.out.bin')))]);
  });

  it('answers a request in the wrong state with the typed error the harness decodes', async () => {
    const replies = await board.request({ type: 'accuracy_run' });
    expect(replies.map((m) => m.body)).toMatchObject([{ type: 'error', code: 4 }]);
  });
});
