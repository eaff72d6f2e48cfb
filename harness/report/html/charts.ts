/**
 * The HTML report's charts as Chart.js configurations built here, in typed code, from RunResults:
 * plain JSON that the page's small client script hands to `new Chart()` (html/client.js adds only
 * tick and tooltip formatting by unit). Charts draw summaries - histogram bins, quartiles,
 * medians - never raw samples, so a million samples cost a few kilobytes.
 *
 * Chart.js has no box plot: it is drawn from floating bars (a thin one from whisker to whisker, a
 * wide one from q1 to q3; a bar's data [a, b] floats between a and b) and the median as a point
 * styled as a short line across the box.
 */
import type { Comparison, RunResults, VariantResults } from '../results-types.js';

export type Unit = 'us' | 'pct' | 'kb' | 'count' | 'fraction-pct';

export interface ChartSpec {
  id: string;
  title: string;
  /** CSS height of the chart's box, in pixels. */
  height: number;
  /** How the client formats the value axis and tooltips. */
  unit: Unit;
  /** The axis that carries values ('x' for horizontal charts). */
  valueAxis: 'x' | 'y';
  config: Record<string, unknown>;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
export const color = (i: number, alpha = 1): string => {
  const hex = PALETTE[i % PALETTE.length];
  if (alpha === 1) return hex;
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
};

/**
 * Short labels: the parts of the variant ids (firmware / model / arena / clock) that differ
 * between the variants of the run; the common parts go in the chart's subtitle.
 */
export function shortLabels(variants: readonly VariantResults[]): { labels: Map<string, string>; common: string } {
  const parts = variants.map((v) => [v.firmware.variant, v.model.id, `${v.arena.size}-${v.arena.placement}`, `${v.cpuMHz} MHz`]);
  const differing = [0, 1, 2, 3].filter((k) => new Set(parts.map((p) => p[k])).size > 1);
  const same = [0, 1, 2, 3].filter((k) => !differing.includes(k));
  const labels = new Map(variants.map((v, i) => [v.id, differing.length > 0 ? differing.map((k) => parts[i][k]).join(' / ') : v.id]));
  return { labels, common: parts.length > 0 ? same.map((k) => parts[0][k]).join(', ') : '' };
}

const base = (indexAxis: 'x' | 'y'): Record<string, unknown> => ({
  indexAxis,
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  plugins: { legend: { display: true, position: 'bottom' } },
});

function heightFor(rows: number, min = 180): number {
  return Math.max(min, 60 + rows * 34);
}

/** A horizontal bar chart, one row per label and the values along x: most of the report's charts. */
function horizontalBars(c: {
  id: string; title: string; height: number; unit: Unit;
  labels: unknown[]; datasets: unknown[]; scales: Record<string, unknown>;
}): ChartSpec {
  return {
    id: c.id,
    title: c.title,
    height: c.height,
    unit: c.unit,
    valueAxis: 'x',
    config: {
      type: 'bar',
      data: { labels: c.labels, datasets: c.datasets },
      options: { ...base('y'), scales: c.scales },
    },
  };
}

function boxChart(r: RunResults, labels: Map<string, string>): ChartSpec | undefined {
  const vs = r.variants.filter((v) => v.box);
  if (vs.length === 0) return undefined;
  const min = Math.min(...vs.map((v) => v.box!.whiskerLow));
  const max = Math.max(...vs.map((v) => v.box!.whiskerHigh));
  return horizontalBars({
    id: 'latency-box',
    title: 'Latency per variant (box: quartiles, line: median, whiskers: 1.5 IQR)',
    height: heightFor(vs.length),
    unit: 'us',
    labels: vs.map((v) => labels.get(v.id)),
    datasets: [
      { type: 'bar', label: 'whiskers', data: vs.map((v) => [v.box!.whiskerLow, v.box!.whiskerHigh]), backgroundColor: '#444', barThickness: 2, grouped: false, order: 3 },
      { type: 'bar', label: 'q1-q3', data: vs.map((v) => [v.box!.q1, v.box!.q3]), backgroundColor: vs.map((_, i) => color(i, 0.45)), borderColor: vs.map((_, i) => color(i)), borderWidth: 1, barThickness: 18, grouped: false, order: 2 },
      { type: 'line', label: 'median', data: vs.map((v) => v.box!.median), showLine: false, pointStyle: 'line', pointRadius: 11, rotation: 90, borderColor: '#000', borderWidth: 2, order: 1 },
    ],
    // Latencies of a run span an order of magnitude (FACTS.md: ESP-NN int8 vs reference float).
    scales: { x: { type: max / min > 4 ? 'logarithmic' : 'linear', title: { display: true, text: 'latency' }, ticks: { autoSkip: true, maxTicksLimit: 10, maxRotation: 0 } } },
  });
}

function histogramCharts(r: RunResults, labels: Map<string, string>): ChartSpec[] {
  return r.variants.filter((v) => v.histogram).map((v, i) => {
    const h = v.histogram!;
    const centers = h.counts.map((_, k) => h.start + (k + 0.5) * h.binWidth);
    const k = r.variants.indexOf(v);
    return {
      id: `hist-${k}`,
      title: `${labels.get(v.id)}${h.below + h.above > 0 ? ` (${h.below + h.above} far-out samples not drawn)` : ''}`,
      height: 200,
      unit: 'count',
      valueAxis: 'y',
      config: {
        type: 'bar',
        data: {
          labels: centers.map((c) => (c >= 1000 ? `${(c / 1000).toFixed(3)} ms` : `${c.toFixed(1)} us`)),
          datasets: [{ label: 'samples', data: h.counts, backgroundColor: color(i, 0.7), barPercentage: 1, categoryPercentage: 1 }],
        },
        options: { ...base('x'), plugins: { legend: { display: false } }, scales: { x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } }, y: { beginAtZero: true } } },
      },
    };
  });
}

function forestChart(id: string, title: string, cs: readonly Comparison[], labelOf: (c: Comparison) => string): ChartSpec | undefined {
  const shown = cs.filter((c) => c.comparable && Number.isFinite(c.changePct));
  if (shown.length === 0) return undefined;
  const tone = (c: Comparison, a: number): string => (!c.significant ? `rgba(127, 127, 127, ${a})` : c.changePct > 0 ? `rgba(214, 39, 40, ${a})` : `rgba(31, 119, 180, ${a})`);
  return horizontalBars({
    id,
    title,
    height: heightFor(shown.length),
    unit: 'pct',
    labels: shown.map(labelOf),
    datasets: [
      { type: 'bar', label: '95% interval', data: shown.map((c) => [Number.isFinite(c.lower) ? (c.lower - 1) * 100 : c.changePct, Number.isFinite(c.upper) ? (c.upper - 1) * 100 : c.changePct]), backgroundColor: shown.map((c) => tone(c, 0.5)), minBarLength: 3, barThickness: 12, grouped: false, order: 2 },
      { type: 'line', label: 'median ratio - 1', data: shown.map((c) => c.changePct), showLine: false, pointRadius: 4, pointBackgroundColor: shown.map((c) => tone(c, 1)), borderColor: shown.map((c) => tone(c, 1)), order: 1 },
    ],
    scales: { x: { title: { display: true, text: 'change of the median (red: slower, blue: faster, grey: not significant after Holm)' } } },
  });
}

function accuracyChart(r: RunResults, labels: Map<string, string>): ChartSpec | undefined {
  const vs = r.variants.filter((v) => v.accuracy && Number.isFinite(v.accuracy.top1.estimate));
  if (vs.length === 0) return undefined;
  const low = Math.min(...vs.map((v) => (Number.isFinite(v.accuracy!.top1.lower) ? v.accuracy!.top1.lower : v.accuracy!.top1.estimate)));
  return horizontalBars({
    id: 'accuracy',
    title: 'Top-1 accuracy (bar) with its 95% Wilson interval',
    height: heightFor(vs.length),
    unit: 'fraction-pct',
    labels: vs.map((v) => labels.get(v.id)),
    datasets: [
      { label: 'top-1', data: vs.map((v) => v.accuracy!.top1.estimate * 100), backgroundColor: vs.map((_, i) => color(i, 0.6)), barThickness: 18, grouped: false, order: 2 },
      { label: '95% interval', data: vs.map((v) => [v.accuracy!.top1.lower * 100, v.accuracy!.top1.upper * 100]), backgroundColor: 'rgba(0, 0, 0, 0.55)', barThickness: 4, grouped: false, order: 1 },
    ],
    scales: { x: { min: Math.max(0, Math.floor(low * 100 / 5) * 5 - 5), max: 100, title: { display: true, text: 'top-1 accuracy' } } },
  });
}

function memoryCharts(r: RunResults, labels: Map<string, string>): ChartSpec[] {
  const vs = r.variants.filter((v) => v.memory);
  if (vs.length === 0) return [];
  const kb = (b: number | undefined): number | null => (b !== undefined && Number.isFinite(b) ? b / 1024 : null);
  const out: ChartSpec[] = [horizontalBars({
    id: 'memory-arena',
    title: 'Tensor arena: used (bar) of its configured size (outline)',
    height: heightFor(vs.length),
    unit: 'kb',
    labels: vs.map((v) => labels.get(v.id)),
    datasets: [
      { label: 'configured', data: vs.map((v) => kb(v.memory!.arenaBytes)), backgroundColor: 'rgba(0, 0, 0, 0.06)', borderColor: '#666', borderWidth: 1, barThickness: 20, grouped: false, order: 2 },
      { label: 'used', data: vs.map((v) => kb(v.memory!.arenaUsedBytes)), backgroundColor: vs.map((v) => (v.memory!.placement === 'psram' ? color(4, 0.7) : color(0, 0.7))), barThickness: 12, grouped: false, order: 1 },
    ],
    scales: { x: { beginAtZero: true, title: { display: true, text: 'KB (blue: internal SRAM, purple: PSRAM)' } } },
  })];
  const heap = (region: 'internal' | 'psram', title: string): ChartSpec | undefined => {
    const hv = vs.filter((v) => v.memory![region]);
    if (hv.length === 0) return undefined;
    return horizontalBars({
      id: `memory-heap-${region}`,
      title,
      height: heightFor(hv.length * 1.6),
      unit: 'kb',
      labels: hv.map((v) => labels.get(v.id)),
      datasets: [
        { label: 'free', data: hv.map((v) => kb(v.memory![region]!.freeBytes)), backgroundColor: color(2, 0.7) },
        { label: 'lowest free since boot', data: hv.map((v) => kb(v.memory![region]!.minimumFreeBytes)), backgroundColor: color(3, 0.7) },
        { label: 'largest free block', data: hv.map((v) => kb(v.memory![region]!.largestFreeBlockBytes)), backgroundColor: color(9, 0.7) },
      ],
      scales: { x: { beginAtZero: true, title: { display: true, text: 'KB' } } },
    });
  };
  for (const c of [heap('internal', 'Heap, internal SRAM (after the trial)'), heap('psram', 'Heap, PSRAM (after the trial)')]) if (c) out.push(c);
  return out;
}

function profileChart(r: RunResults, labels: Map<string, string>): ChartSpec | undefined {
  const vs = r.variants.filter((v) => v.profile && v.profile.ops.length > 0);
  if (vs.length === 0) return undefined;
  const ops = [...new Set(vs.flatMap((v) => v.profile!.ops.map((o) => o.op)))];
  return horizontalBars({
    id: 'profile',
    title: 'Where Invoke() spends its time: share of each operator type',
    height: heightFor(vs.length),
    unit: 'pct',
    labels: vs.map((v) => labels.get(v.id)),
    datasets: ops.map((op, k) => ({
      label: op,
      data: vs.map((v) => v.profile!.ops.find((o) => o.op === op)?.sharePct ?? 0),
      backgroundColor: color(k, 0.75),
    })),
    scales: { x: { stacked: true, max: 100, beginAtZero: true }, y: { stacked: true } },
  });
}

function boardsChart(r: RunResults, labels: Map<string, string>): ChartSpec | undefined {
  const vs = r.variants.filter((v) => v.latency && v.boards.length >= 2);
  if (vs.length === 0) return undefined;
  const boards = [...new Set(vs.flatMap((v) => v.boards.map((b) => b.board)))];
  return horizontalBars({
    id: 'boards',
    title: "Board to board: each board's median against the variant's pooled median",
    height: heightFor(vs.length * Math.max(1, boards.length / 3)),
    unit: 'pct',
    labels: vs.map((v) => labels.get(v.id)),
    datasets: boards.map((b, k) => ({
      label: b,
      data: vs.map((v) => {
        const x = v.boards.find((y) => y.board === b);
        return x ? (x.latency.median / v.latency!.median - 1) * 100 : null;
      }),
      backgroundColor: color(k, 0.7),
    })),
    scales: { x: { title: { display: true, text: 'difference from the pooled median' } } },
  });
}

function trendChart(r: RunResults, labels: Map<string, string>): ChartSpec | undefined {
  const t = r.trend;
  if (!t) return undefined;
  const series = t.series.filter((s) => s.points.length >= 2);
  if (series.length === 0) return undefined;
  const runs = new Map<string, string>();
  for (const s of series) for (const p of s.points) runs.set(p.runId, p.startedAt);
  const order = [...runs].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([id]) => id);
  // Every series relative to its own median, so 4 ms and 36 ms variants share one axis.
  const rel = (s: (typeof series)[number]): Map<string, number> => {
    const sorted = s.points.map((p) => p.value).sort((a, b) => a - b);
    const m = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    return new Map(s.points.map((p) => [p.runId, m !== 0 ? (p.value / m - 1) * 100 : 0]));
  };
  const datasets: Array<Record<string, unknown>> = [];
  const marks: Array<{ x: string; y: number }> = [];
  series.forEach((s, k) => {
    const values = rel(s);
    datasets.push({ type: 'line', label: labels.get(s.variant) ?? s.variant, data: order.map((id) => values.get(id) ?? null), borderColor: color(k), backgroundColor: color(k, 0.3), spanGaps: true, pointRadius: 2, tension: 0 });
    for (const cp of s.changePoints) {
      const p = s.points[cp.index];
      if (p) marks.push({ x: p.runId, y: values.get(p.runId) ?? 0 });
    }
  });
  datasets.push({ type: 'line', label: 'change point', data: marks, showLine: false, pointStyle: 'triangle', pointRadius: 9, backgroundColor: '#d62728', borderColor: '#d62728' });
  return {
    id: 'trend',
    title: `${t.metric} over the last ${order.length} runs, relative to each variant's median (triangles: change points)`,
    height: 320,
    unit: 'pct',
    valueAxis: 'y',
    config: {
      type: 'line',
      data: { labels: order, datasets },
      options: { ...base('x'), scales: { x: { ticks: { maxRotation: 60, autoSkip: true } }, y: { title: { display: true, text: `${t.metric}, % from the variant's median` } } } },
    },
  };
}

/** Every chart of the report, in page order; `labels` are the short variant labels. */
export function reportCharts(r: RunResults): { charts: ChartSpec[]; labels: Map<string, string>; common: string } {
  const { labels, common } = shortLabels(r.variants);
  const charts: ChartSpec[] = [];
  const push = (c: ChartSpec | undefined): void => { if (c) charts.push(c); };
  push(boxChart(r, labels));
  charts.push(...histogramCharts(r, labels));
  push(forestChart('comparisons', 'Variants compared (median ratio - 1, within boards, pooled)', r.comparisons, (c) => `${c.label} (${c.context})`));
  if (r.baseline) push(forestChart('baseline', `This run against ${r.baseline.runId}`, r.baseline.comparisons, (c) => labels.get(c.candidate) ?? c.candidate));
  push(boardsChart(r, labels));
  push(accuracyChart(r, labels));
  charts.push(...memoryCharts(r, labels));
  push(profileChart(r, labels));
  push(trendChart(r, labels));
  return { charts, labels, common };
}
