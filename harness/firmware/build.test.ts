import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFirmwareVariants } from '../config/index.js';
import { isLabError } from '../errors.js';
import { buildFirmware, configuredComponentsDir, planBuild, prepareBuildDir, QEMU_FRAGMENT, readSdkconfigLines, repoFirmwareDir, tflmPin, type BuildVariant } from './build.js';
import type { IdfInstall } from './idf.js';

const espNn: BuildVariant = { name: 'esp-nn', kernelBackend: 'esp-nn', espNn: '1.1.2', sdkconfig: ['variants/esp-nn.sdkconfig'] };
const reference: BuildVariant = { name: 'reference', kernelBackend: 'reference', espNn: '1.1.2', sdkconfig: ['variants/reference.sdkconfig'] };
const idf: IdfInstall = { idfPath: '/opt/esp/idf', idfPy: '/opt/esp/idf/tools/idf.py', version: { major: 5, minor: 3, patch: 1 } };

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isLabError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a LabError');
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isLabError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a LabError');
}

/** A throwaway copy of what planning reads (defaults, fragments, manifest), so builds never touch firmware/build. */
const temps: string[] = [];
function tempFirmware(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hil-fw-'));
  temps.push(dir);
  cpSync(path.join(repoFirmwareDir, 'sdkconfig.defaults'), path.join(dir, 'sdkconfig.defaults'));
  cpSync(path.join(repoFirmwareDir, 'variants'), path.join(dir, 'variants'), { recursive: true });
  cpSync(path.join(repoFirmwareDir, 'main', 'idf_component.yml'), path.join(dir, 'main', 'idf_component.yml'));
  return dir;
}
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('planning a firmware build', () => {
  it('builds esp-nn at 240 MHz into firmware/build/esp-nn with its fragments, variant and esp-nn pin', () => {
    const plan = planBuild(espNn, { cpuMHz: 240, firmwareDir: repoFirmwareDir });
    const buildDir = path.join(repoFirmwareDir, 'build', 'esp-nn');
    expect(plan.id).toBe('esp-nn');
    expect(plan.buildDir).toBe(buildDir);
    expect(plan.args).toEqual([
      '-C', repoFirmwareDir,
      '-B', buildDir,
      '-D', `SDKCONFIG=${path.join(buildDir, 'sdkconfig')}`,
      '-D', 'SDKCONFIG_DEFAULTS=sdkconfig.defaults;variants/esp-nn.sdkconfig',
      '-D', 'HIL_VARIANT=esp-nn',
      '-D', 'HIL_ESP_NN_VERSION=1.1.2',
      '-D', 'IDF_TARGET=esp32s3',
      '-D', 'HIL_COMPONENTS_DIR=',
    ]);
    expect(plan.target).toBe('board');
  });

  it('builds for QEMU in its own directory with the QEMU fragment last (DIO flash)', () => {
    const plan = planBuild(espNn, { target: 'qemu', firmwareDir: repoFirmwareDir });
    expect(plan.id).toBe('esp-nn-qemu');
    expect(plan.buildDir).toBe(path.join(repoFirmwareDir, 'build', 'esp-nn-qemu'));
    expect(plan.sdkconfigDefaults).toEqual(['sdkconfig.defaults', 'variants/esp-nn.sdkconfig', QEMU_FRAGMENT]);
    const settings = readSdkconfigLines(plan.sdkconfigDefaults.map((f) => readFileSync(path.join(repoFirmwareDir, f), 'utf8')));
    expect(settings.get('CONFIG_ESPTOOLPY_FLASHMODE_DIO')).toBe('y');
    expect(planBuild(reference, { cpuMHz: 160, target: 'qemu', firmwareDir: repoFirmwareDir }).id).toBe('reference-160mhz-qemu');
  });

  it('builds offline from a components folder that holds the pinned sources, and names what is missing', () => {
    const components = mkdtempSync(path.join(os.tmpdir(), 'hil-components-'));
    temps.push(components);
    const tflm = tflmPin(readFileSync(path.join(repoFirmwareDir, 'main', 'idf_component.yml'), 'utf8'));
    expect(tflm).toBe('1.3.5');
    for (const dir of [`espressif__esp-tflite-micro-${tflm}`, 'espressif__esp-nn-1.1.2']) {
      mkdirSync(path.join(components, dir));
      writeFileSync(path.join(components, dir, 'CMakeLists.txt'), 'idf_component_register()\n');
    }
    const plan = planBuild(espNn, { componentsDir: components, firmwareDir: repoFirmwareDir });
    expect(plan.componentsDir).toBe(components);
    expect(plan.args.slice(-2)).toEqual(['-D', `HIL_COMPONENTS_DIR=${components}`]);
    expect(failure(() => planBuild({ ...espNn, espNn: '1.2.3' }, { componentsDir: components, firmwareDir: repoFirmwareDir }))).toBe(
      `firmware/variants/esp-nn.json: the components folder ${components} has no espressif__esp-nn-1.2.3/ (esp-nn 1.2.3 sources): add it there, or build without --components / HIL_COMPONENTS_DIR to use the component registry.`,
    );
  });

  it('puts another clock in its own directory and adds the clock fragment last', () => {
    const plan = planBuild(reference, { cpuMHz: 160, firmwareDir: repoFirmwareDir });
    expect(plan.id).toBe('reference-160mhz');
    expect(plan.buildDir).toBe(path.join(repoFirmwareDir, 'build', 'reference-160mhz'));
    expect(plan.sdkconfigDefaults).toEqual(['sdkconfig.defaults', 'variants/reference.sdkconfig', 'variants/fragments/cpu-160mhz.sdkconfig']);
    const clock = readSdkconfigLines(plan.sdkconfigDefaults.map((f) => readFileSync(path.join(repoFirmwareDir, f), 'utf8')));
    expect(clock.get('CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_160')).toBe('y');
    expect(clock.get('CONFIG_NN_ANSI_C')).toBe('y');
  });

  it('plans every variant in firmware/variants (the files the lab ships are consistent)', () => {
    const variants = loadFirmwareVariants(path.join(repoFirmwareDir, 'variants'));
    expect(variants.map((v) => v.name)).toEqual(expect.arrayContaining(['esp-nn', 'reference']));
    for (const v of variants) expect(planBuild(v, { cpuMHz: 240, firmwareDir: repoFirmwareDir }).id).toBe(v.name);
  });

  it('pins esp-nn per build in a generated manifest, not with `if` clauses component manager 1.x rejects', () => {
    const manifest = readFileSync(path.join(repoFirmwareDir, 'main', 'idf_component.yml'), 'utf8');
    expect(manifest).not.toMatch(/^\s*-?\s*if:/m);
    const cmake = readFileSync(path.join(repoFirmwareDir, 'CMakeLists.txt'), 'utf8');
    expect(/set\(HIL_ESP_NN_VERSION "([^"]+)" CACHE/.exec(cmake)?.[1]).toBe('1.1.2');
    expect(cmake).toContain('espressif/esp-nn: \\"==${HIL_ESP_NN_VERSION}\\"');
    expect(cmake).toContain('IDF_COMPONENT_STORAGE_URL');
  });

  it('refuses a missing fragment and fragments that contradict the kernels', () => {
    expect(failure(() => planBuild({ ...espNn, sdkconfig: ['variants/nope.sdkconfig'] }, { firmwareDir: repoFirmwareDir }))).toBe(
      'firmware/variants/esp-nn.json: /sdkconfig/0 names variants/nope.sdkconfig, which does not exist under firmware/ (fix the path or add the fragment).',
    );
    expect(failure(() => planBuild({ ...reference, sdkconfig: ['variants/esp-nn.sdkconfig'] }, { firmwareDir: repoFirmwareDir }))).toMatch(
      /^firmware\/variants\/reference\.json: kernelBackend "reference" needs CONFIG_NN_ANSI_C=y/,
    );
    expect(failure(() => planBuild({ ...espNn, sdkconfig: ['variants/reference.sdkconfig'] }, { firmwareDir: repoFirmwareDir }))).toMatch(
      /^firmware\/variants\/esp-nn\.json: kernelBackend "esp-nn" but its fragments set CONFIG_NN_ANSI_C=y/,
    );
  });

  it('reads sdkconfig fragments: later files win, "is not set" means n', () => {
    const lines = readSdkconfigLines(['CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x"\n', 'CONFIG_A=n\n']);
    expect(Object.fromEntries(lines)).toEqual({ CONFIG_A: 'n', CONFIG_B: 'n', CONFIG_C: '"x"' });
  });
});

describe('the build directory', () => {
  it('regenerates the sdkconfig when a fragment changed, and keeps it otherwise', () => {
    const fw = tempFirmware();
    const plan = planBuild(espNn, { cpuMHz: 240, firmwareDir: fw });
    expect(prepareBuildDir(plan)).toBe(false);
    const stamp = JSON.parse(readFileSync(path.join(plan.buildDir, 'hil-build.json'), 'utf8')) as Record<string, unknown>;
    expect(stamp).toMatchObject({ id: 'esp-nn', variant: 'esp-nn', espNn: '1.1.2', cpuMHz: 240, sdkconfigDefaults: ['sdkconfig.defaults', 'variants/esp-nn.sdkconfig'] });
    const sdkconfig = path.join(plan.buildDir, 'sdkconfig');
    writeFileSync(sdkconfig, 'CONFIG_NN_OPTIMIZED=y\n');
    expect(prepareBuildDir(plan)).toBe(false); // nothing changed: idf.py keeps its sdkconfig
    expect(existsSync(sdkconfig)).toBe(true);
    writeFileSync(path.join(fw, 'variants', 'esp-nn.sdkconfig'), 'CONFIG_NN_OPTIMIZED=y\nCONFIG_NN_SKIP_NUDGE=y\n');
    expect(prepareBuildDir(plan)).toBe(true);
    expect(existsSync(sdkconfig)).toBe(false);
  });
});

describe('running the build', () => {
  it('runs idf.py with the plan and the build action, and returns flasher_args.json', async () => {
    const fw = tempFirmware();
    const plan = planBuild(espNn, { cpuMHz: 240, firmwareDir: fw });
    const calls: string[][] = [];
    const result = await buildFirmware(plan, idf, async (_idf, args) => {
      calls.push([...args]);
      writeFileSync(path.join(plan.buildDir, 'flasher_args.json'), '{}');
      return 0;
    });
    expect(calls).toEqual([[...plan.args, 'build']]);
    expect(result.flasherArgs).toBe(path.join(plan.buildDir, 'flasher_args.json'));
  });

  it('turns a failed idf.py into one line naming the build', async () => {
    const fw = tempFirmware();
    const plan = planBuild(reference, { cpuMHz: 80, firmwareDir: fw });
    expect(await rejection(buildFirmware(plan, idf, async () => 2))).toBe('idf.py build of firmware reference-80mhz failed (exit 2): see its output above.');
    expect(await rejection(buildFirmware(plan, idf, async () => 0))).toMatch(/^idf\.py build of firmware reference-80mhz succeeded but wrote no .*flasher_args\.json/);
  });
});

describe('configuredComponentsDir: what hil firmware size plans a build with', () => {
  it('reads the components folder from the build\'s CMake cache: a folder, the registry, or never configured', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hil-cmakecache-'));
    try {
      expect(configuredComponentsDir(dir)).toBeUndefined();
      writeFileSync(path.join(dir, 'CMakeCache.txt'), '# This is the CMakeCache file.\nHIL_ESP_NN_VERSION:STRING=1.1.2\nHIL_COMPONENTS_DIR:UNINITIALIZED=/root/.cache/esp-kit/components\nIDF_TARGET:STRING=esp32s3\n');
      expect(configuredComponentsDir(dir)).toBe('/root/.cache/esp-kit/components');
      writeFileSync(path.join(dir, 'CMakeCache.txt'), 'HIL_COMPONENTS_DIR:UNINITIALIZED=\n');
      expect(configuredComponentsDir(dir)).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
