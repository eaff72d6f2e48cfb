/**
 * `hil firmware build`: one idf.py build per firmware build id, each in its own directory
 * firmware/build/<id>/ with its own sdkconfig, dependency lock and flasher_args.json.
 *
 * Build id (the same rule as harness/lab/plan.ts buildId): the variant name for the default clock
 * (240 MHz, set by firmware/sdkconfig.defaults), "<variant>-<mhz>mhz" for another clock, and a
 * "-qemu" suffix for a build made for emulated boards (`--for qemu`, see BUILD_TARGETS).
 *
 * Components come from the component registry, or from a local folder of their sources
 * (`--components <dir>` / HIL_COMPONENTS_DIR, e.g. the esp-kit's): firmware/CMakeLists.txt turns
 * that folder into a local registry mirror for the component manager.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.js';
import type { IdfInstall, IdfRunner } from './idf.js';

export const repoFirmwareDir = fileURLToPath(new URL('../../firmware', import.meta.url));

export const CPU_MHZ = [80, 160, 240] as const;
export type BuildCpuMHz = (typeof CPU_MHZ)[number];
/** firmware/sdkconfig.defaults sets CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240 (FACTS.md: IDF's own default is 160). */
export const DEFAULT_CPU_MHZ: BuildCpuMHz = 240;

/**
 * What a build is made for. `board`: ESP32-S3 silicon (firmware/sdkconfig.defaults as is).
 * `qemu`: Espressif's QEMU (emulated boards, harness/emu): the same variant with
 * variants/fragments/qemu.sdkconfig applied last - DIO flash, because QEMU's esp32s3 SPI flash
 * model cannot run a QIO build (that fragment says why) - in its own directory "<id>-qemu".
 */
export const BUILD_TARGETS = ['board', 'qemu'] as const;
export type BuildTarget = (typeof BUILD_TARGETS)[number];
export const QEMU_FRAGMENT = 'variants/fragments/qemu.sdkconfig';

/** What a build needs from a firmware variant file (firmware/variants/<name>.json). */
export interface BuildVariant {
  name: string;
  kernelBackend: 'reference' | 'esp-nn';
  espNn: string;
  /** Fragments applied after sdkconfig.defaults, relative to firmware/. */
  sdkconfig: readonly string[];
}

export interface BuildPlan {
  /** firmware/build/<id>/ */
  id: string;
  variant: string;
  kernelBackend: 'reference' | 'esp-nn';
  espNn: string;
  cpuMHz: BuildCpuMHz;
  target: BuildTarget;
  /** Local component sources (espressif__<name>-<version>/), or undefined for the component registry. */
  componentsDir?: string;
  firmwareDir: string;
  buildDir: string;
  /** SDKCONFIG_DEFAULTS, relative to firmware/ (ESP-IDF resolves them against the project dir). */
  sdkconfigDefaults: string[];
  /** idf.py arguments before the action (build, size, ...). */
  args: string[];
}

export function firmwareBuildId(variant: string, cpuMHz: BuildCpuMHz, target: BuildTarget = 'board'): string {
  const id = cpuMHz === DEFAULT_CPU_MHZ ? variant : `${variant}-${cpuMHz}mhz`;
  return target === 'qemu' ? qemuBuildId(id) : id;
}

/** The directory of the QEMU build of a board build id ("esp-nn" -> "esp-nn-qemu"). */
export function qemuBuildId(buildId: string): string {
  return `${buildId}-qemu`;
}

/** The esp-tflite-micro version main/idf_component.yml pins (`espressif/esp-tflite-micro: "x.y.z"`). */
export function tflmPin(manifestText: string): string | undefined {
  return /espressif\/esp-tflite-micro: "(\d+\.\d+\.\d+)"/.exec(manifestText)?.[1];
}

/** The folder of one component's sources in a components folder (the layout the esp-kit ships). */
export function componentSourceDir(componentsDir: string, name: string, version: string): string {
  return path.join(componentsDir, `espressif__${name}-${version}`);
}

/** Parses `CONFIG_X=value` lines of sdkconfig fragments (later files win; `# CONFIG_X is not set` = n). */
export function readSdkconfigLines(texts: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const text of texts) {
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      const set = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
      if (set) out.set(set[1], set[2]);
      const unset = /^# (CONFIG_[A-Z0-9_]+) is not set$/.exec(line);
      if (unset) out.set(unset[1], 'n');
    }
  }
  return out;
}

/**
 * The components folder a build directory was configured with (its CMakeCache.txt's
 * HIL_COMPONENTS_DIR), '' for the registry, undefined when it was never configured. `hil firmware
 * size` plans with it: idf.py reconfigures when a -D differs from the cache, and a build made offline
 * that is reconfigured for the registry fails without network.
 */
export function configuredComponentsDir(buildDir: string): string | undefined {
  const cache = path.join(buildDir, 'CMakeCache.txt');
  if (!existsSync(cache)) return undefined;
  const m = /^HIL_COMPONENTS_DIR:[A-Z]+=(.*)$/m.exec(readFileSync(cache, 'utf8'));
  return m ? m[1]!.trim() : undefined;
}

export interface PlanOptions {
  cpuMHz?: BuildCpuMHz;
  target?: BuildTarget;
  /** A folder of component sources (`--components`, HIL_COMPONENTS_DIR); undefined = the registry. */
  componentsDir?: string;
  firmwareDir?: string;
}

/**
 * The build plan of one variant at one clock, for one target. Checks what idf.py would only find
 * late (or never): missing fragments, fragments that contradict the variant's kernel backend, and
 * a components folder without the sources the build pins.
 */
export function planBuild(variant: BuildVariant, options: PlanOptions = {}): BuildPlan {
  const cpuMHz = options.cpuMHz ?? DEFAULT_CPU_MHZ;
  const target = options.target ?? 'board';
  const firmwareDir = options.firmwareDir ?? repoFirmwareDir;
  const label = `firmware/variants/${variant.name}.json`;
  const texts: string[] = [];
  variant.sdkconfig.forEach((fragment, i) => {
    const file = path.join(firmwareDir, fragment);
    if (!existsSync(file)) {
      throw new LabError('firmware', `${label}: /sdkconfig/${i} names ${fragment}, which does not exist under firmware/ (fix the path or add the fragment).`);
    }
    texts.push(readFileSync(file, 'utf8'));
  });
  const settings = readSdkconfigLines(texts);
  const ansiC = settings.get('CONFIG_NN_ANSI_C') === 'y';
  if (variant.kernelBackend === 'reference' && !ansiC) {
    throw new LabError('firmware', `${label}: kernelBackend "reference" needs CONFIG_NN_ANSI_C=y in its sdkconfig fragments (add variants/reference.sdkconfig).`);
  }
  if (variant.kernelBackend === 'esp-nn' && ansiC) {
    throw new LabError('firmware', `${label}: kernelBackend "esp-nn" but its fragments set CONFIG_NN_ANSI_C=y (use variants/esp-nn.sdkconfig).`);
  }
  let componentsDir: string | undefined;
  if (options.componentsDir !== undefined && options.componentsDir !== '') {
    componentsDir = path.resolve(options.componentsDir);
    const manifest = readFileSync(path.join(firmwareDir, 'main', 'idf_component.yml'), 'utf8');
    const tflm = tflmPin(manifest);
    if (tflm === undefined) throw new LabError('firmware', 'firmware/main/idf_component.yml does not pin espressif/esp-tflite-micro to one version ("x.y.z").');
    for (const [name, version] of [['esp-tflite-micro', tflm], ['esp-nn', variant.espNn]] as const) {
      const dir = componentSourceDir(componentsDir, name, version);
      if (!existsSync(path.join(dir, 'CMakeLists.txt'))) {
        throw new LabError('firmware', `${label}: the components folder ${componentsDir} has no ${path.basename(dir)}/ (${name} ${version} sources): add it there, or build without --components / HIL_COMPONENTS_DIR to use the component registry.`);
      }
    }
  }
  const id = firmwareBuildId(variant.name, cpuMHz, target);
  const buildDir = path.join(firmwareDir, 'build', id);
  const sdkconfigDefaults = ['sdkconfig.defaults', ...variant.sdkconfig];
  if (cpuMHz !== DEFAULT_CPU_MHZ) sdkconfigDefaults.push(`variants/fragments/cpu-${cpuMHz}mhz.sdkconfig`);
  if (target === 'qemu') sdkconfigDefaults.push(QEMU_FRAGMENT);
  const args = [
    '-C', firmwareDir,
    '-B', buildDir,
    '-D', `SDKCONFIG=${path.join(buildDir, 'sdkconfig')}`,
    '-D', `SDKCONFIG_DEFAULTS=${sdkconfigDefaults.join(';')}`,
    '-D', `HIL_VARIANT=${variant.name}`,
    '-D', `HIL_ESP_NN_VERSION=${variant.espNn}`,
    '-D', 'IDF_TARGET=esp32s3',
    // Always given (empty = the registry), so a build directory never keeps an earlier choice in
    // its CMake cache.
    '-D', `HIL_COMPONENTS_DIR=${componentsDir ?? ''}`,
  ];
  return {
    id, variant: variant.name, kernelBackend: variant.kernelBackend, espNn: variant.espNn, cpuMHz, target,
    ...(componentsDir !== undefined ? { componentsDir } : {}), firmwareDir, buildDir, sdkconfigDefaults, args,
  };
}

/** Hash of everything that feeds the generated sdkconfig: the defaults files' contents, in order. */
export function configFingerprint(plan: BuildPlan): string {
  const hash = createHash('sha256');
  for (const f of plan.sdkconfigDefaults) hash.update(f).update('\0').update(readFileSync(path.join(plan.firmwareDir, f))).update('\0');
  hash.update(`esp-nn=${plan.espNn}`);
  return hash.digest('hex');
}

const STAMP = 'hil-build.json';

/**
 * ESP-IDF applies SDKCONFIG_DEFAULTS only when it creates the sdkconfig, so an edited fragment
 * would be silently ignored by an existing build directory. The build directory keeps a stamp
 * of the fingerprint; when it differs the old sdkconfig is removed and regenerated.
 * Returns true when an sdkconfig was removed.
 */
export function prepareBuildDir(plan: BuildPlan): boolean {
  mkdirSync(plan.buildDir, { recursive: true });
  const stampFile = path.join(plan.buildDir, STAMP);
  const fingerprint = configFingerprint(plan);
  let previous: string | undefined;
  try {
    previous = (JSON.parse(readFileSync(stampFile, 'utf8')) as { fingerprint?: string }).fingerprint;
  } catch {
    previous = undefined;
  }
  const sdkconfig = path.join(plan.buildDir, 'sdkconfig');
  let removed = false;
  if (previous !== fingerprint && existsSync(sdkconfig)) {
    rmSync(sdkconfig);
    removed = true;
  }
  const stamp = {
    id: plan.id,
    variant: plan.variant,
    kernelBackend: plan.kernelBackend,
    espNn: plan.espNn,
    cpuMHz: plan.cpuMHz,
    target: plan.target,
    sdkconfigDefaults: plan.sdkconfigDefaults,
    fingerprint,
  };
  writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
  return removed;
}

export interface BuildResult {
  plan: BuildPlan;
  flasherArgs: string;
}

/** Runs `idf.py ... build`; throws a LabError when it fails or leaves no flasher_args.json. */
export async function buildFirmware(plan: BuildPlan, idf: IdfInstall, runIdf: IdfRunner, log: (line: string) => void = () => {}): Promise<BuildResult> {
  if (prepareBuildDir(plan)) log(`sdkconfig fragments of ${plan.id} changed: regenerating ${path.join(plan.buildDir, 'sdkconfig')}`);
  const code = await runIdf(idf, [...plan.args, 'build']);
  if (code !== 0) {
    throw new LabError('firmware', `idf.py build of firmware ${plan.id} failed (exit ${code}): see its output above.`);
  }
  const flasherArgs = path.join(plan.buildDir, 'flasher_args.json');
  if (!existsSync(flasherArgs)) {
    throw new LabError('firmware', `idf.py build of firmware ${plan.id} succeeded but wrote no ${flasherArgs}: check that ${plan.buildDir} is the build directory.`);
  }
  return { plan, flasherArgs };
}
