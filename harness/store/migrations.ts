/**
 * The history store's schema, as migrations: each a list of SQL steps. `migrate` applies every
 * pending one inside ONE transaction (SQLite's DDL is transactional), so a file is always at a
 * version the code knows: an interrupted upgrade leaves the old schema, never half of the new one.
 * The version lives in `schema_version` (one row). A file from a newer lab is refused, not guessed at.
 *
 * Never edit a released migration: add the next one (tests migrate from an empty file and from
 * version N-1 with data in it).
 */
import type Database from 'better-sqlite3';
import { LabError } from '../errors.js';

export interface Migration {
  version: number;
  description: string;
  steps: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, boards, variants, trials, firmware and model hashes, canaries',
    steps: [
      `CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        scenario TEXT NOT NULL,
        scenario_file TEXT NOT NULL,
        scenario_sha256 TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('completed', 'interrupted', 'failed', 'incomplete')),
        partial INTEGER NOT NULL,
        git_commit TEXT,
        hostname TEXT NOT NULL,
        lab_version TEXT NOT NULL,
        simulated INTEGER NOT NULL,
        journal_path TEXT,
        exit_code INTEGER NOT NULL,
        exit_reason TEXT NOT NULL,
        trials_planned INTEGER NOT NULL,
        trials_passed INTEGER NOT NULL,
        gates_passed INTEGER NOT NULL,
        gates_failed INTEGER NOT NULL,
        gates_errors INTEGER NOT NULL,
        recorded_at TEXT NOT NULL
      ) STRICT`,
      'CREATE INDEX runs_by_scenario ON runs (scenario, started_at)',
      `CREATE TABLE boards (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        board TEXT NOT NULL,
        mac TEXT,
        chip TEXT,
        chip_revision TEXT,
        app_sha256 TEXT,
        firmware_variant TEXT,
        kernel_backend TEXT,
        idf_version TEXT,
        tflm_version TEXT,
        esp_nn_version TEXT,
        cpu_mhz INTEGER,
        psram_bytes INTEGER,
        flash_bytes INTEGER,
        simulated INTEGER NOT NULL,
        state TEXT NOT NULL,
        quarantined_reason TEXT,
        PRIMARY KEY (run_id, board)
      ) STRICT`,
      `CREATE TABLE variants (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        variant_id TEXT NOT NULL,
        build TEXT NOT NULL,
        firmware_variant TEXT NOT NULL,
        kernel_backend TEXT,
        esp_nn_version TEXT,
        model_id TEXT NOT NULL,
        model_sha256 TEXT,
        arena_size TEXT NOT NULL,
        arena_bytes INTEGER,
        arena_placement TEXT NOT NULL,
        cpu_mhz INTEGER NOT NULL,
        trials_planned INTEGER NOT NULL,
        trials_passed INTEGER NOT NULL,
        n INTEGER NOT NULL,
        median REAL, mean REAL, p90 REAL, p99 REAL, stddev REAL, mad REAL, ci_lower REAL, ci_upper REAL,
        top1_correct INTEGER, top1_total INTEGER, top1_lower REAL, top1_upper REAL,
        top5_correct INTEGER, top5_total INTEGER,
        arena_used_bytes INTEGER,
        image_bytes INTEGER,
        internal_min_free_bytes INTEGER,
        psram_min_free_bytes INTEGER,
        outputs_differing_tensors INTEGER,
        simulated INTEGER NOT NULL,
        PRIMARY KEY (run_id, variant_id)
      ) STRICT`,
      'CREATE INDEX variants_by_id ON variants (variant_id, run_id)',
      `CREATE TABLE trials (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        trial_id TEXT NOT NULL,
        variant_id TEXT NOT NULL,
        board TEXT NOT NULL,
        round INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        error_code TEXT,
        error_message TEXT,
        n INTEGER NOT NULL,
        median REAL, mean REAL, p90 REAL, p99 REAL, stddev REAL, mad REAL, ci_lower REAL, ci_upper REAL,
        firmware_sha256 TEXT,
        model_sha256 TEXT,
        top1_correct INTEGER, top1_total INTEGER,
        arena_used_bytes INTEGER,
        differing_tensors INTEGER,
        PRIMARY KEY (run_id, trial_id)
      ) STRICT`,
      `CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('firmware', 'model')),
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, kind, name, sha256)
      ) STRICT`,
      'CREATE INDEX artifacts_by_hash ON artifacts (sha256)',
      `CREATE TABLE canaries (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        board TEXT NOT NULL,
        mac TEXT,
        at TEXT NOT NULL,
        model TEXT NOT NULL,
        n INTEGER NOT NULL,
        median_us REAL NOT NULL,
        history_median_us REAL,
        drift_pct REAL,
        verdict TEXT NOT NULL,
        simulated INTEGER NOT NULL,
        PRIMARY KEY (run_id, board)
      ) STRICT`,
      'CREATE INDEX canaries_by_board ON canaries (board, at)',
    ],
  },
  {
    version: 2,
    description: 'baselines (hil baseline set): every setting kept, the latest per scenario wins',
    steps: [
      // No foreign key: re-recording a run (hil report) replaces its rows and must not drop the
      // baseline that points at it.
      `CREATE TABLE baselines (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        scenario TEXT NOT NULL,
        run_id TEXT NOT NULL,
        set_at TEXT NOT NULL,
        note TEXT
      ) STRICT`,
      'CREATE INDEX baselines_by_scenario ON baselines (scenario, seq)',
    ],
  },
  {
    version: 3,
    description: 'provenance (board, emulated, simulated) beside simulated: emulated boards run the real firmware in QEMU',
    // Rows written before emulated boards existed were either simulated or from a board. A run
    // keeps its classes as a list ("board,simulated"); a variant measured on several is "mixed".
    steps: [
      "ALTER TABLE runs ADD COLUMN provenance TEXT NOT NULL DEFAULT 'board'",
      "UPDATE runs SET provenance = CASE WHEN simulated = 1 THEN 'simulated' ELSE 'board' END",
      ...['boards', 'canaries'].flatMap((table) => [
        `ALTER TABLE ${table} ADD COLUMN provenance TEXT NOT NULL DEFAULT 'board' CHECK (provenance IN ('board', 'emulated', 'simulated'))`,
        `UPDATE ${table} SET provenance = CASE WHEN simulated = 1 THEN 'simulated' ELSE 'board' END`,
      ]),
      "ALTER TABLE variants ADD COLUMN provenance TEXT NOT NULL DEFAULT 'board' CHECK (provenance IN ('board', 'emulated', 'simulated', 'mixed'))",
      "UPDATE variants SET provenance = CASE WHEN simulated = 1 THEN 'simulated' ELSE 'board' END",
      'CREATE INDEX canaries_by_provenance ON canaries (board, provenance, at)',
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The file's schema version (0 for a new, empty file). */
export function schemaVersion(db: Database.Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!table) return 0;
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/**
 * Brings the file to `target` (default: the latest version) in one transaction.
 * `label` names the file in errors.
 */
export function migrate(db: Database.Database, label: string, target = SCHEMA_VERSION): { from: number; to: number } {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new LabError('store', `${label}: the history has schema version ${from}, newer than this lab's ${SCHEMA_VERSION} (update the lab, or give hil another --store file)`);
  }
  if (from >= target) return { from, to: from };
  const pending = MIGRATIONS.filter((m) => m.version > from && m.version <= target);
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT');
    for (const m of pending) for (const step of m.steps) db.exec(step);
    db.exec('DELETE FROM schema_version');
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(target);
  })();
  return { from, to: target };
}
