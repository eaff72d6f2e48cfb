/**
 * Trial fingerprints and the rule that keeps comparisons honest: two trials are compared only when
 * their fingerprints agree on every field except the declared variant axes. Comparing an ESP-NN
 * build at 240 MHz with a reference build at 160 MHz would report the clock as a kernel speed-up
 * (FACTS.md: IDF's default S3 clock is 160 MHz, benchmarks set 240; every result must record it).
 */

import type { Provenance } from '../lab/provenance.js';

export type FingerprintValue = string | number | boolean;

/**
 * A flat record of what could change a measurement (issue 4, step 3/7). The named fields are the
 * ones the lab records; any other flat field takes part in the check the same way.
 */
export interface Fingerprint {
  /** App ELF sha256 from `esp_app_get_description()` (FACTS.md: build identity). */
  firmwareSha256?: string;
  sdkconfigSha256?: string;
  /** 'reference' (NN_ANSI_C) or 'esp-nn' (NN_OPTIMIZED). */
  kernelBackend?: string;
  cpuMhz?: number;
  flashMode?: string;
  flashFreqMhz?: number;
  psram?: string;
  cache?: string;
  /** 'internal' or 'psram'. */
  arenaPlacement?: string;
  arenaBytes?: number;
  idfVersion?: string;
  tflmVersion?: string;
  espNnVersion?: string;
  chipRevision?: string;
  modelSha256?: string;
  /** 'partition' when the board ran the model from its flash model partition (absent: uploaded). */
  modelStorage?: string;
  /** True for numbers from a simulated board. */
  simulated?: boolean;
  /**
   * 'board', 'emulated' or 'simulated' (harness/lab/provenance.ts): an emulated board's timings are
   * instruction counts (QEMU -icount), so it never matches a board or a simulated one. Fingerprints journaled
   * before the field existed get it from `simulated` when the journal is read (report/collect.ts).
   */
  provenance?: Provenance;
  readonly [field: string]: FingerprintValue | undefined;
}

export interface Comparable {
  comparable: true;
  /** Fields that differ (all of them declared variant axes), sorted. */
  differingAxes: string[];
}

export interface NotComparable {
  comparable: false;
  /** One sentence naming the first offending field, both values and the fix. */
  reason: string;
  /** The first field (alphabetically) that differs outside the variant axes. */
  field: string;
  baselineValue: FingerprintValue | undefined;
  candidateValue: FingerprintValue | undefined;
  /** Every field that differs outside the variant axes, sorted. */
  fields: string[];
}

export type Comparability = Comparable | NotComparable;

function show(v: FingerprintValue | undefined): string {
  if (v === undefined) return '(missing)';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function same(a: FingerprintValue | undefined, b: FingerprintValue | undefined): boolean {
  return Object.is(a, b) || (a === 0 && b === 0);
}

/**
 * Whether a baseline and a candidate trial may be compared. A field present on one side and
 * missing on the other counts as a difference: an unknown setting is not a matching one.
 */
export function checkComparable(
  baseline: Fingerprint,
  candidate: Fingerprint,
  variantAxes: readonly string[],
): Comparability {
  const axes = new Set(variantAxes);
  const fields = [...new Set([...Object.keys(baseline), ...Object.keys(candidate)])].sort();
  const differingAxes: string[] = [];
  const offending: string[] = [];
  for (const f of fields) {
    if (same(baseline[f], candidate[f])) continue;
    (axes.has(f) ? differingAxes : offending).push(f);
  }
  if (offending.length === 0) return { comparable: true, differingAxes };
  const field = offending[0];
  const declared = variantAxes.length > 0 ? `the declared variant axes are ${variantAxes.join(', ')}` : 'no variant axes are declared';
  const more = offending.length > 1 ? ` (${offending.length - 1} more field${offending.length > 2 ? 's' : ''} differ: ${offending.slice(1).join(', ')})` : '';
  return {
    comparable: false,
    reason:
      `not comparable: the fingerprints differ in ${field} (baseline ${show(baseline[field])}, candidate ${show(candidate[field])})` +
      `${more}, but ${declared}; measure both with the same ${field} or declare it as a variant axis`,
    field,
    baselineValue: baseline[field],
    candidateValue: candidate[field],
    fields: offending,
  };
}
