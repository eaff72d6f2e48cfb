/**
 * Test fixture (harness/store/store.test.ts): writes a run's rows inside an open transaction and
 * then dies by SIGKILL before COMMIT, as a host that loses power mid-write. Usage:
 *   node --import tsx crash-writer.ts <history.sqlite> <run-id>
 */
import Database from 'better-sqlite3';
import { buildRunResults } from '../../report/results.js';
import { syntheticRun } from '../../report/testing/synthetic-run.js';
import { migrate } from '../migrations.js';
import { writeRunRows } from '../write.js';

const [file, runId] = process.argv.slice(2);
const results = buildRunResults(syntheticRun({ runId, seed: 2, hostile: false, samples: 20, rounds: 1 }).events);
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('foreign_keys = ON');
migrate(db, file);
db.exec('BEGIN');
writeRunRows(db, results, `reports/${runId}/events.jsonl`, '2025-01-01T00:00:00.000Z');
process.stdout.write('written, not committed\n');
process.kill(process.pid, 'SIGKILL');
