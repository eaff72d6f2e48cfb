/**
 * A minimal protocol client for the simulator's own tests: opens a board's device path with
 * serialport (or connects to the raw TCP port a board serves its console on), decodes everything
 * with the protocol codec, keeps the board log, and sends requests.
 * (The lab's real links and board sessions live in harness/links and harness/boards.)
 */
import { once } from 'node:events';
import net from 'node:net';
import { SerialPort } from 'serialport';
import {
  FrameDecoder, decodeMessage, encodeMessage, type Message, type MessageBody, type Request,
} from '../../protocol/index.js';

export class SimSerialClient {
  readonly lines: string[] = [];
  readonly messages: Message[] = [];
  readonly decoder = new FrameDecoder();
  private nextId = 1;
  private waiters: Array<() => void> = [];

  private constructor(
    source: { on(event: 'data', listener: (chunk: Buffer) => void): unknown },
    private readonly end: { write(bytes: Buffer): void; close(): Promise<void> },
  ) {
    source.on('data', (chunk: Buffer) => this.push(chunk));
  }

  static async open(path: string, baudRate: number): Promise<SimSerialClient> {
    const port = new SerialPort({ path, baudRate });
    await once(port, 'open');
    return new SimSerialClient(port, {
      write: (bytes) => port.write(bytes),
      close: () => new Promise((r) => (port.isOpen ? port.close(() => r()) : r())),
    });
  }

  /** The console a board serves on TCP (SimFleetBoard.tcpAddress). */
  static async connect(address: { host: string; port: number }): Promise<SimSerialClient> {
    const socket = net.createConnection(address);
    await once(socket, 'connect');
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    return new SimSerialClient(socket, {
      write: (bytes) => socket.write(bytes),
      close: () => new Promise((r) => {
        if (socket.destroyed) r();
        else socket.once('close', () => r()).destroy();
      }),
    });
  }

  /** Bytes as they arrived, decoded (exposed so fuzz tests can feed the same decoder). */
  push(chunk: Uint8Array): void {
    for (const e of this.decoder.push(chunk)) {
      if (e.kind === 'log') this.lines.push(e.line);
      else if (e.kind === 'frame') {
        try {
          this.messages.push(decodeMessage(e.frame));
        } catch {
          // a damaged reply: the test that cares looks at decoder.stats
        }
      }
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `test()` holds, re-checked whenever bytes arrive. */
  async until<T>(test: () => T | undefined | false, timeoutMs = 10_000, what = 'the board'): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = test();
      if (v) return v;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last log lines: ${this.lines.slice(-5).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next HELLO after message index `from`. */
  hello(from = 0, timeoutMs = 10_000): Promise<Message> {
    return this.until(() => this.messages.slice(from).find((m) => m.body.type === 'hello'), timeoutMs, 'a HELLO');
  }

  writeRaw(bytes: Uint8Array): void {
    this.end.write(Buffer.from(bytes));
  }

  /** Send a request and collect its replies up to the final one. */
  async request(body: Request, timeoutMs = 10_000): Promise<Message[]> {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    const from = this.messages.length;
    this.writeRaw(encodeMessage({ requestId: id, simulated: false, more: false, body }));
    await this.until(() => this.messages.slice(from).some((m) => m.requestId === id && !m.more), timeoutMs, `the reply to ${body.type}`);
    return this.messages.slice(from).filter((m) => m.requestId === id);
  }

  async final(body: Request, timeoutMs?: number): Promise<MessageBody> {
    const replies = await this.request(body, timeoutMs);
    return replies[replies.length - 1]!.body;
  }

  close(): Promise<void> {
    return this.end.close();
  }
}
