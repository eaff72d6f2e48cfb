/**
 * The run history: SQLite through better-sqlite3@12 (FACTS.md: 13 crashes on Node 20), by default
 * `reports/history.sqlite`. Runs are written whole, in one transaction, when they end (or when
 * `hil report` rebuilds them): a crash never leaves half a run visible, and recording a run id
 * again replaces it. WAL journal mode lets a report read the history while a run writes.
 *
 * Queries: runs, the baseline of a scenario (`hil baseline set/show`), the last N runs' value of
 * a metric per variant (trend charts and change points), and a board's canary history (the
 * scheduler compares each run's canary with it). Both can keep to one provenance class (board,
 * emulated, simulated: harness/lab/provenance.ts), so a trend or a canary never mixes an
 * emulator's cycle counts with the silicon's.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LabError } from '../errors.js';
import { isProvenance, type GroupProvenance, type Provenance } from '../lab/provenance.js';
import type { MetricHistoryPoint } from '../report/results.js';
import type { RunResults, RunStatus } from '../report/results-types.js';
import { migrate, schemaVersion } from './migrations.js';
import { writeRunRows } from './write.js';

export const DEFAULT_STORE_FILE = path.join('reports', 'history.sqlite');

export interface StoredRun {
  id: string;
  scenario: string;
  scenarioFile: string;
  startedAt: string;
  endedAt?: string;
  status: RunStatus;
  partial: boolean;
  gitCommit?: string;
  simulated: boolean;
  /** The run's provenance classes. */
  provenances: Provenance[];
  journalPath?: string;
  exitCode: number;
  exitReason: string;
  trialsPlanned: number;
  trialsPassed: number;
  recordedAt: string;
}

export interface StoredBaseline {
  scenario: string;
  runId: string;
  setAt: string;
  note?: string;
  /** The run, when it is still in the history. */
  run?: StoredRun;
}

export interface CanaryRecord {
  runId: string;
  board: string;
  mac?: string;
  at: string;
  model: string;
  n: number;
  medianUs: number;
  historyMedianUs?: number;
  driftPct?: number;
  verdict: string;
  simulated: boolean;
  provenance: Provenance;
}

export interface MetricHistoryOptions {
  /** 'latency.median' (default), 'latency.mean', 'latency.p90', 'latency.p99', 'accuracy.top1', 'arena.used', 'image.size'. */
  metric?: string;
  /** Only this variant. */
  variant?: string;
  /** The last N runs (default 30). */
  limit?: number;
  /** Only runs that started before this ISO time (a rebuilt report's trend ends at its own run). */
  before?: string;
  /** Leave this run out. */
  excludeRun?: string;
  /** Only simulated (true) or only real (false) runs; both when undefined. */
  simulated?: boolean;
  /** Only variants measured with this provenance ('mixed': on boards of several classes); any when undefined. */
  provenance?: GroupProvenance;
}

/** A board's canary history: optionally one canary key, one provenance, simulated or real runs only. */
export interface CanaryHistoryOptions {
  model?: string;
  limit?: number;
  simulated?: boolean;
  provenance?: Provenance;
}

/** Column expressions of each history metric in the `variants` table. */
const METRIC_COLUMNS: Record<string, { value: string; lower?: string; upper?: string }> = {
  'latency.median': { value: 'v.median', lower: 'v.ci_lower', upper: 'v.ci_upper' },
  'latency.mean': { value: 'v.mean' },
  'latency.p90': { value: 'v.p90' },
  'latency.p99': { value: 'v.p99' },
  'accuracy.top1': { value: 'CAST(v.top1_correct AS REAL) / v.top1_total', lower: 'v.top1_lower', upper: 'v.top1_upper' },
  'arena.used': { value: 'v.arena_used_bytes' },
  'image.size': { value: 'v.image_bytes' },
};

export const STORE_METRICS = Object.keys(METRIC_COLUMNS);

interface RunRow {
  id: string; scenario: string; scenario_file: string; started_at: string; ended_at: string | null; status: RunStatus;
  partial: number; git_commit: string | null; simulated: number; provenance: string; journal_path: string | null; exit_code: number;
  exit_reason: string; trials_planned: number; trials_passed: number; recorded_at: string;
}

function toRun(r: RunRow): StoredRun {
  return {
    id: r.id, scenario: r.scenario, scenarioFile: r.scenario_file, startedAt: r.started_at,
    ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
    status: r.status, partial: r.partial === 1,
    ...(r.git_commit !== null ? { gitCommit: r.git_commit } : {}),
    simulated: r.simulated === 1,
    provenances: r.provenance.split(',').filter(isProvenance),
    ...(r.journal_path !== null ? { journalPath: r.journal_path } : {}),
    exitCode: r.exit_code, exitReason: r.exit_reason, trialsPlanned: r.trials_planned, trialsPassed: r.trials_passed, recordedAt: r.recorded_at,
  };
}

export interface OpenStoreOptions {
  /** Injectable clock for recorded_at / set_at (tests). */
  now?: () => Date;
}

export class HistoryStore {
  readonly file: string;
  readonly db: Database.Database;
  private readonly now: () => Date;

  private constructor(file: string, db: Database.Database, now: () => Date) {
    this.file = file;
    this.db = db;
    this.now = now;
  }

  /** Opens (creating it and its directory when missing) and migrates the history file. */
  static open(file: string = DEFAULT_STORE_FILE, options: OpenStoreOptions = {}): HistoryStore {
    const label = path.relative(process.cwd(), file) || file;
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
    } catch (e) {
      throw new LabError('store', `${label}: cannot open the run history (${e instanceof Error ? e.message : String(e)}); move the file away and the lab starts a new history`, { cause: e });
    }
    try {
      migrate(db, label);
    } catch (e) {
      db.close();
      if (e instanceof LabError) throw e;
      throw new LabError('store', `${label}: is not a run history the lab can read (${e instanceof Error ? e.message : String(e)}); move the file away and the lab starts a new history`, { cause: e });
    }
    return new HistoryStore(file, db, options.now ?? (() => new Date()));
  }

  schemaVersion(): number {
    return schemaVersion(this.db);
  }

  close(): void {
    this.db.close();
  }

  /** Writes the run in one transaction, replacing an earlier recording of the same run id. */
  recordRun(results: RunResults, options: { journalPath?: string } = {}): void {
    const recordedAt = this.now().toISOString();
    this.db.transaction(() => writeRunRows(this.db, results, options.journalPath, recordedAt))();
  }

  getRun(id: string): StoredRun | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  /** Runs, newest first. */
  listRuns(options: { scenario?: string; limit?: number } = {}): StoredRun[] {
    const rows = (options.scenario !== undefined
      ? this.db.prepare('SELECT * FROM runs WHERE scenario = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(options.scenario, options.limit ?? 1000)
      : this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?').all(options.limit ?? 1000)) as RunRow[];
    return rows.map(toRun);
  }

  /** `hil baseline set <run-id>`: the run becomes its scenario's baseline. */
  setBaseline(runId: string, options: { note?: string } = {}): StoredBaseline {
    const run = this.getRun(runId);
    if (!run) {
      throw new LabError('store', `run ${runId} is not in the history ${this.file} (record it first: hil report ${runId})`);
    }
    if (run.status !== 'completed') {
      throw new LabError('store', `run ${runId} did not complete (${run.status}): a baseline must be a complete run (resume it with hil run --resume ${runId}, or pick another run)`);
    }
    if (run.trialsPassed === 0) {
      throw new LabError('store', `run ${runId} has no passed trial: it cannot be a baseline (pick another run)`);
    }
    const setAt = this.now().toISOString();
    this.db.prepare('INSERT INTO baselines (scenario, run_id, set_at, note) VALUES (?, ?, ?, ?)').run(run.scenario, runId, setAt, options.note ?? null);
    return { scenario: run.scenario, runId, setAt, ...(options.note !== undefined ? { note: options.note } : {}), run };
  }

  /** The scenario's current baseline (the latest one set), if any. */
  baseline(scenario: string): StoredBaseline | undefined {
    const row = this.db.prepare('SELECT scenario, run_id, set_at, note FROM baselines WHERE scenario = ? ORDER BY seq DESC LIMIT 1').get(scenario) as
      { scenario: string; run_id: string; set_at: string; note: string | null } | undefined;
    if (!row) return undefined;
    const run = this.getRun(row.run_id);
    return { scenario: row.scenario, runId: row.run_id, setAt: row.set_at, ...(row.note !== null ? { note: row.note } : {}), ...(run ? { run } : {}) };
  }

  /** The current baseline of every scenario that has one. */
  baselines(): StoredBaseline[] {
    const scenarios = this.db.prepare('SELECT DISTINCT scenario FROM baselines ORDER BY scenario').all() as Array<{ scenario: string }>;
    return scenarios.map((s) => this.baseline(s.scenario)!);
  }

  /**
   * The metric's value per variant over the last `limit` completed runs of the scenario, oldest
   * first (what the trend chart plots and `detectChangePoints` reads).
   */
  metricHistory(scenario: string, options: MetricHistoryOptions = {}): MetricHistoryPoint[] {
    const metric = options.metric ?? 'latency.median';
    const cols = METRIC_COLUMNS[metric];
    if (!cols) throw new LabError('usage', `unknown metric ${metric} (one of ${STORE_METRICS.join(', ')})`);
    const where = ["r.scenario = @scenario", "r.status = 'completed'"];
    if (options.before !== undefined) where.push('r.started_at < @before');
    if (options.excludeRun !== undefined) where.push('r.id <> @excludeRun');
    if (options.simulated !== undefined) where.push('r.simulated = @simulated');
    // The last N runs that measured something of the class: other runs would only use up the limit.
    if (options.provenance !== undefined) where.push('EXISTS (SELECT 1 FROM variants pv WHERE pv.run_id = r.id AND pv.provenance = @provenance)');
    const runs = this.db.prepare(`SELECT r.id FROM runs r WHERE ${where.join(' AND ')} ORDER BY r.started_at DESC, r.id DESC LIMIT @limit`)
      .all({
        scenario, limit: options.limit ?? 30, before: options.before, excludeRun: options.excludeRun,
        simulated: options.simulated === undefined ? undefined : options.simulated ? 1 : 0, provenance: options.provenance,
      }) as Array<{ id: string }>;
    if (runs.length === 0) return [];
    const ids = runs.map((r) => r.id);
    const rows = this.db.prepare(`SELECT r.id AS runId, r.started_at AS startedAt, v.variant_id AS variant, ${cols.value} AS value,
        ${cols.lower ?? 'NULL'} AS lower, ${cols.upper ?? 'NULL'} AS upper, v.provenance AS provenance
      FROM variants v JOIN runs r ON r.id = v.run_id
      WHERE v.run_id IN (SELECT value FROM json_each(@ids)) ${options.variant !== undefined ? 'AND v.variant_id = @variant' : ''}
        ${options.provenance !== undefined ? 'AND v.provenance = @provenance' : ''}
      ORDER BY r.started_at, r.id, v.variant_id`)
      .all({ ids: JSON.stringify(ids), variant: options.variant, provenance: options.provenance }) as Array<{
        runId: string; startedAt: string; variant: string; value: number | null; lower: number | null; upper: number | null; provenance: GroupProvenance;
      }>;
    return rows.filter((r) => r.value !== null).map((r) => ({
      runId: r.runId, startedAt: r.startedAt, variant: r.variant, value: r.value!,
      ...(r.lower !== null ? { lower: r.lower } : {}), ...(r.upper !== null ? { upper: r.upper } : {}),
      provenance: r.provenance,
    }));
  }

  /**
   * A board's canaries, oldest first (the last `limit`, default 20), optionally of one canary key
   * (the `model` of board.canary: canary model, firmware variant and clock), of one provenance, and
   * of simulated or real runs only.
   */
  canaryHistory(board: string, options: CanaryHistoryOptions = {}): CanaryRecord[] {
    const where = ['board = @board'];
    if (options.model !== undefined) where.push('model = @model');
    if (options.simulated !== undefined) where.push('simulated = @simulated');
    if (options.provenance !== undefined) where.push('provenance = @provenance');
    const rows = this.db.prepare(`SELECT * FROM (SELECT run_id, board, mac, at, model, n, median_us, history_median_us, drift_pct, verdict, simulated, provenance
        FROM canaries WHERE ${where.join(' AND ')} ORDER BY at DESC, run_id DESC LIMIT @limit)
      ORDER BY at, run_id`).all({
      board, model: options.model, limit: options.limit ?? 20, simulated: options.simulated === undefined ? undefined : options.simulated ? 1 : 0,
      provenance: options.provenance,
    }) as Array<{
      run_id: string; board: string; mac: string | null; at: string; model: string; n: number; median_us: number;
      history_median_us: number | null; drift_pct: number | null; verdict: string; simulated: number; provenance: Provenance;
    }>;
    return rows.map((r) => ({
      runId: r.run_id, board: r.board, ...(r.mac !== null ? { mac: r.mac } : {}), at: r.at, model: r.model, n: r.n, medianUs: r.median_us,
      ...(r.history_median_us !== null ? { historyMedianUs: r.history_median_us } : {}),
      ...(r.drift_pct !== null ? { driftPct: r.drift_pct } : {}),
      verdict: r.verdict, simulated: r.simulated === 1, provenance: r.provenance,
    }));
  }

  /**
   * The board's earlier canary medians (us) under one key and of one provenance, oldest first: the
   * shape the scheduler's canary check asks for (harness/lab/canary.ts `CanaryHistory`). A board id
   * once simulated and now emulated or real starts a history of its own class.
   */
  canaryMedians(board: string, key: string, provenance: Provenance, limit = 20): number[] {
    return this.canaryHistory(board, { model: key, provenance, limit }).map((c) => c.medianUs);
  }

  /** Stored per-trial rows of a run (status and summary statistics). */
  trials(runId: string): Array<{ trialId: string; variant: string; board: string; round: number; status: string; n: number; median: number | null }> {
    return this.db.prepare('SELECT trial_id AS trialId, variant_id AS variant, board, round, status, n, median FROM trials WHERE run_id = ? ORDER BY trial_id')
      .all(runId) as Array<{ trialId: string; variant: string; board: string; round: number; status: string; n: number; median: number | null }>;
  }
}
