/**
 * Every broken file in testdata/bad/ and the one line a user sees for it. Files named rigs-* are
 * loaded as rigs.json, scenario-* as scenarios. `<dir>` stands for the absolute path of testdata/.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors.js';
import { loadRigs } from './rigs.js';
import { loadScenario } from './scenario.js';

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url));
const badDir = path.join(testdata, 'bad');
const at = (name: string) => path.relative(process.cwd(), path.join(badDir, name));

const expected: Record<string, string> = {
  // ---- rigs.json: not JSON
  'rigs-trailing-comma.json': '3:72: invalid JSON: trailing comma before "}" (remove the last comma)',
  'rigs-comment.json': '2:3: invalid JSON: comments are not allowed in JSON (use a "description" field instead)',
  'rigs-missing-comma.json': '3:3: invalid JSON: expected "," or "}" after a property value but found a string (a missing comma?)',
  'rigs-unclosed.json': '4:1: invalid JSON: unexpected end of the file: 3 unclosed brackets (add the missing })',
  'rigs-single-quotes.json': '2:3: invalid JSON: property names need double quotes, not single quotes',
  // ---- rigs.json: schema
  'rigs-not-an-object.json': ' /: must be a JSON object, not a list',
  'rigs-is-a-scenario.json': ' /$schema: this is a scenario (scenario.schema.json), not a rigs file',
  'rigs-missing-boards.json': ' /: missing field "boards" (the boards of the lab, each with a unique id)',
  'rigs-empty-boards.json': ' /boards: must not be empty (list at least one board)',
  'rigs-typo-in-serial.json': ' /boards/0/transport/serial: unknown field "prot" (did you mean "port"?)',
  'rigs-port-at-board-level.json': ' /boards/0: unknown field "port" (it belongs under "transport.serial")',
  'rigs-bad-id.json': ' /boards/0/id: must be a slug of lowercase letters, digits and dashes, at most 40 characters, e.g. "s3-desk-1" (got "Sim 1")',
  'rigs-wrong-chip.json': ' /boards/0/chip: must be "esp32s3" (got "esp32")',
  'rigs-bad-reset-mode.json': ' /boards/0/transport/serial/reset: must be one of "classic", "usb-jtag" (got "jtag")',
  'rigs-no-transport.json': ' /boards/0/transport: must not be empty (give the board a "serial", "rfc2217", "tcp" and/or "mqtt" transport)',
  'rigs-topic-wildcard.json': ' /boards/0/transport/mqtt/topic: must be a topic prefix like "lab/s3-desk-1", with no + or # wildcards and no leading or trailing slash (got "lab/#")',
  // The value is not echoed: it may be the password itself.
  'rigs-secret-in-file.json': ' /boards/0/transport/mqtt/credentials/passwordEnv: must be the NAME of an environment variable, like "LAB_MQTT_PASSWORD", never the secret itself',
  'rigs-unknown-profile.json': ' /boards/0/simulated/profile: must be one of "esp32s3-devkitc-1-n16r8", "esp32s3-devkitc-1-n8r8", "esp32s3-devkitc-1-n8r2", "esp32s3-devkitc-1-n8" (got "esp32s3-devkitc-1-n16r9"; did you mean "esp32s3-devkitc-1-n16r8"?)',
  'rigs-unknown-fault.json': ' /boards/0/simulated/faults/0/kind: must be one of "reboot", "hang", "drop-bytes", "corrupt-bytes", "slow-link", "disconnect" (got "brownout")',
  'rigs-fault-probability.json': ' /boards/0/simulated/faults/0/probability: must be <= 1 (got 1.5)',
  'rigs-fault-field-of-other-kind.json': ' /boards/0/simulated/faults/0: unknown field "reason" (allowed here: kind, durationS, afterInvokes, probability, times)',
  'rigs-bad-mac.json': ' /boards/0/identity/mac: must be a MAC address like "7c:df:a1:00:00:01" (got "7c-df-a1-00-00-01")',
  'rigs-broker-url.json': ' /mqtt/url: must be "embedded" or a broker URL such as mqtt://host:1883 or mqtts://host:8883 (got "localhost:1883")',
  'rigs-baud-as-string.json': ' /boards/0/transport/serial/baud: must be an integer (got "921600")',
  'rigs-duplicate-tag.json': ' /boards/0/tags: lists "s3" twice (items 0 and 2; remove one)',
  // ---- rigs.json: semantic checks
  'rigs-duplicate-id.json': ' /boards/2/id: duplicate board id "sim-2" (also /boards/1/id; ids must be unique)',
  'rigs-real-board-without-port.json': ' /boards/0/transport/serial: missing field "port" (a real board needs its device path, e.g. /dev/serial/by-id/usb-...)',
  'rigs-shared-port.json': ' /boards/1/transport/serial/port: port "/dev/serial/by-id/usb-Espressif_USB_JTAG_serial_debug_unit_7C:DF:A1:00:00:01-if00" is also board "desk-1"\'s port (each board needs its own)',
  'rigs-overlapping-topics.json': ' /boards/1/transport/mqtt/topic: topic "lab/bench/2" overlaps board "sim-1"\'s topic "lab/bench" (each board needs its own prefix)',
  'rigs-duplicate-mac.json': ' /boards/1/identity/mac: MAC 7c:df:a1:00:00:01 is also board "desk-1"\'s (one physical board per entry)',
  'rigs-psram-contradicts-profile.json': ' /boards/0/psramBytes: 2097152 contradicts simulated profile "esp32s3-devkitc-1-n16r8" (8 MiB = 8388608; remove psramBytes or pick another profile)',
  'rigs-fault-without-trigger.json': ' /boards/0/simulated/faults/0: a "hang" fault needs "afterInvokes" and/or "probability" (when it fires)',
  'rigs-embedded-broker-login.json': ' /mqtt/credentials: the embedded broker takes no login (remove credentials, or set "url" to your broker)',
  'rigs-cert-without-key.json': ' /mqtt/tls: certFile needs keyFile (the private key of the client certificate)',
  'rigs-tcp-no-port.json': ' /boards/0/transport/tcp: must be "host:port", e.g. "127.0.0.1:5601" (port 0 only for a board the lab starts, emulated or simulated: it picks a free port) (got "bench-2.lab")',
  'rigs-tcp-port-zero-real.json': ' /boards/0/transport/tcp: port 0 means "the lab picks one", which only works for a board the lab starts itself (emulated or simulated): give the port the board (ser2net) listens on',
  'rigs-rfc2217-shared-port.json': ' /boards/1/transport/rfc2217/address: "10.0.0.5:4001" is also board "bench-1"\'s network port (each board needs its own)',
  'rigs-rfc2217-bad-reset.json': ' /boards/0/transport/rfc2217/reset: must be one of "classic", "usb-jtag", "none" (got "dtr")',
  'rigs-rfc2217-no-port.json': ' /boards/0/transport/rfc2217: must be "host:port" of ser2net\'s telnet(rfc2217) port, e.g. "bench-2.lab:4001", or {"address": "host:port", "baud": 115200, "reset": "classic"} (got "bench-2.lab")',
  'rigs-shared-tcp-port.json': ' /boards/1/transport/tcp: "10.0.0.5:3001" is also board "bench-1"\'s TCP port (each board needs its own)',
  'rigs-emulated-without-tcp.json': ' /boards/0/transport: an emulated board is reached on its UART0 over TCP: add "tcp": "127.0.0.1:0" (0 = any free port)',
  'rigs-emulated-remote-host.json': ' /boards/0/transport/tcp: an emulated board runs on this host, so its UART listens on a loopback address, not "10.0.0.5": use "127.0.0.1:<port>" (0 = any free port)',
  'rigs-emulated-and-simulated.json': ' /boards/0: a board is either "simulated" (the lab\'s virtual board) or "emulated" (QEMU running the firmware), not both: remove one',
  'rigs-emulated-unknown-profile.json': ' /boards/0/emulated/profile: must be one of "esp32s3-devkitc-1-n8r8", "esp32s3-devkitc-1-n16r8", "esp32s3-devkitc-1-n8" (got "esp32s3-devkitc-1-n8r2"; did you mean "esp32s3-devkitc-1-n8r8"?)',
  'rigs-emulated-shared-flash.json': ' /boards/1/emulated/flashFile: <dir>bad/emu.bin is also board "emu-1"\'s flash (each emulated board needs its own file)',

  // ---- scenarios: schema
  'scenario-arena-too-small.json': ' /matrix/arena/0/size: must be >= 4096 bytes (the smallest arena TFLM can use for these models)',
  'scenario-arena-not-auto.json': ' /matrix/arena/0: must be "auto" or an object like { "size": 65536, "placement": "internal" } (got "big")',
  'scenario-unknown-metric.json': ' /gates/0/metric: must be one of "latency.median", "latency.mean", "latency.p90", "latency.p99", "accuracy.top1", "accuracy.top5", "arena.used", "image.size", "outputs.mismatches" (got "latency.medain"; did you mean "latency.median"?)',
  'scenario-cpu-clock.json': ' /matrix/cpuMHz/0: must be one of 80, 160, 240 (got 200)',
  'scenario-too-many-arenas.json': ' /matrix/arena: must list at most 64 items (got 65)',
  'scenario-firmware-pin.json': ' /matrix/firmware/0: must be a firmware variant name of lowercase letters, digits, dots and dashes, e.g. "reference", "esp-nn" or "esp-nn-1.2.6" (got "esp-nn@1.1.2")',
  'scenario-top-level-typo.json': ' /: unknown field "rouds" (did you mean "rounds"?)',
  'scenario-missing-matrix.json': ' /: missing field "matrix" (the variants to compare: every combination of firmware x model x arena x cpuMHz, minus the exclude list)',
  'scenario-empty-firmware.json': ' /matrix/firmware: must not be empty (list at least one firmware variant, e.g. "esp-nn")',
  'scenario-latency-kind.json': ' /inputs/latency/kind: must be one of "random", "file" (got "randm"; did you mean "random"?)',
  'scenario-bad-name.json': ' /name: must be a slug of lowercase letters, digits and dashes, at most 64 characters, e.g. "nightly-esp-nn" (got "Nightly ESP-NN")',
  'scenario-is-rigs.json': ' /: missing field "name" (e.g. "name": "nightly-esp-nn")',
  'scenario-foreign-schema.json': ' /$schema: "https://json.schemastore.org/package.json" is not one of the lab\'s schemas (use a path ending in scenario.schema.json)',
  'scenario-model-storage.json': ' /matrix/model/0/storage: must be one of "psram", "partition" (got "flash")',
  // PROTOCOL.md calls it the model's "source"; the scenario field is "storage".
  'scenario-model-source.json': ' /matrix/model/0: unknown field "source" (allowed here: id, path, sha256, labels, io, storage)',
  // ---- scenarios: semantic checks
  'scenario-arena-internal-too-big.json': ' /matrix/arena/0/size: 1048576 bytes cannot fit in internal SRAM (the ESP32-S3 has 512 KB in all; use "placement": "psram")',
  'scenario-arena-duplicate.json': ' /matrix/arena/2: same size and placement as /matrix/arena/0 (remove one)',
  'scenario-model-not-found.json': ' /matrix/model/0/path: model file not found: <dir>models/cnn_int8.tflite (paths are relative to <bad>)',
  'scenario-model-not-tflite.json': ' /matrix/model/0/path: <dir>models/not-a-model.tflite is not a .tflite model (no "TFL3" identifier at byte 4)',
  'scenario-duplicate-model-id.json': ' /matrix/model/1/id: duplicate model id "tiny" (also /matrix/model/0/id)',
  'scenario-model-sha256.json': ` /matrix/model/0/sha256: <dir>models/tiny.tflite has sha256 0956c676ddaa9eee8d59e5cdac4a93dfff7c7510d40bedcfa0fdecd0c5e5bef8, not the pinned ${'0'.repeat(64)} (the model changed: update the pin or restore the file)`,
  'scenario-gate-wrong-field.json': ' /gates/0/maxIncreasePct: does not apply to accuracy.top1 (it takes "maxDropPoints")',
  'scenario-gate-missing-threshold.json': ' /gates/0: missing field "maxIncreasePct" (how much slower latency.median may get, e.g. 3)',
  'scenario-accuracy-gate-without-labels.json': ' /gates/0/metric: accuracy.top1 needs a labelled set: add "inputs": { "accuracy": { "inputs": ..., "labels": ... } }',
  'scenario-gate-unknown-variant.json': ' /gates/0/variants/0: no variant "esp-nn/tiny/16384-internal/160mhz" in this scenario (did you mean "esp-nn/tiny/16384-internal/240mhz"?)',
  'scenario-baseline-none-with-gates.json': ' /baseline: "none" leaves the gates nothing to compare with (use "last-baseline" or a run id, or remove the gates)',
  'scenario-measure-both.json': ' /measure: give either "inferences" (a fixed count) or "targetCiPct" (adaptive), not both',
  'scenario-measure-min-over-max.json': ' /measure/maxInferences: minInferences 500 is more than maxInferences 200',
  'scenario-measure-fixed-with-budget.json': ' /measure/timeBudgetS: only applies to adaptive measuring (add "targetCiPct", or remove it)',
  'scenario-exclude-unknown-model.json': ' /matrix/exclude/0/model: "cnn" is not a model id of /matrix/model ("tiny")',
  'scenario-exclude-everything.json': ' /matrix/exclude: excludes every variant of the matrix (nothing would run; remove an exclude entry)',
  'scenario-accuracy-npy-missing.json': ' /inputs/accuracy/inputs: .npy file not found: <dir>data/images.npy (paths are relative to <bad>)',
  'scenario-accuracy-not-npy.json': ' /inputs/accuracy/inputs: <dir>models/tiny.tflite is not a .npy file (no \\x93NUMPY magic; save it with numpy.save)',
  'scenario-canary-order.json': ' /canary/quarantineDriftPct: 5% is below flagDriftPct 10% (a board is flagged before it is quarantined)',
};

function load(name: string): void {
  const file = path.join(badDir, name);
  if (name.startsWith('rigs-')) loadRigs(file);
  else loadScenario(file);
}

describe('broken config files: the one line a user sees', () => {
  it('has an expected message for every file in testdata/bad/ (and a file for every message)', () => {
    expect(readdirSync(badDir).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(25);
  });

  for (const [name, tail] of Object.entries(expected)) {
    it(name, () => {
      const want = `${at(name)}:${tail}`
        .replaceAll('<dir>', testdata)
        .replaceAll('<bad>', `${path.relative(process.cwd(), badDir)}${path.sep}`);
      let caught: unknown;
      try {
        load(name);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(LabError);
      const message = (caught as LabError).message;
      expect(message).toBe(want);
      expect(message).not.toContain('\n');
    });
  }
});
