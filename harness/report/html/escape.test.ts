import { describe, expect, it } from 'vitest';
import { escapeHtml, html, jsonForScript, raw, scriptText } from './escape.js';

describe('html escaping', () => {
  it('escapes every interpolated value unless it is already safe markup', () => {
    const name = '<script>alert(1)</script>';
    expect(html`<td title="${name}">${name}</td>`.text).toBe('<td title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(html`<tr>${['<a>', html`<b>${'&'}</b>`]}</tr>`.text).toBe('<tr>&lt;a&gt;<b>&amp;</b></tr>');
    expect(html`${null}${undefined}${false}${0}`.text).toBe('0');
    expect(html`${raw('<br>')}`.text).toBe('<br>');
    expect(escapeHtml(`'"`)).toBe('&#39;&quot;');
  });

  it('writes JSON that cannot close its script element and still parses', () => {
    const value = { line: '</script><script>alert(1)</script> & \u2028', n: NaN };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ line: value.line, n: null });
  });

  it('keeps "</script" out of inlined script text', () => {
    expect(scriptText('var s = "</script>"; // <!-- x')).toBe('var s = "<\\/script>"; // <\\!-- x');
  });
});
