/**
 * Builds and runs the firmware's host tests: portable C++ of firmware/ compiled with the host g++
 * (issue 7: "the firmware's portable code compiles with host g++ and is tested in npm test").
 *
 * Flags are ESP-IDF's spirit and stricter: C++17, -Wall -Wextra -Werror, no exceptions, no RTTI (the
 * IDF defaults), plus AddressSanitizer and UBSan so an out-of-bounds read in a decoder fails the
 * test instead of passing by luck. Builds are cached by the hash of compiler, flags and every
 * source and header, so `npm test` recompiles only when something changed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const hostTestDir = path.dirname(fileURLToPath(import.meta.url));
export const firmwareDir = path.resolve(hostTestDir, '..', '..');
export const protocolComponentDir = path.join(firmwareDir, 'components', 'hil_protocol');

/** Where cached host-test binaries live (outside the repository). */
export const hostBuildDir = path.join(tmpdir(), 'hil-host-tests');

export const HOST_CXXFLAGS: readonly string[] = [
  '-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1', '-g', '-fno-exceptions', '-fno-rtti',
  '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
];

/**
 * The sources an ESP-IDF component compiles, read from the `SRCS` of its
 * `idf_component_register(...)`, so host tests build exactly what the firmware builds.
 */
export function componentSources(componentDir: string): string[] {
  const cmake = readFileSync(path.join(componentDir, 'CMakeLists.txt'), 'utf8');
  const srcs = /SRCS((?:\s+"[^"]+")+)/.exec(cmake);
  if (!srcs) throw new Error(`${componentDir}/CMakeLists.txt has no SRCS "..." list in idf_component_register`);
  return [...srcs[1].matchAll(/"([^"]+)"/g)].map((m) => path.join(componentDir, m[1]));
}

/** The protocol codec's sources and include directory. */
export const HIL_PROTOCOL_SOURCES = componentSources(protocolComponentDir);
export const HIL_PROTOCOL_INCLUDE = path.join(protocolComponentDir, 'include');
/** Test support every host test may use: JSON, messages as JSON, the PASS/FAIL reporter. */
export const HOST_SUPPORT_SOURCES = ['json.cpp', 'message_json.cpp'].map((f) => path.join(hostTestDir, f));

export interface HostBuildOptions {
  /** Extra `-I` directories (the protocol's include dir and this directory are always there). */
  includeDirs?: string[];
  /** Extra flags after HOST_CXXFLAGS, e.g. ['-DHIL_HOST_TEST=1']. */
  extraFlags?: string[];
  /** Compiler; default `$CXX` or `g++`. */
  compiler?: string;
}

export interface HostBuildResult {
  ok: boolean;
  binary: string;
  /** The command line, for the failure message. */
  command: string;
  /** Compiler output (errors and warnings), or why the compiler could not run. */
  log: string;
  cached: boolean;
}

/**
 * Compiles `sources` into the executable `output`. Never throws for a compile error: the result
 * carries the compiler output, so a test can fail with it.
 */
export async function buildHostTest(sources: string[], output: string, options: HostBuildOptions = {}): Promise<HostBuildResult> {
  const compiler = options.compiler ?? process.env.CXX ?? 'g++';
  const includeDirs = [HIL_PROTOCOL_INCLUDE, hostTestDir, ...(options.includeDirs ?? [])];
  const args = [
    ...HOST_CXXFLAGS, ...(options.extraFlags ?? []), ...includeDirs.map((d) => `-I${d}`), ...sources,
  ];
  const command = [compiler, ...args, '-o', output].join(' ');

  const version = await run(compiler, ['--version']);
  if (version.error) {
    return { ok: false, binary: output, command, log: `${compiler} could not run (${version.error}): install g++ (apt-get install g++) or set CXX`, cached: false };
  }
  const hash = createHash('sha256').update(version.stdout).update(JSON.stringify(args));
  for (const file of [...sources, ...includeDirs.flatMap(headersUnder)]) hash.update(file).update(readFileSync(file));
  const digest = hash.digest('hex');
  const stamp = `${output}.buildhash`;
  if (existsSync(output) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
    return { ok: true, binary: output, command, log: '', cached: true };
  }

  mkdirSync(path.dirname(output), { recursive: true });
  const temp = `${output}.${process.pid}.tmp`; // rename at the end: a half-written binary is never run
  const result = await run(compiler, [...args, '-o', temp], 300_000);
  const log = `${result.stdout}${result.stderr}${result.error ? `\n${result.error}` : ''}`.trim();
  if (result.code !== 0) return { ok: false, binary: output, command, log, cached: false };
  renameSync(temp, output);
  writeFileSync(stamp, digest);
  return { ok: true, binary: output, command, log, cached: false };
}

export interface HostTestFailure {
  id: string;
  detail: string;
}

export interface HostRunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Ids of the checks that printed PASS. */
  passed: string[];
  failed: HostTestFailure[];
  /** From the SUMMARY line; null when the program died before printing it. */
  summary: { passed: number; failed: number } | null;
}

/** Runs a host test program and parses its PASS / FAIL / SUMMARY lines (test_report.h). */
export async function runHostTest(binary: string, args: string[] = [], timeoutMs = 120_000): Promise<HostRunResult> {
  const r = await run(binary, args, timeoutMs, {
    ...process.env,
    // Leak checking needs ptrace, which containers often forbid; the firmware code has no heap anyway.
    ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=0',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS ?? 'print_stacktrace=1',
  });
  const passed: string[] = [];
  const failed: HostTestFailure[] = [];
  let summary: HostRunResult['summary'] = null;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('PASS ')) passed.push(line.slice(5));
    else if (line.startsWith('FAIL ')) {
      const sep = line.indexOf(' :: ');
      failed.push(sep < 0 ? { id: line.slice(5), detail: '' } : { id: line.slice(5, sep), detail: line.slice(sep + 4).replaceAll('\\n', '\n') });
    } else {
      const m = /^SUMMARY passed=(\d+) failed=(\d+)$/.exec(line);
      if (m) summary = { passed: Number(m[1]), failed: Number(m[2]) };
    }
  }
  return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr + (r.error ? `\n${r.error}` : ''), passed, failed, summary };
}

function headersUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...headersUnder(p));
    else if (/\.(h|hpp)$/.test(entry)) out.push(p);
  }
  return out.sort();
}

interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
  error: string | null;
}

function run(file: string, args: string[], timeout = 60_000, env?: NodeJS.ProcessEnv): Promise<RunOutput> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout, maxBuffer: 64 * 1024 * 1024, env }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      let error: string | null = null;
      let code: number | null = 0;
      if (e) {
        if (typeof e.code === 'number') code = e.code;
        else {
          code = null;
          error = e.killed ? `killed after ${timeout} ms` : (e.code ?? e.message);
        }
      }
      resolve({ code, stdout: String(stdout), stderr: String(stderr), error });
    });
  });
}
