/**
 * person_detect (from ../shared/models) on the lab firmware's real binary in QEMU, for the reference
 * (ANSI C) and the ESP-NN (S3 assembly) builds: the scores TFLM gives (FACTS.md: person.bmp ->
 * [-113, 113], no_person.bmp -> [57, -57]) must come back from the board byte for byte, with the arena
 * TFLM itself reports (arena_used_bytes after AllocateTensors on the S3). The emulated latencies are
 * printed for firmware/README's emulated-vs-simulated table; they count instructions (QEMU -icount,
 * harness/emu/qemu.ts), not silicon cycles - which makes them reproducible, and that is checked: the
 * same inference reads the same to 0.5 %, and ESP-NN's S3 assembly runs person_detect in fewer than a
 * fifth of the reference build's instructions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoardSession, emulatedBoardOptions } from '../../harness/boards/index.js';
import type { BoardConfig } from '../../harness/config/types.js';
import { EmulatedBoard } from '../../harness/emu/board.js';
import { findQemu } from '../../harness/emu/qemu.js';
import { sha256Hex } from '../../harness/protocol/index.js';
import { readBmpInt8 } from '../../harness/tflite/testing/images.js';
import { ensureEmulatedBuilds, hasKit, useKitEnv } from '../esp-kit.js';
import { hasShared, readSharedModel, sharedModelPath } from '../shared.js';
import { writeBuildToFlash } from './flash-file.js';

describe.runIf(hasKit && hasShared)('person_detect on the real firmware in QEMU, reference and ESP-NN builds (needs ../shared/esp-kit and ../shared/models)', () => {
  let dir: string;
  beforeAll(async () => {
    useKitEnv();
    await ensureEmulatedBuilds();
    dir = mkdtempSync(path.join(tmpdir(), 'hil-emu-person-'));
  }, 50 * 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const latencyMs = new Map<string, number>();
  for (const variant of ['reference', 'esp-nn'] as const) {
    it(`${variant}: TFLM's scores for person.bmp and no_person.bmp, byte for byte, in the same instruction count every time`, async () => {
      const id = `pd-${variant}`;
      const settings = { profile: 'esp32s3-devkitc-1-n8r8' as const, flashFile: path.join(dir, `${id}.flash.bin`) };
      writeBuildToFlash(settings.flashFile, `${variant}-qemu`, 8 << 20);
      const emulator = new EmulatedBoard({ id, settings, host: '127.0.0.1', port: 0, qemu: findQemu() });
      await emulator.start('app');
      const config: BoardConfig = { id, chip: 'esp32s3', transport: { tcp: { host: '127.0.0.1', port: 0 } }, identity: {}, tags: [], emulated: settings };
      const session = createBoardSession(config, { transport: 'tcp', ...emulatedBoardOptions(emulator) });
      try {
        const identity = await session.connect(20_000);
        expect(identity).toMatchObject({ variant, kernelBackend: variant, cpuMhz: 240, simulated: false });
        const model = readSharedModel('tflite-micro/person_detect.tflite');
        await session.uploadModel(model, sha256Hex(model), 'psram', 60_000);
        const arena = await session.configureArena(160 * 1024, 'internal', 60_000);
        const classify = async (file: string): Promise<{ scores: number[]; ms: number; spread: number }> => {
          const pixels = readBmpInt8(sharedModelPath(`tflite-micro/${file}`)).pixels;
          await session.setInput(0, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), 60_000);
          const out = await session.invoke({ warmup: 0, measured: 2, profile: false, timeoutMs: 120_000 });
          const output = await session.getOutput(0, 60_000);
          const ms = out.cycles.map((c) => c / out.cpuMhz / 1000);
          return { scores: [...new Int8Array(output.buffer, output.byteOffset, output.byteLength)], ms: Math.min(...ms), spread: (Math.max(...ms) - Math.min(...ms)) / Math.min(...ms) };
        };
        const person = await classify('person.bmp');
        const noPerson = await classify('no_person.bmp');
        console.log(`person_detect ${variant} (emulated): arena_used ${arena.used} bytes, person ${person.ms.toFixed(3)} ms, no_person ${noPerson.ms.toFixed(3)} ms (instructions x 4 ns, QEMU -icount)`);
        expect(person.scores).toEqual([-113, 113]);
        expect(noPerson.scores).toEqual([57, -57]);
        // Instruction counts: the same inference twice, and the other image, read the same - to 0.01 %
        // on an idle host; interrupts from UART bytes that arrive at host-timed moments add a few
        // hundred instructions on a busy one (0.1 % seen in a CI-like run), against the ~10 %
        // host-clock jitter without -icount.
        expect(person.spread).toBeLessThan(0.005);
        expect(Math.abs(noPerson.ms - person.ms) / person.ms).toBeLessThan(0.005);
        latencyMs.set(variant, person.ms);
        if (variant === 'esp-nn') expect(latencyMs.get('reference')! / person.ms).toBeGreaterThan(5);
        // TFLM's own arena figure on the S3 (32-bit): 82,300 bytes with reference kernels (FACTS.md); ESP-NN adds scratch buffers.
        if (variant === 'reference') expect(arena.used).toBe(82_300);
        else expect(arena.used).toBeGreaterThan(82_300);
      } finally {
        await session.close();
        await emulator.stop();
      }
    }, 10 * 60_000);
  }
});
