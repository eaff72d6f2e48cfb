/**
 * The boards of a run, reached the way rigs.json says: a board session (harness/boards) per board,
 * over its serial device or its MQTT topic. When the rigs have simulated boards, the simulated
 * fleet (harness/sim) is started in this process first - each board on its own PTY and/or on the
 * embedded aedes broker - and the sessions get the fleet's PTY paths, its broker URL and each
 * board's power switch (the EN button, for a board that hangs). With `sim: 'off'` the simulated
 * boards run elsewhere (`hil sim`) and are reached like real ones: through the port the rigs give.
 * Emulated boards (harness/emu) are always started here: each an Espressif QEMU process running
 * the firmware in its flash file, reached on its UART0's TCP port, reset by a restart.
 */
import { rfc2217Url } from '../links/rfc2217-link.js';
import { LabError } from '../errors.js';
import { brokerOf, createLabBoard, emulatedBoardOptions, simulatedBoardOptions } from '../boards/index.js';
import { startEmulatedFleet, type EmulatedFleet } from '../emu/fleet.js';
import { startSimFleet, type SimFleet } from '../sim/index.js';
import type { LabBoard } from './board.js';
import type { FleetHandle, OpenFleet } from './run.js';

export const openFleet: OpenFleet = async ({ rigs, selected, sim, timeScale, blankEmulated = 'refuse' }) => {
  const simulated = selected.filter((s) => s.board.simulated);
  if (sim === 'off') {
    for (const s of simulated) {
      if (s.transport === 'serial' && !s.board.transport.serial?.port) {
        throw new LabError('config', `${rigs.label}: board "${s.board.id}" is simulated without a serial port, so with --no-sim there is no device to reach it on (give it "port" in rigs.json so hil sim links its PTY there, or drop --no-sim)`);
      }
    }
    if (rigs.mqtt.url === 'embedded' && selected.some((s) => s.transport === 'mqtt')) {
      throw new LabError('config', `${rigs.label}: /mqtt/url is "embedded", a broker that only exists inside the hil process that starts the simulated boards: drop --no-sim, or set mqtt.url to the broker hil sim prints`);
    }
  }
  let fleet: SimFleet | undefined;
  if (sim === 'auto' && simulated.length > 0) {
    fleet = await startSimFleet({ rigs, boards: simulated.map((s) => s.board.id), ...(timeScale !== undefined ? { timeScale } : {}) });
  }
  const emulated = selected.filter((s) => s.board.emulated);
  let emulators: EmulatedFleet | undefined;
  const boards = new Map<string, LabBoard>();
  try {
    if (emulated.length > 0) {
      emulators = await startEmulatedFleet({
        rigs, boards: emulated.map((s) => s.board.id),
        // A crash shows up on the board's link as a closed connection; say what happened to QEMU.
        onCrash: (board, message) => process.stderr.write(`hil: ${message} (QEMU's log: ${emulators?.board(board).logFile}); the lab restarts it as the board's reset\n`),
      });
      const blank = emulators.boards.filter((b) => b.isBlank());
      if (blankEmulated === 'refuse' && blank.length > 0) {
        const ids = blank.map((b) => b.id);
        throw new LabError('emulator', `emulated board${ids.length > 1 ? 's' : ''} ${ids.join(', ')} ${ids.length > 1 ? 'have' : 'has'} nothing in flash yet (${blank[0].settings.flashFile}${ids.length > 1 ? ', ...' : ''}): flash ${ids.length > 1 ? 'them' : 'it'} first: hil firmware build --variant <variant> --for qemu, then hil flash ${ids.join(' ')} --build firmware/build/<variant>-qemu`);
      }
    }
    const broker = brokerOf(rigs, fleet?.brokerUrl);
    for (const s of selected) {
      boards.set(s.board.id, createLabBoard(s.board, {
        transport: s.transport,
        ...(broker ? { broker } : {}),
        ...(fleet && s.board.simulated ? simulatedBoardOptions(fleet, s.board.id) : {}),
        ...(emulators && s.board.emulated ? emulatedBoardOptions(emulators.board(s.board.id)) : {}),
      }));
    }
  } catch (e) {
    await fleet?.stop().catch(() => undefined);
    await emulators?.stop().catch(() => undefined);
    throw e;
  }
  const notes: string[] = [];
  if (fleet) {
    const scale = timeScale !== undefined && timeScale !== 1 ? `, board time x${1 / timeScale} faster than real time` : '';
    notes.push(`simulated fleet started in-process (every number these boards report is simulated${scale}):`);
    for (const b of fleet.boards) {
      const s = selected.find((x) => x.board.id === b.id)!;
      notes.push(
        s.transport === 'serial' ? `  ${b.id}  serial  ${b.ptyPath}  ${b.baud} baud`
          : s.transport === 'tcp' ? `  ${b.id}  tcp     tcp://${b.tcpAddress?.host}:${b.tcpAddress?.port}`
            : s.transport === 'rfc2217' ? `  ${b.id}  rfc2217 ${rfc2217Url(s.board.transport.rfc2217!)} (its PTY ${b.ptyPath ?? '-'} behind the server)`
            : `  ${b.id}  mqtt    ${b.mqttTopic} @ ${fleet.brokerUrl}`,
      );
    }
  }
  if (emulators) {
    notes.push('emulated boards started (Espressif QEMU running the firmware in each flash file; every number they report is emulated: the firmware\'s arithmetic, its instructions counted by QEMU):');
    for (const b of emulators.boards) notes.push(`  ${b.id}  tcp     tcp://${b.address.host}:${b.address.port}  ${b.settings.profile}  ${b.settings.flashFile}`);
  }
  const handle: FleetHandle = {
    boards,
    notes,
    async close() {
      await Promise.allSettled([...boards.values()].map((b) => b.close()));
      await fleet?.stop();
      await emulators?.stop();
    },
  };
  return handle;
};
