import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { repoFirmwareDir } from '../firmware/build.js';
import type { IdfRunner } from '../firmware/idf.js';
import { registerFirmware } from './firmware.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `hil firmware ...` on a fresh program with the given environment; returns stdout or the error. */
async function hil(argv: string[], env: NodeJS.ProcessEnv = {}, runIdf: IdfRunner = async () => 0): Promise<{ out: string; error?: string }> {
  let out = '';
  const program = new Command('hil').exitOverride();
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  registerFirmware(program, { env, runIdf, firmwareDir: repoFirmwareDir, out: (s) => (out += s) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { out };
  } catch (e) {
    return { out, error: (e as Error).message };
  }
}

describe('hil firmware', () => {
  it('lists the variants with kernels, esp-nn pin and description', async () => {
    const { out, error } = await hil(['firmware', 'variants']);
    expect(error).toBeUndefined();
    const lines = out.trim().split('\n');
    expect(lines.find((l) => l.startsWith('esp-nn '))).toMatch(/^esp-nn\s+esp-nn\s+esp-nn 1\.1\.2\s+ESP-NN's ESP32-S3 assembly/);
    expect(lines.find((l) => l.startsWith('reference '))).toMatch(/^reference\s+reference\s+esp-nn 1\.1\.2\s+Portable ANSI C/);
    const json = JSON.parse((await hil(['firmware', 'variants', '--json'])).out) as { name: string; sdkconfig: string[] }[];
    expect(json.find((v) => v.name === 'reference')?.sdkconfig).toEqual(['variants/reference.sdkconfig']);
  });

  it('fails a build with the one-line hint when ESP-IDF is not installed, before running anything', async () => {
    let ran = false;
    const r = await hil(['firmware', 'build', '--variant', 'esp-nn'], { PATH: '/usr/bin:/bin' }, async () => {
      ran = true;
      return 0;
    });
    expect(r.error).toBe('ESP-IDF not found: install ESP-IDF >= 5.1 and run `. $IDF_PATH/export.sh`, or use the GitHub Actions workflow (.github/workflows/firmware.yml).');
    expect(ran).toBe(false);
  });

  it('names the known variants for an unknown one, and rejects a clock the S3 build does not offer', async () => {
    expect((await hil(['firmware', 'build', '--variant', 'esp-nnn'])).error).toMatch(/^no firmware variant "esp-nnn": known variants are .*esp-nn.*reference.* \(firmware\/variants\/\*\.json\)\.$/);
    expect((await hil(['firmware', 'size', '--cpu-mhz', '200'])).error).toMatch(/--cpu-mhz.*must be one of 80, 160, 240/);
  });

  it('end to end: `hil firmware build` without ESP-IDF exits 2 with the hint on stderr', () => {
    const env = { ...process.env };
    delete env.IDF_PATH;
    env.PATH = path.dirname(process.execPath); // node only: no idf.py anywhere
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'hil.js'), 'firmware', 'build', '--variant', 'reference'], { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr.trim()).toBe('hil: ESP-IDF not found: install ESP-IDF >= 5.1 and run `. $IDF_PATH/export.sh`, or use the GitHub Actions workflow (.github/workflows/firmware.yml).');
    expect(r.status).toBe(2);
  });
});
