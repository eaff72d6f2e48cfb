/**
 * `hil validate <file...>`: check rigs files, scenarios and firmware variants; print "ok" with a
 * one-line summary per good file and the one-line error per bad one; exit 2 when any is bad.
 * Scenarios are also checked against the rigs file (their board selector, transports, PSRAM),
 * without requiring credential variables to be set: that is checked when a run starts.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, isLabError } from '../errors.js';
import {
  detectConfigKind, fileLabel, loadFirmwareVariant, loadFirmwareVariants, loadRigs, loadScenario, selectBoards,
  type FirmwareVariant, type Rigs,
} from '../config/index.js';
import { LabError } from '../errors.js';
import { capabilitiesOf, skippedLines } from '../lab/capabilities.js';
import { planRun } from '../lab/plan.js';

export interface ValidateOptions {
  /** Rigs file scenarios are checked against; default: a rigs file among the files, else ./rigs.json if present. */
  rigs?: string;
  /** Directory of firmware variant files (*.json); default ./firmware/variants when it holds any. */
  variants?: string;
}

export interface ValidateResult {
  file: string;
  ok: boolean;
  /** "ok <file> (<summary>)" or the one-line error. */
  line: string;
  warnings: string[];
}

export function validateFiles(files: readonly string[], options: ValidateOptions = {}): ValidateResult[] {
  const kinds = files.map((f) => detectConfigKind(f));
  let rigs: Rigs | undefined;
  let rigsError: string | undefined;
  const rigsFile = options.rigs ?? files.find((_, i) => kinds[i] === 'rigs') ?? (existsSync('rigs.json') ? 'rigs.json' : undefined);
  if (rigsFile !== undefined) {
    try {
      rigs = loadRigs(rigsFile);
    } catch (e) {
      if (!isLabError(e)) throw e;
      rigsError = e.message;
    }
  }
  let variants: FirmwareVariant[] | undefined;
  const variantsDir = options.variants ?? path.join('firmware', 'variants');
  if (options.variants !== undefined || (existsSync(variantsDir) && readdirSync(variantsDir).some((n) => n.endsWith('.json')))) {
    variants = loadFirmwareVariants(variantsDir);
  }

  return files.map((file, i): ValidateResult => {
    const label = fileLabel(path.resolve(file));
    try {
      switch (kinds[i]) {
        case 'rigs': {
          const r = loadRigs(file);
          const sims = r.boards.filter((b) => b.simulated).length;
          const emus = r.boards.filter((b) => b.emulated).length;
          return { file, ok: true, line: `ok ${label} (rigs: ${r.boards.length} boards, ${sims} simulated${emus > 0 ? `, ${emus} emulated` : ''})`, warnings: r.warnings };
        }
        case 'scenario': {
          const s = loadScenario(file, variants ? { firmwareVariants: variants } : {});
          let summary: string;
          let skipped: string[] = [];
          if (rigs) {
            const boards = selectBoards(s, rigs, { checkEnvironment: false });
            const plan = planRun(s, boards.map((b) => b.board.id), { capabilities: capabilitiesOf(boards.map((b) => b.board)) });
            summary = `scenario: ${plan.variants.length} variants x ${plan.boards.length} boards x ${plan.rounds} rounds = ${plan.trials.length} trials, ${plan.builds.length} firmware builds${plan.skipped ? `, ${plan.skipped.length} variant(s) left out on a board that cannot run them` : ''}`;
            skipped = skippedLines(plan.skipped);
          } else {
            summary = `scenario; boards not checked: ${rigsError ? `the rigs file is invalid` : 'no rigs file (pass --rigs <file>)'}`;
          }
          return { file, ok: true, line: `ok ${label} (${summary})`, warnings: [...s.warnings, ...skipped] };
        }
        case 'firmware-variant': {
          const v = loadFirmwareVariant(file);
          return { file, ok: true, line: `ok ${label} (firmware variant: ${v.kernelBackend} kernels, esp-nn ${v.espNn})`, warnings: [] };
        }
        case 'json-schema':
          return { file, ok: true, line: `skip ${label} (a JSON Schema, not a config file)`, warnings: [] };
        default:
          throw new LabError('config', `${label}: cannot tell whether this is a rigs file, a scenario or a firmware variant (add "$schema": the path of harness/schemas/rigs.schema.json or harness/schemas/scenario.schema.json)`);
      }
    } catch (e) {
      if (!isLabError(e)) throw e;
      return { file, ok: false, line: e.message, warnings: [] };
    }
  });
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check rigs files, scenarios and firmware variants (exit code 2 when one is invalid)')
    .argument('<file...>', 'files to check')
    .option('--rigs <file>', 'rigs file to check scenarios against (default: ./rigs.json)')
    .option('--variants <dir>', 'firmware variants directory (default: ./firmware/variants)')
    .action((files: string[], opts: { rigs?: string; variants?: string }) => {
      const results = validateFiles(files, opts);
      for (const r of results) {
        if (r.ok) process.stdout.write(`${r.line}\n`);
        else process.stderr.write(`${r.line}\n`);
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      }
      if (results.some((r) => !r.ok)) process.exitCode = ExitCode.LabError;
    });
}
