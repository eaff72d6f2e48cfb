/**
 * What each board of a run can do, for the planner (plan.ts `capabilities`): taken from rigs.json -
 * a board's declared memory, or the profile of a simulated or emulated board. An emulated board gets
 * what QEMU's esp32s3 machine models for its profile (harness/emu/qemu.ts): with no PSRAM in the
 * profile, PSRAM-arena variants are left out on it, one line each, instead of failing on the board.
 */
import type { BoardConfig } from '../config/types.js';
import type { BoardCapabilities, SkippedVariant } from './plan.js';

export function capabilitiesOf(boards: readonly BoardConfig[]): Record<string, BoardCapabilities> {
  const out: Record<string, BoardCapabilities> = {};
  for (const b of boards) {
    const describe = b.emulated ? `emulated profile ${b.emulated.profile}` : b.simulated ? `simulated profile ${b.simulated.profile}` : 'psramBytes 0 in the rigs';
    out[b.id] = b.psramBytes === undefined ? {} : { psram: b.psramBytes > 0, describe };
  }
  return out;
}

/** One line per variant left out on a board. */
export function skippedLines(skipped: readonly SkippedVariant[] | undefined): string[] {
  return (skipped ?? []).map((s) => `skipped ${s.variant} on ${s.board}: ${s.reason}`);
}
