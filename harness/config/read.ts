/**
 * The first steps every config loader shares: find and read the file, parse it (errors with
 * line:column), make sure it is the kind of file expected (by its `$schema`), and validate it
 * against that kind's schema (which also fills in defaults).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { parseJsonText, MAX_CONFIG_BYTES } from './json-text.js';
import { checkSchema, SCHEMA_FILES, type ConfigKind } from './schema-check.js';

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
  'firmware-variant': 'a firmware variant',
};

/** Which kind a `$schema` value names (by its last path segment), if any. */
export function kindOfSchemaRef(ref: string): ConfigKind | undefined {
  const base = ref.split(/[\\/]/).pop() ?? '';
  return (Object.keys(SCHEMA_FILES) as ConfigKind[]).find((k) => SCHEMA_FILES[k] === base);
}

export interface ConfigDocument {
  file: string;
  label: string;
  /** Validated data with the schema's defaults filled in. */
  data: Record<string, unknown>;
}

/** Read, parse and schema-check one config file of the given kind. */
export function readConfig(filePath: string, kind: ConfigKind): ConfigDocument {
  const file = path.resolve(filePath);
  const label = fileLabel(file);
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new LabError('config', `${label}: is a directory, not ${KIND_WORDS[kind]} (give the path of a .json file)`);
    size = st.size;
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw new LabError('config', `${label}: file not found (${kind === 'rigs' ? 'create it or pass --rigs <file>' : 'check the path'})`);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new LabError('config', `${label}: is ${size} bytes, too big for ${KIND_WORDS[kind]} (at most ${MAX_CONFIG_BYTES}; is it a data file?)`);
  }
  const data = parseJsonText(readFileSync(file, 'utf8'), label);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new LabError('config', `${label}: /: must be a JSON object, not ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`);
  }
  const record = data as Record<string, unknown>;
  const ref = record.$schema;
  if (typeof ref === 'string') {
    const named = kindOfSchemaRef(ref);
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
