/**
 * Incremental zlib inflate for FLASH_DEFL_DATA: esptool (and esptool-js, with pako) deflates each
 * region as one zlib stream and sends it in blocks; the loader inflates each block as it arrives and
 * writes what came out (serial-protocol.rst "Writing Data": compressed flash download).
 */
import zlib from 'node:zlib';

export class Inflater {
  private readonly z = zlib.createInflate();
  private readonly out: Buffer[] = [];
  private failure: Error | undefined;

  constructor() {
    this.z.on('data', (chunk: Buffer) => this.out.push(chunk));
    this.z.on('error', (e: Error) => {
      this.failure = e;
    });
  }

  /** Inflate one block; resolves with every byte it produced. Throws on corrupt input. */
  async push(block: Uint8Array): Promise<Uint8Array> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.z.off('error', done);
        resolve();
      };
      this.z.once('error', done);
      this.z.write(block);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, done);
    });
    // 'data' events of the flushed output are emitted before the flush callback runs, but be sure.
    await new Promise<void>((r) => setImmediate(r));
    if (this.failure) throw this.failure;
    const produced = Buffer.concat(this.out.splice(0));
    return new Uint8Array(produced.buffer, produced.byteOffset, produced.byteLength);
  }

  close(): void {
    this.z.removeAllListeners('data');
    this.z.on('error', () => {});
    this.z.destroy();
  }
}
