import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { locateSyntaxError, parseJsonText } from './json-text.js';

describe('parseJsonText', () => {
  it('parses valid JSON, with or without a byte-order mark', () => {
    expect(parseJsonText('{"a": [1, 2.5e3, "x\\u0041", true, null]}', 'f.json')).toEqual({ a: [1, 2500, 'xA', true, null] });
    expect(parseJsonText('\ufeff{"a": 1}', 'f.json')).toEqual({ a: 1 });
  });

  it('names the file, line and column of a syntax error', () => {
    expect(() => parseJsonText('{\n  "a": 1,\n}', 'rigs.json')).toThrow(new LabError('config', 'rigs.json:3:1: invalid JSON: trailing comma before "}" (remove the last comma)'));
  });

  const cases: [string, string, string][] = [
    ['empty file', '', '1:1: the file is empty (expected a JSON object)'],
    ['trailing comma in a list', '[1, 2, ]', '1:8: trailing comma before "]" (remove the last comma)'],
    ['missing comma in a list', '[1 2]', '1:4: expected "," or "]" after an array item but found "2" (a missing comma?)'],
    ['single-quoted string', '{"a": \'x\'}', '1:7: strings need double quotes, not single quotes'],
    ['unquoted key', '{a: 1}', '1:2: expected a property name in double quotes but found "a"'],
    ['missing colon', '{"a" 1}', '1:6: expected ":" after the property name but found "1"'],
    ['bare word', '{"a": yes}', '1:7: unexpected word "yes" (strings need double quotes; literals are true, false, null)'],
    ['leading zero', '{"a": 012}', '1:7: malformed number (no leading zeros, hex or trailing dots in JSON)'],
    ['hex number', '{"a": 0x10}', '1:7: malformed number (no leading zeros, hex or trailing dots in JSON)'],
    ['unterminated string', '{"a": "abc\n}', '1:7: string not closed before the end of the line (add the closing ")'],
    ['bad escape', '{"a": "C:\\dev"}', '1:10: bad escape "\\d" in a string (write a backslash as \\\\)'],
    ['block comment', '{"a": 1 /* x */}', '1:9: comments are not allowed in JSON (use a "description" field instead)'],
    ['two documents', '{} {}', '1:4: unexpected "{" after the end of the document (only one top-level value is allowed)'],
    ['unclosed nesting', '{"a": [[', '1:9: unexpected end of the file: 3 unclosed brackets (add the missing ])'],
  ];
  for (const [what, text, message] of cases) {
    it(`explains: ${what}`, () => {
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      const at = locateSyntaxError(text);
      expect(at && `${at.line}:${at.column}: ${at.message}`).toBe(message);
    });
  }

  it('agrees with JSON.parse on what is valid', () => {
    for (const text of ['{}', '[]', '"x"', '-0.5e-3', ' {"a":{"b":[{"c":"\\"\\\\\\/\\b\\f\\n\\r\\t"}]}} ']) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(locateSyntaxError(text)).toBeNull();
    }
  });

  it('survives pathological nesting without overflowing the stack', () => {
    const deep = '['.repeat(200_000);
    expect(locateSyntaxError(deep)?.message).toBe('unexpected end of the file: 200000 unclosed brackets (add the missing ])');
  });
});
