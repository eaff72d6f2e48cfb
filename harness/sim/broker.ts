/**
 * The embedded MQTT broker of the simulated fleet (rigs.json `"mqtt": { "url": "embedded" }`):
 * aedes in this process on a TCP port of 127.0.0.1 (FACTS.md: `await Aedes.createBroker()`,
 * `net.createServer(broker.handle)`, no default export). Port 0 picks a free port.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { LabError } from '../errors.js';

export interface EmbeddedBroker {
  /** mqtt://127.0.0.1:<port> */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port = 0): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Frames are small request/reply exchanges: without TCP_NODELAY, Nagle's algorithm meets the
    // peer's delayed ACK and every exchange waits ~40 ms (measured by bench:link, see links README).
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      broker.close();
      reject(new LabError('mqtt', `the embedded MQTT broker cannot listen on 127.0.0.1:${port} (${e.code ?? e.message}): set mqtt.embeddedPort in rigs.json to a free port, or 0 for any`));
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${actual}`,
    port: actual,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
