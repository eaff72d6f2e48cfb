/**
 * Compiles the firmware's portable C++ with the host g++ for the host tests, with the flags the
 * issue asks for (-std=c++17 -Wall -Wextra -Werror). A compile error throws with the compiler's
 * output, so the vitest test that asked for the build fails showing it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const firmwareDir = fileURLToPath(new URL('../..', import.meta.url));
export const hostAppDir = fileURLToPath(new URL('.', import.meta.url));

export interface HostBuild {
  /** Source files, absolute or relative to firmware/. */
  sources: string[];
  /** Include directories, absolute or relative to firmware/. */
  includeDirs: string[];
  /** Name of the binary (it goes to a temp directory keyed by the sources' content). */
  name: string;
}

export const CXXFLAGS = ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1', '-g'] as const;

/** Builds the binary and returns its path. */
export async function buildHostBinary(build: HostBuild): Promise<string> {
  const resolve = (p: string): string => (path.isAbsolute(p) ? p : path.join(firmwareDir, p));
  const sources = build.sources.map(resolve);
  const includes = build.includeDirs.map(resolve);
  // Content-keyed output directory: parallel test files and reruns never race on one binary.
  const hash = createHash('sha256');
  for (const s of sources) hash.update(s).update(readFileSync(s));
  const outDir = path.join(os.tmpdir(), `hil-host-app-${hash.digest('hex').slice(0, 16)}`);
  mkdirSync(outDir, { recursive: true });
  const output = path.join(outDir, build.name);
  const args = [...CXXFLAGS, ...includes.map((d) => `-I${d}`), ...sources, '-o', output];
  try {
    await run('g++', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`g++ failed to build ${build.name}:\n${err.stderr ?? ''}${err.stdout ?? ''}${err.stderr ? '' : err.message}`);
  }
  return output;
}
