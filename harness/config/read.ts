/**
 * The first steps every config loader shares: find and read the file, parse it (errors with
 * line:column), make sure it is the kind of file expected (by its `$schema`), and validate it
 * against that kind's schema (which also fills in defaults).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { parseJsonText, MAX_CONFIG_BYTES } from './json-text.js';
import { checkSchema, describeValue, SCHEMA_FILES, type ConfigKind } from './schema-check.js';

/** How messages name a file: relative to the working directory when inside it, else absolute. */
export function fileLabel(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** `LabError` for a semantic problem: `<file>: <pointer>: <message>`. */
export function configError(label: string, pointer: string, message: string): LabError {
  return new LabError('config', `${label}: ${pointer === '' ? '/' : pointer}: ${message}`);
}

const KIND_WORDS: Record<ConfigKind, string> = {
  rigs: 'a rigs file',
  scenario: 'a scenario',
};

/** What `hil validate` can check: the two lab kinds, and the firmware's variant files. */
export type AnyConfigKind = ConfigKind | 'firmware-variant' | 'json-schema';

/** The schema file firmware variants name in their `$schema` (firmware/variants/variant.schema.json). */
export const VARIANT_SCHEMA_FILE = 'variant.schema.json';

/** Which kind a `$schema` value names (by its last path segment), if any. */
export function kindOfSchemaRef(ref: string): ConfigKind | undefined {
  const base = ref.split(/[\\/]/).pop() ?? '';
  return (Object.keys(SCHEMA_FILES) as ConfigKind[]).find((k) => SCHEMA_FILES[k] === base);
}

/**
 * What kind of config file `file` is: by its `$schema` when it has one, else by where it sits
 * (rigs*.json, scenarios/*.json, firmware/variants/*.json). Undefined when neither tells.
 */
export function detectConfigKind(filePath: string): AnyConfigKind | undefined {
  const file = path.resolve(filePath);
  try {
    if (statSync(file).size <= MAX_CONFIG_BYTES) {
      const text = readFileSync(file, 'utf8');
      const m = /"\$schema"\s*:\s*"([^"]*)"/.exec(text);
      const byRef = m ? kindOfSchemaRef(m[1]) : undefined;
      if (byRef) return byRef;
      if (m && m[1].split(/[\\/]/).pop() === VARIANT_SCHEMA_FILE) return 'firmware-variant';
      if (m && /^https?:\/\/json-schema\.org\//.test(m[1])) return 'json-schema';
    }
  } catch {
    // Unreadable: fall back to the name; the loader then reports what is wrong with the file.
  }
  const base = path.basename(file);
  const parent = path.basename(path.dirname(file));
  if (/^rigs.*\.json$/.test(base)) return 'rigs';
  if (parent === 'scenarios') return 'scenario';
  if (parent === 'variants' && path.basename(path.dirname(path.dirname(file))) === 'firmware') return 'firmware-variant';
  return undefined;
}

export interface ConfigDocument {
  file: string;
  label: string;
  /** Validated data with the schema's defaults filled in. */
  data: Record<string, unknown>;
}

/** Read and parse a config file (size-limited, errors with line:column). */
export function readJsonFile(filePath: string, what: string, fix = 'check the path'): { file: string; label: string; data: unknown } {
  const file = path.resolve(filePath);
  const label = fileLabel(file);
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new LabError('config', `${label}: is a directory, not ${what} (give the path of a .json file)`);
    size = st.size;
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw new LabError('config', `${label}: file not found (${fix})`);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new LabError('config', `${label}: is ${size} bytes, too big for ${what} (at most ${MAX_CONFIG_BYTES}; is it a data file?)`);
  }
  return { file, label, data: parseJsonText(readFileSync(file, 'utf8'), label) };
}

/** Read, parse and schema-check one config file of the given kind. */
export function readConfig(filePath: string, kind: ConfigKind): ConfigDocument {
  const { file, label, data } = readJsonFile(filePath, KIND_WORDS[kind], kind === 'rigs' ? 'create it or pass --rigs <file>' : 'check the path');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new LabError('config', `${label}: /: must be a JSON object, not ${describeValue(data)}`);
  }
  const record = data as Record<string, unknown>;
  const ref = record.$schema;
  if (typeof ref === 'string') {
    const named = kindOfSchemaRef(ref);
    if (ref.split(/[\\/]/).pop() === VARIANT_SCHEMA_FILE) {
      throw configError(label, '/$schema', `this is a firmware variant (${VARIANT_SCHEMA_FILE}), not ${KIND_WORDS[kind]}`);
    }
    if (named === undefined) {
      throw configError(label, '/$schema', `"${ref}" is not one of the lab's schemas (use a path ending in ${SCHEMA_FILES[kind]})`);
    }
    if (named !== kind) {
      throw configError(label, '/$schema', `this is ${KIND_WORDS[named]} (${SCHEMA_FILES[named]}), not ${KIND_WORDS[kind]}`);
    }
  }
  checkSchema(kind, record, label);
  return { file, label, data: record };
}

/** Resolve a path written in a config file against the file's directory. */
export function resolveFrom(configFile: string, written: string): string {
  return path.resolve(path.dirname(configFile), written);
}
