/**
 * How the text reporters (console, Markdown, JUnit) write numbers, so a median reads the same in
 * every report. Latencies stay in the board's unit resolution (1 us = cycles / MHz rounded);
 * anything that does not exist (NaN) is "-".
 */
import type { Provenance } from '../lab/provenance.js';
import type { Comparison, GateVerdictStatus, LatencySummary, RunResults } from './results-types.js';

export const DASH = '-';

/** "3.901 ms" from 3901.2 us; "812.4 us" below a millisecond. */
export function fmtUs(us: number | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return DASH;
  return Math.abs(us) >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(1)} us`;
}

/** "+2.86%"; "-" when undefined. */
export function fmtSignedPct(pct: number | undefined, digits = 2): string {
  if (pct === undefined || !Number.isFinite(pct)) return DASH;
  const s = pct.toFixed(digits);
  return `${pct >= 0 && !s.startsWith('-') ? '+' : ''}${s}%`;
}

/** "p<0.0001" or "p=0.034". */
export function fmtP(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return DASH;
  if (p < 0.0001) return 'p<0.0001';
  return `p=${p < 0.001 ? p.toFixed(4) : p.toFixed(3)}`;
}

/** "86.0%" from 0.86. */
export function fmtFraction(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return DASH;
  return `${(x * 100).toFixed(digits)}%`;
}

/** "61,504 B". */
export function fmtB(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return DASH;
  return `${Math.round(bytes).toLocaleString('en-US')} B`;
}

/** "4m05s", "1h02m", "12.3s". */
export function fmtDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "+-0.05%": the median interval's half width relative to the median (benchstat's "±"). */
export function fmtCiHalfWidth(l: LatencySummary | undefined): string {
  if (!l || !Number.isFinite(l.medianCI.lower) || !(l.median > 0)) return '';
  const half = Math.max(l.median - l.medianCI.lower, l.medianCI.upper - l.median) / l.median * 100;
  return `±${half < 0.01 ? '<0.01' : half.toFixed(2)}%`;
}

/** "3.899-3.903 ms". */
export function fmtInterval(l: LatencySummary | undefined): string {
  if (!l || !Number.isFinite(l.medianCI.lower)) return DASH;
  const ms = Math.abs(l.median) >= 1000;
  const f = (x: number): string => (ms ? (x / 1000).toFixed(3) : x.toFixed(1));
  return `${f(l.medianCI.lower)}-${f(l.medianCI.upper)} ${ms ? 'ms' : 'us'}`;
}

/** A comparison's change with its interval: "-80.87% (-80.90% to -80.84%)". */
export function fmtChange(c: Comparison): string {
  if (!c.comparable) return 'refused';
  const ci = Number.isFinite(c.lower) ? ` (${fmtSignedPct((c.lower - 1) * 100)} to ${fmtSignedPct((c.upper - 1) * 100)})` : '';
  return `${fmtSignedPct(c.changePct)}${ci}`;
}

export const GATE_MARK: Record<GateVerdictStatus, string> = { pass: 'pass', fail: 'FAIL', error: 'ERROR', skipped: 'skipped' };

/** Gate verdicts of one variant, e.g. "pass 3, FAIL 1". */
export function gateSummaryOf(results: RunResults, variant: string): string {
  const mine = results.gates.results.filter((g) => g.variant === variant);
  if (mine.length === 0) return DASH;
  const failed = mine.filter((g) => g.status === 'fail').map((g) => g.metric);
  const errors = mine.filter((g) => g.status === 'error').map((g) => g.metric);
  if (failed.length > 0) return `FAIL ${failed.join(',')}`;
  if (errors.length > 0) return `ERROR ${errors.join(',')}`;
  const passed = mine.filter((g) => g.status === 'pass').length;
  return passed > 0 ? `pass ${passed}/${mine.length}` : `skipped ${mine.length}`;
}

/** The line every text report starts with when any number came from a simulated board. */
export const SIMULATED_BANNER = 'SIMULATED: these numbers come from simulated boards (harness/sim), not from ESP32-S3 hardware';

/** The same for an emulated board: its outputs are real, its timings are not silicon's. */
export const EMULATED_BANNER = 'EMULATED: these numbers come from emulated boards (Espressif QEMU running the lab firmware): outputs are the firmware\'s real arithmetic, timings count the firmware\'s instructions (QEMU -icount: 4 ns each), not ESP32-S3 silicon cycles';

/** What a report says about the origin of its numbers: the run's `simulated` flag and its provenance classes. */
export interface ProvenanceSummary {
  simulated: boolean;
  provenances: readonly Provenance[];
}

/** The banners a report starts with, one per class that is not the silicon's (none for boards only). */
export function provenanceBanners(...runs: ProvenanceSummary[]): string[] {
  const out: string[] = [];
  if (runs.some((r) => r.provenances.includes('emulated'))) out.push(EMULATED_BANNER);
  if (runs.some((r) => r.simulated || r.provenances.includes('simulated'))) out.push(SIMULATED_BANNER);
  return out;
}

/**
 * Columns padded to their widest cell, two spaces apart; `right` marks right-aligned columns
 * (numbers). The last column is not padded.
 */
export function formatTable(rows: readonly string[][], right: ReadonlySet<number> = new Set()): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows.map((r) => r.map((cell, c) => {
    const pad = widths[c] - [...cell].length;
    if (right.has(c)) return ' '.repeat(pad) + cell;
    return c === r.length - 1 ? cell : cell + ' '.repeat(pad);
  }).join('  ').trimEnd()).join('\n');
}
