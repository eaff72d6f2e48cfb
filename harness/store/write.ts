/**
 * The rows of one run (RunResults -> runs, boards, variants, trials, artifacts, canaries). Not
 * transactional by itself: `HistoryStore.recordRun` wraps it in one transaction, so a crash
 * anywhere in here leaves no trace of the run (or the previous recording of it, intact).
 */
import type Database from 'better-sqlite3';
import type { LatencySummary, RunResults } from '../report/results-types.js';

/** SQLite has no NaN: a statistic that does not exist is NULL. */
export function num(x: number | undefined): number | null {
  return x !== undefined && Number.isFinite(x) ? x : null;
}

function stats(l: LatencySummary | undefined): Array<number | null> {
  return [l?.median, l?.mean, l?.p90, l?.p99, l?.stddev, l?.mad, l?.medianCI.lower, l?.medianCI.upper].map(num);
}

const bool = (b: boolean): number => (b ? 1 : 0);

/** Deletes the run's rows (children go with it: ON DELETE CASCADE) and writes them again. */
export function writeRunRows(db: Database.Database, r: RunResults, journalPath: string | undefined, recordedAt: string): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(r.run.id);
  db.prepare(`INSERT INTO runs (id, scenario, scenario_file, scenario_sha256, started_at, ended_at, status, partial, git_commit,
      hostname, lab_version, simulated, provenance, journal_path, exit_code, exit_reason, trials_planned, trials_passed,
      gates_passed, gates_failed, gates_errors, recorded_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    r.run.id, r.run.scenario.name, r.run.scenario.file, r.run.scenario.sha256, r.run.startedAt, r.run.endedAt ?? null,
    r.run.status, bool(r.run.partial), r.run.gitCommit ?? null, r.run.host.hostname, r.run.host.labVersion, bool(r.run.simulated),
    r.run.provenances.join(','), journalPath ?? null, r.exitCode, r.exitReason, r.run.plan.trials, r.trials.filter((t) => t.status === 'passed').length,
    r.gates.passed, r.gates.failed, r.gates.errors, recordedAt,
  );

  const board = db.prepare(`INSERT INTO boards (run_id, board, mac, chip, chip_revision, app_sha256, firmware_variant, kernel_backend,
      idf_version, tflm_version, esp_nn_version, cpu_mhz, psram_bytes, flash_bytes, simulated, provenance, state, quarantined_reason)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const canary = db.prepare(`INSERT INTO canaries (run_id, board, mac, at, model, n, median_us, history_median_us, drift_pct, verdict, simulated, provenance)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const b of r.boards) {
    const h = b.hello;
    board.run(
      r.run.id, b.id, h?.mac ?? null, h?.chip ?? null, h?.chipRevision ?? null, h?.appElfSha256 ?? null, h?.firmwareVariant ?? null,
      h?.kernelBackend ?? null, h?.idfVersion ?? null, h?.tflmVersion ?? null, h?.espNnVersion ?? null, num(h?.cpuMHz),
      num(h?.psramBytes), num(h?.flashBytes), bool(b.simulated), b.provenance, b.state, b.quarantined?.reason ?? null,
    );
    if (b.canary) {
      canary.run(
        r.run.id, b.id, h?.mac ?? null, r.run.startedAt, b.canary.model, b.canary.n, b.canary.medianUs,
        num(b.canary.historyMedianUs), num(b.canary.driftPct), b.canary.verdict, bool(b.simulated), b.provenance,
      );
    }
  }

  const variant = db.prepare(`INSERT INTO variants (run_id, variant_id, build, firmware_variant, kernel_backend, esp_nn_version, model_id,
      model_sha256, arena_size, arena_bytes, arena_placement, cpu_mhz, trials_planned, trials_passed, n,
      median, mean, p90, p99, stddev, mad, ci_lower, ci_upper,
      top1_correct, top1_total, top1_lower, top1_upper, top5_correct, top5_total,
      arena_used_bytes, image_bytes, internal_min_free_bytes, psram_min_free_bytes, outputs_differing_tensors, simulated, provenance)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const v of r.variants) {
    variant.run(
      r.run.id, v.id, v.build, v.firmware.variant, v.firmware.kernelBackend ?? null, v.firmware.espNn ?? null, v.model.id,
      v.model.sha256 ?? null, String(v.arena.size), num(v.arena.bytes), v.arena.placement, v.cpuMHz, v.trials.planned, v.trials.passed,
      v.latency?.n ?? 0, ...stats(v.latency),
      v.accuracy?.top1.correct ?? null, v.accuracy?.top1.total ?? null, num(v.accuracy?.top1.lower), num(v.accuracy?.top1.upper),
      v.accuracy?.top5.correct ?? null, v.accuracy?.top5.total ?? null,
      num(v.memory?.arenaUsedBytes), num(v.memory?.imageBytes), num(v.memory?.internal.minimumFreeBytes), num(v.memory?.psram?.minimumFreeBytes),
      v.bitExact ? v.bitExact.worst.differingTensors : null, bool(v.simulated), v.provenance,
    );
  }

  const trial = db.prepare(`INSERT INTO trials (run_id, trial_id, variant_id, board, round, status, attempts, error_code, error_message,
      n, median, mean, p90, p99, stddev, mad, ci_lower, ci_upper, firmware_sha256, model_sha256,
      top1_correct, top1_total, arena_used_bytes, differing_tensors)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const artifact = db.prepare('INSERT OR IGNORE INTO artifacts (run_id, kind, name, sha256) VALUES (?, ?, ?, ?)');
  const build = new Map(r.variants.map((v) => [v.id, v.build]));
  const model = new Map(r.variants.map((v) => [v.id, v.model.id]));
  for (const t of r.trials) {
    const lastError = t.errors.at(-1);
    const fw = typeof t.fingerprint?.firmwareSha256 === 'string' ? t.fingerprint.firmwareSha256 : null;
    const md = typeof t.fingerprint?.modelSha256 === 'string' ? t.fingerprint.modelSha256 : null;
    trial.run(
      r.run.id, t.id, t.variant, t.board, t.round, t.status, t.attempts, lastError?.code ?? null, lastError?.message ?? null,
      t.latency?.n ?? 0, ...stats(t.latency), fw, md,
      t.accuracy?.top1.correct ?? null, t.accuracy?.top1.total ?? null, num(t.memory?.arenaUsedBytes), t.bitExact?.differingTensors ?? null,
    );
    if (fw) artifact.run(r.run.id, 'firmware', build.get(t.variant) ?? t.variant, fw);
    if (md) artifact.run(r.run.id, 'model', model.get(t.variant) ?? t.variant, md);
  }
  for (const b of r.boards) for (const f of b.firmware) artifact.run(r.run.id, 'firmware', f.variant, f.appElfSha256);
  for (const v of r.variants) if (v.model.sha256) artifact.run(r.run.id, 'model', v.model.id, v.model.sha256);
}
