/**
 * `loadFirmwareVariants`: the firmware variants scenarios can name. The format belongs to the
 * firmware (firmware/variants/<name>.json, checked against firmware/variants/variant.schema.json);
 * this loader reads it with the same one-line errors as the lab's own config, and checks that a
 * variant's "name" is its file name, so `--variant esp-nn`, firmware/variants/esp-nn.json and
 * firmware/build/esp-nn/ always agree.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import type { FirmwareVariant } from './types.js';
import { configError, fileLabel, readJsonFile, VARIANT_SCHEMA_FILE } from './read.js';
import { checkSchemaFile } from './schema-check.js';

/** Load one variant file (its schema is `variant.schema.json` in the same directory). */
export function loadFirmwareVariant(filePath: string): FirmwareVariant {
  const { file, label, data } = readJsonFile(filePath, 'a firmware variant');
  const schemaFile = path.join(path.dirname(file), VARIANT_SCHEMA_FILE);
  if (!existsSync(schemaFile)) {
    throw new LabError('config', `${label}: no ${VARIANT_SCHEMA_FILE} next to it (firmware variants live in firmware/variants/)`);
  }
  checkSchemaFile(schemaFile, data, label);
  const raw = data as Omit<FirmwareVariant, 'file'>;
  const expected = path.basename(file, '.json');
  if (raw.name !== expected) {
    throw configError(label, '/name', `"${raw.name}" must match the file name "${expected}" (rename one of them)`);
  }
  return { file, name: raw.name, description: raw.description, kernelBackend: raw.kernelBackend, espNn: raw.espNn, sdkconfig: raw.sdkconfig };
}

/** Load every variant of a directory (each `*.json` but the schema), sorted by name. */
export function loadFirmwareVariants(dir: string): FirmwareVariant[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && n !== VARIANT_SCHEMA_FILE).sort();
  } catch {
    throw new LabError('config', `${fileLabel(path.resolve(dir))}: firmware variants directory not found (it holds one <name>.json per variant)`);
  }
  return names.map((n) => loadFirmwareVariant(path.join(dir, n)));
}
