import { describe, expect, it } from 'vitest';
import { buildRunResults } from './results.js';
import { markdownSummary, mdCode, mdText } from './markdown.js';
import { reportFixture } from './testing/fixture.js';
import { expectGolden } from './testing/golden.js';
import { syntheticRun } from './testing/synthetic-run.js';

const fx = reportFixture();

/** The Markdown with every code span removed: what renders as text or HTML. */
function outsideCode(md: string): string {
  return md.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, '');
}

describe('markdown summary', () => {
  it('is a benchstat-like table with the gates that failed (golden)', () => {
    expectGolden('summary.md', markdownSummary(fx.results));
  });

  it('shows old, new, delta and p per variant, "~" when not significant', () => {
    const md = markdownSummary(fx.results);
    expect(md).toContain('| variant | old | new | delta | p (Holm) |');
    const row = md.split('\n').find((l) => l.startsWith('| `esp-nn/cnn-int8/65536-internal/240mhz` |'))!;
    expect(row).toMatch(/^\| `esp-nn\/cnn-int8\/65536-internal\/240mhz` \| 3\.891 ms \| 4\.084 ms ±0\.\d\d% \| \+4\.9\d% \| p<0\.0001 \|$/);
    expect(md.split('\n').filter((l) => / \| ~ \| p=/.test(l)).length).toBeGreaterThan(0);
    expect(md).toContain('**❌ regression** (exit 1)');
    expect(md).toContain('> **SIMULATED: these numbers come from simulated boards (harness/sim), not from ESP32-S3 hardware**');
  });

  it('never lets a model name or a message become HTML or break a table row', () => {
    const md = markdownSummary(fx.results);
    expect(md).toContain('`reference/cnn-float<script>alert("model")</script>/65536-internal/240mhz`');
    expect(outsideCode(md)).not.toMatch(/<script|<\/script/i);
    expect(outsideCode(md)).toContain('&lt;script&gt;');
    expect(mdText('a | b <i>x</i> *y*')).toBe('a \\| b &lt;i&gt;x&lt;/i&gt; \\*y\\*');
    expect(mdCode('x|y')).toBe('`x\\|y`');
    expect(mdCode('a`b')).toBe('``a`b``');
  });

  it('without a baseline: the variants with their medians, and why gates were skipped', () => {
    const run = syntheticRun({ hostile: false });
    const md = markdownSummary(buildRunResults(run.events, { gates: run.scenario.gates }));
    expect(md).toContain('### Latency (median)');
    expect(md).toContain('| variant | n | median | p90 | top-1 | arena used |');
    expect(md).toContain('no baseline run to compare with (set one with hil baseline set &lt;run-id&gt;)');
    expect(md).toContain('**✅ pass** (exit 0)');
  });
});
