/**
 * What a Web-Serial-shaped port for esptool-js's Transport is, whatever carries its bytes: the
 * `readable` / `writable` WHATWG streams (a fresh pair per open, as in Web Serial; esptool-js 0.7.0
 * lib/webserial.js reads and writes only through them) and the byte counters the flash report and
 * the flash bench read. The serial device (webserial-port.ts) and the TCP serial port
 * (webserial-tcp.ts) differ only in how they open, close and handle DTR/RTS.
 */

export interface WebSerialPortInfo {
  usbVendorId?: number;
  usbProductId?: number;
}

export interface WebSerialSignals {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
  break?: boolean;
}

export interface WebSerialOpenOptions {
  baudRate: number;
  dataBits?: number;
  stopBits?: number;
  parity?: string;
  bufferSize?: number;
  flowControl?: string;
}

/** What both a `serialport` SerialPort and a `net.Socket` offer: bytes in as 'data', out through write(). */
export interface ByteEnd {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  write(data: Buffer, callback: (error?: Error | null) => void): unknown;
}

export abstract class WebSerialStreamPort {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  /** Bytes that went out to / came in from the board since construction. */
  readonly counters = { bytesWritten: 0, bytesRead: 0 };
  /** Set when DTR/RTS cannot reach the board (a PTY, a raw TCP port): a reset by modem lines does nothing. */
  modemLinesUnavailable = false;
  /** True for pseudo-terminals (the flasher then knows the board must be put into download mode in-band). */
  abstract readonly isPty: boolean;
  abstract readonly isOpen: boolean;

  abstract getInfo(): WebSerialPortInfo;
  abstract open(options: WebSerialOpenOptions): Promise<void>;
  abstract setSignals(signals: WebSerialSignals): Promise<void>;
  /** Change the rate of the open port in place (esptool-js 0.7.0 Transport.changeBaudrate prefers it to a reopen). */
  abstract setBaudRate(baudRate: number): Promise<void>;
  abstract close(): Promise<void>;

  /** A fresh stream pair over `end` (on open). */
  protected attachStreams(end: ByteEnd, isOpen: () => boolean): void {
    this.readable = this.makeReadable(end);
    this.writable = this.makeWritable(end, isOpen);
  }

  protected detachStreams(): void {
    this.readable = null;
    this.writable = null;
  }

  protected notOpen(what: string): DOMException {
    return new DOMException(`${what}: the port is not open.`, 'InvalidStateError');
  }

  private makeReadable(end: ByteEnd): ReadableStream<Uint8Array> {
    let onData: ((chunk: Buffer) => void) | undefined;
    let onClose: (() => void) | undefined;
    const detach = (): void => {
      if (onData) end.off('data', onData);
      if (onClose) end.off('close', onClose);
    };
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        onData = (chunk: Buffer) => {
          this.counters.bytesRead += chunk.length;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        };
        onClose = () => {
          detach();
          try {
            controller.close();
          } catch {
            // already cancelled
          }
        };
        end.on('data', onData);
        end.on('close', onClose);
      },
      cancel: () => detach(),
    });
  }

  private makeWritable(end: ByteEnd, isOpen: () => boolean): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) =>
        new Promise<void>((resolve, reject) => {
          if (!isOpen()) {
            reject(new DOMException('The port is closed.', 'NetworkError'));
            return;
          }
          this.counters.bytesWritten += chunk.length;
          end.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), (e) => (e ? reject(e) : resolve()));
        }),
    });
  }
}
