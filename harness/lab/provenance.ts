/**
 * Where a number came from: the lab's three provenance classes.
 *
 * - `board`: an ESP32-S3 - its outputs and its cycle counter are the silicon's.
 * - `emulated`: Espressif's QEMU running the lab's real firmware binary (harness/emu) - its
 *   outputs are the firmware's real arithmetic, its timings its instructions counted by QEMU (-icount, 4 ns each), not silicon cycles.
 * - `simulated`: the lab's simulated ESP32-S3 (harness/sim) - outputs from the host interpreter,
 *   timings from a cost model.
 *
 * Numbers of different classes are never pooled or compared as the same thing. The firmware in
 * QEMU cannot know it is emulated (its HELLO says `simulated: false`), so the class comes from what
 * the lab knows - the rigs entry - as well as from what the board says.
 *
 * Pure: events, reports and the store import it without cycles.
 */
import type { BoardConfig } from '../config/types.js';

export type Provenance = 'board' | 'emulated' | 'simulated';

/** Every class, in the order reports list them: the silicon first. */
export const PROVENANCES: readonly Provenance[] = ['board', 'emulated', 'simulated'];

/** A group of numbers (a variant, a run's trend point) measured on boards of one class, or of several. */
export type GroupProvenance = Provenance | 'mixed';

/** What an event carries about its origin: `simulated` as before, and the provenance class. */
export interface ProvenanceMarks {
  simulated: boolean;
  provenance: Provenance;
}

/**
 * A board's class. The board's own word wins when it says it is simulated (the SIMULATED flag of
 * its HELLO); otherwise the rigs entry decides - an emulated board's firmware says `simulated: false`.
 */
export function provenanceOf(
  config: Pick<BoardConfig, 'simulated' | 'emulated'> | undefined,
  identity: { simulated: boolean } | undefined,
): Provenance {
  if (identity?.simulated) return 'simulated';
  if (config?.simulated) return 'simulated';
  if (config?.emulated) return 'emulated';
  return 'board';
}

/** The marks of an event a board's numbers go into (`simulated` stays what the board said). */
export function marksOf(config: Pick<BoardConfig, 'simulated' | 'emulated'> | undefined, identity: { simulated: boolean }): ProvenanceMarks {
  return { simulated: identity.simulated, provenance: provenanceOf(config, identity) };
}

/** Journals and fingerprints written before emulated boards existed say only `simulated`. */
export function provenanceFromSimulated(simulated: boolean): Provenance {
  return simulated ? 'simulated' : 'board';
}

/** The classes a run.started planned, also of a journal written before the field existed. */
export function recordedProvenances(x: { provenances?: Provenance[]; simulated: boolean }): Provenance[] {
  return x.provenances ?? [provenanceFromSimulated(x.simulated)];
}

/** The class of a journaled record, also of one written before the field existed. */
export function recordedProvenance(x: { provenance?: Provenance; simulated: boolean }): Provenance {
  return x.provenance ?? provenanceFromSimulated(x.simulated);
}

export function isProvenance(x: unknown): x is Provenance {
  return typeof x === 'string' && (PROVENANCES as readonly string[]).includes(x);
}

/** The distinct classes of a list, in PROVENANCES order. */
export function provenanceSet(list: Iterable<Provenance>): Provenance[] {
  const present = new Set(list);
  return PROVENANCES.filter((p) => present.has(p));
}

/** The class of a group: its one class, 'mixed' for several, undefined for none. */
export function groupProvenance(list: Iterable<Provenance>): GroupProvenance | undefined {
  const set = provenanceSet(list);
  if (set.length === 0) return undefined;
  return set.length === 1 ? set[0] : 'mixed';
}

/**
 * Of two marks for the same numbers, the one that trusts them least (simulated over emulated over
 * board): like the `simulated` flag, a mark once set is never washed out by a later event.
 */
export function leastTrusted(a: Provenance | undefined, b: Provenance): Provenance {
  if (a === undefined) return b;
  return PROVENANCES.indexOf(b) > PROVENANCES.indexOf(a) ? b : a;
}

/** "board", "emulated + simulated": a list of classes as reports name it. */
export function describeProvenances(list: readonly Provenance[]): string {
  return list.length === 0 ? 'unknown' : list.join(' + ');
}
