/**
 * Reading a config file's text as JSON, with errors a person can act on: `file:line:column`, what
 * is wrong there, and the usual fix (a trailing comma, a comment, a missing quote).
 *
 * `JSON.parse` does the parsing. Only when it fails does `locateSyntaxError` scan the text again to
 * find where and why, because V8's messages do not always carry a position ("Unexpected token 'x',
 * "..." is not valid JSON" has none). The scanner is iterative, so deeply nested input cannot
 * overflow the stack.
 */
import { LabError } from '../errors.js';

/** Config files are small; anything bigger is almost surely the wrong file (a dataset, a model). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface SyntaxErrorAt {
  /** 1-based line and column (columns count UTF-16 code units, as editors show them). */
  line: number;
  column: number;
  message: string;
}

/** Parse `text` (the content of `label`) as JSON; a syntax error becomes one `LabError` line. */
export function parseJsonText(text: string, label: string): unknown {
  // Editors on some systems save a byte-order mark; JSON.parse rejects it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const at = locateSyntaxError(body) ?? { line: 1, column: 1, message: e.message };
    throw new LabError('config', `${label}:${at.line}:${at.column}: invalid JSON: ${at.message}`);
  }
}

type Frame = { kind: 'object'; state: 'key-or-end' | 'key' | 'colon' | 'value' | 'comma-or-end' }
  | { kind: 'array'; state: 'value-or-end' | 'value' | 'comma-or-end' };

/** Find the first JSON syntax error in `text`, or null when the text is valid JSON. */
export function locateSyntaxError(text: string): SyntaxErrorAt | null {
  let i = 0;
  const stack: Frame[] = [];
  let sawRoot = false;

  const at = (pos: number, message: string): SyntaxErrorAt => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < pos && k < text.length; k++) {
      if (text.charCodeAt(k) === 10) { line++; lineStart = k + 1; }
    }
    return { line, column: pos - lineStart + 1, message };
  };
  const skipSpace = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else break;
    }
  };
  const describe = (pos: number): string => {
    if (pos >= text.length) return 'the end of the file';
    const ch = text[pos];
    return ch === '"' ? 'a string' : `"${ch}"`;
  };

  /** Scan one string starting at the quote; returns an error or null, advancing `i` past it. */
  const scanString = (): SyntaxErrorAt | null => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return null; }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return at(i, 'bad \\u escape in a string (it needs 4 hex digits)');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          return at(i, `bad escape "\\${e ?? ''}" in a string (write a backslash as \\\\)`);
        }
        continue;
      }
      if (c === 10 || c === 13) return at(start, 'string not closed before the end of the line (add the closing ")');
      if (c < 0x20) return at(i, 'control character inside a string (escape it, e.g. \\t)');
      i++;
    }
    return at(start, 'string not closed (add the closing ")');
  };

  /** Scan one scalar or open a container; returns an error or null. */
  const scanValue = (): SyntaxErrorAt | null => {
    const c = text[i];
    if (c === '{') { stack.push({ kind: 'object', state: 'key-or-end' }); i++; return null; }
    if (c === '[') { stack.push({ kind: 'array', state: 'value-or-end' }); i++; return null; }
    if (c === '"') return scanString();
    if (c === "'") return at(i, 'strings need double quotes, not single quotes');
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num && num[0].length > 0 && num[0] !== '-') {
      const next = text[i + num[0].length];
      if (next !== undefined && /[0-9.xXeE]/.test(next)) return at(i, 'malformed number (no leading zeros, hex or trailing dots in JSON)');
      i += num[0].length;
      return null;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) { i += word.length; return null; }
    }
    const bare = /^[A-Za-z_$][\w$-]*/.exec(text.slice(i, i + 100));
    if (bare) return at(i, `unexpected word "${bare[0]}" (strings need double quotes; literals are true, false, null)`);
    return at(i, `expected a value but found ${describe(i)}`);
  };

  for (;;) {
    skipSpace();
    if (text.startsWith('//', i) || text.startsWith('/*', i)) return at(i, 'comments are not allowed in JSON (use a "description" field instead)');
    const top = stack[stack.length - 1];
    if (top === undefined) {
      if (sawRoot) {
        if (i < text.length) return at(i, `unexpected ${describe(i)} after the end of the document (only one top-level value is allowed)`);
        return null;
      }
      if (i >= text.length) return at(i, 'the file is empty (expected a JSON object)');
      sawRoot = true;
      const err = scanValue();
      if (err) return err;
      continue;
    }
    if (i >= text.length) {
      return at(i, `unexpected end of the file: ${stack.length} unclosed ${stack.length === 1 ? 'bracket' : 'brackets'} (add the missing ${top.kind === 'object' ? '}' : ']'})`);
    }
    const c = text[i];
    if (top.kind === 'object') {
      switch (top.state) {
        case 'key-or-end':
        case 'key':
          if (c === '}') {
            if (top.state === 'key') return at(i, 'trailing comma before "}" (remove the last comma)');
            stack.pop(); i++; break;
          }
          if (c === '"') {
            const err = scanString();
            if (err) return err;
            top.state = 'colon';
            break;
          }
          if (c === "'") return at(i, 'property names need double quotes, not single quotes');
          return at(i, `expected a property name in double quotes but found ${describe(i)}`);
        case 'colon':
          if (c !== ':') return at(i, `expected ":" after the property name but found ${describe(i)}`);
          i++;
          top.state = 'value';
          break;
        case 'value': {
          top.state = 'comma-or-end';
          const err = scanValue();
          if (err) return err;
          break;
        }
        case 'comma-or-end':
          if (c === ',') { i++; top.state = 'key'; break; }
          if (c === '}') { stack.pop(); i++; break; }
          return at(i, `expected "," or "}" after a property value but found ${describe(i)} (a missing comma?)`);
      }
    } else {
      switch (top.state) {
        case 'value-or-end':
        case 'value':
          if (c === ']') {
            if (top.state === 'value') return at(i, 'trailing comma before "]" (remove the last comma)');
            stack.pop(); i++; break;
          }
          {
            top.state = 'comma-or-end';
            const err = scanValue();
            if (err) return err;
          }
          break;
        case 'comma-or-end':
          if (c === ',') { i++; top.state = 'value'; break; }
          if (c === ']') { stack.pop(); i++; break; }
          return at(i, `expected "," or "]" after an array item but found ${describe(i)} (a missing comma?)`);
      }
    }
  }
}
