/**
 * `hil sim`: start simulated ESP32-S3 boards and keep them running until Ctrl-C. Each board with a
 * serial transport gets a PTY (`screen`, `idf.py monitor`, any serial tool or the harness opens
 * it and sees the boot log and the HELLO); a board with a TCP transport serves the same console on
 * a raw TCP port (`nc`, `idf.py monitor -p socket://host:port`, the harness); boards with an MQTT
 * transport connect to the embedded broker (or `--mqtt <url>`). See harness/sim/README.md.
 */
import type { Command } from 'commander';
import { loadRigs, type Rigs } from '../config/index.js';
import { LabError } from '../errors.js';
import { tcpUrl } from '../links/tcp-connect.js';
import { defaultSimRigs, startSimFleet, type SimFleet } from '../sim/fleet.js';
import { parseFaultSpecs, type FaultSpec } from '../sim/faults.js';

interface SimOptions {
  boards?: string;
  rigs?: string;
  mqtt?: string;
  faults: string[];
  timeScale?: string;
  download?: boolean;
  flashDir?: string;
  record?: string;
  json?: boolean;
}

function positiveNumber(text: string, flag: string): number {
  const v = Number(text);
  if (!(v > 0) || !Number.isFinite(v)) throw new LabError('sim', `${flag} must be a positive number, got "${text}"`);
  return v;
}

/** The rigs `hil sim` runs: `--boards N` alone = N default boards; with `--rigs`, the first N simulated boards of it. */
function chooseRigs(opts: SimOptions): { rigs: Rigs; boards?: string[] } {
  const count = opts.boards !== undefined ? Number(opts.boards) : undefined;
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw new LabError('sim', `--boards must be a whole number of boards (1 or more), got "${opts.boards}"`);
  }
  if (count !== undefined && opts.rigs === undefined) return { rigs: defaultSimRigs(count) };
  const rigs = loadRigs(opts.rigs ?? 'rigs.json');
  const simulated = rigs.boards.filter((b) => b.simulated).map((b) => b.id);
  if (count !== undefined && count > simulated.length) {
    throw new LabError('sim', `${rigs.label} has ${simulated.length} simulated boards, --boards asked for ${count} (drop --rigs to get ${count} default boards)`);
  }
  return count !== undefined ? { rigs, boards: simulated.slice(0, count) } : { rigs };
}

export function describeFleet(fleet: SimFleet): string[] {
  const lines = [`hil sim: ${fleet.boards.length} simulated ESP32-S3 board${fleet.boards.length === 1 ? '' : 's'} (every number they report is simulated)`];
  const width = Math.max(...fleet.boards.map((b) => b.id.length));
  for (const b of fleet.boards) {
    if (b.ptyPath) lines.push(`  ${b.id.padEnd(width)}  serial  ${b.ptyPath}  ${b.baud} baud`);
    if (b.tcpAddress) lines.push(`  ${b.id.padEnd(width)}  tcp     ${tcpUrl(b.tcpAddress)}  ${b.baud} baud`);
    if (b.mqttTopic) lines.push(`  ${b.id.padEnd(width)}  mqtt    ${b.mqttTopic}/{cmd,evt,log,status}`);
    if (!b.ptyPath && !b.tcpAddress && !b.mqttTopic) lines.push(`  ${b.id.padEnd(width)}  console ${b.consolePath}`);
  }
  if (fleet.brokerUrl) lines.push(`broker: ${fleet.brokerUrl}`);
  lines.push('Ctrl-C stops the boards.');
  return lines;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run simulated ESP32-S3 boards on PTYs and/or MQTT until Ctrl-C')
    .option('--boards <n>', 'how many boards (without --rigs: that many default boards, each on a PTY and on MQTT)')
    .option('--rigs <file>', 'rigs file whose simulated boards to run (default rigs.json)')
    .option('--mqtt <url>', 'broker for MQTT boards: "embedded" (aedes in this process) or a URL (default: the rigs\' mqtt.url)')
    .option('--faults <spec>', 'inject faults, e.g. "sim-2:reboot,afterInvokes=50,reason=panic;drop-bytes,probability=0.001" (repeatable)',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--time-scale <x>', 'wall seconds per simulated second (default 1: real time)')
    .option('--download', 'power the boards on in the ROM download mode (for hil flash)')
    .option('--flash-dir <dir>', 'keep the boards\' flash files here between runs (default: a temp dir)')
    .option('--record <dir>', 'write each board\'s session recording to <dir>/<board>.session.json on exit')
    .option('--json', 'print the boards as one JSON line instead of text')
    .action(async (opts: SimOptions) => {
      const { rigs, boards } = chooseRigs(opts);
      const faults: FaultSpec[] = opts.faults.flatMap((f) => parseFaultSpecs(f));
      const chosen = boards ?? rigs.boards.filter((b) => b.simulated).map((b) => b.id);
      for (const f of faults) {
        if (f.board !== undefined && !chosen.includes(f.board)) {
          throw new LabError('sim', `--faults names board "${f.board}", which is not running (boards: ${chosen.join(', ')})`);
        }
      }
      let mqtt: { url: string } | 'embedded' | undefined;
      if (opts.mqtt !== undefined) {
        if (opts.mqtt === 'embedded') mqtt = 'embedded';
        else if (/^(mqtts?|wss?|tcp|ssl):\/\/./.test(opts.mqtt)) mqtt = { url: opts.mqtt };
        else throw new LabError('sim', `--mqtt must be "embedded" or a broker URL like mqtt://host:1883, got "${opts.mqtt}"`);
      }
      const fleet = await startSimFleet({
        rigs,
        ...(boards ? { boards } : {}),
        ...(mqtt ? { mqtt } : {}),
        timeScale: opts.timeScale !== undefined ? positiveNumber(opts.timeScale, '--time-scale') : 1,
        faults,
        download: opts.download ?? false,
        ...(opts.flashDir ? { flashDir: opts.flashDir } : {}),
        ...(opts.record ? { recordDir: opts.record } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({
          boards: fleet.boards.map((b) => ({ id: b.id, ptyPath: b.ptyPath, tcpAddress: b.tcpAddress ? tcpUrl(b.tcpAddress) : undefined, baud: b.baud, consolePath: b.consolePath, mqttTopic: b.mqttTopic })),
          brokerUrl: fleet.brokerUrl,
          simulated: true,
        })}\n`);
      } else {
        process.stdout.write(`${describeFleet(fleet).join('\n')}\n`);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          process.off('SIGINT', done);
          process.off('SIGTERM', done);
          resolve();
        };
        process.on('SIGINT', done);
        process.on('SIGTERM', done);
      });
      await fleet.stop();
      if (!opts.json) process.stdout.write('hil sim: boards stopped\n');
    });
}
