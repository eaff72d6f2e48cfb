/**
 * Firmware variants a simulated board can run: the build-time choices of one firmware image
 * (ARCHITECTURE.md "Variants") - kernel backend, esp-nn pin, CPU clock.
 *
 * Names are the build ids the lab plans with (harness/lab/plan.ts `buildId`): a variant of
 * firmware/variants/<name>.json ("reference", "esp-nn", "esp-nn-1.2.6"), with "-<mhz>mhz" appended
 * for a build at another CPU clock ("esp-nn-160mhz"). Names that are not variant files but follow
 * the pattern "reference" | "esp-nn", optionally "-<x.y.z>" (an esp-nn pin), are accepted too, so a
 * scenario can try a pin before its variant file exists.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFirmwareVariants } from '../../config/firmware-variants.js';
import type { FirmwareVariant } from '../../config/types.js';
import type { KernelBackend } from '../cost-model.js';

export interface SimVariant {
  /** The name the board reports in HELLO (the build id). */
  name: string;
  kernelBackend: KernelBackend;
  espNnVersion: string;
  cpuMhz: 80 | 160 | 240;
}

/** The variant a fresh simulated board runs (the lab's default build, firmware/variants/esp-nn.json). */
export const DEFAULT_VARIANT = 'esp-nn';
/** esp-nn pin of a variant that does not name one (firmware/CMakeLists.txt default). */
export const DEFAULT_ESP_NN = '1.1.2';
/** The default build's clock (firmware/sdkconfig.defaults: CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240). */
export const DEFAULT_CPU_MHZ = 240;

const VARIANTS_DIR = fileURLToPath(new URL('../../../firmware/variants/', import.meta.url));

let known: Map<string, FirmwareVariant> | undefined;

function variantFiles(): Map<string, FirmwareVariant> {
  if (!known) {
    known = new Map();
    if (existsSync(VARIANTS_DIR)) for (const v of loadFirmwareVariants(VARIANTS_DIR)) known.set(v.name, v);
  }
  return known;
}

const PATTERN = /^(reference|esp-nn)(?:-(\d+\.\d+\.\d+))?$/;

/** The variant a name stands for, or undefined for a name the simulated firmware cannot build. */
export function parseVariant(name: string): SimVariant | undefined {
  const clock = /^(.+)-(80|160|240)mhz$/.exec(name);
  const base = clock ? clock[1]! : name;
  const cpuMhz = (clock ? Number(clock[2]) : DEFAULT_CPU_MHZ) as SimVariant['cpuMhz'];
  const file = variantFiles().get(base);
  if (file) return { name, kernelBackend: file.kernelBackend, espNnVersion: file.espNn, cpuMhz };
  const m = PATTERN.exec(base);
  if (!m) return undefined;
  return { name, kernelBackend: m[1] as KernelBackend, espNnVersion: m[2] ?? DEFAULT_ESP_NN, cpuMhz };
}

/** Names to suggest when a variant is unknown. */
export function knownVariantNames(): string[] {
  return [...variantFiles().keys()];
}
