import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, modelUploadRequests, type Hello } from '../protocol/index.js';
import { writeModel } from '../tflite/writer.js';
import { tinyConvInt8 } from '../tflite/example-models.js';
import { SimBoard, type SimBoardOptions } from './board.js';
import { SimSerialClient } from './testing/serial-client.js';
import { simulatedImages } from './app/firmware-image.js';
import { parseVariant } from './app/variants.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hil-sim-board-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await ('stop' in o ? o.stop() : o.close());
});
let n = 0;

async function board(options: Partial<SimBoardOptions> = {}, baud = 921600): Promise<{ b: SimBoard; c: SimSerialClient }> {
  const b = await SimBoard.start({
    id: `sim-${++n}`, flashPath: path.join(dir, `b${n}.flash`), timeScale: 0.01, seed: n,
    serial: { baud }, ...options,
  });
  open.push(b);
  const c = await SimSerialClient.open(b.path, baud);
  open.push(c);
  return { b, c };
}

const tiny = writeModel(tinyConvInt8());

async function loadTiny(c: SimSerialClient): Promise<void> {
  for (const req of modelUploadRequests(tiny, 'psram')) await c.request(req);
  expect(await c.final({ type: 'arena_config', size: 32768, placement: 'internal' })).toMatchObject({ type: 'arena_ready' });
}

describe('SimBoard on a PTY', () => {
  it('shows a realistic ESP-IDF boot log and then a HELLO to whoever opens the port, and answers requests', async () => {
    const { c } = await board();
    const hello = (await c.hello()).body as Hello;
    expect(c.lines[0]).toBe('ESP-ROM:esp32s3-20210327');
    expect(c.lines).toContain('rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)');
    for (const pattern of [/^I \(\d+\) boot: ESP-IDF 2nd stage bootloader/, /^I \(\d+\) cpu_start: Pro cpu start user code/,
      /^I \(\d+\) heap_init: At 3FC9E710 len 0004B000 \(300 KiB\): DRAM/, /^I \(\d+\) esp_psram: Adding pool of 8192K/,
      /^I \(\d+\) app_init: App version: +v0\.1\.0-sim/, /^I \(\d+\) hil\.platform: hil_bench v0\.1\.0-sim \(variant esp-nn, kernels esp-nn/]) {
      expect(c.lines.some((l) => pattern.test(l)), String(pattern)).toBe(true);
    }
    expect(hello).toMatchObject({ variant: 'esp-nn', resetReason: 1, simulated: true, cpuMhz: 240 });
    expect(hello.appSha256).toBe(simulatedImages(parseVariant('esp-nn')!, 16 * 1024 * 1024).appElfSha256);
    expect(await c.final({ type: 'ping', data: new Uint8Array([42]) })).toEqual({ type: 'pong', data: new Uint8Array([42]) });
  });

  it('switches variant like a flash and reboot: new boot log, HELLO with the new identity and reset reason sw; the flash keeps it', async () => {
    const { b, c } = await board();
    await c.hello();
    const from = c.messages.length;
    expect(await c.final({ type: 'sim_set_variant', variant: 'reference-160mhz' })).toEqual({ type: 'ok' });
    const hello = (await c.hello(from)).body as Hello;
    expect(hello).toMatchObject({ variant: 'reference-160mhz', kernelBackend: 'reference', cpuMhz: 160, resetReason: 3 });
    expect(hello.appSha256).toBe(simulatedImages(parseVariant('reference-160mhz')!, 16 * 1024 * 1024).appElfSha256);
    expect(c.lines.some((l) => l.includes('cpu freq: 160000000 Hz'))).toBe(true);
    // A reset (EN) boots what is in flash: still the reference build.
    const from2 = c.messages.length;
    b.reset();
    expect(((await c.hello(from2)).body as Hello).variant).toBe('reference-160mhz');
  });

  it('rejects a host at the wrong baud rate as a UART does (garbage), but a USB-Serial-JTAG console takes any rate', async () => {
    const { b, c } = await board({ serial: { baud: 921600 } }, 115200);
    await c.until(() => c.decoder.stats.logLines > 3 && b.state === 'app');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.messages.some((m) => m.body.type === 'hello')).toBe(false);
    const jtag = await board({ serial: { baud: 921600, console: 'usb-jtag' } }, 115200);
    await jtag.c.hello();
  });

  it('reboots mid-run on a brown-out fault: banner, reset reason, a new HELLO, the model gone', async () => {
    const { c } = await board({ faults: [{ kind: 'reboot', reason: 'brownout', afterInvokes: 3 }] });
    await c.hello();
    await loadTiny(c);
    const from = c.messages.length;
    void c.request({ type: 'invoke', warmup: 0, measured: 10, profile: false }).catch(() => undefined);
    const hello = (await c.hello(from)).body as Hello;
    expect(hello.resetReason).toBe(9);
    expect(c.lines).toContain('Brownout detector was triggered');
    expect(c.lines).toContain('rst:0xf (BROWNOUT_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)');
    expect(c.messages.slice(from).some((m) => m.body.type === 'invoke_result')).toBe(false);
    expect(await c.final({ type: 'invoke', warmup: 0, measured: 1, profile: false })).toMatchObject({ type: 'error', code: ErrorCode.BAD_STATE });
  });

  it('panics and watchdogs with their own banners and reset reasons', async () => {
    const { c } = await board({ faults: [{ kind: 'reboot', reason: 'panic', afterInvokes: 1, times: 1 }] });
    await c.hello();
    await loadTiny(c);
    const from = c.messages.length;
    void c.request({ type: 'invoke', warmup: 0, measured: 5, profile: false }).catch(() => undefined);
    expect(((await c.hello(from)).body as Hello).resetReason).toBe(4);
    expect(c.lines.some((l) => l.startsWith("Guru Meditation Error: Core  1 panic'ed"))).toBe(true);
    expect(c.lines).toContain('rst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)');
    // times: 1 - the board now runs normally.
    await loadTiny(c);
    expect(await c.final({ type: 'invoke', warmup: 0, measured: 5, profile: false })).toMatchObject({ type: 'invoke_result', measured: 5 });

    const w = await board({ faults: [{ kind: 'reboot', reason: 'watchdog', afterInvokes: 2 }] });
    await w.c.hello();
    await loadTiny(w.c);
    const from2 = w.c.messages.length;
    void w.c.request({ type: 'invoke', warmup: 0, measured: 5, profile: false }).catch(() => undefined);
    expect(((await w.c.hello(from2)).body as Hello).resetReason).toBe(6);
    expect(w.c.lines.some((l) => /E \(\d+\) task_wdt: Task watchdog got triggered/.test(l))).toBe(true);
  });

  it('hangs: the request in progress and new ones get no answer until the hang ends, and the model survives it', async () => {
    const { b, c } = await board({ faults: [{ kind: 'hang', afterInvokes: 2, durationS: 30, times: 1 }] });
    await c.hello();
    await loadTiny(c);
    await expect(c.request({ type: 'invoke', warmup: 0, measured: 4, profile: false }, 200)).rejects.toThrow(/timed out/);
    expect(b.state).toBe('hung');
    await expect(c.request({ type: 'ping', data: new Uint8Array() }, 100)).rejects.toThrow(/timed out/);
    await c.until(() => b.state === 'app', 2000, 'the hang to end');
    expect(await c.final({ type: 'invoke', warmup: 0, measured: 2, profile: false })).toMatchObject({ type: 'invoke_result' });
  });

  it('a hang without a duration only ends with a reset', async () => {
    const { b, c } = await board({ faults: [{ kind: 'hang', afterInvokes: 1, times: 1 }] });
    await c.hello();
    await loadTiny(c);
    await expect(c.request({ type: 'invoke', warmup: 0, measured: 3, profile: false }, 300)).rejects.toThrow(/timed out/);
    const from = c.messages.length;
    b.reset();
    expect(((await c.hello(from)).body as Hello).resetReason).toBe(1);
  });

  it('drops off the line on a disconnect fault and comes back after durationS', async () => {
    const { b, c } = await board({ faults: [{ kind: 'disconnect', afterInvokes: 1, durationS: 20, times: 1 }] });
    await c.hello();
    await loadTiny(c);
    await expect(c.request({ type: 'invoke', warmup: 0, measured: 3, profile: false }, 100)).rejects.toThrow(/timed out/);
    expect(b.rom.wire.connected).toBe(false);
    await c.until(() => b.rom.wire.connected, 2000, 'the line to come back');
    expect(await c.final({ type: 'ping', data: new Uint8Array([1]) })).toMatchObject({ type: 'pong' });
  });

  it('enters the ROM loader on RESET download and boots the app again on an EN reset', async () => {
    const { b, c } = await board();
    await c.hello();
    expect(await c.final({ type: 'reset', mode: 'download' })).toEqual({ type: 'ok' });
    await c.until(() => c.lines.includes('waiting for download'), 3000, 'the download banner');
    expect(b.state).toBe('download');
    const from = c.messages.length;
    b.reset();
    await c.hello(from);
  });

  it('answers damaged requests with BAD_FRAME, counts them, and still answers a PING', async () => {
    const { b, c } = await board({ faults: [{ kind: 'corrupt-bytes', probability: 0.002, direction: 'to-board' }] });
    await c.hello();
    let bad = 0;
    for (let i = 0; i < 20; i++) {
      const body = await c.final({ type: 'ping', data: new Uint8Array(1000).fill(i) }, 3000).catch(() => undefined);
      if (body?.type === 'error') {
        expect(body.code).toBe(ErrorCode.BAD_FRAME);
        bad++;
      }
    }
    expect(bad).toBeGreaterThan(0);
    expect(b.firmware!.stats.badFrames).toBeGreaterThanOrEqual(bad);
    expect(b.rom.wire.stats.corruptedBytes).toBeGreaterThan(0);
  });
});
