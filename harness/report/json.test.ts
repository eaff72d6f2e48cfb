import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { JsonReporter, RESULTS_SCHEMA_ID } from './json.js';
import { buildRunResults } from './results.js';
import type { RunResults } from './results-types.js';
import { reportFixture } from './testing/fixture.js';
import { syntheticRun, type SyntheticRunOptions } from './testing/synthetic-run.js';

const schemaFile = new URL('../schemas/results.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { $id: string };
// Strict: a keyword typo in the published schema is a bug.
const validate = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }).compile(schema);

function written(results: RunResults): unknown {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-json-'));
  try {
    const [file] = new JsonReporter().onEnd(results, { outDir: dir, files: [] });
    return JSON.parse(readFileSync(file, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: Array<[string, SyntheticRunOptions]> = [
  ['a retried trial and a quarantined board', { retryTrial: 'esp-nn/cnn-int8/65536-internal/240mhz@sim-1#1', quarantine: { board: 'sim-3', afterTrials: 4 } }],
  ['an interrupted run', { interruptAfterTrials: 7 }],
  ['a journal that ends without run.finished', { crashAfterTrials: 3 }],
  ['a run that failed at the start', { failRun: true }],
  ['a failed trial', { failTrial: 'reference/cnn-int8/65536-psram/240mhz@sim-2#2' }],
  ['one board and one sample per trial', { boards: 1, rounds: 1, samples: 1, warmup: 0, accuracyInputs: 0, profile: false }],
  ['emulated boards', { provenance: 'emulated', boardPrefix: 'emu', rounds: 1, samples: 10 }],
  ['emulated and simulated boards (mixed variants, no pooled latency)', { boardProvenance: { 'sim-2': 'emulated' }, rounds: 1, samples: 10 }],
];

describe('results.json', () => {
  it('validates against the published schema (the fixture run with baseline, gates and trend)', () => {
    const doc = written(reportFixture().results) as Record<string, unknown>;
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(doc.$schema).toBe(RESULTS_SCHEMA_ID);
    expect(schema.$id).toBe(RESULTS_SCHEMA_ID);
    expect(doc).not.toHaveProperty('samples');
  });

  it.each(cases)('validates for %s', (_name, options) => {
    const run = syntheticRun(options);
    const doc = written(buildRunResults(run.events, { gates: run.scenario.gates }));
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it('validates with a model the boards ran from their flash partition (variant model.storage, fingerprint modelStorage)', () => {
    const run = syntheticRun({ boards: 1, rounds: 1, samples: 5 });
    const started = run.events.find((e) => e.type === 'run.started')!;
    for (const v of started.plan.variants) v.model = { ...v.model, storage: 'partition' };
    for (const e of run.events) if (e.type === 'trial.fingerprint') e.fingerprint = { ...e.fingerprint, modelStorage: 'partition' };
    const doc = written(buildRunResults(run.events)) as { variants: Array<{ model: { storage?: string } }>; trials: Array<{ fingerprint?: { modelStorage?: string } }> };
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(doc.variants.every((v) => v.model.storage === 'partition')).toBe(true);
    expect(doc.trials.every((t) => t.fingerprint?.modelStorage === 'partition')).toBe(true);
    expect(validate({ ...doc, variants: doc.variants.map((v) => ({ ...v, model: { ...v.model, storage: 'psram' } })) })).toBe(false);
  });

  it('writes statistics that do not exist as null, never NaN', () => {
    const run = syntheticRun({ boards: 1, rounds: 1, samples: 1, warmup: 0 });
    const doc = written(buildRunResults(run.events)) as { trials: Array<{ latency: { stddev: unknown; medianCI: { lower: unknown } } }> };
    expect(doc.trials[0].latency.stddev).toBeNull();
    expect(doc.trials[0].latency.medianCI.lower).toBeNull();
  });

  it('the schema rejects what is not results', () => {
    const doc = written(buildRunResults(syntheticRun({ boards: 1, rounds: 1, samples: 5 }).events)) as Record<string, unknown>;
    expect(validate({ ...doc, exitCode: 3 })).toBe(false);
    expect(validate({ ...doc, extra: true })).toBe(false);
    const run = doc.run as Record<string, unknown>;
    expect(run.provenances).toEqual(['simulated']);
    expect(validate({ ...doc, run: { ...run, provenances: ['qemu'] } })).toBe(false);
    const { provenances: _provenances, ...noProvenances } = run;
    expect(validate({ ...doc, run: noProvenances })).toBe(false);
    const trials = doc.trials as Array<Record<string, unknown>>;
    expect(validate({ ...doc, trials: trials.map((t) => ({ ...t, provenance: 'mixed' })) })).toBe(false);
    const { run: _run, ...noRun } = doc;
    expect(validate(noRun)).toBe(false);
  });
});
