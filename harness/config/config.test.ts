import { mkdtempSync, readdirSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { loadRigs } from './rigs.js';
import { loadScenario } from './scenario.js';
import { selectBoards } from './select.js';
import { loadFirmwareVariant, loadFirmwareVariants } from './firmware-variants.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const testdata = fileURLToPath(new URL('./testdata/', import.meta.url));
const good = (name: string) => path.join(testdata, 'good', name);
const rel = (file: string) => path.relative(process.cwd(), file);

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LabError) return e.message;
    throw e;
  }
  throw new Error('expected a LabError, got none');
}

/** A scratch directory with the fixture model and data, for files written by a test. */
function scratch(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hil-config-'));
  mkdirSync(path.join(dir, 'models'));
  copyFileSync(path.join(testdata, 'models', 'tiny.tflite'), path.join(dir, 'models', 'tiny.tflite'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

const minimalScenario = {
  name: 'case',
  matrix: { firmware: ['esp-nn'], model: [{ id: 'tiny', path: 'models/tiny.tflite' }], arena: [{ size: 16384 }] },
};

describe('the tracked config (rigs.json, scenarios/*.json)', () => {
  it('rigs.json validates: four simulated boards, two on PTYs and two on MQTT', () => {
    const rigs = loadRigs(path.join(repo, 'rigs.json'));
    expect(rigs.warnings).toEqual([]);
    expect(rigs.mqtt).toEqual({ url: 'embedded', embeddedPort: 0 });
    expect(rigs.boards.map((b) => [b.id, b.simulated?.profile, Object.keys(b.transport).join('+')])).toEqual([
      ['sim-1', 'esp32s3-devkitc-1-n16r8', 'serial'],
      ['sim-2', 'esp32s3-devkitc-1-n16r8', 'serial'],
      ['sim-3', 'esp32s3-devkitc-1-n16r8', 'mqtt'],
      ['sim-4', 'esp32s3-devkitc-1-n16r8', 'mqtt'],
    ]);
    for (const b of rigs.boards) {
      expect(b.tags).toEqual(expect.arrayContaining(['s3', 'n16r8', 'sim']));
      expect([b.psramBytes, b.flashBytes]).toEqual([8 * 1024 * 1024, 16 * 1024 * 1024]);
    }
  });

  it('rigs.emulated.json validates: two emulated N8R8 boards on loopback TCP ports the lab picks', () => {
    const rigs = loadRigs(path.join(repo, 'rigs.emulated.json'));
    expect(rigs.warnings).toEqual([]);
    expect(rigs.boards.map((b) => [b.id, b.emulated?.profile, b.transport.tcp])).toEqual([
      ['emu-1', 'esp32s3-devkitc-1-n8r8', { host: '127.0.0.1', port: 0 }],
      ['emu-2', 'esp32s3-devkitc-1-n8r8', { host: '127.0.0.1', port: 0 }],
    ]);
  });

  const scenarioFiles = readdirSync(path.join(repo, 'scenarios')).filter((n) => n.endsWith('.json'));
  it.each(scenarioFiles)('scenarios/%s validates and selects boards of its rigs file', (name) => {
    const scenario = loadScenario(path.join(repo, 'scenarios', name));
    // Scenarios for emulated boards select them from rigs.emulated.json, the others from rigs.json.
    const rigs = loadRigs(path.join(repo, scenario.boards.tags.includes('emu') ? 'rigs.emulated.json' : 'rigs.json'));
    expect(selectBoards(scenario, rigs, { env: {} }).length).toBeGreaterThan(0);
  });
});

describe('loadRigs: a lab with real, networked and simulated boards', () => {
  const rigs = loadRigs(good('rigs-lab.json'));

  it('applies the schema defaults and resolves paths against the file', () => {
    const [desk1, desk2, sim] = rigs.boards;
    expect(rigs.mqtt.tls).toEqual({ caFile: good('ca.pem') });
    expect(desk1.transport.serial).toEqual({
      port: '/dev/serial/by-id/usb-Silicon_Labs_CP2102N_USB_to_UART_Bridge_Controller_0001-if00-port0',
      baud: 921600, flashBaud: 2000000, reset: 'classic',
    });
    expect(desk1.identity).toEqual({ usbSerial: '0001', mac: '7c:df:a1:00:00:01' });
    expect(desk2.transport.serial).toEqual({ port: '/dev/ttyACM0', baud: 115200, flashBaud: 921600, reset: 'usb-jtag' });
    expect(desk2.transport.mqtt?.topic).toBe('lab/desk-2');
    expect(desk2.flashBytes).toBeUndefined();
    expect(sim.transport.mqtt?.topic).toBe('lab/sims/flaky');
    expect([sim.psramBytes, sim.flashBytes]).toEqual([2 * 1024 * 1024, 8 * 1024 * 1024]);
  });

  it('fills in fault defaults', () => {
    expect(rigs.boards[2].simulated?.faults).toEqual([
      { kind: 'reboot', afterInvokes: 50, reason: 'brownout' },
      { kind: 'hang', probability: 0.001, times: 1 },
      { kind: 'corrupt-bytes', probability: 0.0001, direction: 'to-host' },
      { kind: 'slow-link', bytesPerSecond: 11520 },
      { kind: 'disconnect', afterInvokes: 200, durationS: 1.5 },
    ]);
  });

  it('warns about a /dev/ttyACM path that can move', () => {
    expect(rigs.warnings).toEqual([
      `${rel(good('rigs-lab.json'))}: /boards/1/transport/serial/port: "/dev/ttyACM0" can change when boards are replugged; prefer its /dev/serial/by-id/... link`,
    ]);
  });

  it('says so when the file is missing, a directory or far too big', () => {
    expect(errorOf(() => loadRigs(path.join(testdata, 'nope.json')))).toBe(`${rel(path.join(testdata, 'nope.json'))}: file not found (create it or pass --rigs <file>)`);
    expect(errorOf(() => loadRigs(testdata))).toBe(`${rel(testdata.replace(/\/$/, ''))}: is a directory, not a rigs file (give the path of a .json file)`);
    const dir = scratch({ 'big.json': `{"boards": [${'0,'.repeat(600_000)}0]}` });
    expect(errorOf(() => loadRigs(path.join(dir, 'big.json')))).toMatch(/big\.json: is 1200015 bytes, too big for a rigs file \(at most 1048576; is it a data file\?\)$/);
  });
});

describe('loadScenario', () => {
  it('loads every feature of the format with defaults applied', () => {
    const s = loadScenario(good('scenario-full.json'));
    expect(s.matrix.firmware).toEqual([{ variant: 'reference' }, { variant: 'esp-nn' }, { variant: 'esp-nn-1.2.3' }]);
    expect(s.matrix.model[0]).toEqual({
      id: 'tiny', path: '../models/tiny.tflite', file: path.join(testdata, 'models', 'tiny.tflite'),
      io: { input: 0, output: 0 }, storage: 'psram', labels: { names: ['zero', 'one'] },
    });
    expect(s.matrix.arena).toEqual([
      { size: 16384, placement: 'internal', marginBytes: 4096 },
      { size: 65536, placement: 'psram', marginBytes: 4096 },
      { size: 'auto', placement: 'internal', marginBytes: 4096 },
    ]);
    expect(s.inputs.latency).toEqual({ kind: 'file', path: '../data/inputs.npy', file: path.join(testdata, 'data', 'inputs.npy') });
    expect(s.inputs.accuracy?.limit).toBe(2);
    expect(s.measure).toEqual({ kind: 'adaptive', targetCiPct: 1, minInferences: 30, maxInferences: 2000, timeBudgetS: 60 });
    expect(s.timeouts).toEqual({ connectS: 10, helloS: 15, flashS: 300, uploadS: 60, invokeS: 5, accuracyS: 600, trialS: 1800 });
    expect(s.retries).toEqual({ maxTrialRetries: 1, quarantineAfterFailures: 3 });
    expect(s.canary).toEqual({ enabled: true, inferences: 20, flagDriftPct: 5, quarantineDriftPct: 20 });
    expect(s.gates).toEqual([
      { metric: 'latency.median', maxIncreasePct: 3, alpha: 0.01 },
      { metric: 'latency.p90', maxIncreasePct: 5, alpha: 0.01 },
      { metric: 'accuracy.top1', maxDropPoints: 0.5 },
      { metric: 'arena.used', maxIncreasePct: 5, variants: ['esp-nn/tiny/16384-internal/240mhz'] },
      { metric: 'outputs.mismatches', max: 0 },
    ]);
  });

  it('gives a minimal scenario every default', () => {
    const s = loadScenario(good('scenario-minimal.json'));
    expect({ ...s, file: undefined, label: undefined, matrix: undefined }).toEqual({
      name: 'minimal', boards: { tags: [] }, transport: 'any',
      inputs: { latency: { kind: 'random', seed: 1, count: 4 } },
      warmup: 10, measure: { kind: 'fixed', inferences: 100 }, rounds: 3, seed: 1,
      timeouts: { connectS: 10, helloS: 15, flashS: 300, uploadS: 60, invokeS: 30, accuracyS: 600, trialS: 1800 },
      retries: { maxTrialRetries: 2, quarantineAfterFailures: 3 },
      canary: { enabled: true, inferences: 30, flagDriftPct: 5, quarantineDriftPct: 20 },
      gates: [], baseline: 'last-baseline', warnings: [],
      file: undefined, label: undefined, matrix: undefined,
    });
    expect(s.matrix.cpuMHz).toEqual([240]);
  });

  it('sizes "auto" arenas with the estimator: estimate + margin, rounded up to 16 bytes', () => {
    const s = loadScenario(good('scenario-full.json'), { estimateArena: () => 5000 });
    expect(s.matrix.arena[2].autoBytes).toEqual({ tiny: 9104, 'tiny-copy': 9104 });
  });

  it('rejects an "auto" arena the estimator cannot size, naming the model', () => {
    const estimateArena = () => {
      throw new LabError('model-format', 'unsupported op SVDF at operator 3');
    };
    expect(errorOf(() => loadScenario(good('scenario-full.json'), { estimateArena }))).toBe(
      `${rel(good('scenario-full.json'))}: /matrix/arena/2: "auto" cannot size model "tiny" (unsupported op SVDF at operator 3); give an explicit size in bytes`,
    );
  });

  it('rejects an "auto" internal arena that cannot fit in SRAM', () => {
    expect(errorOf(() => loadScenario(good('scenario-full.json'), { estimateArena: () => 600_000 }))).toBe(
      `${rel(good('scenario-full.json'))}: /matrix/arena/2/placement: model "tiny" needs a 604096-byte arena, too big for internal SRAM (512 KB on the ESP32-S3; use "psram")`,
    );
  });

  it('warns when a p99 gate rests on too few samples', () => {
    const dir = scratch({ 's.json': { ...minimalScenario, measure: { inferences: 50 }, gates: [{ metric: 'latency.p99', maxIncreasePct: 5 }] } });
    expect(loadScenario(path.join(dir, 's.json')).warnings).toEqual([
      `${path.join(dir, 's.json')}: /measure/inferences: a p99 from 50 samples is mostly the maximum; measure at least 100`,
    ]);
  });

  it('reads a labels file next to the scenario, and rejects a missing one', () => {
    const dir = scratch({
      'ok.json': { ...minimalScenario, matrix: { ...minimalScenario.matrix, model: [{ id: 'tiny', path: 'models/tiny.tflite', labels: 'labels.txt' }] } },
      'labels.txt': 'zero\none\n',
      'bad.json': { ...minimalScenario, matrix: { ...minimalScenario.matrix, model: [{ id: 'tiny', path: 'models/tiny.tflite', labels: 'classes.txt' }] } },
    });
    expect(loadScenario(path.join(dir, 'ok.json')).matrix.model[0].labels).toEqual({ file: path.join(dir, 'labels.txt') });
    expect(errorOf(() => loadScenario(path.join(dir, 'bad.json')))).toBe(
      `${path.join(dir, 'bad.json')}: /matrix/model/0/labels: labels file not found: ${path.join(dir, 'classes.txt')} (paths are relative to ${dir}/)`,
    );
  });
});

describe('firmware variants (the firmware\'s own format, firmware/variants/)', () => {
  const variantsDir = path.join(repo, 'firmware', 'variants');
  const variants = loadFirmwareVariants(variantsDir);
  /** A scratch variants directory with the firmware's schema. */
  const variantDir = (files: Record<string, unknown>) => {
    const dir = scratch(files);
    copyFileSync(path.join(variantsDir, 'variant.schema.json'), path.join(dir, 'variant.schema.json'));
    return dir;
  };

  it('loads the tracked variants', () => {
    expect(variants.map((v) => [v.name, v.kernelBackend])).toEqual(expect.arrayContaining([['reference', 'reference'], ['esp-nn', 'esp-nn']]));
    for (const v of variants) expect(v.file).toBe(path.join(variantsDir, `${v.name}.json`));
  });

  it('rejects a variant whose name is not its file name, or that breaks the firmware\'s schema', () => {
    const ok = { $schema: './variant.schema.json', description: 'x', kernelBackend: 'esp-nn', espNn: '1.1.2', sdkconfig: ['variants/esp-nn.sdkconfig'] };
    const dir = variantDir({
      'esp-nn.json': { ...ok, name: 'espnn' },
      'fast.json': { ...ok, name: 'fast', kernelBackend: 'esp-nn-fast' },
      'old.json': { ...ok, name: 'old', espNnVersion: '1.1.2' },
    });
    expect(errorOf(() => loadFirmwareVariant(path.join(dir, 'esp-nn.json')))).toBe(`${path.join(dir, 'esp-nn.json')}: /name: "espnn" must match the file name "esp-nn" (rename one of them)`);
    expect(errorOf(() => loadFirmwareVariant(path.join(dir, 'fast.json')))).toBe(`${path.join(dir, 'fast.json')}: /kernelBackend: must be one of "reference", "esp-nn" (got "esp-nn-fast")`);
    expect(errorOf(() => loadFirmwareVariant(path.join(dir, 'old.json')))).toBe(`${path.join(dir, 'old.json')}: /: unknown field "espNnVersion" (allowed here: $schema, name, description, kernelBackend, espNn, sdkconfig)`);
    expect(errorOf(() => loadFirmwareVariants(path.join(dir, 'nope')))).toBe(`${path.join(dir, 'nope')}: firmware variants directory not found (it holds one <name>.json per variant)`);
  });

  it('checks scenario firmware names against the variants and carries what they pin', () => {
    const dir = scratch({
      'typo.json': { ...minimalScenario, matrix: { ...minimalScenario.matrix, firmware: ['esp-nm'] } },
      'unknown.json': { ...minimalScenario, matrix: { ...minimalScenario.matrix, firmware: ['tflm-cmsis'] } },
      'ok.json': { ...minimalScenario, matrix: { ...minimalScenario.matrix, firmware: ['esp-nn', 'reference'] } },
    });
    expect(errorOf(() => loadScenario(path.join(dir, 'typo.json'), { firmwareVariants: variants }))).toBe(`${path.join(dir, 'typo.json')}: /matrix/firmware/0: no firmware variant "esp-nm" (did you mean "esp-nn"?)`);
    expect(errorOf(() => loadScenario(path.join(dir, 'unknown.json'), { firmwareVariants: variants }))).toMatch(/\/matrix\/firmware\/0: no firmware variant "tflm-cmsis" \(known: .*"esp-nn".*"reference".*; add firmware\/variants\/tflm-cmsis\.json to make one\)$/);
    const esp = variants.find((v) => v.name === 'esp-nn')!;
    expect(loadScenario(path.join(dir, 'ok.json'), { firmwareVariants: variants }).matrix.firmware[0]).toEqual({ variant: 'esp-nn', kernelBackend: 'esp-nn', espNn: esp.espNn });
  });
});

describe('loadRigs: boards on raw TCP serial ports and emulated boards', () => {
  const dir = scratch({
    'rigs.json': {
      boards: [
        { id: 'bench-3', chip: 'esp32s3', transport: { tcp: 'bench-host.lab:3001' }, tags: ['ser2net'] },
        { id: 'bench-4', chip: 'esp32s3', transport: { rfc2217: 'bench-host.lab:4001' } },
        { id: 'bench-5', chip: 'esp32s3', transport: { rfc2217: { address: '[fd00::5]:4002', baud: 921600, reset: 'none' } } },
        { id: 'emu-1', chip: 'esp32s3', transport: { tcp: '127.0.0.1:0' }, emulated: { profile: 'esp32s3-devkitc-1-n8r8', flashFile: 'state/emu-1.bin' }, identity: { mac: '02:00:00:00:00:01' } },
        { id: 'emu-2', chip: 'esp32s3', transport: { tcp: '127.0.0.1:5602' }, emulated: { profile: 'esp32s3-devkitc-1-n8' } },
      ],
    },
  });
  const rigs = loadRigs(path.join(dir, 'rigs.json'));

  it('parses host:port, resolves the flash file against rigs.json and defaults it to the user cache', () => {
    const [ser2net, rfc, rfcV6, emu1, emu2] = rigs.boards;
    expect(ser2net.transport).toEqual({ tcp: { host: 'bench-host.lab', port: 3001 } });
    // RFC 2217 ports: the shorthand takes the serial defaults; the object form sets them.
    expect(rfc.transport).toEqual({ rfc2217: { host: 'bench-host.lab', port: 4001, baud: 115200, flashBaud: 921600, reset: 'classic' } });
    expect(rfcV6.transport).toEqual({ rfc2217: { host: 'fd00::5', port: 4002, baud: 921600, flashBaud: 921600, reset: 'none' } });
    expect(ser2net.emulated).toBeUndefined();
    expect(emu1.emulated).toEqual({ profile: 'esp32s3-devkitc-1-n8r8', flashFile: path.join(dir, 'state', 'emu-1.bin') });
    expect([emu1.psramBytes, emu1.flashBytes]).toEqual([8 << 20, 8 << 20]);
    expect(emu2.psramBytes).toBe(0);
    expect(emu2.emulated?.flashFile).toMatch(/hil-lab\/emulated\/emu-2\.flash\.bin$/);
  });

  it('reaches TCP-only and RFC 2217 boards over "serial" (their console)', () => {
    const scenario = loadScenario(path.join(scratch({ 's.json': { ...minimalScenario, transport: 'serial' } }), 's.json'));
    expect(selectBoards(scenario, rigs).map((s) => s.transport)).toEqual(['tcp', 'rfc2217', 'rfc2217', 'tcp', 'tcp']);
  });
});

describe('selectBoards: the checks that need both files', () => {
  const rigsFile = good('rigs-lab.json');
  const rigs = loadRigs(rigsFile);
  const env = { LAB_MQTT_USER: 'lab', LAB_MQTT_PASSWORD: 'pw', DESK2_MQTT_USER: 'd2', DESK2_MQTT_PASSWORD: 'pw2' };
  const withScenario = (extra: Record<string, unknown>) => {
    const dir = scratch({ 's.json': { ...minimalScenario, ...extra } });
    return loadScenario(path.join(dir, 's.json'));
  };

  it('chooses boards by tags and ids, and a link for each', () => {
    const all = selectBoards(withScenario({}), rigs, { env });
    expect(all.map((s) => [s.board.id, s.transport])).toEqual([['desk-1', 'serial'], ['desk-2', 'serial'], ['flaky-sim', 'mqtt']]);
    expect(selectBoards(withScenario({ boards: { tags: ['desk'] } }), rigs, { env }).map((s) => s.board.id)).toEqual(['desk-1', 'desk-2']);
    expect(selectBoards(withScenario({ boards: { tags: ['s3'], ids: ['flaky-sim', 'desk-2'] } }), rigs, { env }).map((s) => s.board.id)).toEqual(['desk-2', 'flaky-sim']);
    expect(selectBoards(withScenario({ boards: { max: 1 } }), rigs, { env }).map((s) => s.board.id)).toEqual(['desk-1']);
    expect(selectBoards(withScenario({ boards: { ids: ['desk-2'] }, transport: 'mqtt' }), rigs, { env }).map((s) => s.transport)).toEqual(['mqtt']);
  });

  it('names a tag or id that matches no board', () => {
    const s1 = withScenario({ boards: { tags: ['s3', 'n16r9'] } });
    expect(errorOf(() => selectBoards(s1, rigs, { env }))).toBe(`${s1.label}: /boards/tags/1: no board in ${rel(rigsFile)} carries tag "n16r9" (did you mean "n16r8"?)`);
    const s2 = withScenario({ boards: { ids: ['desk-9'] } });
    expect(errorOf(() => selectBoards(s2, rigs, { env }))).toBe(`${s2.label}: /boards/ids/0: no board "desk-9" in ${rel(rigsFile)} (did you mean "desk-1"?)`);
    const s3 = withScenario({ boards: { ids: ['flaky-sim'], tags: ['desk'] } });
    expect(errorOf(() => selectBoards(s3, rigs, { env }))).toBe(`${s3.label}: /boards: no board in ${rel(rigsFile)} matches both the ids and all the tags given (loosen the selector)`);
  });

  it('refuses a transport a chosen board does not have', () => {
    const s = withScenario({ transport: 'mqtt' });
    expect(errorOf(() => selectBoards(s, rigs, { env }))).toBe(`${s.label}: /transport: "mqtt", but board "desk-1" has no mqtt transport in ${rel(rigsFile)} (use "any", or select boards that have one)`);
  });

  it('refuses a PSRAM arena only when no chosen board has PSRAM; otherwise the planner leaves that board out of it', () => {
    const matrix = { ...minimalScenario.matrix, arena: [{ size: 16384 }, { size: 65536, placement: 'psram' }] };
    const only = withScenario({ matrix, boards: { ids: ['desk-2'] } });
    expect(errorOf(() => selectBoards(only, rigs, { env }))).toBe(`${only.label}: /matrix/arena/1/placement: board "desk-2" has no PSRAM (psramBytes 0 in ${rel(rigsFile)}; drop this arena or select other boards)`);
    expect(selectBoards(withScenario({ matrix }), rigs, { env }).map((x) => x.board.id)).toEqual(['desk-1', 'desk-2', 'flaky-sim']);
  });

  it('wants credential variables only for boards that use MQTT, and never prints their values', () => {
    const serialOnly = withScenario({ boards: { tags: ['desk'] } });
    expect(selectBoards(serialOnly, rigs, { env: {} }).length).toBe(2);
    const s = withScenario({ boards: { ids: ['desk-2'] }, transport: 'mqtt' });
    expect(errorOf(() => selectBoards(s, rigs, { env: { LAB_MQTT_USER: 'lab' } }))).toBe(
      `${rel(rigsFile)}: /mqtt/credentials/passwordEnv: environment variable LAB_MQTT_PASSWORD is not set (board "desk-2" uses MQTT; export it before the run)`,
    );
    const message = errorOf(() => selectBoards(s, rigs, { env: { LAB_MQTT_USER: 'lab', LAB_MQTT_PASSWORD: 'sekrit', DESK2_MQTT_USER: 'd2' } }));
    expect(message).toBe(`${rel(rigsFile)}: /boards/1/transport/mqtt/credentials/passwordEnv: environment variable DESK2_MQTT_PASSWORD is not set (board "desk-2" needs it; export it before the run)`);
    expect(message).not.toContain('sekrit');
    expect(selectBoards(s, rigs, { env: {}, checkEnvironment: false }).length).toBe(1);
  });

  it('wants TLS files to exist for boards that use them', () => {
    const dir = scratch({
      'rigs.json': { mqtt: { url: 'mqtts://b:8883', tls: { caFile: 'missing-ca.pem' } }, boards: [{ id: 'b1', chip: 'esp32s3', transport: { mqtt: {} } }] },
    });
    const r = loadRigs(path.join(dir, 'rigs.json'));
    expect(errorOf(() => selectBoards(withScenario({}), r, { env: {} }))).toBe(
      `${path.join(dir, 'rigs.json')}: /mqtt/tls/caFile: file not found: ${path.join(dir, 'missing-ca.pem')} (board "b1" uses MQTT; paths are relative to ${path.join(dir, 'rigs.json')})`,
    );
  });
});
