/**
 * `selectBoards`: which boards of rigs.json run a scenario, and over which link - with the checks
 * that need both files (ids and tags that exist, a transport each board has, PSRAM for PSRAM
 * arenas) and the ones that only matter for boards actually used (credentials in the environment,
 * TLS files on disk).
 */
import { statSync } from 'node:fs';
import { LabError } from '../errors.js';
import type { BoardConfig, EnvCredentials, Rigs, Scenario, TlsFiles } from './types.js';
import { configError } from './read.js';
import { closest, quoteList } from './suggest.js';

export interface SelectedBoard {
  board: BoardConfig;
  /** The link this run uses for the board ('tcp': its serial console over a raw TCP port). */
  transport: 'serial' | 'tcp' | 'rfc2217' | 'mqtt';
}

export interface SelectOptions {
  /** Where credential variables are looked up (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Check credential variables and TLS files (default true; `hil validate` turns it off). */
  checkEnvironment?: boolean;
}

export function selectBoards(scenario: Scenario, rigs: Rigs, options: SelectOptions = {}): SelectedBoard[] {
  const env = options.env ?? process.env;
  const sel = scenario.boards;
  const ids = rigs.boards.map((b) => b.id);
  const fail = (pointer: string, message: string) => configError(scenario.label, pointer, message);

  sel.ids?.forEach((id, i) => {
    if (!ids.includes(id)) {
      const near = closest(id, ids);
      throw fail(`/boards/ids/${i}`, `no board "${id}" in ${rigs.label} (${near ? `did you mean "${near}"?` : `boards: ${quoteList(ids)}`})`);
    }
  });
  const allTags = [...new Set(rigs.boards.flatMap((b) => b.tags))].sort();
  sel.tags.forEach((tag, i) => {
    if (!allTags.includes(tag)) {
      const near = closest(tag, allTags);
      throw fail(`/boards/tags/${i}`, `no board in ${rigs.label} carries tag "${tag}" (${near ? `did you mean "${near}"?` : `tags there: ${quoteList(allTags)}`})`);
    }
  });
  let chosen = rigs.boards.filter((b) => (sel.ids === undefined || sel.ids.includes(b.id)) && sel.tags.every((t) => b.tags.includes(t)));
  if (chosen.length === 0) {
    throw fail('/boards', `no board in ${rigs.label} matches both the ids and all the tags given (loosen the selector)`);
  }
  if (sel.max !== undefined) chosen = chosen.slice(0, sel.max);

  const selected = chosen.map((board): SelectedBoard => {
    const { serial, tcp, rfc2217, mqtt } = board.transport;
    // "serial" is the board's serial console: on a serial port, an RFC 2217 port or a raw TCP port.
    if (scenario.transport === 'serial' && !serial && !rfc2217 && !tcp) {
      throw fail('/transport', `"serial", but board "${board.id}" has no serial, rfc2217 or tcp transport in ${rigs.label} (use "any", or select boards that have one)`);
    }
    if (scenario.transport === 'mqtt' && !mqtt) {
      throw fail('/transport', `"mqtt", but board "${board.id}" has no mqtt transport in ${rigs.label} (use "any", or select boards that have one)`);
    }
    const console = serial ? 'serial' : rfc2217 ? 'rfc2217' : tcp ? 'tcp' : undefined;
    const transport = scenario.transport === 'mqtt' ? 'mqtt' : scenario.transport === 'serial' ? console! : console ?? 'mqtt';
    return { board, transport };
  });

  // PSRAM arenas need PSRAM (psramBytes undefined = not declared: the board's hello will tell). A
  // board without PSRAM is left out of those variants by the planner (one line each); only when no
  // selected board has any can the arena not run at all.
  scenario.matrix.arena.forEach((a, i) => {
    if (a.placement !== 'psram') return;
    if (selected.every(({ board }) => board.psramBytes === 0)) {
      const ids = selected.map(({ board }) => board.id);
      const who = ids.length === 1 ? `board "${ids[0]}" has no PSRAM` : `none of the boards ${ids.map((x) => `"${x}"`).join(', ')} has PSRAM`;
      throw fail(`/matrix/arena/${i}/placement`, `${who} (psramBytes 0 in ${rigs.label}; drop this arena or select other boards)`);
    }
    for (const { board } of selected) {
      if (board.psramBytes === 0) continue;
      const need = typeof a.size === 'number' ? a.size : Math.max(0, ...Object.values(a.autoBytes ?? {}));
      if (board.psramBytes !== undefined && need > board.psramBytes) {
        throw fail(`/matrix/arena/${i}/size`, `${need} bytes is more than board "${board.id}"'s ${board.psramBytes} bytes of PSRAM`);
      }
    }
  });

  if (options.checkEnvironment ?? true) {
    const viaMqtt = selected.filter((s) => s.transport === 'mqtt');
    if (viaMqtt.length > 0) {
      const who = `board "${viaMqtt[0].board.id}" uses MQTT`;
      if (rigs.mqtt.credentials) requireEnv(rigs.mqtt.credentials, '/mqtt/credentials', who, rigs, env);
      if (rigs.mqtt.tls) requireTlsFiles(rigs.mqtt.tls, '/mqtt/tls', who, rigs);
    }
    for (const { board } of viaMqtt) {
      const index = rigs.boards.indexOf(board);
      const at = `/boards/${index}/transport/mqtt`;
      if (!board.transport.mqtt) continue;
      if (board.transport.mqtt.credentials) requireEnv(board.transport.mqtt.credentials, `${at}/credentials`, `board "${board.id}" needs it`, rigs, env);
      if (board.transport.mqtt.tls) requireTlsFiles(board.transport.mqtt.tls, `${at}/tls`, `board "${board.id}" needs it`, rigs);
    }
  }
  return selected;
}

function requireEnv(c: EnvCredentials, at: string, who: string, rigs: Rigs, env: Readonly<Record<string, string | undefined>>): void {
  for (const field of ['usernameEnv', 'passwordEnv'] as const) {
    const name = c[field];
    if (env[name] === undefined || env[name] === '') {
      throw configError(rigs.label, `${at}/${field}`, `environment variable ${name} is not set (${who}; export it before the run)`);
    }
  }
}

function requireTlsFiles(tls: TlsFiles, at: string, who: string, rigs: Rigs): void {
  for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
    const f = tls[field];
    if (f === undefined) continue;
    let ok = false;
    try {
      ok = statSync(f).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new LabError('config', `${rigs.label}: ${at}/${field}: file not found: ${f} (${who}; paths are relative to ${rigs.label})`);
  }
}
