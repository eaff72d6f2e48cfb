import { describe, expect, it } from 'vitest';
import { junitXml, xmlEscape } from './junit.js';
import { buildRunResults } from './results.js';
import { reportFixture } from './testing/fixture.js';
import { expectGolden } from './testing/golden.js';
import { syntheticRun } from './testing/synthetic-run.js';

const fx = reportFixture();

describe('junit.xml', () => {
  it('has a suite for the run, the gates and each variant (golden)', () => {
    expectGolden('junit.xml', junitXml(fx.results));
  });

  it('a failed gate is a failed test case whose message is its one-line explanation', () => {
    const xml = junitXml(fx.results);
    const failed = fx.results.gates.results.find((g) => g.status === 'fail')!;
    expect(xml).toContain(`<testcase name="latency.median: esp-nn/cnn-int8/65536-internal/240mhz" classname="gates.latency.median" time="0.000">\n      <failure message="${xmlEscape(failed.explanation)}" type="regression">`);
    expect(xml).toMatch(/<testsuite name="gates" tests="32" failures="1" errors="0" skipped="0"/);
    expect(xml).toMatch(/<testsuites name="hil synthetic nightly-2025-01-06 \(SIMULATED\)" tests="129" failures="1" errors="1"/);
  });

  it('a trial whose board failed is an error; trials of a quarantined board that never ran are skipped', () => {
    const xml = junitXml(fx.results);
    expect(xml).toMatch(/<error message="sim-2: no answer to invoke within 10 s \(the board may have reset; it is probed again\) after 3 attempts" type="board-timeout">attempt 1: \[board-timeout\]/);
    expect(xml.match(/<skipped message="not run"\/>/g)).toHaveLength(3);
  });

  it('an interrupted run is an error of the run suite', () => {
    const xml = junitXml(buildRunResults(syntheticRun({ hostile: false, interruptAfterTrials: 5 }).events));
    expect(xml).toMatch(/<testsuite name="run" tests="1" failures="0" errors="1"/);
    expect(xml).toContain('<error message="the run did not complete (interrupted): 91 of 96 trials unfinished; resume it with hil run --resume synthetic-1" type="lab">');
  });

  it('escapes markup and replaces characters XML cannot hold', () => {
    expect(xmlEscape('a<b>&"c"\'d')).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;d');
    expect(xmlEscape('bell\u0007 nul\u0000 tab\t ok')).toBe('bell\uFFFD nul\uFFFD tab\t ok');
    expect(xmlEscape('lone \uD800 surrogate, pair \uD83D\uDE00')).toBe('lone \uFFFD surrogate, pair \uD83D\uDE00');
    const xml = junitXml(fx.results);
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('reference/cnn-float&lt;script&gt;alert(&quot;model&quot;)&lt;/script&gt;/65536-internal/240mhz');
  });
});
