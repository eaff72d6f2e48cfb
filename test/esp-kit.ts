/**
 * Access to `../shared/esp-kit`: the ESP32-S3's own tools built for this offline machine (an
 * xtensa-esp32s3-elf toolchain, ESP-IDF v5.3.1, Espressif's QEMU with the chip's ROM, the pinned
 * component sources). CI has it; a fresh clone does not. Tests that need it say so in their titles
 * and run only when it is there (`describe.runIf(hasKit)`), like the tests of `../shared/models`.
 *
 * `kitEnv()` runs the kit's install.sh once per process (it unpacks into ~/.cache/esp-kit the first
 * time, then only checks) and returns the environment it prints: PATH with the compiler, idf.py and
 * QEMU, HIL_QEMU, HIL_COMPONENTS_DIR, IDF_PATH and ESP-IDF's Python settings.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, sharedDir } from './shared.js';

export const kitDir = process.env.HIL_ESP_KIT_DIR ?? path.join(sharedDir, 'esp-kit');
export const hasKit = existsSync(path.join(kitDir, 'install.sh'));

/** The firmware builds the emulated-board tests flash (`ensureEmulatedBuilds`). */
export const EMULATED_TEST_VARIANTS = ['reference', 'esp-nn'] as const;
export const firmwareBuildDir = (buildId: string): string => path.join(repoRoot, 'firmware', 'build', buildId);

/** `export NAME="value"` and `unset A B` lines, as install.sh prints them, applied to `base`. */
export function applyExports(text: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const line of text.split('\n')) {
    const set = /^export ([A-Za-z_][A-Za-z0-9_]*)=(?:"(.*)"|(\S*))$/.exec(line.trim());
    if (set) {
      env[set[1]] = (set[2] ?? set[3] ?? '').replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => env[name] ?? '');
      continue;
    }
    const unset = /^unset (.+)$/.exec(line.trim());
    if (unset) for (const name of unset[1].split(/\s+/)) delete env[name];
  }
  return env;
}

let cached: NodeJS.ProcessEnv | undefined;

/** The environment with the kit's tools (throws with install.sh's own message when it cannot install). */
export function kitEnv(): NodeJS.ProcessEnv {
  if (cached) return cached;
  const out = execFileSync(path.join(kitDir, 'install.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 });
  cached = applyExports(out, process.env);
  return cached;
}

/** The kit's environment in this process too (the CLI run in-process, and children, see its tools). */
export function useKitEnv(): NodeJS.ProcessEnv {
  const env = kitEnv();
  for (const [k, v] of Object.entries(env)) if (v !== undefined && process.env[k] !== v) process.env[k] = v;
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  return env;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI (`node bin/hil.js ...`) as a child process with the kit's environment. */
export function hilCli(args: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin', 'hil.js'), ...args], {
      cwd: options.cwd ?? repoRoot, env: kitEnv(), timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const LOCK = path.join(repoRoot, 'firmware', 'build', '.hil-test-build.lock');

/**
 * Builds the firmware the emulated-board tests flash - `hil firmware build --for qemu` of
 * EMULATED_TEST_VARIANTS, offline from the kit's component sources - once for the whole test run:
 * the first test file that needs it builds (a cold build takes minutes; ccache shares objects between
 * the variants), the others wait on a lock directory, and later runs only check the builds
 * (incremental). While one test worker builds, the other runs the rest of the suite. The output goes
 * to test-artifacts/firmware-build.log; a failed build fails every test that needs it, with its tail.
 */
export function ensureEmulatedBuilds(): Promise<CliResult> {
  return ensureBuilt('qemu', ['firmware', 'build', '--for', 'qemu', ...EMULATED_TEST_VARIANTS.flatMap((v) => ['--variant', v])]);
}

/** The board variants (every firmware/variants/*.json), as a lab with boards builds them. */
export function ensureBoardBuilds(): Promise<CliResult> {
  return ensureBuilt('board', ['firmware', 'build']);
}

const builtOnce = new Map<string, Promise<CliResult>>();

/**
 * Runs `hil <args>` once per test run and name, one build at a time across the test workers (the
 * builds share firmware/managed_components and ccache): later callers wait on a lock directory and
 * get the recorded result. The output goes to test-artifacts/firmware-build-<name>.log.
 */
function ensureBuilt(name: string, args: string[]): Promise<CliResult> {
  let p = builtOnce.get(name);
  if (!p) {
    p = buildUnderLock(name, args);
    builtOnce.set(name, p);
  }
  return p;
}

async function buildUnderLock(name: string, args: string[]): Promise<CliResult> {
  mkdirSync(path.dirname(LOCK), { recursive: true });
  // Built (or checked) once per test run: vitest.config.ts gives the run an id its workers inherit.
  const done = path.join(path.dirname(LOCK), `.hil-test-built-${name}-${process.env.HIL_TEST_RUN ?? process.pid}`);
  const recorded = (): CliResult => JSON.parse(readFileSync(done, 'utf8')) as CliResult;
  if (existsSync(done)) return recorded();
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Someone else builds. A lock older than an hour is a leftover of a killed run.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 3_600_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 2000));
      if (existsSync(done)) return recorded();
    }
  }
  try {
    if (existsSync(done)) return recorded();
    const artifacts = path.join(repoRoot, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    const logFile = path.join(artifacts, `firmware-build-${name}.log`);
    const started = Date.now();
    const r = await hilCli(args, { timeoutMs: 45 * 60_000 });
    const log = createWriteStream(logFile);
    log.end(`$ hil ${args.join(' ')}\n${r.stdout}${r.stderr}\n(exit ${r.code} after ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    if (r.code !== 0) {
      const tail = `${r.stdout}${r.stderr}`.trimEnd().split('\n').slice(-15).join('\n');
      throw new Error(`hil ${args.join(' ')} failed (exit ${r.code}); log: ${path.relative(repoRoot, logFile)}\n${tail}`);
    }
    writeFileSync(done, JSON.stringify(r));
    return r;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** The flash regions of a build, from its flasher_args.json: offset and bytes. */
export function buildRegions(buildId: string): Array<{ offset: number; file: string; bytes: Uint8Array }> {
  const dir = firmwareBuildDir(buildId);
  const args = JSON.parse(readFileSync(path.join(dir, 'flasher_args.json'), 'utf8')) as { flash_files: Record<string, string> };
  return Object.entries(args.flash_files).map(([offset, file]) => ({ offset: Number(offset), file, bytes: new Uint8Array(readFileSync(path.join(dir, file))) }));
}
