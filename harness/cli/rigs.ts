/**
 * `hil rigs [--rigs <file>] [--json]`: the boards of rigs.json - id, chip, link, port or topic,
 * tags, simulated profile. (Probing each board's identity and firmware joins when board sessions
 * exist.)
 */
import type { Command } from 'commander';
import { loadRigs, type BoardConfig, type Rigs } from '../config/index.js';

/** One row per link of each board (a board on serial and MQTT gets two rows). */
export function rigsTable(rigs: Rigs): string[][] {
  const rows: string[][] = [['BOARD', 'CHIP', 'LINK', 'WHERE', 'TAGS', 'SIMULATED']];
  const sim = (b: BoardConfig) => b.simulated?.profile ?? '-';
  for (const b of rigs.boards) {
    const tags = b.tags.join(',') || '-';
    if (b.transport.serial) {
      const s = b.transport.serial;
      const where = s.port ?? '(PTY of the simulated fleet)';
      rows.push([b.id, b.chip, `serial ${s.baud} ${s.reset}`, where, tags, sim(b)]);
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

export function registerRigs(program: Command): void {
  program
    .command('rigs')
    .description('list the boards of rigs.json')
    .option('--rigs <file>', 'rigs file', 'rigs.json')
    .option('--json', 'print the boards as JSON (with defaults applied)')
    .action((opts: { rigs: string; json?: boolean }) => {
      const rigs = loadRigs(opts.rigs);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ file: rigs.file, mqtt: rigs.mqtt, boards: rigs.boards, warnings: rigs.warnings }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${formatTable(rigsTable(rigs))}\n`);
      for (const w of rigs.warnings) process.stderr.write(`warning: ${w}\n`);
    });
}
