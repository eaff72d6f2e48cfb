/**
 * The planner (pure): a scenario's variant matrix becomes variants (firmware x model x arena x
 * CPU clock), and variants x boards x rounds become trials, ordered per board so that
 *
 * - every round runs every variant once on every board, so slow drift (temperature, host load)
 *   hits every variant equally (interleaving, ABAB... rather than AAA...BBB);
 * - a board reflashes as little as possible: within a round it runs all the variants of one
 *   firmware build before moving to the next, and the build order snakes (round 1 B0 B1 .. Bn,
 *   round 2 Bn .. B1 B0, ...), so the build a round ends with is the one the next round starts
 *   with: n-1 flashes per round instead of n, and over two rounds each build sits on average in
 *   the middle of the round (the ABBA counterbalancing design);
 * - within a build, the variants' order is a seeded shuffle rotated by one place per round (a
 *   Latin square: over m rounds each of the m variants takes every position once), offset by the
 *   board's index so that at any moment different boards run different variants.
 *
 * Trial ids are stable (`<variant-id>@<board>#<round>`), so a resumed run knows which trials are
 * finished whatever the order.
 */
import { LabError } from '../errors.js';
import type {
  ArenaChoice, ArenaPlacement, CpuMHz, ExcludeRule, FirmwareChoice, Scenario, ScenarioModel, VariantMatrix,
} from '../config/types.js';

/** Variants one scenario may expand to; past this a matrix is almost surely a mistake. */
export const MAX_VARIANTS = 4096;
/** Trials one run may hold (the journal and the report keep one record per trial). */
export const MAX_TRIALS = 200_000;

/**
 * The clock of a variant's default build: firmware/sdkconfig.defaults sets
 * CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ_240 (FACTS.md: benchmarks run at 240 MHz, IDF's default is 160).
 */
export const DEFAULT_BUILD_MHZ: CpuMHz = 240;

/** One firmware image the plan needs (build-time choices only). */
export interface FirmwareBuild {
  /**
   * The variant name for its default build ("esp-nn", the directory firmware/build/esp-nn/), with
   * the clock appended for other clocks ("esp-nn-160mhz").
   */
  id: string;
  /** Firmware variant name (firmware/variants/<variant>.json). */
  variant: string;
  /** Set when the CPU clock is a build-time choice (the default). */
  cpuMHz?: CpuMHz;
  /** From the variant file, when the scenario was loaded with the firmware variants. */
  kernelBackend?: 'reference' | 'esp-nn';
  espNn?: string;
}

export interface VariantArena {
  size: number | 'auto';
  placement: ArenaPlacement;
  /** Bytes to allocate: `size`, or the loader's auto estimate for this model; undefined if unknown. */
  bytes?: number;
}

/** One point of the matrix. */
export interface Variant {
  /** `<firmware>/<model>/<size>-<placement>/<cpu>mhz`, e.g. "esp-nn/cnn-int8/65536-internal/240mhz". */
  id: string;
  firmware: FirmwareChoice;
  /** Id of the FirmwareBuild this variant runs on. */
  build: string;
  model: ScenarioModel;
  arena: VariantArena;
  cpuMHz: CpuMHz;
}

/** One variant measured once on one board in one round. */
export interface Trial {
  /** `<variant-id>@<board>#<round>`. */
  id: string;
  variant: Variant;
  board: string;
  /** 1-based. */
  round: number;
  /** Position in the board's queue (0-based). */
  seq: number;
}

export interface Plan {
  scenario: string;
  rounds: number;
  seed: number;
  variants: Variant[];
  /** Builds at least one trial needs, in the order of matrix.firmware then cpuMHz. */
  builds: FirmwareBuild[];
  boards: string[];
  /** Per board, its trials in the order to run them. */
  queues: Record<string, Trial[]>;
  /** Every trial, boards interleaved (queue position 0 of each board, then 1, ...). */
  trials: Trial[];
  /** Variants left out on a board that cannot run them (a PSRAM arena on a board without PSRAM), one line each. */
  skipped?: SkippedVariant[];
}

export interface SkippedVariant {
  variant: string;
  board: string;
  reason: string;
}

/** What a board can do, as far as planning needs it (rigs.json: its memory; an emulated profile's). */
export interface BoardCapabilities {
  /** False when the board has no PSRAM: a PSRAM arena cannot run there. Undefined: not known (its HELLO will tell). */
  psram?: boolean;
  /** Says why, for the skip line (e.g. "emulated profile esp32s3-devkitc-1-n8"). */
  describe?: string;
}

export interface PlanOptions {
  /**
   * 'build' (default): the CPU clock is set in sdkconfig, so each clock is its own firmware build
   * (ARCHITECTURE.md "Variants"). 'runtime': the firmware switches clocks on command; builds then
   * differ only by firmware variant and esp-nn pin.
   */
  cpuClock?: 'build' | 'runtime';
  /** Build id each board already runs, when known: its queue starts with that build. */
  installed?: Readonly<Record<string, string>>;
  /** What each board can do: variants a board cannot run are left out on it, each with a line in `skipped`. */
  capabilities?: Readonly<Record<string, BoardCapabilities>>;
}

export function buildId(firmware: FirmwareChoice, cpuMHz: CpuMHz, cpuClock: 'build' | 'runtime' = 'build'): string {
  return cpuClock === 'build' && cpuMHz !== DEFAULT_BUILD_MHZ ? `${firmware.variant}-${cpuMHz}mhz` : firmware.variant;
}

export function arenaLabel(arena: { size: number | 'auto'; placement: ArenaPlacement }): string {
  return `${arena.size}-${arena.placement}`;
}

export function variantId(firmware: FirmwareChoice, model: ScenarioModel, arena: ArenaChoice | VariantArena, cpuMHz: CpuMHz): string {
  return `${firmware.variant}/${model.id}/${arenaLabel(arena)}/${cpuMHz}mhz`;
}

export function trialId(variant: string, board: string, round: number): string {
  return `${variant}@${board}#${round}`;
}

/** Split a trial id; undefined when it is not one. Board ids never hold '@' or '#' (rigs schema), variant ids neither. */
export function parseTrialId(id: string): { variant: string; board: string; round: number } | undefined {
  const hash = id.lastIndexOf('#');
  const at = id.lastIndexOf('@', hash);
  if (hash < 0 || at <= 0) return undefined;
  const round = Number(id.slice(hash + 1));
  const board = id.slice(at + 1, hash);
  if (!Number.isInteger(round) || round < 1 || board === '' || /[@#]/.test(board)) return undefined;
  return { variant: id.slice(0, at), board, round };
}

function excluded(rules: readonly ExcludeRule[], f: FirmwareChoice, m: ScenarioModel, a: ArenaChoice, cpu: CpuMHz): boolean {
  return rules.some((r) =>
    (r.firmware === undefined || r.firmware === f.variant)
    && (r.model === undefined || r.model === m.id)
    && (r.cpuMHz === undefined || r.cpuMHz === cpu)
    && (r.arena === undefined
      || ((r.arena.size === undefined || r.arena.size === a.size)
        && (r.arena.placement === undefined || r.arena.placement === a.placement))));
}

/**
 * The matrix's variants minus the excluded ones, in declaration order with the build-time axes
 * outermost (firmware, then clock, then model, then arena). `label` names the scenario in errors.
 */
export function expandVariants(matrix: VariantMatrix, label: string, options: PlanOptions = {}): Variant[] {
  const total = matrix.firmware.length * matrix.cpuMHz.length * matrix.model.length * matrix.arena.length;
  if (total > MAX_VARIANTS) {
    throw new LabError('config', `${label}: /matrix: expands to ${total} variants, more than the ${MAX_VARIANTS} a run can hold (split it into several scenarios)`);
  }
  const out: Variant[] = [];
  for (const f of matrix.firmware) {
    for (const cpu of matrix.cpuMHz) {
      for (const m of matrix.model) {
        for (const a of matrix.arena) {
          if (excluded(matrix.exclude, f, m, a, cpu)) continue;
          const arena: VariantArena = { size: a.size, placement: a.placement };
          const bytes = a.size === 'auto' ? a.autoBytes?.[m.id] : a.size;
          if (bytes !== undefined) arena.bytes = bytes;
          out.push({ id: variantId(f, m, a, cpu), firmware: f, build: buildId(f, cpu, options.cpuClock), model: m, arena, cpuMHz: cpu });
        }
      }
    }
  }
  if (out.length === 0) {
    throw new LabError('config', `${label}: /matrix/exclude: excludes every variant of the matrix (nothing would run; remove an exclude entry)`);
  }
  return out;
}

/** Plan a run of `scenario` on the given boards (ids, in rigs.json order). */
export function planRun(scenario: Scenario, boardIds: readonly string[], options: PlanOptions = {}): Plan {
  if (boardIds.length === 0) {
    throw new LabError('config', `${scenario.label}: /boards: no board to run on (check the selector against rigs.json)`);
  }
  if (new Set(boardIds).size !== boardIds.length) throw new Error(`planRun: duplicate board ids in ${boardIds.join(', ')}`);
  const variants = expandVariants(scenario.matrix, scenario.label, options);
  const count = variants.length * boardIds.length * scenario.rounds;
  if (count > MAX_TRIALS) {
    throw new LabError('config', `${scenario.label}: /rounds: ${variants.length} variants x ${boardIds.length} boards x ${scenario.rounds} rounds = ${count} trials, more than ${MAX_TRIALS} (fewer rounds or a smaller matrix)`);
  }

  // Variants grouped by build, groups in first-appearance order.
  const groups = new Map<string, Variant[]>();
  for (const v of variants) {
    const g = groups.get(v.build);
    if (g) g.push(v);
    else groups.set(v.build, [v]);
  }
  const buildOrder = [...groups.keys()];

  const queues: Record<string, Trial[]> = {};
  const skipped: SkippedVariant[] = [];
  boardIds.forEach((board, k) => {
    // Start with the build the board already runs, else spread boards over the builds.
    const installed = options.installed?.[board];
    const start = installed !== undefined && groups.has(installed) ? buildOrder.indexOf(installed) : k % buildOrder.length;
    const boardBuilds = rotate(buildOrder, start);
    const random = mulberry32(mixSeed(scenario.seed, board));
    const baseOrder = new Map([...groups].map(([b, vs]) => [b, shuffle(vs, random)]));
    const queue: Trial[] = [];
    const caps = options.capabilities?.[board];
    const runs = (v: Variant): boolean => !(v.arena.placement === 'psram' && caps?.psram === false);
    for (const v of variants) {
      if (!runs(v)) skipped.push({ variant: v.id, board, reason: `the board has no PSRAM${caps?.describe ? ` (${caps.describe})` : ''}, and the variant's arena is in PSRAM` });
    }
    for (let r = 0; r < scenario.rounds; r++) {
      const order = r % 2 === 0 ? boardBuilds : [...boardBuilds].reverse();
      for (const b of order) {
        for (const v of rotate(baseOrder.get(b) ?? [], r + k)) {
          if (runs(v)) queue.push({ id: trialId(v.id, board, r + 1), variant: v, board, round: r + 1, seq: queue.length });
        }
      }
    }
    queues[board] = queue;
  });
  if (boardIds.every((b) => queues[b]!.length === 0)) {
    throw new LabError('config', `${scenario.label}: no selected board can run any variant (${skipped[0]?.reason ?? 'nothing planned'}): select boards with PSRAM, or drop the PSRAM arenas`);
  }

  const trials: Trial[] = [];
  const longest = Math.max(...boardIds.map((b) => queues[b].length));
  for (let i = 0; i < longest; i++) {
    for (const b of boardIds) {
      const t = queues[b][i];
      if (t) trials.push(t);
    }
  }

  const builds: FirmwareBuild[] = buildOrder.map((id) => {
    const v = groups.get(id)![0];
    const build: FirmwareBuild = { id, variant: v.firmware.variant };
    if (v.firmware.kernelBackend !== undefined) build.kernelBackend = v.firmware.kernelBackend;
    if (v.firmware.espNn !== undefined) build.espNn = v.firmware.espNn;
    if ((options.cpuClock ?? 'build') === 'build') build.cpuMHz = v.cpuMHz;
    return build;
  });

  return {
    scenario: scenario.name, rounds: scenario.rounds, seed: scenario.seed, variants, builds, boards: [...boardIds], queues, trials,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

/** How many times each board must switch firmware builds to run its queue (from `installed`). */
export function reflashCount(plan: Plan, installed: Readonly<Record<string, string>> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const board of plan.boards) {
    let current = installed[board];
    let flashes = 0;
    for (const t of plan.queues[board]) {
      if (t.variant.build !== current) { flashes++; current = t.variant.build; }
    }
    out[board] = flashes;
  }
  return out;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const k = ((by % n) + n) % n;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Fisher-Yates with the given generator; returns a new array. */
function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The scenario seed mixed with the board id (FNV-1a), so boards get different but repeatable orders. */
function mixSeed(seed: number, board: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < board.length; i++) h = Math.imul(h ^ board.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** mulberry32 (Tommy Ettinger's public-domain 32-bit generator): small, fast, seedable. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
