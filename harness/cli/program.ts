/**
 * `hil`: the lab's command line. Each command group lives in its own file and registers itself on
 * the program; this file only wires them together and turns errors into exit codes.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, isLabError } from '../errors.js';
import { registerFirmware } from './firmware.js';
import { registerFlash } from './flash.js';
import { registerModel } from './model.js';
import { registerReport } from './report.js';
import { registerRigs } from './rigs.js';
import { registerRun } from './run.js';
import { registerSim } from './sim.js';
import { registerValidate } from './validate.js';

export function buildProgram(): Command {
  const program = new Command('hil')
    .description('Hardware-in-the-loop benchmarking lab for TinyML on ESP32-S3')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerFirmware(program);
  registerFlash(program);
  registerModel(program);
  registerReport(program);
  registerRigs(program);
  registerRun(program);
  registerSim(program);
  registerValidate(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Pass;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return e.exitCode === 0 ? ExitCode.Pass : ExitCode.LabError;
    }
    if (isLabError(e)) {
      process.stderr.write(`hil: ${e.message}\n`);
      return ExitCode.LabError;
    }
    process.stderr.write(`hil: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return ExitCode.LabError;
  }
}
