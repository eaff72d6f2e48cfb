/**
 * summary.md: the run for a pull request or a chat message. benchstat's table (old, new, delta,
 * p; "~" when the change is not significant), the gates that failed or could not be evaluated with
 * their one-line explanations, and the comparisons between variants.
 *
 * Untrusted text (variant and model ids, board messages) is escaped: as code spans where it is an
 * identifier, with HTML entities elsewhere, and `|` everywhere (a table cell must not split). A
 * `<script>` in a model name shows as text on GitHub and anywhere else Markdown is rendered.
 */
import { DASH, fmtB, fmtCiHalfWidth, fmtDuration, fmtFraction, fmtP, fmtSignedPct, fmtUs, provenanceBanners } from './format.js';
import type { Reporter, ReportContext } from './reporter.js';
import { writeReportFile } from './reporter.js';
import type { Comparison, GateVerdict, RunResults } from './results-types.js';

/** Text in Markdown: HTML-significant characters as entities, Markdown punctuation escaped, no line breaks. */
export function mdText(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/**
 * An identifier as a code span: inside one, nothing is Markdown or HTML, except the backtick
 * (the span is fenced with one more backtick than the longest run inside) and, in a GFM table,
 * the pipe (which GFM lets `\|` escape even inside code).
 */
export function mdCode(s: string): string {
  const text = s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function table(header: string[], align: Array<'l' | 'r'>, rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

const ICON: Record<GateVerdict['status'], string> = { pass: '✅', fail: '❌', error: '⚠️', skipped: '⏭️' };

function deltaCell(c: Comparison | undefined): string {
  if (!c) return DASH;
  if (!c.comparable) return 'refused';
  if (!c.significant) return '~';
  return fmtSignedPct(c.changePct);
}

export function markdownSummary(r: RunResults): string {
  const out: string[] = [];
  const verdict = r.exitCode === 0 ? '✅ pass' : r.exitCode === 1 ? '❌ regression' : '⚠️ lab error';
  out.push(`## ${mdText(r.run.scenario.name)}: run ${mdCode(r.run.id)}`, '');
  for (const banner of provenanceBanners(r.run)) out.push(`> **${mdText(banner)}**`, '');
  out.push(`**${verdict}** (exit ${r.exitCode}): ${mdText(r.exitReason)}`, '');
  const passed = r.trials.filter((t) => t.status === 'passed').length;
  const facts = [
    `${r.run.status}${r.run.partial ? ' (partial)' : ''}`,
    `${passed}/${r.run.plan.trials} trials passed`,
    `${r.run.plan.boards.length} boards x ${r.run.plan.rounds} rounds`,
    fmtDuration(r.run.durationMs),
  ];
  if (r.run.gitCommit) facts.push(`commit ${mdCode(r.run.gitCommit.slice(0, 12))}`);
  out.push(facts.join(' · '), '');

  const base = r.baseline;
  if (base) {
    out.push(`### Latency against ${mdCode(base.runId)} (median)`, '');
    const byCandidate = new Map(base.comparisons.map((c) => [c.candidate, c]));
    out.push(...table(['variant', 'old', 'new', 'delta', 'p (Holm)'], ['l', 'r', 'r', 'r', 'r'], r.variants.map((v) => {
      const c = byCandidate.get(v.id);
      const old = c && Number.isFinite(c.baselineMedian) ? fmtUs(c.baselineMedian) : DASH;
      return [mdCode(v.id), old, `${fmtUs(v.latency?.median)} ${fmtCiHalfWidth(v.latency)}`.trim(), deltaCell(c), c?.comparable ? fmtP(c.pHolm) : DASH];
    })));
    out.push('', '"~": no significant change (Holm-corrected p >= 0.05); "±": 95% interval of the median.', '');
    if (base.missingVariants.length > 0) out.push(`Not in this run: ${base.missingVariants.map(mdCode).join(', ')}`, '');
  } else {
    out.push('### Latency (median)', '');
    out.push(...table(['variant', 'n', 'median', 'p90', 'top-1', 'arena used'], ['l', 'r', 'r', 'r', 'r', 'r'], r.variants.map((v) => [
      mdCode(v.id), String(v.latency?.n ?? 0), `${fmtUs(v.latency?.median)} ${fmtCiHalfWidth(v.latency)}`.trim(), fmtUs(v.latency?.p90),
      fmtFraction(v.accuracy?.top1.estimate), v.memory ? `${fmtB(v.memory.arenaUsedBytes)} of ${fmtB(v.memory.arenaBytes)}` : DASH,
    ])));
    out.push('');
  }

  const g = r.gates;
  out.push(`### Gates: ${g.passed} passed, ${g.failed} failed, ${g.errors} errors, ${g.skipped} skipped`, '');
  if (g.note) out.push(mdText(g.note), '');
  const bad = g.results.filter((x) => x.status === 'fail' || x.status === 'error');
  if (bad.length > 0) {
    out.push(...table(['', 'variant', 'gate'], ['l', 'l', 'l'], bad.map((x) => [ICON[x.status], mdCode(x.variant), mdText(x.explanation)])), '');
  }
  const good = g.results.filter((x) => x.status === 'pass');
  if (good.length > 0) {
    out.push('<details><summary>Passed gates</summary>', '');
    out.push(...table(['', 'variant', 'gate'], ['l', 'l', 'l'], good.map((x) => [ICON[x.status], mdCode(x.variant), mdText(x.explanation)])));
    out.push('', '</details>', '');
  }

  if (r.comparisons.length > 0) {
    out.push('### Variants compared', '');
    out.push(...table(['comparison', 'same', 'delta', '95% CI', 'p (Holm)'], ['l', 'l', 'r', 'r', 'r'], r.comparisons.map((c) => [
      mdText(c.label), mdText(c.context),
      c.comparable ? `${fmtSignedPct(c.changePct)}${c.significant ? '' : ' ~'}` : 'refused',
      c.comparable && Number.isFinite(c.lower) ? `${fmtSignedPct((c.lower - 1) * 100)} to ${fmtSignedPct((c.upper - 1) * 100)}` : DASH,
      c.comparable ? fmtP(c.pHolm) : mdText(c.refusedReason ?? ''),
    ])));
    out.push('');
  }

  if (r.warnings.length > 0) {
    out.push('### Warnings', '', ...r.warnings.map((w) => `- ${mdText(w)}`), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export class MarkdownReporter implements Reporter {
  readonly name = 'markdown';
  constructor(private readonly fileName = 'summary.md') {}

  onEnd(results: RunResults, context: ReportContext): string[] {
    return writeReportFile(context, this.fileName, markdownSummary(results));
  }
}
