/**
 * The first step of a trial: make sure the board runs the firmware build the trial needs
 * (ARCHITECTURE.md pipeline: "flash if the board's firmware hash differs").
 *
 * - The board already runs it: its HELLO names the variant (and, when the lab has the build
 *   directory, its app sha256 equals the image's esp_app_desc_t): nothing to do. The planner
 *   orders each board's queue so this is the common case.
 * - A real board and a build directory `firmware/build/<build>/` with flasher_args.json:
 *   `flashThroughSession`, the steps `hil flash` takes too - RESET download in-band, esptool-js
 *   (regions whose MD5 already matches are skipped), then the HELLO through the board's session,
 *   its app sha256 checked against the image just written.
 * - An emulated board (harness/emu) runs the build made for QEMU, `firmware/build/<build>-qemu/`
 *   (`hil firmware build --for qemu`: the same variant with DIO flash), flashed the same way with
 *   its own reset strategy: QEMU restarted into download mode, esptool-js over its TCP UART,
 *   QEMU restarted into the app, the HELLO checked.
 * - A simulated board: SIM_SET_VARIANT makes it reboot into the variant (PROTOCOL.md "Simulation
 *   only"), until simulated boards are flashed with image sets as well.
 * - Otherwise the trial cannot run here, and says which build to make.
 */
import path from 'node:path';
import type { BoardIdentity } from '../protocol/index.js';
import { qemuBuildId } from '../firmware/build.js';
import { FlashError } from '../flash/flasher.js';
import { EMULATED_BOOT_ATTEMPTS, flashThroughSession } from '../flash/through-session.js';
import type { FirmwareBuild } from './plan.js';
import type { NewLabEvent } from './events.js';
import { readBuildInfo, type BuildInfo } from './fingerprint.js';
import { boardFailure, trialFailure } from './failures.js';
import type { BoardSlot } from './slot.js';

export interface FirmwareEnv {
  firmwareDir: string;
  timeouts: { flashMs: number; helloMs: number; connectMs: number };
  emit: (e: NewLabEvent) => void;
  /** Runs a step under the trial's stop signal and a time limit. */
  step: <T>(name: string, ms: number, work: () => Promise<T>) => Promise<T>;
}

const buildInfos = new Map<string, BuildInfo | undefined>();

/**
 * The rate an emulated board is flashed at: the stub's UART switches to it (CHANGE_BAUDRATE); the
 * TCP pipe has none of its own. 921600: what bench:emulated measures against 115200.
 */
export const EMULATED_FLASH_BAUD = 921600;

/** The build directory's identity (read once per run and build). */
export function buildInfoOf(firmwareDir: string, buildId: string): BuildInfo | undefined {
  const key = `${firmwareDir}\0${buildId}`;
  if (!buildInfos.has(key)) buildInfos.set(key, readBuildInfo(firmwareDir, buildId));
  return buildInfos.get(key);
}

/**
 * Real firmware reports its variant name and its clock separately (HELLO variant, cpu_mhz); a
 * simulated board reports the build id it was switched to ("esp-nn-160mhz", harness/sim/app/variants.ts).
 */
function runsBuild(id: BoardIdentity, build: FirmwareBuild, info: BuildInfo | undefined): boolean {
  const named = id.variant === build.id || id.variant === build.variant;
  if (!named || (build.cpuMHz !== undefined && id.cpuMhz !== build.cpuMHz)) return false;
  if (info && id.appSha256 !== info.appSha256) return false;
  return true;
}

/** Brings the board onto `build`; returns the build directory's identity when the lab has one. */
export async function ensureFirmware(slot: BoardSlot, build: FirmwareBuild, env: FirmwareEnv): Promise<BuildInfo | undefined> {
  const board = slot.board;
  const identity = board.identity;
  if (!identity) throw new Error(`ensureFirmware: board ${slot.id} has not said hello`);
  // An emulated board runs the build made for QEMU (its own directory: DIO flash, firmware/variants/fragments/qemu.sdkconfig).
  const dirId = slot.config.emulated ? qemuBuildId(build.id) : build.id;
  // A simulated board runs the simulated image of a variant (SIM_SET_VARIANT), never the ESP-IDF
  // build in firmware/build/<id>: that build's identity (app SHA-256, sizes, sdkconfig) is not its
  // own, so only the name and clock count, and no build identity goes into its results - whether or
  // not the variants were built on this machine.
  const info = slot.config.simulated ? undefined : buildInfoOf(env.firmwareDir, dirId);
  if (runsBuild(identity, build, info)) return info;

  const buildLabel = path.join('firmware', 'build', dirId);
  const serial = slot.config.transport.serial;
  const emulator = slot.config.emulated ? board.emulator : undefined;
  if (info && ((!slot.config.simulated && serial?.port && board.release) || emulator)) {
    slot.setState('flashing', `flashing ${dirId}`);
    slot.forget();
    const started = Date.now();
    const { connectMs, helloMs, flashMs } = env.timeouts;
    try {
      // The same steps as `hil flash`: RESET download in-band (the board said hello, so it answers),
      // esptool-js, then the HELLO through this board's session checked against the image.
      const report = await env.step(`flashing ${dirId}`, flashMs + connectMs + helloMs + EMULATED_BOOT_ATTEMPTS * (board.bootMs ?? 0), () => flashThroughSession({
        board, answering: true, build: info.dir, requestMs: connectMs, helloMs,
        ...(emulator
          ? { port: board.address, baud: EMULATED_FLASH_BAUD, emulator }
          : { port: serial!.port!, baud: serial!.flashBaud, reset: serial!.reset }),
        onProgress: (p) => { if (p.phase === 'hello') slot.setState('booting', `booting ${dirId}`); },
      }));
      env.emit({
        type: 'board.flashed', board: slot.id, build: dirId, ok: true,
        regions: report.regions.map((r) => ({ address: r.offset, file: r.file, bytes: r.bytes, skipped: r.action === 'skipped', wireBytes: r.wireBytes, seconds: r.seconds })),
      });
    } catch (e) {
      const done = e instanceof FlashError ? e.regions : [];
      env.emit({
        type: 'board.flashed', board: slot.id, build: dirId, ok: false,
        regions: done.map((r) => ({ address: r.offset, file: r.file, bytes: r.bytes, skipped: r.action === 'skipped', wireBytes: r.wireBytes, seconds: r.seconds })),
        error: { code: (e as { code?: string }).code ?? 'flash', message: e instanceof Error ? e.message : String(e) },
      });
      throw boardFailure(`board ${slot.id}: flashing ${buildLabel} failed after ${((Date.now() - started) / 1000).toFixed(1)} s: ${e instanceof Error ? e.message : String(e)}`, 'flash', e);
    }
    slot.setState('ready');
    return info;
  }

  if (slot.config.simulated && board.switchVariant) {
    slot.setState('flashing', `switching to firmware ${build.id} (simulated board)`);
    slot.forget();
    // The simulated firmware takes build ids, so the clock of the build comes along.
    const fresh = await env.step(`switching to firmware ${build.id}`, env.timeouts.helloMs + env.timeouts.connectMs, () => board.switchVariant!(build.id, env.timeouts.helloMs));
    if (!runsBuild(fresh, build, undefined)) {
      throw boardFailure(`board ${slot.id}: asked to switch to firmware "${build.id}", it came back as "${fresh.variant}" at ${fresh.cpuMhz} MHz`, 'firmware');
    }
    slot.setState('ready');
    return info;
  }

  if (slot.config.simulated) {
    throw trialFailure(`board ${slot.id} (simulated) runs firmware "${identity.variant}" and cannot switch to "${build.variant}" (its board session offers no SIM_SET_VARIANT)`, 'firmware-missing');
  }
  if (slot.config.emulated) {
    throw trialFailure(`board ${slot.id} (emulated) runs firmware "${identity.variant}", the trial needs "${build.variant}", and there is no QEMU build at ${buildLabel}/ (build it: hil firmware build --variant ${build.variant}${build.cpuMHz !== undefined && build.cpuMHz !== 240 ? ` --cpu-mhz ${build.cpuMHz}` : ''} --for qemu)`, 'firmware-missing');
  }
  if (!serial?.port) {
    throw trialFailure(`board ${slot.id} runs firmware "${identity.variant}", the trial needs "${build.variant}", and the board has no serial port in the rigs to flash it through (flash it by hand: hil flash ${slot.id} --port <device> --build ${buildLabel})`, 'firmware-missing');
  }
  throw trialFailure(`board ${slot.id} runs firmware "${identity.variant}", the trial needs "${build.variant}", and there is no build at ${buildLabel}/ (build it: hil firmware build --variant ${build.variant})`, 'firmware-missing');
}
