/**
 * junit.xml for CI: one test suite for the run itself (a lab error is an <error>), one for the
 * regression gates (a failed gate is a <failure> whose message is the gate's one-line
 * explanation; a gate that could not be evaluated is an <error>; a skipped one <skipped>), and one
 * per variant with a test case per trial (a trial that failed is a <failure>, one whose board or
 * link failed an <error>, one that never ran <skipped>).
 *
 * Every text is escaped for XML 1.0, including characters XML cannot hold at all (control bytes a
 * board printed): those are replaced, never passed through, so the file always parses.
 */
import { fmtInterval, fmtUs } from './format.js';
import type { Reporter, ReportContext } from './reporter.js';
import { writeReportFile } from './reporter.js';
import type { GateVerdict, RunResults, TrialResults } from './results-types.js';

/** Characters XML 1.0 cannot contain (https://www.w3.org/TR/xml/#charsets), lone surrogates included. */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for an XML attribute or element. */
export function xmlEscape(text: string): string {
  return text
    .replace(NOT_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

type Attrs = Record<string, string | number>;

function attrs(a: Attrs): string {
  return Object.entries(a).map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`).join('');
}

interface Case {
  name: string;
  classname: string;
  time: number;
  outcome?: { kind: 'failure' | 'error' | 'skipped'; message: string; type?: string; body?: string };
  out?: string;
}

function caseXml(c: Case): string {
  const open = `    <testcase${attrs({ name: c.name, classname: c.classname, time: c.time.toFixed(3) })}`;
  const inner: string[] = [];
  if (c.outcome) {
    const a: Attrs = { message: c.outcome.message };
    if (c.outcome.type) a.type = c.outcome.type;
    inner.push(c.outcome.body !== undefined
      ? `      <${c.outcome.kind}${attrs(a)}>${xmlEscape(c.outcome.body)}</${c.outcome.kind}>`
      : `      <${c.outcome.kind}${attrs(a)}/>`);
  }
  if (c.out) inner.push(`      <system-out>${xmlEscape(c.out)}</system-out>`);
  return inner.length === 0 ? `${open}/>` : `${open}>\n${inner.join('\n')}\n    </testcase>`;
}

function suiteXml(name: string, cases: Case[], properties: Attrs = {}): string {
  const count = (k: string): number => cases.filter((c) => c.outcome?.kind === k).length;
  const time = cases.reduce((s, c) => s + c.time, 0);
  const props = Object.entries(properties);
  const lines = [`  <testsuite${attrs({ name, tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped'), time: time.toFixed(3) })}>`];
  if (props.length > 0) {
    lines.push('    <properties>');
    for (const [k, v] of props) lines.push(`      <property${attrs({ name: k, value: v })}/>`);
    lines.push('    </properties>');
  }
  lines.push(...cases.map(caseXml), '  </testsuite>');
  return lines.join('\n');
}

function gateCase(g: GateVerdict): Case {
  const c: Case = { name: `${g.metric}: ${g.variant}`, classname: `gates.${g.metric}`, time: 0 };
  const body = [g.explanation, ...g.warnings.map((w) => `warning: ${w}`)].join('\n');
  if (g.status === 'fail') c.outcome = { kind: 'failure', message: g.explanation, type: 'regression', body };
  else if (g.status === 'error') c.outcome = { kind: 'error', message: g.explanation, type: 'gate-error', body };
  else if (g.status === 'skipped') c.outcome = { kind: 'skipped', message: g.explanation };
  else c.out = body;
  return c;
}

/** What a trial's output line starts with: its numbers' class when it is not the silicon's. */
function trialMark(t: TrialResults, runSimulated: boolean): string {
  if (t.provenance === 'emulated') return 'EMULATED ';
  return t.simulated || runSimulated ? 'SIMULATED ' : '';
}

function trialCase(t: TrialResults, mark: string): Case {
  const c: Case = { name: t.id, classname: t.variant, time: (t.durationMs ?? 0) / 1000 };
  const last = t.errors.at(-1);
  const tries = t.attempts > 1 ? ` after ${t.attempts} attempts` : '';
  switch (t.status) {
    case 'failed':
      c.outcome = { kind: 'failure', message: last?.message ?? 'the trial failed', type: last?.code ?? 'trial', body: t.errors.map((e) => `attempt ${e.attempt}: [${e.code}] ${e.message}`).join('\n') };
      break;
    case 'error':
      c.outcome = { kind: 'error', message: `${last?.message ?? 'the board failed'}${tries}`, type: last?.code ?? 'board', body: t.errors.map((e) => `attempt ${e.attempt}: [${e.code}] ${e.message}`).join('\n') };
      break;
    case 'incomplete':
      c.outcome = { kind: 'skipped', message: 'incomplete: the run stopped during this trial' };
      break;
    case 'not-run':
      c.outcome = { kind: 'skipped', message: 'not run' };
      break;
    default: {
      const l = t.latency;
      c.out = `${mark}median ${fmtUs(l?.median)} (95% CI ${fmtInterval(l)}), p90 ${fmtUs(l?.p90)}, n ${l?.n ?? 0}` +
        (t.attempts > 1 ? `, passed on attempt ${t.attempts}` : '') + (t.warnings.length > 0 ? `\n${t.warnings.map((w) => `warning: ${w}`).join('\n')}` : '');
    }
  }
  return c;
}

export function junitXml(r: RunResults): string {
  const runCase: Case = { name: `run ${r.run.id}`, classname: 'run', time: (r.run.durationMs ?? 0) / 1000 };
  // Gate errors already show as <error> cases of the gates suite; any other exit code 2 is the run's own.
  if (r.exitCode === 2 && r.exitCause !== 'gate-error') runCase.outcome = { kind: 'error', message: r.exitReason, type: 'lab', body: [r.exitReason, ...r.warnings].join('\n') };
  else runCase.out = [`${r.run.status}: ${r.exitReason}`, ...r.warnings].join('\n');
  const properties: Attrs = {
    scenario: r.run.scenario.name, simulated: String(r.run.simulated), provenance: r.run.provenances.join(','), status: r.run.status, exitCode: r.exitCode,
  };
  if (r.run.gitCommit) properties.gitCommit = r.run.gitCommit;
  if (r.gates.baselineRun) properties.baseline = r.gates.baselineRun;
  const suites = [suiteXml('run', [runCase], properties)];
  if (r.gates.results.length > 0) suites.push(suiteXml('gates', r.gates.results.map(gateCase)));
  for (const v of r.variants) {
    suites.push(suiteXml(v.id, r.trials.filter((t) => t.variant === v.id).map((t) => trialCase(t, trialMark(t, r.run.simulated)))));
  }
  const all = r.gates.results.length + r.trials.length + 1;
  const failures = r.gates.failed + r.trials.filter((t) => t.status === 'failed').length;
  const errors = r.gates.errors + r.trials.filter((t) => t.status === 'error').length + (runCase.outcome?.kind === 'error' ? 1 : 0);
  const marks = [...(r.run.provenances.includes('emulated') ? ['EMULATED'] : []), ...(r.run.simulated ? ['SIMULATED'] : [])];
  const name = `hil ${r.run.scenario.name} ${r.run.id}${marks.map((m) => ` (${m})`).join('')}`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name, tests: all, failures, errors, time: ((r.run.durationMs ?? 0) / 1000).toFixed(3) })}>\n${suites.join('\n')}\n</testsuites>\n`;
}

export class JunitReporter implements Reporter {
  readonly name = 'junit';
  constructor(private readonly fileName = 'junit.xml') {}

  onEnd(results: RunResults, context: ReportContext): string[] {
    return writeReportFile(context, this.fileName, junitXml(results));
  }
}
