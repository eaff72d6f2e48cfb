/** The run history (SQLite): runs, boards, variants, trials, canaries and baselines. */
export {
  DEFAULT_STORE_FILE, HistoryStore, STORE_METRICS,
  type CanaryHistoryOptions, type CanaryRecord, type MetricHistoryOptions, type OpenStoreOptions, type StoredBaseline, type StoredRun,
} from './store.js';
export { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion, type Migration } from './migrations.js';
