/**
 * The run the reporters' golden files and the browser tests are made from: the demo's matrix on 4
 * simulated boards with everything a report must show - a `<script>` in a model id and in a board
 * log line, a retried trial, a quarantined board, a 5 % regression against a baseline run that
 * fails a gate, a trend with a change point. Seeded: the same bytes every time.
 */
import type { Scenario } from '../../config/types.js';
import type { LabEvent } from '../../lab/events.js';
import { buildRunResults, type MetricHistoryPoint } from '../results.js';
import type { RunResults } from '../results-types.js';
import { syntheticRun } from './synthetic-run.js';

export const REGRESSED_VARIANT = 'esp-nn/cnn-int8/65536-internal/240mhz';

export interface Fixture {
  events: LabEvent[];
  scenario: Scenario;
  baseline: RunResults;
  results: RunResults;
}

/** Earlier nightly medians of every variant: flat, then 2 % slower from the 9th night on. */
export function fixtureHistory(baseline: RunResults): MetricHistoryPoint[] {
  const out: MetricHistoryPoint[] = [];
  for (let i = 0; i < 14; i++) {
    for (const v of baseline.variants) {
      const m = v.latency!.median * (i >= 8 && v.id === REGRESSED_VARIANT ? 1.02 : 1) * (1 + 0.0003 * Math.sin(i * 5 + v.id.length));
      out.push({ runId: `nightly-${String(i + 1).padStart(2, '0')}`, startedAt: new Date(Date.UTC(2024, 11, 20 + i, 2)).toISOString(), variant: v.id, value: m, lower: m * 0.9995, upper: m * 1.0005 });
    }
  }
  return out;
}

export function reportFixture(): Fixture {
  const baseRun = syntheticRun({ runId: 'nightly-baseline', seed: 11, startTs: Date.UTC(2025, 0, 5, 2) });
  const baseline = buildRunResults(baseRun.events);
  const run = syntheticRun({
    runId: 'nightly-2025-01-06',
    seed: 12,
    retryTrial: `${REGRESSED_VARIANT}@sim-3#2`,
    quarantine: { board: 'sim-2', afterTrials: 20 },
    regression: { variant: (v) => v.id === REGRESSED_VARIANT, pct: 5 },
  });
  const results = buildRunResults(run.events, { gates: run.scenario.gates, baseline, history: { metric: 'latency.median', points: fixtureHistory(baseline) } });
  return { events: run.events, scenario: run.scenario, baseline, results };
}
