/**
 * The JSON Schemas themselves: what editors show (a description on every field) and what keeps
 * typos from passing silently (no object accepts unknown fields).
 */
import { describe, expect, it } from 'vitest';
import { schemaDocument, SCHEMA_FILES, type ConfigKind } from './schema-check.js';
import { kindOfSchemaRef } from './read.js';

type Node = Record<string, unknown>;

/** Every subschema with its location, following properties, items, $defs and oneOf branches. */
function subschemas(root: Node): { at: string; node: Node }[] {
  const out: { at: string; node: Node }[] = [];
  const walk = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    const n = node as Node;
    out.push({ at, node: n });
    for (const [k, v] of Object.entries((n.properties ?? {}) as Node)) walk(v, `${at}/properties/${k}`);
    for (const [k, v] of Object.entries((n.$defs ?? {}) as Node)) walk(v, `${at}/$defs/${k}`);
    if (n.items) walk(n.items, `${at}/items`);
    if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${at}/additionalProperties`);
    ((n.oneOf ?? []) as unknown[]).forEach((b, i) => walk(b, `${at}/oneOf/${i}`));
  };
  walk(root, '#');
  return out;
}

const kinds = Object.keys(SCHEMA_FILES) as ConfigKind[];

describe.each(kinds)('%s schema', (kind) => {
  const root = schemaDocument(kind);
  const nodes = subschemas(root);

  it('describes every field (editors show the description)', () => {
    // A {"$ref"} node shows its target's description.
    const target = (node: Node): Node => (typeof node.$ref === 'string'
      ? (node.$ref.replace(/^#\//, '').split('/').reduce<unknown>((n, k) => (n as Node)[k], root) as Node)
      : node);
    const missing = nodes
      .filter(({ at, node }) => at !== '#' && typeof node.description !== 'string' && typeof target(node).description !== 'string')
      .map(({ at }) => at);
    expect(missing).toEqual([]);
  });

  it('refuses unknown fields in every object (maps of user-chosen keys aside)', () => {
    const open = nodes
      .filter(({ node }) => (node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object')) || node.properties) && !node.oneOf)
      .filter(({ node }) => node.additionalProperties !== false && node.propertyNames === undefined)
      .map(({ at }) => at);
    expect(open).toEqual([]);
  });

  it('lets a file point at it with a relative $schema path', () => {
    expect(kindOfSchemaRef(`./harness/schemas/${SCHEMA_FILES[kind]}`)).toBe(kind);
    expect(kindOfSchemaRef(`../../harness/schemas/${SCHEMA_FILES[kind]}`)).toBe(kind);
    expect(root.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});
