/**
 * Every board variant of firmware/variants builds for esp32s3 with ESP-IDF v5.3.1 and the kit's
 * xtensa-esp32s3-elf compiler, offline from the kit's component sources (../shared/esp-kit), the
 * way a lab with boards builds them: `hil firmware build` (no --for: QIO flash, hardware SHA-256,
 * the console at 115200 - what sdkconfig.defaults keeps for silicon), then `hil firmware size`.
 * Nothing here runs the images: there is no ESP32-S3 on this machine (the QEMU builds run in the
 * other tests of this folder).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBoardBuilds, ensureEmulatedBuilds, firmwareBuildDir, hasKit, hilCli } from '../esp-kit.js';
import { repoRoot } from '../shared.js';

const variants = readdirSync(path.join(repoRoot, 'firmware', 'variants'))
  .filter((f) => f.endsWith('.json') && f !== 'variant.schema.json')
  .map((f) => ({ name: f.replace(/\.json$/, ''), ...(JSON.parse(readFileSync(path.join(repoRoot, 'firmware', 'variants', f), 'utf8')) as { kernelBackend: string; espNn: string }) }));

describe.runIf(hasKit)('every board variant builds for esp32s3 with ESP-IDF 5.3 (needs ../shared/esp-kit)', () => {
  beforeAll(async () => {
    await ensureEmulatedBuilds(); // first: the emulated tests wait for those, and ccache then serves most objects
    await ensureBoardBuilds();
  }, 60 * 60_000);

  it('hil firmware build: each variant with its own kernels, esp-nn pin and silicon settings', () => {
    expect(variants.map((v) => v.name).sort()).toEqual(['esp-nn', 'esp-nn-1.2.3', 'reference']);
    for (const v of variants) {
      const dir = firmwareBuildDir(v.name);
      const meta = JSON.parse(readFileSync(path.join(dir, 'hil-build.json'), 'utf8')) as Record<string, unknown>;
      expect(meta).toMatchObject({ id: v.name, variant: v.name, kernelBackend: v.kernelBackend, espNn: v.espNn, cpuMHz: 240, target: 'board' });
      // The component manager solved the pin the variant asks for.
      expect(readFileSync(path.join(dir, `dependencies.esp-nn-${v.espNn}.lock`), 'utf8')).toMatch(new RegExp(`espressif/esp-nn:[\\s\\S]*?version: ${v.espNn.replace(/\./g, '\\.')}`));
      const sdkconfig = readFileSync(path.join(dir, 'sdkconfig'), 'utf8');
      expect(sdkconfig, v.name).toContain(v.kernelBackend === 'esp-nn' ? 'CONFIG_NN_OPTIMIZED=y' : 'CONFIG_NN_ANSI_C=y');
      expect(sdkconfig, v.name).toContain('CONFIG_ESPTOOLPY_FLASHMODE_QIO=y');
      expect(sdkconfig, v.name).toContain('CONFIG_MBEDTLS_HARDWARE_SHA=y');
      expect(sdkconfig, v.name).toContain('CONFIG_SPIRAM_MODE_OCT=y');
      expect(sdkconfig, v.name).toContain('CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240=y');
    }
  });

  it('hil firmware size: real figures per variant, each image inside the 3 MB app partition', async () => {
    const r = await hilCli(['firmware', 'size', '--json'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const sizes = JSON.parse(r.stdout) as Array<{ build: string; imageBytes: number; appPartitionBytes: number; flashCode: number; flashData: number; iram: number; dram: number }>;
    expect(sizes.map((s) => s.build).sort()).toEqual(variants.map((v) => v.name).sort());
    for (const s of sizes) {
      expect(s.appPartitionBytes, s.build).toBe(0x2f0000); // partitions.csv: factory, 0x10000 to 0x300000
      expect(s.imageBytes, s.build).toBeGreaterThan(500_000);
      expect(s.imageBytes, s.build).toBeLessThan(s.appPartitionBytes);
      expect(s.flashCode, s.build).toBeGreaterThan(0);
      expect(s.iram, s.build).toBeGreaterThan(0);
      expect(s.dram, s.build).toBeGreaterThan(0);
      // The same figures the build kept for each run's identity (size-report.json).
      const kept = JSON.parse(readFileSync(path.join(firmwareBuildDir(s.build), 'size-report.json'), 'utf8')) as typeof s;
      expect(kept).toMatchObject({ imageBytes: s.imageBytes, iram: s.iram, dram: s.dram });
    }
    // The S3 assembly kernels are extra code on top of the ANSI C ones.
    const by = new Map(sizes.map((s) => [s.build, s]));
    expect(by.get('esp-nn')!.flashCode).toBeGreaterThan(by.get('reference')!.flashCode);
  }, 300_000);
});
