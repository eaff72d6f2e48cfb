/**
 * Schema validation of config files with ajv (draft 2020-12), and the translation of ajv's errors
 * into the ONE line a user sees: `<file>: <JSON pointer>: <what is wrong> (<the fix>)`.
 *
 * The schemas carry annotation keywords of our own, which editors ignore and this module reads to
 * word its messages: `x-expect` (what a valid value looks like, for type/pattern/enum errors),
 * `x-unit` (unit after a limit: "must be >= 4096 bytes"), `x-hint` (the fix or the reason,
 * appended in parentheses) and `x-secret` (never echo the value: someone may have pasted a
 * password where an environment variable name belongs).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { LabError } from '../errors.js';
import { closest, quoteList } from './suggest.js';

/** Config files whose schema lives in harness/schemas/ (firmware variants bring their own). */
export type ConfigKind = 'rigs' | 'scenario';

/** File name of each kind's schema in harness/schemas/ (also what a file's `$schema` ends with). */
export const SCHEMA_FILES: Record<ConfigKind, string> = {
  rigs: 'rigs.schema.json',
  scenario: 'scenario.schema.json',
};

type SchemaNode = Record<string, unknown>;

interface CompiledSchema {
  root: SchemaNode;
  validate: ValidateFunction;
}

const instances = new Map<boolean, Ajv2020>();
const compiled = new Map<string, CompiledSchema>();

/**
 * Our own schemas compile in strict mode (a typo in a keyword is a bug); a schema another part of
 * the project owns compiles leniently, so an annotation keyword it adds cannot break the loader.
 */
function compileSchemaFile(file: string | URL, strict: boolean): CompiledSchema {
  const key = String(file);
  const hit = compiled.get(key);
  if (hit) return hit;
  let ajv = instances.get(strict);
  if (!ajv) {
    ajv = new Ajv2020({
      allErrors: true,
      verbose: true, // errors carry parentSchema: where x-expect / x-unit / x-hint are read from
      useDefaults: true,
      discriminator: true, // oneOf by "kind" reports only the chosen branch's errors
      allowUnionTypes: true,
      strict,
      addUsedSchema: false, // schemas are cached here by path, not registered by $id
    });
    for (const keyword of ['x-expect', 'x-unit', 'x-hint']) ajv.addKeyword({ keyword, schemaType: 'string' });
    ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
    instances.set(strict, ajv);
  }
  const root = JSON.parse(readFileSync(file, 'utf8')) as SchemaNode;
  const entry = { root, validate: ajv.compile(root) };
  compiled.set(key, entry);
  return entry;
}

function schemaFor(kind: ConfigKind): CompiledSchema {
  return compileSchemaFile(new URL(`../schemas/${SCHEMA_FILES[kind]}`, import.meta.url), true);
}

/** The parsed schema of a kind (for tests and tools that walk it). */
export function schemaDocument(kind: ConfigKind): SchemaNode {
  return schemaFor(kind).root;
}

/**
 * Validate `data` (mutated: ajv fills in the schema's defaults) against the schema of `kind`;
 * throws a LabError with one line naming `label`, the JSON pointer and the fix.
 */
export function checkSchema(kind: ConfigKind, data: unknown, label: string): void {
  checkWith(schemaFor(kind), data, label);
}

/** Like checkSchema, with a schema file from elsewhere (firmware/variants/variant.schema.json). */
export function checkSchemaFile(schemaFile: string, data: unknown, label: string): void {
  checkWith(compileSchemaFile(schemaFile, false), data, label);
}

function checkWith({ root, validate }: CompiledSchema, data: unknown, label: string): void {
  if (validate(data)) return;
  const { pointer, message } = describeSchemaErrors(validate.errors ?? [], data, root);
  throw new LabError('config', `${label}: ${pointer}: ${message}`);
}

/** A JSON pointer as shown to users: the root is "/". */
export function showPointer(pointer: string): string {
  return pointer === '' ? '/' : pointer;
}

/** Pick the error that best explains the problem and word it. Exported for tests. */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  data: unknown,
  root: SchemaNode,
): { pointer: string; message: string } {
  // Summary keywords only repeat what their branches said; a discriminator error comes with the
  // enum/required error of the "kind" field itself, which reads better.
  const useful = errors.filter((e) => !['oneOf', 'anyOf', 'if', 'discriminator'].includes(e.keyword));
  const pool = useful.length > 0 ? useful : errors;
  // An unknown field often explains the other errors (a typo'd "sise" is also a missing "size"),
  // so it goes first; otherwise ajv's order, which follows the document's structure.
  const chosen = pool.find((e) => e.keyword === 'additionalProperties') ?? pool[0];
  if (!chosen) return { pointer: '/', message: 'does not match the schema' };
  return { pointer: showPointer(chosen.instancePath), message: wordError(chosen, data, root) };
}

function wordError(e: ErrorObject, data: unknown, root: SchemaNode): string {
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const expect = typeof parent['x-expect'] === 'string' ? parent['x-expect'] : undefined;
  const unit = typeof parent['x-unit'] === 'string' ? ` ${parent['x-unit']}` : '';
  const hint = typeof parent['x-hint'] === 'string' ? parent['x-hint'] : undefined;
  const secret = parent['x-secret'] === true;
  const value = valueAt(data, e.instancePath);
  const params = e.params as Record<string, unknown>;
  if (e.propertyName !== undefined && e.keyword !== 'propertyNames') {
    // An error about a key of a map (propertyNames), not about a value.
    return `has a bad field name "${e.propertyName}" (it must be ${expect ?? 'a valid name'})`;
  }
  const withHint = (text: string, fallback?: string): string => {
    const note = hint ?? fallback;
    return note ? `${text} (${note})` : text;
  };

  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const here = Object.keys(propertiesOf(parent, root));
      const near = closest(field, here);
      if (near) return `unknown field "${field}" (did you mean "${near}"?)`;
      const nested = nestedFields(parent, root);
      const exact = nested.find((n) => n.name === field);
      if (exact) return `unknown field "${field}" (it belongs under "${exact.under}")`;
      const nearNested = closest(field, nested.map((n) => n.name));
      if (nearNested) {
        const where = nested.find((n) => n.name === nearNested)?.under ?? '';
        return `unknown field "${field}" (did you mean "${nearNested}", under "${where}"?)`;
      }
      return here.length > 0
        ? `unknown field "${field}" (allowed here: ${here.join(', ')})`
        : `unknown field "${field}"`;
    }
    case 'required': {
      const field = String(params.missingProperty);
      const prop = resolve(propertiesOf(parent, root)[field], root);
      const examples = prop?.examples;
      const example = Array.isArray(examples) && examples.length > 0 ? `e.g. "${field}": ${JSON.stringify(examples[0])}` : undefined;
      const description = typeof prop?.description === 'string' ? lowerFirst(firstSentence(prop.description)) : undefined;
      return withHint(`missing field "${field}"`, example ?? description);
    }
    case 'type': {
      const want = expect ?? typeWords(params.type);
      return secret ? `must be ${want}` : `must be ${want} (got ${describeValue(value)})`;
    }
    case 'enum':
    case 'const': {
      const allowed = e.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue];
      const near = typeof value === 'string' ? closest(value, allowed.filter((a): a is string => typeof a === 'string')) : undefined;
      const want = expect ?? (allowed.length === 1 ? JSON.stringify(allowed[0]) : `one of ${quoteList(allowed)}`);
      return `must be ${want} (got ${describeValue(value)}${near ? `; did you mean "${near}"?` : ''})`;
    }
    case 'pattern': {
      const want = `must be ${expect ?? `a string matching ${String(params.pattern)}`}`;
      return secret ? want : `${want} (got ${describeValue(value)})`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return withHint(`must be ${String(params.comparison)} ${String(params.limit)}${unit}`, `got ${describeValue(value)}`);
    case 'minItems':
      return withHint(Number(params.limit) === 1 ? 'must not be empty' : `must list at least ${String(params.limit)} items`);
    case 'maxItems':
      // x-hint on a list explains an empty one; it says nothing about a long one.
      return `must list at most ${String(params.limit)} items (got ${Array.isArray(value) ? value.length : 'more'})`;
    case 'uniqueItems': {
      const list = Array.isArray(value) ? value : [];
      const [first, second] = [Number(params.i), Number(params.j)].sort((a, b) => a - b);
      return `lists ${describeValue(list[first])} twice (items ${first} and ${second}; remove one)`;
    }
    case 'minLength':
      return withHint('must not be empty');
    case 'maxLength':
      return withHint(`must be at most ${String(params.limit)} characters`);
    case 'minProperties':
      return withHint('must not be empty');
    case 'propertyNames':
      return `has a bad field name "${String(params.propertyName)}"`;
    case 'multipleOf':
      return withHint(`must be a multiple of ${String(params.multipleOf)}${unit}`);
    case 'discriminator': {
      const tag = String(params.tag);
      const kinds = (resolve(propertiesOf(parent, root)[tag], root)?.enum as unknown[] | undefined) ?? [];
      if (params.error === 'mapping') return `unknown ${tag} ${describeValue(params.tagValue)} (one of ${quoteList(kinds)})`;
      return `missing field "${tag}" (one of ${quoteList(kinds)})`;
    }
    default:
      return withHint(e.message ?? `fails the "${e.keyword}" rule`);
  }
}

/** The value at a JSON pointer (RFC 6901), or undefined. */
export function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (node !== null && typeof node === 'object') node = (node as Record<string, unknown>)[key];
    else return undefined;
  }
  return node;
}

/** A short description of a value for a message: the value itself when short, else its kind. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length <= 60 ? text : `${text.slice(0, 57)}..."`;
}

function typeWords(type: unknown): string {
  const words: Record<string, string> = {
    integer: 'an integer', number: 'a number', string: 'a string', object: 'an object',
    array: 'a list', boolean: 'true or false', null: 'null',
  };
  const list = Array.isArray(type) ? type : String(type).split(',');
  return list.map((t) => words[String(t)] ?? String(t)).join(' or ');
}

function firstSentence(text: string): string {
  const m = /^(.*?[.!?])(\s|$)/.exec(text);
  return (m ? m[1] : text).replace(/\.$/, '');
}

function lowerFirst(text: string): string {
  // Keep acronyms and names as they are ("PSRAM size", "JSON"): only lower a capitalised word.
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

function resolve(node: unknown, root: SchemaNode): SchemaNode | undefined {
  let n = node;
  for (let hops = 0; hops < 10 && n !== null && typeof n === 'object'; hops++) {
    const ref = (n as SchemaNode).$ref;
    if (typeof ref !== 'string') return n as SchemaNode;
    n = valueAt(root, ref.replace(/^#/, ''));
  }
  return n !== null && typeof n === 'object' ? (n as SchemaNode) : undefined;
}

function propertiesOf(node: SchemaNode | undefined, root: SchemaNode): Record<string, unknown> {
  const props = resolve(node, root)?.properties;
  return props !== null && typeof props === 'object' ? (props as Record<string, unknown>) : {};
}

/** Field names allowed deeper inside `node` (up to 3 levels), with the dotted path they sit under. */
function nestedFields(node: SchemaNode, root: SchemaNode): { name: string; under: string }[] {
  const out: { name: string; under: string }[] = [];
  const walk = (n: SchemaNode | undefined, path: string[], depth: number): void => {
    if (!n || depth > 3) return;
    for (const [name, child] of Object.entries(propertiesOf(n, root))) {
      const c = resolve(child, root);
      if (path.length > 0) out.push({ name, under: path.join('.') });
      if (c && (c.type === 'object' || c.properties)) walk(c, [...path, name], depth + 1);
    }
  };
  walk(node, [], 0);
  return out;
}
