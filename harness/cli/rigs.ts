/**
 * `hil rigs [--rigs <file>] [--json] [--probe [--no-sim] [--time-scale x]]`: the boards of
 * rigs.json - id, chip, link, port or topic, tags, simulated profile. With `--probe`, each board
 * is connected to and its identity shown: the chip (revision, MAC) and the firmware it runs
 * (variant, app sha256, kernel backend, IDF / TFLM / ESP-NN versions, CPU clock, PSRAM, flash).
 * Simulated boards are started in-process for the probe unless --no-sim (they run in `hil sim`);
 * emulated boards (QEMU running the firmware in their flash file) are started for the probe.
 */
import { rfc2217Url } from '../links/rfc2217-link.js';
import type { Command } from 'commander';
import { loadRigs, type BoardConfig, type Rigs, type SelectedBoard } from '../config/index.js';
import { ExitCode, LabError } from '../errors.js';
import type { BoardIdentity } from '../lab/board.js';
import { messageOf } from '../lab/failures.js';
import { openFleet } from '../lab/fleet.js';
import { provenanceOf, type Provenance } from '../lab/provenance.js';
import type { OpenFleet } from '../lab/run.js';

/** One row per link of each board (a board on serial and MQTT gets two rows). */
export function rigsTable(rigs: Rigs): string[][] {
  const rows: string[][] = [['BOARD', 'CHIP', 'LINK', 'WHERE', 'TAGS', 'SIMULATED / EMULATED']];
  const sim = (b: BoardConfig) => (b.simulated ? `simulated ${b.simulated.profile}` : b.emulated ? `emulated ${b.emulated.profile}` : '-');
  for (const b of rigs.boards) {
    const tags = b.tags.join(',') || '-';
    if (b.transport.serial) {
      const s = b.transport.serial;
      const where = s.port ?? '(PTY of the simulated fleet)';
      rows.push([b.id, b.chip, `serial ${s.baud} ${s.reset}`, where, tags, sim(b)]);
    }
    if (b.transport.rfc2217) {
      const r = b.transport.rfc2217;
      rows.push([b.id, b.chip, `rfc2217 ${r.baud} ${r.reset}`, rfc2217Url(r), tags, sim(b)]);
    }
    if (b.transport.tcp) {
      const t = b.transport.tcp;
      const where = t.port === 0 ? `tcp://${t.host}:(any port, chosen when ${b.emulated ? 'the emulator' : 'the simulated board'} starts)` : `tcp://${t.host}:${t.port}`;
      rows.push([b.id, b.chip, 'tcp', where, tags, sim(b)]);
    }
    if (b.transport.mqtt) {
      const broker = rigs.mqtt.url === 'embedded' ? 'embedded broker' : rigs.mqtt.url;
      rows.push([b.id, b.chip, 'mqtt', `${b.transport.mqtt.topic} @ ${broker}`, tags, sim(b)]);
    }
  }
  return rows;
}

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

export interface ProbeRow {
  board: string;
  link: string;
  address: string;
  /** Where its numbers come from: a board, an emulated board (QEMU), a simulated one. */
  provenance?: Provenance;
  identity?: BoardIdentity;
  error?: string;
}

/** Connects to every board of the rigs (each over its first link) and reads its identity. */
export async function probeRigs(rigs: Rigs, options: { sim: 'auto' | 'off'; timeScale?: number; timeoutMs?: number; open?: OpenFleet }): Promise<ProbeRow[]> {
  const selected: SelectedBoard[] = rigs.boards.map((board) => ({ board, transport: board.transport.serial ? 'serial' : board.transport.rfc2217 ? 'rfc2217' : board.transport.tcp ? 'tcp' : 'mqtt' }));
  // A never-flashed emulated board is started too: the probe then says it does not answer.
  const fleet = await (options.open ?? openFleet)({ rigs, selected, sim: options.sim, blankEmulated: 'allow', ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}) });
  try {
    return await Promise.all(selected.map(async (s): Promise<ProbeRow> => {
      const b = fleet.boards.get(s.board.id)!;
      const row: ProbeRow = { board: s.board.id, link: b.link, address: b.address, provenance: provenanceOf(s.board, undefined) };
      let timer: NodeJS.Timeout | undefined;
      try {
        const ms = options.timeoutMs ?? 20_000;
        const outer = ms + (b.bootMs ?? 0); // connect adds an emulated board's boot itself
        row.identity = await Promise.race([
          b.connect(ms),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new LabError('timeout', `no answer within ${outer / 1000} s`)), outer); }),
        ]);
        row.provenance = provenanceOf(s.board, row.identity);
      } catch (e) {
        row.error = messageOf(e);
      } finally {
        clearTimeout(timer);
      }
      return row;
    }));
  } finally {
    await fleet.close();
  }
}

function mb(bytes: number): string {
  return bytes === 0 ? 'none' : `${bytes / (1024 * 1024)} MB`;
}

export function probeTable(rows: readonly ProbeRow[]): string[][] {
  const out: string[][] = [['BOARD', 'LINK', 'WHERE', 'CHIP', 'MAC', 'FIRMWARE', 'APP SHA256', 'KERNELS', 'IDF/TFLM/ESP-NN', 'CPU', 'PSRAM', 'FLASH', 'NUMBERS']];
  for (const r of rows) {
    const id = r.identity;
    if (!id) {
      out.push([r.board, r.link, r.address, '-', '-', `NO ANSWER: ${r.error ?? ''}`, '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    out.push([
      r.board, r.link, r.address, `${id.chip} v${Math.floor(id.chipRevision / 100)}.${id.chipRevision % 100}`, id.mac, `${id.variant} ${id.appVersion}`,
      `${id.appSha256.slice(0, 12)}...`, id.kernelBackend, `${id.idfVersion}/${id.tflmVersion}/${id.espNnVersion}`, `${id.cpuMhz} MHz`,
      mb(id.psramSize), mb(id.flashSize), r.provenance ?? (id.simulated ? 'simulated' : 'board'),
    ]);
  }
  return out;
}

export function registerRigs(program: Command): void {
  program
    .command('rigs')
    .description('list the boards of rigs.json; --probe connects to each and shows its identity and firmware')
    .option('--rigs <file>', 'rigs file', 'rigs.json')
    .option('--json', 'print the boards as JSON (with defaults applied)')
    .option('--probe', 'connect to each board and show its chip and firmware identity')
    .option('--no-sim', 'with --probe: the simulated boards run elsewhere (hil sim): only connect to them')
    .option('--time-scale <x>', 'with --probe: time scale of the simulated boards started for the probe', '0.05')
    .action(async (opts: { rigs: string; json?: boolean; probe?: boolean; sim: boolean; timeScale: string }) => {
      const rigs = loadRigs(opts.rigs);
      if (opts.probe) {
        const timeScale = Number(opts.timeScale);
        if (!(timeScale > 0)) throw new LabError('usage', `--time-scale ${opts.timeScale}: give a positive number (1 = real time)`);
        const rows = await probeRigs(rigs, { sim: opts.sim ? 'auto' : 'off', timeScale });
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else process.stdout.write(`${formatTable(probeTable(rows))}\n`);
        const silent = rows.filter((r) => !r.identity);
        for (const r of silent) process.stderr.write(`hil: board ${r.board} did not answer on ${r.link} ${r.address}: ${r.error}\n`);
        if (silent.length > 0) process.exitCode = ExitCode.LabError;
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ file: rigs.file, mqtt: rigs.mqtt, boards: rigs.boards, warnings: rigs.warnings }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${formatTable(rigsTable(rigs))}\n`);
      for (const w of rigs.warnings) process.stderr.write(`warning: ${w}\n`);
    });
}
