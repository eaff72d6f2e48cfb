/**
 * `hil firmware`: build the benchmark firmware with ESP-IDF, report image sizes, list variants.
 *
 *   hil firmware variants [--json]
 *   hil firmware build [--variant <name>...] [--cpu-mhz 80|160|240] [--for board|qemu] [--components <dir>]
 *   hil firmware size  [--variant <name>...] [--cpu-mhz 80|160|240] [--for board|qemu] [--json]
 *
 * Builds go to firmware/build/<build id>/ (the variant name at 240 MHz, "<variant>-<mhz>mhz"
 * otherwise, "-qemu" appended for emulated boards), each with its own sdkconfig and
 * flasher_args.json; a build also writes its size report (size.json). Components come from the
 * component registry unless a folder of their sources is given (--components, or the environment
 * variable HIL_COMPONENTS_DIR, which the esp-kit's install.sh exports). ESP-IDF is not bundled:
 * without it every command that needs idf.py fails with one line saying how to get it.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadFirmwareVariants } from '../config/index.js';
import { LabError } from '../errors.js';
import {
  BUILD_TARGETS, buildFirmware, configuredComponentsDir, CPU_MHZ, DEFAULT_CPU_MHZ, planBuild, repoFirmwareDir, type BuildCpuMHz, type BuildTarget, type BuildVariant,
} from '../firmware/build.js';
import { findIdf, formatIdfVersion, spawnIdf, type IdfRunner } from '../firmware/idf.js';
import { sizeFirmware, writeSizeReport, type FirmwareSize } from '../firmware/size.js';

export interface FirmwareCommandDeps {
  env: NodeJS.ProcessEnv;
  runIdf: IdfRunner;
  firmwareDir: string;
  out: (text: string) => void;
}

const defaultDeps = (): FirmwareCommandDeps => ({
  env: process.env,
  runIdf: spawnIdf,
  firmwareDir: repoFirmwareDir,
  out: (text) => process.stdout.write(text),
});

function parseCpu(value: string): BuildCpuMHz {
  const n = Number(value);
  if (!(CPU_MHZ as readonly number[]).includes(n)) throw new InvalidArgumentError(`must be one of ${CPU_MHZ.join(', ')}`);
  return n as BuildCpuMHz;
}

function parseTarget(value: string): BuildTarget {
  if (!(BUILD_TARGETS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${BUILD_TARGETS.join(', ')}`);
  return value as BuildTarget;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The variants named (all when none), in the order given; unknown names fail with the known ones. */
export function selectVariants<V extends BuildVariant>(all: readonly V[], names: readonly string[]): V[] {
  if (names.length === 0) return [...all];
  return names.map((name) => {
    const v = all.find((x) => x.name === name);
    if (!v) {
      throw new LabError('firmware', `no firmware variant "${name}": known variants are ${all.map((x) => x.name).join(', ')} (firmware/variants/*.json).`);
    }
    return v;
  });
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The human table of `hil firmware size`. */
export function formatSizes(sizes: readonly FirmwareSize[]): string {
  const lines: string[] = [];
  for (const s of sizes) {
    lines.push(`${s.build}: image ${s.imageBytes} bytes (${kib(s.imageBytes)}), ${(s.appPartitionUsed * 100).toFixed(1)}% of the ${kib(s.appPartitionBytes)} app partition`);
    lines.push(`  flash code ${kib(s.flashCode)}, flash data ${kib(s.flashData)}`);
    lines.push(`  static RAM: IRAM (code) ${kib(s.iram)}, DRAM (data, bss) ${kib(s.dram)}`);
    for (const r of s.ram) lines.push(`  ${r.name}: ${kib(r.used)} of ${kib(r.total)} static, ${kib(r.total - r.used)} left for the heap`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerFirmware(program: Command, deps: FirmwareCommandDeps = defaultDeps()): void {
  const firmware = program.command('firmware').description('build the benchmark firmware (ESP-IDF), report image sizes, list variants');
  const variantsOf = (): ReturnType<typeof loadFirmwareVariants> => loadFirmwareVariants(path.join(deps.firmwareDir, 'variants'));

  firmware
    .command('variants')
    .description('list the firmware variants (firmware/variants/*.json)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const variants = variantsOf();
      if (opts.json) {
        const rows = variants.map((v) => ({ name: v.name, kernelBackend: v.kernelBackend, espNn: v.espNn, sdkconfig: v.sdkconfig, description: v.description }));
        deps.out(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const width = Math.max(...variants.map((v) => v.name.length));
      for (const v of variants) {
        deps.out(`${v.name.padEnd(width)}  ${v.kernelBackend.padEnd(9)}  esp-nn ${v.espNn.padEnd(7)}  ${v.description}\n`);
      }
    });

  firmware
    .command('build')
    .description('build firmware variants with idf.py into firmware/build/<id>/ (needs ESP-IDF >= 5.1)')
    .option('--variant <name>', 'variant to build (repeatable; default: every variant)', collect, [])
    .option('--cpu-mhz <mhz>', `CPU clock of the build (${CPU_MHZ.join(', ')})`, parseCpu, DEFAULT_CPU_MHZ)
    .option('--for <target>', `what the image runs on: ${BUILD_TARGETS.join(' or ')} (emulated boards; build id "<id>-qemu")`, parseTarget, 'board')
    .option('--components <dir>', 'build offline from a folder of component sources (espressif__<name>-<version>/; default: $HIL_COMPONENTS_DIR, else the component registry)')
    .action(async (opts: { variant: string[]; cpuMhz: BuildCpuMHz; for: BuildTarget; components?: string }) => {
      const variants = selectVariants(variantsOf(), opts.variant);
      const componentsDir = opts.components ?? (deps.env.HIL_COMPONENTS_DIR || undefined);
      // Plan everything first: a bad variant or a components folder without a pin fails before
      // minutes of building.
      const plans = variants.map((v) => planBuild(v, { cpuMHz: opts.cpuMhz, target: opts.for, componentsDir, firmwareDir: deps.firmwareDir }));
      const idf = findIdf({ env: deps.env });
      deps.out(`ESP-IDF ${formatIdfVersion(idf.version)} at ${idf.idfPath}; components from ${componentsDir ?? 'the component registry'}\n`);
      // One build at a time: variants share firmware/managed_components/ (the component manager
      // swaps esp-nn versions there), so parallel builds of different pins would race.
      for (const plan of plans) {
        deps.out(`building ${plan.id} (${plan.kernelBackend} kernels, esp-nn ${plan.espNn}, ${plan.cpuMHz} MHz, for ${plan.target}) in ${path.relative(process.cwd(), plan.buildDir) || plan.buildDir}\n`);
        const started = Date.now();
        const result = await buildFirmware(plan, idf, deps.runIdf, (line) => deps.out(`${line}\n`));
        const size = await sizeFirmware(plan, idf, deps.runIdf);
        writeSizeReport(plan, size);
        deps.out(`built ${plan.id} in ${((Date.now() - started) / 1000).toFixed(0)} s: ${path.relative(process.cwd(), result.flasherArgs) || result.flasherArgs}\n${formatSizes([size])}`);
      }
    });

  firmware
    .command('size')
    .description('image and static memory size of built firmware (idf.py size)')
    .option('--variant <name>', 'variant to report (repeatable; default: every variant)', collect, [])
    .option('--cpu-mhz <mhz>', `CPU clock of the build (${CPU_MHZ.join(', ')})`, parseCpu, DEFAULT_CPU_MHZ)
    .option('--for <target>', `what the image runs on: ${BUILD_TARGETS.join(' or ')}`, parseTarget, 'board')
    .option('--json', 'print JSON')
    .action(async (opts: { variant: string[]; cpuMhz: BuildCpuMHz; for: BuildTarget; json?: boolean }) => {
      const variants = selectVariants(variantsOf(), opts.variant);
      // Each build as it was configured (its components folder), so idf.py size does not reconfigure it.
      const plans = variants.map((v) => {
        const plan = planBuild(v, { cpuMHz: opts.cpuMhz, target: opts.for, firmwareDir: deps.firmwareDir });
        const componentsDir = configuredComponentsDir(plan.buildDir);
        return componentsDir ? planBuild(v, { cpuMHz: opts.cpuMhz, target: opts.for, firmwareDir: deps.firmwareDir, componentsDir }) : plan;
      });
      const idf = findIdf({ env: deps.env });
      const sizes: FirmwareSize[] = [];
      for (const plan of plans) {
        const size = await sizeFirmware(plan, idf, deps.runIdf);
        writeSizeReport(plan, size);
        sizes.push(size);
      }
      deps.out(opts.json ? `${JSON.stringify(sizes, null, 2)}\n` : formatSizes(sizes));
    });
}
