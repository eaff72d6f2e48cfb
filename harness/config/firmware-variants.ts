/**
 * `loadFirmwareVariants`: firmware/variants/*.json -> the firmware variants scenarios can name.
 * Each file is one variant; its "name" must be its file name, so `--variant esp-nn` and
 * firmware/variants/esp-nn.json and firmware/build/esp-nn/ always agree.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import type { FirmwareVariant } from './types.js';
import { configError, fileLabel, readConfig } from './read.js';

/** Load one variant file. */
export function loadFirmwareVariant(filePath: string): FirmwareVariant {
  const { file, label, data } = readConfig(filePath, 'firmware-variant');
  const raw = data as { name: string; description?: string; kernels: 'reference' | 'esp-nn'; espNnVersion?: string; sdkconfig: Record<string, string | number | boolean> };
  const expected = path.basename(file, '.json');
  if (raw.name !== expected) {
    throw configError(label, '/name', `"${raw.name}" must match the file name "${expected}" (rename one of them)`);
  }
  if (raw.espNnVersion !== undefined && raw.kernels !== 'esp-nn') {
    throw configError(label, '/espNnVersion', 'pins esp-nn on a variant with reference kernels (set "kernels": "esp-nn", or remove the pin)');
  }
  const variant: FirmwareVariant = { file, name: raw.name, kernels: raw.kernels, sdkconfig: raw.sdkconfig };
  if (raw.description !== undefined) variant.description = raw.description;
  if (raw.espNnVersion !== undefined) variant.espNnVersion = raw.espNnVersion;
  return variant;
}

/** Load every `*.json` of a directory (sorted by name). */
export function loadFirmwareVariants(dir: string): FirmwareVariant[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    throw new LabError('config', `${fileLabel(path.resolve(dir))}: firmware variants directory not found (it holds one <name>.json per variant)`);
  }
  return names.map((n) => loadFirmwareVariant(path.join(dir, n)));
}
