/**
 * Records the replay session on a simulated board: the simulated firmware (harness/sim/app) behind
 * its serial session (harness/sim/transport-serial.ts) on an in-memory wire, driven byte for byte
 * by the steps of session-plan.ts. The capture is the serial line itself: every request's bytes
 * and every frame the board sent until that request's final reply.
 *
 * The simulator's own SessionRecorder is attached too, and its recording must equal the capture
 * for every request it sees: so the fixture is what `hil sim --record` writes, plus the damaged
 * frames the recorder never sees (the link's decoder rejects them before the firmware gets a frame;
 * their BAD_FRAME replies are on the wire all the same).
 *
 *   npx tsx firmware/test/replay/record-session.ts          -> firmware/test/replay/session.json
 *   npx tsx firmware/test/replay/record-session.ts <file>   -> <file>
 */
import { Duplex } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageType, bytesToHex, decodeFrame } from '../../../harness/protocol/index.js';
import { parsePartitionTable, PARTITION_TABLE_OFFSET } from '../../../harness/flash/partition-table.js';
import { parseEspImage } from '../../../harness/flash/image.js';
import { SimFlash } from '../../../harness/sim/flash-memory.js';
import { SerialWire } from '../../../harness/sim/serial-wire.js';
import { SerialLink } from '../../../harness/sim/transport-serial.js';
import { BoardClock } from '../../../harness/sim/app/clock.js';
import { SimFirmware, type FirmwareHost } from '../../../harness/sim/app/firmware.js';
import { installSimulatedFirmware, TFLM_VERSION } from '../../../harness/sim/app/firmware-image.js';
import { SessionRecorder } from '../../../harness/sim/app/recorder.js';
import { parseVariant, type SimVariant } from '../../../harness/sim/app/variants.js';
import { ReplyCollector, type Exchange } from './exchange.js';
import { recordingOf, writeRecording, type RecordedSession, type ReplayRecording } from './recording.js';
import { sessionPlan, type SessionStep } from './session-plan.js';

export const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'session.json');

const MB = 1024 * 1024;
const BOARD = 'sim-replay';
const VARIANT = 'esp-nn';

export interface SimulatedSession {
  session: RecordedSession;
  /** What the simulator's own SessionRecorder wrote for the same session. */
  recorder: ReplayRecording;
  /** HELLOs after the first: the board rebooting (SIM_SET_VARIANT). */
  reboots: number;
}

/** Runs `steps` against a fresh simulated board and returns what crossed the wire. */
export async function recordSimulatedSession(steps: SessionStep[] = sessionPlan()): Promise<SimulatedSession> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hil-replay-sim-'));
  const flash = SimFlash.open(path.join(dir, 'flash'), 16 * MB);
  const collector = new ReplyCollector();
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      collector.push(new Uint8Array(chunk));
      callback();
    },
  });
  const wire = new SerialWire({ stream, baudRate: () => 921600 }, { throttle: false });
  const link = new SerialLink(wire);
  const recorder = new SessionRecorder(BOARD, VARIANT);
  let firmware: SimFirmware | undefined;

  // One boot of the app: the identity of the image in flash, HELLO on the console (harness/sim/board.ts).
  const boot = (variant: SimVariant, resetReason: number): void => {
    const images = installSimulatedFirmware(flash, variant);
    const app = parseEspImage(images.app, 'app').app!;
    const host: FirmwareHost = {
      reset: () => {},
      // Like SimBoard: the reply leaves first, then the new variant's firmware boots.
      setVariant: (v) => setImmediate(() => boot(v, 3)),
      afterInference: () => true,
      log: (line) => link.print([line]),
    };
    firmware = new SimFirmware({
      board: BOARD, variant, seed: 1, clock: new BoardClock(0.001), host, flash,
      partitions: parsePartitionTable(flash.read(PARTITION_TABLE_OFFSET, 0xc00), 'table'),
      links: { serial: true, mqtt: false }, recorder,
      identity: {
        appElfSha256: app.appElfSha256, appVersion: app.version, projectName: app.projectName, idfVersion: app.idfVersion,
        tflmVersion: TFLM_VERSION, resetReason, mac: [0x7c, 0xdf, 0xa1, 0x00, 0x00, 0x01], chipRevision: 2,
        flashBytes: flash.size, psramBytes: 8 * MB, psramMode: 'octal', imageBytes: images.app.length,
      },
    });
    link.attach(firmware);
    firmware.sendHello(link);
  };

  try {
    boot(parseVariant(VARIANT)!, 1);
    await collector.until(() => collector.hellos.length > 0, 5_000, 'simulated board HELLO');
    const exchanges: Exchange[] = [];
    for (const [i, step] of steps.entries()) {
      const hellos = collector.hellos.length;
      const replies = await collector.exchange(step.bytes, (b) => stream.push(Buffer.from(b)),
        // 300 ms of quiet: longer than the serial session's 100 ms idle flush.
        { timeoutMs: 20_000, quietMs: 300 }, `simulated board, step ${i} (${step.note})`);
      exchanges.push({ request: step.bytes, replies });
      if (step.bytes[3] === MessageType.SIM_SET_VARIANT && replies.some((f) => f[3] === MessageType.OK)) {
        // SIM_SET_VARIANT answered OK: wait for the new firmware's HELLO before the next request.
        await collector.until(() => collector.hellos.length > hellos, 5_000, 'HELLO after SIM_SET_VARIANT');
      }
    }
    await firmware?.whenIdle();
    return {
      session: { hello: collector.hellos[0] ?? null, exchanges, notes: steps.map((s) => s.note) },
      recorder: recorder.toJSON(),
      reboots: collector.hellos.length - 1,
    };
  } finally {
    firmware?.stop();
    link.close();
    wire.close();
    flash.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The simulator's recorder must have recorded exactly the exchanges of the capture whose request
 * was a frame; returns what differs (empty when they agree).
 */
export function recorderDisagreements(sim: SimulatedSession): string[] {
  const expected = sim.session.exchanges.filter((e) => {
    try {
      decodeFrame(e.request);
      return true;
    } catch {
      return false;
    }
  });
  const out: string[] = [];
  const rec = sim.recorder;
  if (rec.hello !== (sim.session.hello ? bytesToHex(sim.session.hello) : null)) out.push('the recorder\'s HELLO differs from the wire\'s');
  if (rec.requests.length !== expected.length) out.push(`the recorder has ${rec.requests.length} requests, the wire ${expected.length} frames`);
  expected.forEach((e, i) => {
    if (rec.requests[i] !== bytesToHex(e.request)) out.push(`request ${i} differs`);
    const replies = e.replies.map(bytesToHex);
    if (JSON.stringify(rec.replies[i]) !== JSON.stringify(replies)) out.push(`replies to request ${i} differ`);
  });
  return out;
}

async function main(): Promise<void> {
  const file = path.resolve(process.argv[2] ?? FIXTURE);
  const sim = await recordSimulatedSession();
  const disagreements = recorderDisagreements(sim);
  if (disagreements.length > 0) throw new Error(`the simulator's SessionRecorder disagrees with the wire: ${disagreements.join('; ')}`);
  writeRecording(file, recordingOf(sim.session, { board: BOARD, variant: VARIANT }));
  const frames = sim.session.exchanges.reduce((n, e) => n + e.replies.length, 0);
  console.log(`${path.relative(process.cwd(), file) || file}: ${sim.session.exchanges.length} requests, ${frames} reply frames, ${sim.reboots} reboot(s)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
}
