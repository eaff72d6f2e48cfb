/**
 * Statistical power of the regression gate on simulated boards (issue 5, "Done when"): a 3 %
 * latency regression injected into one variant must fail its gate in >= 95 of 100 seeded nights,
 * and nights without a regression must raise a false alarm in fewer than 2 of 100.
 *
 * Noise: the synthetic generator's board model (harness/report/testing/synthetic-run.ts) - 0.4 %
 * Gaussian noise per inference, 1 % interrupt spikes of +5..30 %, boards 0.4 % apart, a 0.08 %
 * shift per board and round - on 4 boards x 3 rounds x 100 inferences per variant, as the demo
 * scenario runs. Each night is compared with its own baseline night (independent seeds).
 * Gate: latency.median +2 % at alpha 0.01 (fails only when the change is beyond the limit AND
 * significant). Measured here: 100/100 flagged, 0/100 false alarms; for contrast, "significant
 * after Holm" alone flags 40 of 100 regression-free nights (the round-to-round drift is not
 * sampling noise), which is why gates need both.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Gate } from '../../harness/config/types.js';
import { buildRunResults } from '../../harness/report/results.js';
import { syntheticRun, type SyntheticRunOptions } from '../../harness/report/testing/synthetic-run.js';
import { LatencyNoise, modelCost, type KernelBackend } from '../../harness/sim/cost-model.js';
import { profileModel } from '../../harness/tflite/profile.js';
import { readModelFile } from '../../harness/tflite/reader.js';

const REGRESSED = 'esp-nn/cnn-int8/65536-internal/240mhz';
const GATES: Gate[] = [{ metric: 'latency.median', maxIncreasePct: 2, alpha: 0.01 }];
const NIGHT: SyntheticRunOptions = { hostile: false, firmware: ['reference', 'esp-nn'], models: ['cnn-int8'], accuracyInputs: 0, profile: false };
const NIGHTS = 100;

describe('regression gate power on simulated boards', () => {
  it(`flags a 3% regression in >= 95 of ${NIGHTS} nights and raises < 2 false alarms in ${NIGHTS}`, () => {
    let flagged = 0;
    let falseAlarms = 0;
    for (let i = 0; i < NIGHTS; i++) {
      const baseline = buildRunResults(syntheticRun({ ...NIGHT, runId: `base-${i}`, seed: 1000 + i }).events);
      const slower = buildRunResults(syntheticRun({ ...NIGHT, runId: `slow-${i}`, seed: 2000 + i, regression: { variant: (v) => v.id === REGRESSED, pct: 3 } }).events, { gates: GATES, baseline });
      const same = buildRunResults(syntheticRun({ ...NIGHT, runId: `same-${i}`, seed: 3000 + i }).events, { gates: GATES, baseline });
      expect(same.gates.results).toHaveLength(4);
      if (slower.gates.results.some((g) => g.variant === REGRESSED && g.status === 'fail')) flagged++;
      if (same.gates.failed > 0 || same.gates.errors > 0) falseAlarms++;
    }
    console.log(`power: ${flagged}/${NIGHTS} nights flagged the 3% regression, ${falseAlarms}/${NIGHTS} false alarms`);
    expect(flagged).toBeGreaterThanOrEqual(95);
    expect(falseAlarms).toBeLessThan(2);
  }, 240_000);
});

/**
 * The same question with the simulated ESP32-S3's own numbers instead of the generator's: every
 * inference is drawn exactly as the simulated firmware draws it (harness/sim/cost-model.ts: the
 * cost model's cycles for the demo's INT8 CNN on reference and ESP-NN kernels, times the board's
 * fixed factor, cold caches after allocation, 0.15 % jitter and interrupt spikes), in the demo
 * scenario's shape (scenarios/demo.json: 4 boards x 2 rounds, 3 warm-up + 30 measured). The same
 * four boards (same seeds, same board factors) serve every night; each night draws a new
 * per-inference stream. Gate as above.
 */
const REGRESSED_DEMO = 'esp-nn/cnn-int8/65536-internal/240mhz';

describe('regression gate power with the simulated boards\' own noise (the demo scenario)', () => {
  const model = readModelFile(fileURLToPath(new URL('../../models/demo/fashion_cnn_int8.tflite', import.meta.url)));
  const profile = profileModel(model);
  const cyclesOf = (backend: KernelBackend): number => modelCost(model, profile, {
    kernelBackend: backend, espNnVersion: '1.1.2', cpuMhz: 240, arenaPlacement: 'internal', modelPlacement: 'psram', psramMode: 'octal',
  }).cycles;
  const base = { reference: cyclesOf('reference'), 'esp-nn': cyclesOf('esp-nn') } as const;
  const DEMO: SyntheticRunOptions = { ...NIGHT, boards: 4, rounds: 2, warmup: 3, samples: 30, arenas: [{ size: 65536, placement: 'internal' }] };

  function night(seed: number, regression?: SyntheticRunOptions['regression']): ReturnType<typeof syntheticRun> {
    const boards = new Map<string, LatencyNoise>();
    return syntheticRun({
      ...DEMO, runId: `night-${seed}`, seed, ...(regression ? { regression } : {}),
      sampler: ({ variant, board, round, index }) => {
        const key = `${board}/${variant.id}/${round}`;
        let noise = boards.get(key);
        // Board seed as in rigs.json (sim-N has seed N); one stream per board, variant and night.
        if (!noise) boards.set(key, noise = new LatencyNoise({ seed: Number(board.slice(4)), streamSeed: seed * 7919 + boards.size }));
        // `index` counts warm-up and measured inferences since the arena was allocated, as the
        // simulated firmware's cold-cache factor does.
        return noise.inference(base[variant.firmware.variant as KernelBackend], 240, index);
      },
    });
  }

  it(`flags a 3% regression in >= 95 of ${NIGHTS} nights and raises < 2 false alarms in ${NIGHTS}`, () => {
    let flagged = 0;
    let falseAlarms = 0;
    for (let i = 0; i < NIGHTS; i++) {
      const baseline = buildRunResults(night(10_000 + i).events);
      const slower = buildRunResults(night(20_000 + i, { variant: (v) => v.id === REGRESSED_DEMO, pct: 3 }).events, { gates: GATES, baseline });
      const same = buildRunResults(night(30_000 + i).events, { gates: GATES, baseline });
      expect(same.gates.results.length).toBeGreaterThan(0);
      if (slower.gates.results.some((g) => g.variant === REGRESSED_DEMO && g.status === 'fail')) flagged++;
      if (same.gates.failed > 0 || same.gates.errors > 0) falseAlarms++;
    }
    console.log(`power: ${flagged}/${NIGHTS} nights flagged the 3% regression, ${falseAlarms}/${NIGHTS} false alarms`);
    expect(flagged).toBeGreaterThanOrEqual(95);
    expect(falseAlarms).toBeLessThan(2);
  }, 240_000);
});
