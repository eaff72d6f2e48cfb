/**
 * `hil firmware ...` on its own, for CI (.github/workflows/firmware.yml): inside the ESP-IDF
 * container only this group is needed, and loading it pulls in no native addon, so the workflow
 * installs the npm packages with --ignore-scripts (no compiler for serialport / better-sqlite3).
 * Usage: npx tsx harness/firmware/main.ts build --variant esp-nn
 */
import { Command, CommanderError } from 'commander';
import { registerFirmware } from '../cli/firmware.js';
import { ExitCode, isLabError } from '../errors.js';

const program = new Command('hil').exitOverride();
registerFirmware(program);
try {
  await program.parseAsync(['firmware', ...process.argv.slice(2)], { from: 'user' });
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? ExitCode.Pass : ExitCode.LabError;
  } else if (isLabError(e)) {
    process.stderr.write(`hil: ${e.message}\n`);
    process.exitCode = ExitCode.LabError;
  } else {
    throw e;
  }
}
