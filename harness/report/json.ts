/**
 * results.json: RunResults as JSON, validated by the published JSON Schema
 * harness/schemas/results.schema.json (CI jobs and dashboards read this file, so its shape is a
 * contract: `resultsVersion` says which). Statistics that do not exist (NaN) are written as null;
 * the in-memory samples are not written (they live in the journal).
 */
import type { Reporter, ReportContext } from './reporter.js';
import { writeReportFile } from './reporter.js';
import type { RunResults } from './results-types.js';

/** The schema's $id: results.json names it in `$schema`. */
export const RESULTS_SCHEMA_ID = 'https://esp32s3-tinyml-lab.local/schemas/results.schema.json';

/** JSON of a results-like value with NaN and Infinity as null (JSON has no NaN). */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), indent);
}

/** The document written to results.json. */
export function resultsDocument(results: RunResults): Record<string, unknown> {
  return { $schema: RESULTS_SCHEMA_ID, ...results };
}

export class JsonReporter implements Reporter {
  readonly name = 'json';
  constructor(private readonly fileName = 'results.json') {}

  onEnd(results: RunResults, context: ReportContext): string[] {
    return writeReportFile(context, this.fileName, `${toJson(resultsDocument(results))}\n`);
  }
}
