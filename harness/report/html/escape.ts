/**
 * Building HTML without injection: the `html` tagged template escapes every interpolated value
 * unless it is already `SafeHtml` (the result of another `html` template or of `raw` for trusted
 * constants). Untrusted text - a board's log line, a model id, an error message - can only reach
 * the page as text. Data for the charts travels as JSON inside <script type="application/json">,
 * where `<`, `>`, `&` and the JavaScript line separators are written as \u escapes, so no string
 * can close the script element (OWASP XSS Prevention Cheat Sheet, rule 3.1 "HTML-encode JSON
 * values in an HTML context and read the data with JSON.parse").
 */

export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v));
}

/** `html\`<td>${untrusted}</td>\``: interpolations are escaped; arrays are joined; null/undefined/false render nothing. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Trusted markup (constants of this module's own making only). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

/** JSON that is safe inside <script type="application/json"> (and still valid JSON). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A script's own text must not contain "</script" (it would end the element early). */
export function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
