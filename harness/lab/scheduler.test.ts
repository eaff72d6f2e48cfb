import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../config/scenario.js';
import type { BoardConfig, Scenario } from '../config/types.js';
import { encodeNpy } from '../datasets/npy.js';
import { buildRunResults } from '../report/results.js';
import { CANARY_MODEL_FILE, canaryVerdict, loadCanaryModel, type CanaryHistory } from './canary.js';
import type { LabEvent, NewLabEvent, TrialFinishedEvent, TrialSamplesEvent } from './events.js';
import { JOURNAL_VERSION } from './events.js';
import { journalProgress, type JournalProgress } from './journal.js';
import { prepareModels } from './models.js';
import { planRun, type Plan } from './plan.js';
import { runSchedule, type ScheduleOutcome } from './scheduler.js';
import { BoardSlot } from './slot.js';
import { FakeBoard, type FakeBoardOptions } from './testing/fake-board.js';

/** A scenario on the tiny conv model, with a labelled set of 6 random 8x8 images. */
function makeScenario(fields: Record<string, unknown> = {}): Scenario {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-sched-'));
  copyFileSync(CANARY_MODEL_FILE, path.join(dir, 'tiny.tflite'));
  const images = Uint8Array.from({ length: 6 * 64 }, (_, i) => (i * 97 + 13) & 0xff);
  writeFileSync(path.join(dir, 'images.npy'), encodeNpy(images, [6, 8, 8, 1]));
  writeFileSync(path.join(dir, 'labels.npy'), encodeNpy(Int32Array.from([0, 1, 2, 0, 1, 2]), [6]));
  writeFileSync(path.join(dir, 's.json'), JSON.stringify({
    name: 'sched-test',
    matrix: {
      firmware: ['reference', 'esp-nn'],
      model: [{ id: 'tiny', path: 'tiny.tflite' }],
      arena: [{ size: 16384, placement: 'internal' }, { size: 16384, placement: 'psram' }],
    },
    inputs: { accuracy: { inputs: 'images.npy', labels: 'labels.npy' } },
    warmup: 2,
    measure: { inferences: 20 },
    rounds: 2,
    timeouts: { invokeS: 0.2, helloS: 0.2, connectS: 0.2, uploadS: 0.5, accuracyS: 1, trialS: 5 },
    canary: { inferences: 10 },
    baseline: 'none',
    ...fields,
  }));
  return loadScenario(path.join(dir, 's.json'));
}

function rig(id: string, emulated = false): BoardConfig {
  const board: BoardConfig = { id, chip: 'esp32s3', transport: { serial: { baud: 921600, flashBaud: 921600, reset: 'classic' } }, identity: {}, tags: ['sim'] };
  return emulated
    ? { ...board, tags: ['emu'], emulated: { profile: 'esp32s3-devkitc-1-n8r8', flashFile: `/lab/emu/${id}.bin` } }
    : { ...board, simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: 1, faults: [] } };
}

interface Ran {
  events: LabEvent[];
  outcome: ScheduleOutcome;
  plan: Plan;
  boards: Map<string, FakeBoard>;
}

const latency = (variant: string, _sha: string, placement: string) => (variant === 'reference' ? 5000 : 1000) * (placement === 'psram' ? 1.1 : 1);

async function run(scenario: Scenario, boards: FakeBoardOptions[], opts: {
  progress?: JournalProgress; prior?: LabEvent[]; stopAfter?: number; history?: number[] | CanaryHistory; profile?: boolean; canary?: boolean;
  /** The rigs make every board an emulated one (QEMU): give the boards `simulated: false` as the firmware says. */
  emulated?: boolean;
} = {}): Promise<Ran> {
  const plan = planRun(scenario, boards.map((b) => b.id));
  const events: LabEvent[] = [...(opts.prior ?? [])];
  let seq = events.length;
  const stop = new AbortController();
  const emit = (e: NewLabEvent) => {
    events.push({ ...e, seq: ++seq, ts: seq } as LabEvent);
    if (opts.stopAfter !== undefined && e.type === 'trial.finished' && events.filter((x) => x.type === 'trial.finished').length >= opts.stopAfter) stop.abort();
  };
  if (!opts.prior) {
    emit({
      type: 'run.started', journalVersion: JOURNAL_VERSION, runId: 'r1', scenario: { name: scenario.name, file: scenario.label, sha256: 'x' },
      rigs: { file: 'rigs.json', sha256: 'y' }, plan, host: { hostname: 'h', platform: 'linux', node: 'v20', labVersion: '0' },
      simulated: !opts.emulated, provenances: [opts.emulated ? 'emulated' : 'simulated'],
    });
  }
  const fakes = new Map(boards.map((b) => [b.id, new FakeBoard({ latencyUs: latency, ...b })]));
  const slots = [...fakes.values()].map((b) => new BoardSlot(b, rig(b.id, opts.emulated), emit));
  const history = opts.history;
  const outcome = await runSchedule({
    scenario, plan, slots, models: prepareModels(scenario), firmwareDir: '/nonexistent', emit, stop: stop.signal,
    progress: opts.progress ?? journalProgress([]),
    ...(opts.canary === false ? {} : { canary: { model: loadCanaryModel(), history: typeof history === 'function' ? history : () => history ?? [] } }),
    profile: opts.profile ?? false,
  });
  emit({ type: 'run.finished', runId: 'r1', status: outcome.stopped ? 'interrupted' : 'completed' });
  return { events, outcome, plan, boards: fakes };
}

const of = <T extends LabEvent['type']>(events: LabEvent[], type: T) => events.filter((e): e is Extract<LabEvent, { type: T }> => e.type === type);
const samplesOf = (events: LabEvent[], trial: string, attempt?: number) =>
  of(events, 'trial.samples').filter((e: TrialSamplesEvent) => e.trial === trial && e.phase === 'measure' && (attempt === undefined || e.attempt === attempt)).flatMap((e) => e.cycles);

describe('runSchedule on healthy boards', () => {
  const scenario = makeScenario();

  it('runs every planned trial once, in each board\'s plan order, with the measured samples', async () => {
    const { events, plan, boards } = await run(scenario, [{ id: 'b1', seed: 1 }, { id: 'b2', seed: 2 }]);
    const finished = of(events, 'trial.finished');
    expect(finished.map((e) => e.trial).sort()).toEqual(plan.trials.map((t) => t.id).sort());
    expect(finished.every((e) => e.status === 'passed' && !e.willRetry && e.attempt === 1)).toBe(true);
    for (const b of ['b1', 'b2']) {
      expect(of(events, 'trial.started').filter((e) => e.board === b).map((e) => e.trial)).toEqual(plan.queues[b].map((t) => t.id));
    }
    for (const t of plan.trials) expect(samplesOf(events, t.id)).toHaveLength(20);
    // Latency is what the board counted: reference ~5x the esp-nn cycles.
    const ref = samplesOf(events, plan.trials.find((t) => t.variant.firmware.variant === 'reference')!.id);
    expect(Math.min(...ref)).toBeGreaterThan(5000 * 240 * 0.99);
    // One upload per model change, not per trial; the firmware switches follow the plan's build order.
    const b1 = boards.get('b1')!;
    expect(b1.calls.uploads).toBeLessThan(plan.queues.b1.length);
    expect(b1.calls.switches).toBeGreaterThan(0);
  });

  it('runs the accuracy pass once per variant and board, bit-exact against the host reference', async () => {
    const { events, plan } = await run(scenario, [{ id: 'b1' }]);
    const acc = of(events, 'trial.accuracy');
    expect(acc).toHaveLength(plan.variants.length);
    expect(new Set(acc.map((e) => e.trial.split('@')[0])).size).toBe(plan.variants.length);
    for (const a of acc) {
      expect(a.labels).toEqual([0, 1, 2, 0, 1, 2]);
      expect(a.predictions).toHaveLength(6);
      expect(a.topK[0]).toHaveLength(3);
      expect(a.bitExact).toEqual({ tensors: 6, differingTensors: 0, differingElements: 0, maxDifference: 0, maxStepDifference: 0, maxRelativeDifference: 0, toleratedElements: 0 });
      // The pass's board time counts for the duty cycle: 6 inputs at the trial's median latency.
      const fin = of(events, 'trial.finished').find((e) => e.trial === a.trial)!;
      const us = samplesOf(events, a.trial).map((c) => c / 240).sort((x, y) => x - y);
      expect(fin.accuracyInvokeMs).toBeCloseTo((6 * (us[9] + us[10])) / 2 / 1000, 2);
    }
    expect(of(events, 'trial.finished').filter((e) => e.accuracyInvokeMs !== undefined)).toHaveLength(acc.length);
  });

  it('records a fingerprint, memory and invoke time for every trial, and a results model the reports accept', async () => {
    const { events, plan } = await run(scenario, [{ id: 'b1' }, { id: 'b2', seed: 2 }], { profile: true });
    for (const t of plan.trials) {
      const fp = of(events, 'trial.fingerprint').find((e) => e.trial === t.id)!.fingerprint;
      expect(fp).toMatchObject({ kernelBackend: t.variant.firmware.variant, cpuMhz: 240, arenaPlacement: t.variant.arena.placement, arenaBytes: 16384, simulated: true, chipRevision: 'v0.2' });
      expect(of(events, 'trial.memory').find((e) => e.trial === t.id)!.memory.arenaUsedBytes).toBeGreaterThan(0);
      const fin = of(events, 'trial.finished').find((e) => e.trial === t.id)!;
      // warm-up 2 + measured 20 inferences of 1 ms (esp-nn) or 5 ms (reference), +10% in PSRAM
      expect(fin.invokeMs).toBeGreaterThan(21);
    }
    expect(of(events, 'trial.profile')).toHaveLength(plan.variants.length * 2);
    const results = buildRunResults(events);
    expect(results.trials.filter((t) => t.status === 'passed')).toHaveLength(plan.trials.length);
  });

  it('starts with a canary on every board and judges it against the board\'s history', async () => {
    const { events } = await run(scenario, [{ id: 'b1' }, { id: 'b2', seed: 2, speedFactor: 1.5 }], { history: [1000] });
    const canaries = of(events, 'board.canary');
    expect(canaries.map((c) => c.board).sort()).toEqual(['b1', 'b2']);
    expect(canaries.find((c) => c.board === 'b1')).toMatchObject({ verdict: 'ok', historyMedianUs: 1000, model: 'tiny_conv_int8@esp-nn/240mhz' });
    // b2 runs 50% slower than its history: quarantined before it measures anything.
    expect(canaries.find((c) => c.board === 'b2')!.verdict).toBe('quarantined');
    expect(of(events, 'board.quarantined').map((e) => e.board)).toEqual(['b2']);
    expect(of(events, 'trial.started').some((e) => e.board === 'b2')).toBe(false);
    expect(of(events, 'trial.finished').filter((e) => e.board === 'b1').every((e) => e.status === 'passed')).toBe(true);
  });
});

describe('runSchedule on emulated boards (the lab firmware in QEMU)', () => {
  // One firmware: an emulated board is flashed, not switched, and the fake has no flash.
  const scenario = makeScenario({
    matrix: { firmware: ['esp-nn'], model: [{ id: 'tiny', path: 'tiny.tflite' }], arena: [{ size: 16384, placement: 'internal' }] },
  });

  it('marks every number emulated although the boards say simulated: false, and asks only for emulated canary history', async () => {
    const asked: string[] = [];
    const { events, plan } = await run(scenario, [{ id: 'e1', simulated: false }, { id: 'e2', seed: 2, simulated: false }], {
      emulated: true, profile: true,
      history: (board, key, provenance) => { asked.push(`${board} ${key} ${provenance}`); return [1000]; },
    });
    expect(asked.sort()).toEqual(['e1 tiny_conv_int8@esp-nn/240mhz emulated', 'e2 tiny_conv_int8@esp-nn/240mhz emulated']);
    expect(of(events, 'board.hello').map((e) => [e.board, e.hello.simulated, e.provenance]).sort()).toEqual([['e1', false, 'emulated'], ['e2', false, 'emulated']]);
    const marked = [...of(events, 'trial.samples'), ...of(events, 'trial.profile'), ...of(events, 'trial.accuracy'), ...of(events, 'board.canary'), ...of(events, 'trial.memory').map((e) => e.memory)];
    expect(marked.length).toBeGreaterThan(plan.trials.length * 2);
    expect(marked.every((e) => e.provenance === 'emulated' && !e.simulated)).toBe(true);
    expect(of(events, 'trial.fingerprint').every((e) => e.fingerprint.provenance === 'emulated' && e.fingerprint.simulated === false)).toBe(true);
    const results = buildRunResults(events);
    expect(results.run.provenances).toEqual(['emulated']);
    expect(results.trials.every((t) => t.status === 'passed' && t.provenance === 'emulated')).toBe(true);
    expect(results.variants.map((v) => v.provenance)).toEqual(['emulated']);
  });

  it('a simulated board keeps provenance simulated (its hello says so)', async () => {
    const { events } = await run(scenario, [{ id: 'b1' }], { canary: false });
    expect(of(events, 'trial.samples').every((e) => e.provenance === 'simulated' && e.simulated)).toBe(true);
    expect(of(events, 'board.hello')[0].provenance).toBe('simulated');
  });
});

describe('canaryVerdict', () => {
  const limits = { flagDriftPct: 5, quarantineDriftPct: 20 };
  it('is ok without history, flags a moderate drift and quarantines a large one, either way', () => {
    expect(canaryVerdict(100, [], limits)).toEqual({ verdict: 'ok' });
    expect(canaryVerdict(104, [100, 99, 101], limits)).toMatchObject({ verdict: 'ok', historyMedianUs: 100, driftPct: 4 });
    expect(canaryVerdict(93, [100], limits)).toMatchObject({ verdict: 'flagged', driftPct: -7 });
    expect(canaryVerdict(125, [100], limits)).toMatchObject({ verdict: 'quarantined', driftPct: 25 });
  });
});

describe('runSchedule when boards misbehave', () => {
  const scenario = makeScenario();

  it('resets a board that hangs, probes it again and retries the trial', async () => {
    const { events, plan, boards } = await run(scenario, [{ id: 'b1', hangOnInvoke: [4] }, { id: 'b2', seed: 2 }], { canary: false });
    const errors = of(events, 'trial.finished').filter((e) => e.status === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ board: 'b1', willRetry: true, error: { code: 'timeout' } });
    expect(errors[0].error!.message).toMatch(/took longer than/);
    const retried = of(events, 'trial.finished').find((e) => e.trial === errors[0].trial && e.attempt === 2)!;
    expect(retried.status).toBe('passed');
    expect(boards.get('b1')!.calls.resets).toBe(1);
    // The reset is visible: the board went failed -> ready and said hello again.
    expect(of(events, 'board.state').some((e) => e.board === 'b1' && e.to === 'failed')).toBe(true);
    expect(of(events, 'board.hello').filter((e) => e.board === 'b1')).toHaveLength(2);
    // Samples of the failed attempt are not mixed into the trial's result.
    expect(samplesOf(events, errors[0].trial, 2)).toHaveLength(20);
    const results = buildRunResults(events);
    expect(results.trials.filter((t) => t.status === 'passed')).toHaveLength(plan.trials.length);
  });

  it('retries after a brown-out reboot in the middle of an INVOKE', async () => {
    const { events } = await run(scenario, [{ id: 'b1', rebootOnInvoke: [6] }], { canary: false });
    const err = of(events, 'trial.finished').find((e) => e.status === 'error')!;
    expect(err.error).toMatchObject({ code: 'board-rebooted' });
    expect(of(events, 'board.log').some((e) => /BROWNOUT/.test(e.line))).toBe(true);
    expect(of(events, 'trial.finished').filter((e) => e.trial === err.trial).map((e) => e.status)).toEqual(['error', 'passed']);
  });

  it('quarantines a board that keeps failing and finishes the run on the others', async () => {
    const { events, plan, outcome } = await run(scenario, [{ id: 'b1', hangFromInvoke: 5 }, { id: 'b2', seed: 2 }], { canary: false });
    expect([...outcome.quarantined.keys()]).toEqual(['b1']);
    const q = of(events, 'board.quarantined')[0];
    expect(q.reason).toMatch(/failed 3 times in a row \(last: board b1: .*took longer than/);
    const b1 = of(events, 'trial.finished').filter((e) => e.board === 'b1' && e.status === 'error');
    expect(b1).toHaveLength(3);
    expect(b1.at(-1)!.willRetry).toBe(false);
    // Every b2 trial passed.
    expect(of(events, 'trial.finished').filter((e) => e.board === 'b2' && e.status === 'passed')).toHaveLength(plan.queues.b2.length);
  });

  it('fails a trial for its own reason once, without a retry, and keeps the board', async () => {
    const refusing = await run(scenario, [{
      id: 'b1', arenaError: () => ({ name: 'UNSUPPORTED_OP', message: 'operator HARD_SWISH is not registered' }),
    }, { id: 'b2', seed: 2 }], { canary: false });
    const fin = of(refusing.events, 'trial.finished').filter((e) => e.board === 'b1');
    expect(fin).toHaveLength(refusing.plan.queues.b1.length);
    expect(fin.every((e) => e.status === 'failed' && !e.willRetry && e.attempt === 1)).toBe(true);
    expect(fin[0].error).toMatchObject({ code: 'board-error:UNSUPPORTED_OP', message: 'board b1: UNSUPPORTED_OP: operator HARD_SWISH is not registered' });
    expect(refusing.outcome.quarantined.size).toBe(0);
    expect(refusing.boards.get('b1')!.calls.resets).toBe(0);
    expect(of(refusing.events, 'trial.finished').filter((e) => e.board === 'b2').every((e) => e.status === 'passed')).toBe(true);
  });

  it('fails an arena the planner knows is too small before touching the board', async () => {
    const small = makeScenario({ matrix: { firmware: ['reference'], model: [{ id: 'tiny', path: 'tiny.tflite' }], arena: [{ size: 16384 }] }, rounds: 1 });
    // The loader refuses arenas under 4096 bytes; tiny_conv_int8 needs less, so shrink it here.
    small.matrix.arena = [{ size: 1024, placement: 'internal', marginBytes: 4096 }];
    const need = prepareModels(small).get('tiny')!.arenaBytes;
    expect(need).toBeGreaterThan(1024);
    const { events, boards } = await run(small, [{ id: 'b1' }], { canary: false });
    const fin = of(events, 'trial.finished');
    expect(fin).toHaveLength(1);
    expect(fin[0]).toMatchObject({ status: 'failed', willRetry: false, error: { code: 'arena-too-small' } });
    expect(fin[0].error!.message).toBe(`arena of 1024 bytes is too small for model "tiny": TFLM needs ${need} bytes on a 32-bit board (arena planner); give at least that, or "auto"`);
    expect(boards.get('b1')!.calls.uploads).toBe(0);
    expect(boards.get('b1')!.calls.switches).toBe(0);
  });

  it('names the margin when an "auto" arena is too small on the board (ESP-NN scratch the planner cannot see)', async () => {
    const auto = makeScenario({ matrix: { firmware: ['esp-nn'], model: [{ id: 'tiny', path: 'tiny.tflite' }], arena: ['auto'] }, rounds: 1 });
    const { events } = await run(auto, [{ id: 'b1', arenaError: () => ({ name: 'ARENA_TOO_SMALL', message: 'needs 9000 bytes' }) }], { canary: false });
    const fin = of(events, 'trial.finished');
    expect(fin).toHaveLength(1);
    expect(fin[0]).toMatchObject({ status: 'failed', willRetry: false, error: { code: 'board-error:ARENA_TOO_SMALL' } });
    expect(fin[0].error!.message).toMatch(/needs 9000 bytes \(the arena is "auto": TFLM's \d+ bytes from the planner plus the margin; ESP-NN kernels add scratch buffers the planner cannot see: raise the arena's "marginBytes" or give a size\)$/);
  });

  it('selects a "storage": "partition" model from the board\'s flash, and fails a board whose partition holds another model, naming both and the fix', async () => {
    const part = makeScenario({ matrix: { firmware: ['reference', 'esp-nn'], model: [{ id: 'tiny', path: 'tiny.tflite', storage: 'partition' }], arena: [{ size: 16384 }] }, rounds: 2 });
    const tiny = prepareModels(part).get('tiny')!;
    const other = Uint8Array.from(tiny.bytes);
    other[other.length - 1] ^= 0xff;
    const { events, outcome, plan, boards } = await run(part, [
      { id: 'b1', partitionModel: tiny.bytes },
      { id: 'b2', seed: 2, partitionModel: other },
      { id: 'b3', seed: 3 },
    ]);
    const fin = (board: string) => of(events, 'trial.finished').filter((e) => e.board === board);
    // b1 runs every trial on the model its flash holds: selected, never uploaded (the canary's upload aside).
    expect(fin('b1').every((e) => e.status === 'passed')).toBe(true);
    expect(fin('b1')).toHaveLength(plan.queues.b1.length);
    const b1 = boards.get('b1')!;
    expect(b1.calls.uploads).toBe(1); // the canary model
    expect(b1.calls.partitionSelects).toBeGreaterThanOrEqual(1);
    // b2 holds another model: each trial fails once for that reason, no retry, no reset, no quarantine.
    expect(fin('b2').every((e) => e.status === 'failed' && !e.willRetry && e.attempt === 1)).toBe(true);
    expect(fin('b2')[0].error!.message).toBe(
      `board b2: its model partition holds ${createHash('sha256').update(other).digest('hex').slice(0, 16)}… (${other.length} bytes), not tiny.tflite (${tiny.sha256.slice(0, 16)}…, ${tiny.bytes.length} bytes) that model "tiny" names: add it to a firmware build with hil model image ${tiny.file} --build <dir>, then hil flash b2 --build <dir>`,
    );
    expect(boards.get('b2')!.calls.resets).toBe(0);
    // b3's partition is empty: the board's error with the same fix.
    expect(fin('b3')[0]).toMatchObject({ status: 'failed', willRetry: false, error: { code: 'board-error:MODEL_PARTITION_EMPTY' } });
    expect(fin('b3')[0].error!.message).toMatch(/^board b3: MODEL_PARTITION_EMPTY: .*\(model "tiny" has "storage": "partition": add it to a firmware build with hil model image .*tiny\.tflite --build <dir>, then hil flash b3 --build <dir>\)$/);
    expect(outcome.quarantined.size).toBe(0);
  });

  it('records a partition model in the trial fingerprint and the results, and compares it with the same file uploaded', async () => {
    const both = makeScenario({
      matrix: {
        firmware: ['esp-nn'],
        model: [{ id: 'tiny', path: 'tiny.tflite' }, { id: 'tiny-flash', path: 'tiny.tflite', storage: 'partition' }],
        arena: [{ size: 16384 }],
      },
      rounds: 2,
    });
    const tiny = prepareModels(both).get('tiny')!;
    const { events, plan, boards } = await run(both, [
      { id: 'b1', partitionModel: tiny.bytes },
      { id: 'b2', seed: 2, partitionModel: tiny.bytes },
    ], { canary: false });
    expect(of(events, 'trial.finished').every((e) => e.status === 'passed')).toBe(true);
    const modelOf = new Map(plan.trials.map((t) => [t.id, t.variant.model.id]));
    const fps = of(events, 'trial.fingerprint');
    expect(fps).toHaveLength(plan.trials.length);
    for (const e of fps) {
      if (modelOf.get(e.trial) === 'tiny-flash') expect(e.fingerprint.modelStorage).toBe('partition');
      else expect(e.fingerprint).not.toHaveProperty('modelStorage'); // uploaded: the fingerprint of every run before
      expect(e.fingerprint.modelSha256).toBe(tiny.sha256);
    }
    // Interleaved rounds switch between the two: the upload is redone after the partition was selected.
    for (const b of boards.values()) {
      expect(b.calls.partitionSelects).toBeGreaterThanOrEqual(1);
      expect(b.calls.uploads).toBeGreaterThanOrEqual(1);
    }
    const results = buildRunResults(events);
    expect(results.variants.map((v) => [v.model.id, v.model.storage])).toEqual([['tiny', undefined], ['tiny-flash', 'partition']]);
    // The model axis may change where the model lives: the same file uploaded vs in flash is a comparison, not a refusal.
    const c = results.comparisons.find((x) => x.axis === 'model')!;
    expect(c).toMatchObject({ label: 'tiny-flash vs tiny', comparable: true });
    expect(c.agreement).toMatchObject({ agreeing: 6, total: 6 });
  });

  it('quarantines a board that answers with another chip\'s MAC after a reset', async () => {
    const { events, outcome } = await run(scenario, [{ id: 'b1', hangOnInvoke: [3], macAfterReset: '02:aa:bb:cc:dd:ee' }], { canary: false });
    expect(outcome.quarantined.get('b1')).toMatch(/now reports MAC 02:aa:bb:cc:dd:ee/);
    expect(of(events, 'trial.finished').at(-1)).toMatchObject({ status: 'error', willRetry: false });
  });

  it('quarantines a board that never answers, naming why', async () => {
    const { events, outcome } = await run(scenario, [{ id: 'b1', dead: true }, { id: 'b2', seed: 2 }], { canary: false });
    expect(outcome.quarantined.get('b1')).toMatch(/could not be reached/);
    expect(of(events, 'trial.finished').every((e) => e.board === 'b2')).toBe(true);
  });
});

describe('stopping and resuming', () => {
  const scenario = makeScenario();

  it('a stop abandons the current trials without finishing them, and a resume runs exactly the rest', async () => {
    const first = await run(scenario, [{ id: 'b1', msPerInference: 1 }, { id: 'b2', seed: 2, msPerInference: 1 }], { stopAfter: 5, canary: false });
    expect(first.outcome.stopped).toBe(true);
    const done1 = of(first.events, 'trial.finished').filter((e) => !e.willRetry).map((e) => e.trial);
    expect(done1.length).toBeGreaterThanOrEqual(5);
    expect(done1.length).toBeLessThan(first.plan.trials.length);
    // Started but never finished: abandoned, left for the resume.
    const open = of(first.events, 'trial.started').filter((s) => !done1.includes(s.trial));
    expect(open.length).toBeGreaterThan(0);

    const progress = journalProgress(first.events);
    const prior = first.events.filter((e) => e.type !== 'run.finished');
    const second = await run(scenario, [{ id: 'b1' }, { id: 'b2', seed: 2 }], { prior, progress, canary: false });
    const all = of(second.events, 'trial.finished').filter((e) => !e.willRetry).map((e) => e.trial);
    // Every trial finished exactly once over both parts.
    expect(all.slice().sort()).toEqual(first.plan.trials.map((t) => t.id).sort());
    // The finished trials of part one kept their samples; the resumed ones have one full set.
    for (const t of first.plan.trials) {
      const attempts = of(second.events, 'trial.finished').filter((e: TrialFinishedEvent) => e.trial === t.id && e.status === 'passed');
      expect(attempts).toHaveLength(1);
      expect(samplesOf(second.events, t.id, attempts[0].attempt)).toHaveLength(20);
    }
    // An abandoned trial carries on counting attempts.
    const reopened = of(second.events, 'trial.started').filter((e) => e.trial === open[0].trial);
    expect(reopened.map((e) => e.attempt)).toEqual([1, 2]);
  });
});

describe('adaptive sampling', () => {
  it('stops quiet variants early and gives noisy ones more samples, within the limits', async () => {
    const scenario = makeScenario({ measure: { targetCiPct: 1, minInferences: 20, maxInferences: 400 }, rounds: 1 });
    const quiet = await run(scenario, [{ id: 'b1', noise: 0.001 }], { canary: false });
    const noisy = await run(scenario, [{ id: 'b1', noise: 0.2 }], { canary: false });
    const n = (r: Ran) => r.plan.trials.map((t) => samplesOf(r.events, t.id).length);
    expect(n(quiet).every((x) => x === 20)).toBe(true);
    expect(n(noisy).every((x) => x > 40 && x <= 400)).toBe(true);
    // Several batches, each journaled as it arrived.
    expect(of(noisy.events, 'trial.samples').filter((e) => e.phase === 'measure').length).toBeGreaterThan(noisy.plan.trials.length);
  });

  it('ends at the time budget', async () => {
    const scenario = makeScenario({ measure: { targetCiPct: 0.01, minInferences: 20, maxInferences: 100000, timeBudgetS: 0.1 }, rounds: 1 });
    const r = await run(scenario, [{ id: 'b1', noise: 0.2 }], { canary: false });
    for (const t of r.plan.trials) {
      const us = of(r.events, 'trial.samples').filter((e) => e.trial === t.id && e.phase === 'measure').flatMap((e) => e.latencyUs);
      const total = us.reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThanOrEqual(100_000);
      expect(total).toBeLessThan(100_000 * 2);
    }
  });
});
