/**
 * `hil flash`: flash a board with an ESP-IDF build (esptool-js through the serialport adapter).
 *
 * For now the board is given by its port: `hil flash [name] --port <path> --build <dir>`. Resolving
 * `<board-or-tag>` through rigs.json (port, reset mode, baud limit, flash size) is wired by the
 * config work; the options here are what a rig entry will provide.
 */
import type { Command } from 'commander';
import { LabError } from '../errors.js';
import { flashBoard, type ResetMode } from '../flash/flasher.js';
import { FlashProgressView } from '../flash/progress.js';
import { FLASH_SIZES, type FlashSize } from '../flash/image.js';

interface FlashCliOptions {
  port?: string;
  build: string;
  baud: string;
  reset: string;
  flashSize?: string;
  skipUnchanged: boolean;
}

const RESET_MODES: ResetMode[] = ['classic', 'usb-jtag', 'none'];

export function registerFlash(program: Command): void {
  program
    .command('flash')
    .description('flash a board with an ESP-IDF build (skips regions whose flash MD5 already matches)')
    .argument('[board]', 'board name (rigs.json lookup comes later; for now it names the board in output)')
    .option('--port <path>', 'serial device of the board, e.g. /dev/ttyACM0 or a simulated board\'s /dev/pts/N')
    .requiredOption('--build <dir>', 'ESP-IDF build directory holding flasher_args.json (e.g. firmware/build/esp-nn)')
    .option('--baud <n>', 'highest baud rate to flash at', '921600')
    .option('--reset <mode>', `how to enter download mode and reset after: ${RESET_MODES.join(' | ')} (none: the board is already in download mode, e.g. on a PTY)`, 'classic')
    .option('--flash-size <size>', `the board's flash size (${Object.keys(FLASH_SIZES).join(', ')}); read from the flash ID when omitted`)
    .option('--no-skip-unchanged', 'write every region even when its flash MD5 already matches')
    .action(async (board: string | undefined, options: FlashCliOptions) => {
      if (!options.port) {
        throw new LabError('cli', 'hil flash needs --port <device> (looking boards up by name or tag in rigs.json is not wired yet)');
      }
      const baud = Number(options.baud);
      if (!Number.isInteger(baud) || baud <= 0) throw new LabError('cli', `--baud ${options.baud} is not a baud rate: use e.g. 921600 or 2000000`);
      if (!RESET_MODES.includes(options.reset as ResetMode)) {
        throw new LabError('cli', `--reset ${options.reset} is not a reset mode: use ${RESET_MODES.join(', ')}`);
      }
      if (options.flashSize !== undefined && !(options.flashSize in FLASH_SIZES)) {
        throw new LabError('cli', `--flash-size ${options.flashSize} is not a flash size: use one of ${Object.keys(FLASH_SIZES).join(', ')}`);
      }
      const name = board ?? options.port.replace(/^\/dev\//, '');
      const view = new FlashProgressView(process.stdout);
      try {
        const report = await flashBoard({
          board: name,
          port: options.port,
          build: options.build,
          baud,
          reset: options.reset as ResetMode,
          flashSize: options.flashSize as FlashSize | undefined,
          skipUnchanged: options.skipUnchanged,
          onProgress: (p) => view.update(p),
        });
        view.done(report);
        process.stdout.write(`${name}: app ${report.appElfSha256.slice(0, 16)}… written; its hello is checked when the board-session layer is wired in\n`);
      } catch (e) {
        view.fail(name); // the error itself is printed once, by the CLI's error handler
        throw e;
      }
    });
}
