/**
 * Espressif's QEMU for emulated boards: where the binary is, and the command line that makes one
 * emulated ESP32-S3 of a rigs profile. Pure apart from `findQemu`'s file checks.
 *
 * The machine (`-machine esp32s3`) runs the chip's real mask ROM, so its UART download mode is the
 * chip's own serial loader (../shared/esp-kit/README.md). What the command line sets, and why:
 * - flash: a raw image file as the SPI flash (`-drive if=mtd`); its size picks QEMU's flash chip
 *   model (8 MB: GD25Q64, 16 MB: IS25LP128). Writes land in the file at once.
 * - PSRAM: `-m <size>` plus `ssi_psram` in octal mode, as on the N8R8 / N16R8 modules (without
 *   them the firmware finds no PSRAM: "PSRAM ID read error ... continuing without it"); not in
 *   download mode (see qemuArgs).
 * - eFuses: an image with the chip revision (v0.3, what `idf.py qemu` burns) and the board's MAC
 *   (efuse.ts), so two emulated boards are not both "esp32s3-000000".
 * - the timer-group watchdogs are off, as `idf.py qemu` does: emulated time runs at the host's
 *   pace, and a loaded host would trip them where silicon would not (a hung Invoke() is still
 *   caught by the harness's timeout and a restart).
 * - UART0 on a TCP server (`-serial tcp:...,server=on,wait=on`): QEMU waits for the lab to connect
 *   before the CPU starts, so the lab sees the ROM banner and the whole boot log (with wait=off it
 *   is lost when nobody listens yet, and this UART drops what the socket cannot take at once).
 * - strapping: boot from flash, or the ROM's UART download mode (`strap_mode` 0x07 on the GPIO
 *   device: "boot:0x7 (UART0_BOOT)"). QEMU has no EN/BOOT lines and does not enter download mode
 *   on the firmware's in-band RESET (RTC_CNTL_FORCE_DOWNLOAD_BOOT): a reset is a restart.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { EMULATED_PROFILES } from '../config/profiles.js';
import type { EmulatedProfileName } from '../config/types.js';
import { LabError } from '../errors.js';

export const QEMU_BINARY = 'qemu-system-xtensa';

/** Boot from flash (the app), or the ROM's UART download mode (the serial loader esptool talks to). */
export type StrapMode = 'app' | 'download';

/**
 * The strapping value for the ROM's UART download mode on QEMU's esp32s3 GPIO device (prints
 * "boot:0x7 (UART0_BOOT)", ../shared/esp-kit/README.md). The app boots with QEMU's default
 * strapping ("boot:0x4 (SPI_FLASH_BOOT)").
 */
export const DOWNLOAD_STRAP = 0x07;

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The QEMU binary: `$HIL_QEMU`, else `qemu-system-xtensa` on PATH; else one line naming both.
 * (Espressif's build: `idf_tools.py install qemu-xtensa`; on a machine with the esp-kit,
 * `eval "$(../shared/esp-kit/install.sh)"` sets HIL_QEMU.)
 */
export function findQemu(env: NodeJS.ProcessEnv = process.env, executable: (file: string) => boolean = isExecutable): string {
  const fromEnv = env.HIL_QEMU;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!executable(fromEnv)) {
      throw new LabError('emulator', `HIL_QEMU=${fromEnv} is not an executable file: point it at Espressif's ${QEMU_BINARY} (with the esp32s3 machine), or unset it to use the one on PATH`);
    }
    return fromEnv;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, QEMU_BINARY);
    if (executable(candidate)) return candidate;
  }
  throw new LabError(
    'emulator',
    `no QEMU for emulated boards: neither HIL_QEMU is set nor ${QEMU_BINARY} on PATH; install Espressif's QEMU (python $IDF_PATH/tools/idf_tools.py install qemu-xtensa) and put it on PATH, or set HIL_QEMU to its ${QEMU_BINARY}`,
  );
}

export interface QemuBoardSpec {
  profile: EmulatedProfileName;
  flashFile: string;
  efuseFile: string;
  /** Loopback address QEMU listens on for UART0 (port 0: QEMU picks one and prints it). */
  host: string;
  port: number;
  strap: StrapMode;
}

/**
 * QEMU counts instructions (`-icount shift=2`): each guest instruction advances the virtual clock by
 * 2^2 = 4 ns, and the CPU cycle counter the firmware reads (CCOUNT) follows the virtual clock at
 * 240 MHz, so an emulated latency is the instructions executed x 4 ns (0.96 cycles each). Without it
 * CCOUNT follows the host's clock: person_detect read ~19 ms on the reference build and ~25 ms on
 * ESP-NN, and the demo's latencies doubled when the host was busy. With it the same inference reads
 * the same to 0.01 % on any host and load: 64.59 ms reference, 6.80 ms ESP-NN here (instructions,
 * not cycles: no memory stalls, every PIE instruction counts one). Only the app runs with it: the ROM
 * loader's flash writes do not need it.
 */
export const QEMU_ICOUNT_SHIFT = 2;

/** QEMU's arguments for one emulated board. */
export function qemuArgs(spec: QemuBoardSpec): string[] {
  const profile = EMULATED_PROFILES[spec.profile];
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  const args = [
    '-nographic', '-display', 'none', '-monitor', 'none',
    '-machine', 'esp32s3',
    '-drive', `file=${spec.flashFile},if=mtd,format=raw`,
    '-drive', `file=${spec.efuseFile},if=none,format=raw,id=efuse`,
    '-global', 'driver=nvram.esp32s3.efuse,property=drive,value=efuse',
    '-global', 'driver=timer.esp32s3.timg,property=wdt_disable,value=true',
    '-serial', `tcp:${host}:${spec.port},server=on,wait=on`,
  ];
  if (spec.strap === 'download') args.push('-global', `driver=esp32s3.gpio,property=strap_mode,value=0x0${DOWNLOAD_STRAP.toString(16)}`);
  // In download mode the chip runs only the ROM loader and esptool's stub, which need no PSRAM - and
  // this QEMU crashes (segmentation fault) in the stub's first compressed flash write when ssi_psram is
  // attached (found here; with the same image and no PSRAM every write and MD5 check passes).
  if (spec.strap === 'app') args.push('-icount', `shift=${QEMU_ICOUNT_SHIFT}`);
  if (profile.psramBytes > 0 && spec.strap === 'app') {
    args.push('-m', `${profile.psramBytes / (1024 * 1024)}M`);
    if (profile.psramMode === 'octal') args.push('-global', 'driver=ssi_psram,property=is_octal,value=true');
  }
  return args;
}

/** The port QEMU chose, from its "QEMU waiting for connection on: disconnected:tcp:HOST:PORT,server=on" line. */
export function listeningPort(stderrText: string): number | undefined {
  const m = /waiting for connection on: disconnected:tcp:(?:\[[^\]]*\]|[^:,]+):(\d+),server/.exec(stderrText);
  return m ? Number(m[1]) : undefined;
}
