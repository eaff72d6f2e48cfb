/**
 * report.html: one self-contained file (Chart.js inlined, no network, no external fonts) that a
 * reader opens from disk or from a CI artifact. Tables are rendered here through the escaping
 * `html` template; charts are Chart.js configurations (charts.ts) drawn by html/client.js.
 *
 * Defence in depth: a Content-Security-Policy allows no network at all and only the two inline
 * scripts of this file (by their sha256), so even text that escaped escaping could not run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_HEAD } from '../collect.js';
import { differenceSize } from '../gates.js';
import { fmtB, fmtDuration, fmtFraction, fmtInterval, fmtP, fmtSignedPct, fmtUs, gateSummaryOf, EMULATED_BANNER, SIMULATED_BANNER } from '../format.js';
import type { Comparison, GateVerdict, RunResults, TrialResults, VariantResults } from '../results-types.js';
import { color, reportCharts, type ChartSpec } from './charts.js';
import { html, jsonForScript, raw, scriptText, type SafeHtml } from './escape.js';

/**
 * Chart.js's UMD build, read from the installed package. FACTS.md: dist/chart.umd.min.js is not
 * in chart.js's exports map, so it is found from the package's resolved entry point.
 */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve('chart.js'));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'chart.js') return readFileSync(path.join(dir, 'dist', 'chart.umd.min.js'), 'utf8');
    } catch {
      // not the package root yet
    }
    dir = path.dirname(dir);
  }
  throw new Error('html report: chart.js/dist/chart.umd.min.js not found next to the chart.js package (npm install)');
}

let cachedClient: string | undefined;
function clientSource(): string {
  cachedClient ??= readFileSync(fileURLToPath(new URL('./client.js', import.meta.url)), 'utf8');
  return cachedClient;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #666; --line: #ddd; --bg: #fff; --soft: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 0 20px 60px; }
h1 { font-size: 22px; margin: 18px 0 4px; } h2 { font-size: 18px; margin: 34px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.banners { position: sticky; top: 0; z-index: 10; }
.banner { padding: 10px 20px; font-weight: 600; text-align: center; }
.banner.simulated { background: #fff3cd; color: #6b4e00; border-bottom: 2px solid #e0b400; }
.banner.emulated { background: #dbeafe; color: #1e3a8a; border-bottom: 2px solid #3b82f6; }
.verdict { display: inline-block; padding: 3px 10px; border-radius: 4px; font-weight: 700; }
.v0 { background: #d4edda; color: #155724; } .v1 { background: #f8d7da; color: #721c24; } .v2 { background: #fff3cd; color: #6b4e00; }
.facts { color: var(--muted); margin: 4px 0 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
.pass { color: #155724; } .fail { color: #b00020; font-weight: 700; } .error { color: #8a5a00; font-weight: 700; } .skipped { color: var(--muted); }
.chart { position: relative; margin: 8px 0 18px; }
.chart h3 { margin: 0 0 4px; font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 8px 20px; }
pre.log { background: #111; color: #ddd; padding: 8px; overflow-x: auto; font-size: 12px; max-height: 360px; }
details { margin: 6px 0; } summary { cursor: pointer; }
.warn { color: #8a5a00; } .muted { color: var(--muted); }
.cm td { text-align: right; min-width: 34px; font-variant-numeric: tabular-nums; }
`;

function chartBox(c: ChartSpec): SafeHtml {
  return html`<div class="chart" data-chart="${c.id}"><h3>${c.title}</h3><div style="height:${String(c.height)}px"><canvas id="chart-${c.id}" role="img" aria-label="${c.title}"></canvas></div></div>`;
}

function statusCell(s: GateVerdict['status'] | TrialResults['status']): SafeHtml {
  const cls = s === 'pass' || s === 'passed' ? 'pass' : s === 'fail' || s === 'failed' ? 'fail' : s === 'error' ? 'error' : 'skipped';
  return html`<td class="${cls}">${s === 'fail' ? 'FAIL' : s}</td>`;
}

function changeCell(c: Comparison | undefined): SafeHtml {
  if (!c) return html`<td class="n">-</td>`;
  if (!c.comparable) return html`<td class="n warn" title="${c.refusedReason ?? ''}">refused</td>`;
  return html`<td class="n${c.significant ? '' : ' muted'}">${fmtSignedPct(c.changePct)}${c.significant ? '' : ' ~'}</td>`;
}

function ciCell(c: Comparison): string {
  return c.comparable && Number.isFinite(c.lower) ? `${fmtSignedPct((c.lower - 1) * 100)} to ${fmtSignedPct((c.upper - 1) * 100)}` : '-';
}

function gateRows(rows: readonly GateVerdict[]): SafeHtml {
  return html`<table class="gates"><thead><tr><th>verdict</th><th>variant</th><th>gate</th><th>explanation</th></tr></thead><tbody>
${rows.map((v) => html`<tr>${statusCell(v.status)}<td class="id">${v.variant}</td><td>${v.metric}</td><td>${v.explanation}${v.warnings.length > 0 ? html`<div class="warn">${v.warnings.join('; ')}</div>` : ''}</td></tr>\n`)}
</tbody></table>`;
}

function gatesSection(r: RunResults): SafeHtml {
  const g = r.gates;
  const bad = g.results.filter((v) => v.status === 'fail' || v.status === 'error');
  const rest = g.results.filter((v) => v.status === 'pass' || v.status === 'skipped');
  return html`<section id="gates"><h2>Gates</h2>
<p>${g.passed} passed, ${g.failed} failed, ${g.errors} could not be evaluated, ${g.skipped} skipped${g.baselineRun ? `, against baseline run ${g.baselineRun}` : ''}.</p>
${g.note ? html`<p class="muted">${g.note}</p>` : ''}
${g.results.length === 0 ? html`<p class="muted">The scenario declares no gates.</p>` : ''}
${bad.length > 0 ? gateRows(bad) : ''}
${rest.length > 0 ? html`<details${bad.length === 0 ? raw(' open') : ''}><summary>${g.passed} passed and ${g.skipped} skipped gates</summary>${gateRows(rest)}</details>` : ''}
</section>`;
}

function variantsSection(r: RunResults, labels: Map<string, string>): SafeHtml {
  const byCandidate = new Map((r.baseline?.comparisons ?? []).map((c) => [c.candidate, c]));
  return html`<section id="variants"><h2>Variants</h2>
<table class="variants"><thead><tr><th>variant</th><th class="n">trials</th><th class="n">n</th><th class="n">median</th><th class="n">95% CI</th><th class="n">p90</th><th class="n">p99</th><th class="n">CV</th>
<th class="n">${r.baseline ? `vs ${r.baseline.runId}` : 'vs baseline'}</th><th class="n">top-1</th><th class="n">arena used</th><th>gates</th></tr></thead><tbody>
${r.variants.map((v) => html`<tr><td class="id" title="${v.id}">${labels.get(v.id) ?? v.id}${provenanceNote(r, v.provenance)}</td><td class="n">${v.trials.passed}/${v.trials.planned}</td><td class="n">${v.latency?.n ?? 0}</td>
<td class="n">${fmtUs(v.latency?.median)}</td><td class="n">${fmtInterval(v.latency)}</td><td class="n">${fmtUs(v.latency?.p90)}</td><td class="n">${fmtUs(v.latency?.p99)}</td>
<td class="n">${v.latency && Number.isFinite(v.latency.cv) ? `${(v.latency.cv * 100).toFixed(2)}%` : '-'}</td>${changeCell(byCandidate.get(v.id))}
<td class="n">${fmtFraction(v.accuracy?.top1.estimate)}</td><td class="n">${v.memory ? `${fmtB(v.memory.arenaUsedBytes)} / ${fmtB(v.memory.arenaBytes)}` : '-'}</td><td>${gateSummaryOf(r, v.id)}</td></tr>
${v.warnings.length > 0 ? html`<tr><td></td><td colspan="11" class="warn">${v.warnings.join('; ')}</td></tr>` : ''}`)}
</tbody></table>
<details><summary>Full variant ids</summary><table><tbody>${r.variants.map((v) => html`<tr><td>${labels.get(v.id) ?? ''}</td><td class="id">${v.id}</td><td class="id">${v.model.path}${v.model.storage === 'partition' ? ' (from the boards\' flash model partition)' : ''}</td></tr>`)}</tbody></table></details>
</section>`;
}

/** In a run of several provenance classes, which class a row's numbers are (the banners say the rest). */
function provenanceNote(r: RunResults, provenance: string): SafeHtml | string {
  return r.run.provenances.length > 1 ? html` <span class="muted provenance">(${provenance})</span>` : '';
}

/** One banner per class of numbers that is not the silicon's, kept together at the top while scrolling. */
function provenanceBannersHtml(r: RunResults): SafeHtml | string {
  const banners: SafeHtml[] = [];
  if (r.run.provenances.includes('emulated')) banners.push(html`<div class="banner emulated" role="alert" id="emulated-banner">${EMULATED_BANNER}</div>`);
  if (r.run.simulated || r.run.provenances.includes('simulated')) banners.push(html`<div class="banner simulated" role="alert" id="simulated-banner">${SIMULATED_BANNER}</div>`);
  return banners.length > 0 ? html`<div class="banners">${banners}</div>` : '';
}

function comparisonsTable(cs: readonly Comparison[], first: (c: Comparison) => SafeHtml, firstHead: string): SafeHtml {
  return html`<table class="comparisons"><thead><tr>${raw(firstHead)}<th class="n">baseline</th><th class="n">candidate</th><th class="n">change</th><th class="n">95% CI</th><th class="n">p</th><th class="n">p (Holm)</th><th>per board</th></tr></thead><tbody>
${cs.map((c) => html`<tr>${first(c)}<td class="n">${fmtUs(c.baselineMedian)}</td><td class="n">${fmtUs(c.candidateMedian)}</td>${changeCell(c)}<td class="n">${ciCell(c)}</td>
<td class="n">${c.comparable ? fmtP(c.p) : '-'}</td><td class="n">${c.comparable ? fmtP(c.pHolm) : '-'}</td>
<td>${c.comparable ? c.boards.map((b) => `${b.board} ${b.comparable ? fmtSignedPct(b.changePct) : 'refused'}`).join(', ') : html`<span class="warn">${c.refusedReason ?? ''}</span>`}
${c.agreement ? html`<div class="muted">top-1 agreement ${fmtFraction(c.agreement.estimate)} (${c.agreement.agreeing}/${c.agreement.total})</div>` : ''}
${c.warnings.length > 0 ? html`<div class="warn">${c.warnings.join('; ')}</div>` : ''}</td></tr>\n`)}
</tbody></table>`;
}

function boardsSection(r: RunResults): SafeHtml {
  return html`<table class="boards"><thead><tr><th>board</th><th>link</th><th>firmware</th><th>state</th><th class="n">canary median</th><th class="n">drift</th><th class="n">passed</th><th class="n">errors</th><th class="n">flashes</th><th>notes</th></tr></thead><tbody>
${r.boards.map((b) => html`<tr><td class="id">${b.id}</td><td>${b.link ?? '-'} ${b.address ?? ''}</td>
<td class="id">${b.hello ? `${b.hello.firmwareVariant} (${b.hello.appElfSha256.slice(0, 12)}) IDF ${b.hello.idfVersion}, TFLM ${b.hello.tflmVersion}, ESP-NN ${b.hello.espNnVersion}, ${b.hello.cpuMHz} MHz, chip ${b.hello.chipRevision}` : '-'}</td>
<td class="${b.quarantined ? 'fail' : ''}">${b.state}</td><td class="n">${fmtUs(b.canary?.medianUs)}</td><td class="n">${b.canary?.driftPct !== undefined ? fmtSignedPct(b.canary.driftPct) : '-'}${b.canary && b.canary.verdict !== 'ok' ? ` (${b.canary.verdict})` : ''}</td>
<td class="n">${b.trials.passed}</td><td class="n">${b.trials.error + b.trials.failed}</td><td class="n">${b.flashes.count}</td>
<td>${provenanceNote(r, b.provenance)}${b.quarantined ? html`<span class="fail">quarantined: ${b.quarantined.reason}</span>` : ''}${b.flashes.errors.map((e) => html`<div class="warn">${e.message}</div>`)}</td></tr>\n`)}
</tbody></table>`;
}

function accuracySection(r: RunResults, labels: Map<string, string>, charts: Map<string, ChartSpec>): SafeHtml {
  const vs = r.variants.filter((v) => v.accuracy);
  if (vs.length === 0) return html`<section id="accuracy"><h2>Accuracy</h2><p class="muted">No accuracy pass in this run (give the scenario inputs.accuracy).</p></section>`;
  // One confusion matrix per model: the firmware and the arena do not change a bit-exact model's outputs.
  const perModel = new Map<string, VariantResults>();
  for (const v of vs) if (!perModel.has(v.model.id)) perModel.set(v.model.id, v);
  return html`<section id="accuracy"><h2>Accuracy</h2>
${charts.has('accuracy') ? chartBox(charts.get('accuracy')!) : ''}
<table><thead><tr><th>variant</th><th class="n">top-1</th><th class="n">95% CI</th><th class="n">top-5</th><th class="n">inputs</th><th>outputs vs host reference</th></tr></thead><tbody>
${vs.map((v) => html`<tr><td class="id">${labels.get(v.id) ?? v.id}</td><td class="n">${fmtFraction(v.accuracy!.top1.estimate)}</td>
<td class="n">${fmtFraction(v.accuracy!.top1.lower)}-${fmtFraction(v.accuracy!.top1.upper)}</td><td class="n">${fmtFraction(v.accuracy!.top5.estimate)}</td><td class="n">${v.accuracy!.top1.total}</td>
<td class="${v.bitExact && v.bitExact.trialsNotExact > 0 ? 'fail' : 'pass'}">${v.bitExact ? (v.bitExact.trialsNotExact === 0 ? (v.bitExact.worst.toleratedElements ? `matches in all ${v.bitExact.trials} trials (float outputs within tolerance, up to ${Number(((v.bitExact.worst.maxRelativeDifference ?? 0) * 100).toPrecision(3))}% relative)` : `bit-exact in all ${v.bitExact.trials} trials`) : `${v.bitExact.trialsNotExact} of ${v.bitExact.trials} trials differ: up to ${v.bitExact.worst.differingTensors} tensors${differenceSize(v.bitExact.worst)}`) : '-'}${v.accuracy!.consistent ? '' : ' (outputs differ between trials)'}</td></tr>\n`)}
</tbody></table>
<div class="grid">${[...perModel.values()].map((v) => confusion(v))}</div></section>`;
}

function confusion(v: VariantResults): SafeHtml {
  const m = v.accuracy!.confusion;
  const max = Math.max(1, ...m.flat());
  return html`<div><h3>Confusion matrix: ${v.model.id}</h3><table class="cm"><thead><tr><th>true \\ predicted</th>${m.map((_, c) => html`<th class="n">${c}</th>`)}</tr></thead><tbody>
${m.map((row, t) => html`<tr><th class="n">${t}</th>${row.map((n, p) => html`<td style="background:${n > 0 ? (t === p ? color(0, 0.15 + 0.6 * (n / max)) : color(3, 0.15 + 0.6 * (n / max))) : 'transparent'}">${n}</td>`)}</tr>`)}
</tbody></table></div>`;
}

function memorySection(r: RunResults, labels: Map<string, string>, charts: ChartSpec[]): SafeHtml {
  const vs = r.variants.filter((v) => v.memory);
  if (vs.length === 0) return html``;
  return html`<section id="memory"><h2>Memory</h2>${charts.map(chartBox)}
<table><thead><tr><th>variant</th><th>arena in</th><th class="n">arena used</th><th class="n">configured</th><th class="n">headroom</th><th class="n">internal free (lowest)</th><th class="n">PSRAM free (lowest)</th><th class="n">image</th><th class="n">static IRAM / DRAM</th></tr></thead><tbody>
${vs.map((v) => { const m = v.memory!; return html`<tr><td class="id">${labels.get(v.id) ?? v.id}</td><td>${m.placement}</td><td class="n">${fmtB(m.arenaUsedBytes)} (${m.usedPct.toFixed(1)}%)</td><td class="n">${fmtB(m.arenaBytes)}</td>
<td class="n">${fmtB(m.headroomBytes)}</td><td class="n">${fmtB(m.internal.freeBytes)} (${fmtB(m.internal.minimumFreeBytes)})</td><td class="n">${m.psram ? `${fmtB(m.psram.freeBytes)} (${fmtB(m.psram.minimumFreeBytes)})` : '-'}</td><td class="n">${fmtB(m.imageBytes)}</td><td class="n">${m.build ? `${fmtB(m.build.iramBytes)} / ${fmtB(m.build.dramBytes)}` : '-'}</td></tr>
${m.warnings.length > 0 ? html`<tr><td></td><td colspan="8" class="warn">${m.warnings.join('; ')}</td></tr>` : ''}`; })}
</tbody></table></section>`;
}

function profileSection(r: RunResults, labels: Map<string, string>, chart: ChartSpec | undefined): SafeHtml {
  const vs = r.variants.filter((v) => v.profile);
  if (vs.length === 0) return html``;
  return html`<section id="profile"><h2>Per-operator profile</h2>${chart ? chartBox(chart) : ''}
<details><summary>Operator times per variant (median over trials)</summary><div class="grid">
${vs.map((v) => html`<div><h3>${labels.get(v.id) ?? v.id}</h3><table><thead><tr><th>op</th><th class="n">count</th><th class="n">time</th><th class="n">share</th></tr></thead><tbody>
${v.profile!.ops.map((o) => html`<tr><td>${o.op}</td><td class="n">${o.count}</td><td class="n">${fmtUs(o.us)}</td><td class="n">${o.sharePct.toFixed(1)}%</td></tr>`)}</tbody></table></div>`)}
</div></details></section>`;
}

function trendSection(r: RunResults, labels: Map<string, string>, chart: ChartSpec | undefined): SafeHtml {
  const t = r.trend;
  if (!t) return html``;
  const cps = t.series.flatMap((s) => s.changePoints.map((cp) => ({ s, cp })));
  const runs = new Set(t.series.flatMap((s) => s.points.map((p) => p.runId))).size;
  return html`<section id="trend"><h2>Trend over the last ${runs} runs</h2>
${chart ? chartBox(chart) : html`<p class="muted">Not enough history yet (the trend needs at least 2 runs of this scenario in the history store).</p>`}
${cps.length > 0 ? html`<table><thead><tr><th>variant</th><th>from run</th><th class="n">before</th><th class="n">after</th><th class="n">change</th><th class="n">p</th></tr></thead><tbody>
${cps.map(({ s, cp }) => html`<tr><td class="id">${labels.get(s.variant) ?? s.variant}</td><td class="id">${cp.runId ?? String(cp.index)}</td><td class="n">${t.unit === 'us' ? fmtUs(cp.before) : String(cp.before)}</td><td class="n">${t.unit === 'us' ? fmtUs(cp.after) : String(cp.after)}</td><td class="n ${cp.direction === 'up' && t.metric.startsWith('latency') ? 'fail' : ''}">${fmtSignedPct(cp.changePct)}</td><td class="n">${fmtP(cp.p)}</td></tr>`)}
</tbody></table>` : html`<p class="muted">No change point in the history of ${t.metric}.</p>`}
</section>`;
}

function logsSection(r: RunResults): SafeHtml {
  const withLogs = r.boards.filter((b) => b.logs.total > 0);
  if (withLogs.length === 0) return html``;
  return html`<section id="logs"><h2>Board logs</h2>
${withLogs.map((b) => html`<details${b.logs.lines.length <= 20 ? raw(' open') : ''}><summary>${b.id}: ${b.logs.total} lines${b.logs.omitted > 0 ? ` (${b.logs.omitted} in the middle not shown)` : ''}</summary>
<pre class="log">${b.logs.lines.map((l, i) => html`${i === LOG_HEAD && b.logs.omitted > 0 ? html`<span class="muted">... ${b.logs.omitted} lines ...</span>\n` : ''}<span class="muted">${new Date(l.ts).toISOString().slice(11, 23)}</span> ${l.line}\n`)}</pre></details>`)}
</section>`;
}

/** Rows past this are left to results.json (a run of 200,000 trials must not make a 100 MB page). */
export const MAX_TRIAL_ROWS = 2000;

function trialsSection(r: RunResults): SafeHtml {
  const rows = r.trials.slice(0, MAX_TRIAL_ROWS);
  return html`<section id="trials"><h2>Trials</h2><details><summary>${r.trials.length} trials (status, samples, warnings)</summary>
<table><thead><tr><th>trial</th><th>status</th><th class="n">attempts</th><th class="n">n</th><th class="n">median</th><th class="n">95% CI</th><th class="n">outliers</th><th class="n">warm-up</th><th>errors and warnings</th></tr></thead><tbody>
${rows.map((t) => html`<tr><td class="id">${t.id}</td>${statusCell(t.status)}<td class="n">${t.attempts}</td><td class="n">${t.latency?.n ?? 0}</td><td class="n">${fmtUs(t.latency?.median)}</td><td class="n">${fmtInterval(t.latency)}</td>
<td class="n">${t.outliers.count}</td><td class="n">${t.warmup.discarded}${t.warmup.detected > 0 ? ` +${t.warmup.detected}` : ''}</td>
<td>${t.errors.map((e) => html`<div class="fail">attempt ${e.attempt}: ${e.message}</div>`)}${t.warnings.map((w) => html`<div class="warn">${w}</div>`)}</td></tr>\n`)}
</tbody></table>${r.trials.length > rows.length ? html`<p class="muted">${r.trials.length - rows.length} more trials in results.json.</p>` : ''}</details></section>`;
}

export interface HtmlOptions {
  /** Title prefix, e.g. "compare" pages. */
  title?: string;
}

/** The whole document. */
export function reportHtml(r: RunResults, options: HtmlOptions = {}): string {
  const { charts, labels, common } = reportCharts(r);
  const byId = new Map(charts.map((c) => [c.id, c]));
  const hist = charts.filter((c) => c.id.startsWith('hist-'));
  const memory = charts.filter((c) => c.id.startsWith('memory-'));
  const chartJs = scriptText(chartJsSource());
  const client = scriptText(clientSource());
  const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
  const csp = `default-src 'none'; script-src ${hash(chartJs)} ${hash(client)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const passed = r.trials.filter((t) => t.status === 'passed').length;
  const title = `${options.title ?? 'Lab report'}: ${r.run.scenario.name}, run ${r.run.id}`;
  const body = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${raw(STYLE)}</style></head>
<body>
${provenanceBannersHtml(r)}
<main>
<h1>${title}</h1>
<p><span class="verdict v${String(r.exitCode)}">exit ${r.exitCode}: ${r.exitCode === 0 ? 'pass' : r.exitCode === 1 ? 'regression' : 'lab error'}</span> ${r.exitReason}</p>
<p class="facts">${r.run.status}${r.run.partial ? ' (partial)' : ''} · ${passed}/${r.run.plan.trials} trials passed · ${r.run.plan.variants} variants x ${r.run.plan.boards.length} boards x ${r.run.plan.rounds} rounds · started ${r.run.startedAt} · ${fmtDuration(r.run.durationMs)}
${r.run.gitCommit ? ` · commit ${r.run.gitCommit}` : ''} · host ${r.run.host.hostname} · lab ${r.run.host.labVersion}${r.run.resumes > 0 ? ` · resumed ${r.run.resumes}x` : ''}${common ? ` · all variants: ${common}` : ''}</p>
${r.warnings.length > 0 ? html`<div class="warnings">${r.warnings.map((w) => html`<p class="warn">${w}</p>`)}</div>` : ''}
${gatesSection(r)}
${variantsSection(r, labels)}
<section id="latency"><h2>Latency distributions</h2>
${byId.has('latency-box') ? chartBox(byId.get('latency-box')!) : html`<p class="muted">No trial passed: nothing to draw.</p>`}
<div class="grid">${hist.map(chartBox)}</div></section>
<section id="comparisons"><h2>Variants compared</h2>
<p class="muted">Each pair differs in one matrix axis; changes are computed within each board and pooled (geometric mean of per-board median ratios, van Elteren's stratified test); p-values are Holm-corrected over every comparison of the report; "~" marks a change that is not significant.</p>
${byId.has('comparisons') ? chartBox(byId.get('comparisons')!) : ''}
${r.comparisons.length > 0 ? comparisonsTable(r.comparisons, (c) => html`<td>${c.label}<div class="muted">${c.context}</div></td>`, '<th>comparison</th>') : html`<p class="muted">No two variants differ in exactly one axis.</p>`}
</section>
${r.baseline ? html`<section id="baseline"><h2>Against the baseline run ${r.baseline.runId}</h2>
<p class="muted">Baseline started ${r.baseline.startedAt}${r.baseline.gitCommit ? `, commit ${r.baseline.gitCommit}` : ''}.${r.baseline.missingVariants.length > 0 ? ` Not in this run: ${r.baseline.missingVariants.join(', ')}.` : ''}${r.baseline.newVariants.length > 0 ? ` New in this run: ${r.baseline.newVariants.join(', ')}.` : ''}</p>
${byId.has('baseline') ? chartBox(byId.get('baseline')!) : ''}
${comparisonsTable(r.baseline.comparisons, (c) => html`<td class="id">${labels.get(c.candidate) ?? c.candidate}</td>`, '<th>variant</th>')}</section>` : ''}
<section id="boards"><h2>Boards</h2>${byId.has('boards') ? chartBox(byId.get('boards')!) : ''}${boardsSection(r)}</section>
${accuracySection(r, labels, byId)}
${memorySection(r, labels, memory)}
${profileSection(r, labels, byId.get('profile'))}
${trendSection(r, labels, byId.get('trend'))}
${logsSection(r)}
${trialsSection(r)}
</main>
<script type="application/json" id="hil-data">${raw(jsonForScript({ charts }))}</script>
<script>${raw(chartJs)}</script>
<script>${raw(client)}</script>
</body></html>
`;
  return body.text;
}
