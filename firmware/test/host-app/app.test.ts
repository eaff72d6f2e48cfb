/**
 * The firmware's portable C++ (firmware/components/hil_core, with the protocol codec) compiled
 * with the host g++ through the shared helper firmware/test/host/build.ts (-std=c++17 -Wall
 * -Wextra -Werror, no exceptions, no RTTI, ASan + UBSan) and run:
 * - core: cycle-count wrap arithmetic, SHA-256 test vectors, aligned blocks and chunk reassembly,
 *   the model partition header, log text, the per-op profiler;
 * - handler: the protocol state machine driven by encoded request frames through a Session, on a
 *   host platform and a host interpreter that really runs small .tflite models (written here with
 *   the lab's GraphBuilder; expected outputs from harness/tflite/quant-math.ts).
 * A compile error or a sanitizer report fails these tests with the compiler's / program's output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared, sharedDir } from '../../../test/shared.js';
import { buildHostTest, componentSources, firmwareDir, HIL_PROTOCOL_SOURCES, hostBuildDir, type HostBuildResult } from '../host/build.js';
import { writeHostTestModels } from './models.js';

const hostApp = (f: string): string => path.join(firmwareDir, 'test', 'host-app', f);
/** What the firmware's hil_core component compiles (its CMakeLists.txt SRCS). */
const coreSources = componentSources(path.join(firmwareDir, 'components', 'hil_core'));
const includeDirs = [path.join(firmwareDir, 'components', 'hil_core', 'include'), hostApp('.')];

/** Runs one suite of a C++ test binary; returns its failure lines and summary. */
function runSuite(binary: string, suite: string, env: NodeJS.ProcessEnv = {}): { status: number | null; failures: string[]; summary: string; stderr: string } {
  const r = spawnSync(binary, [suite], {
    encoding: 'utf8',
    timeout: 120_000,
    // Leak checks need ptrace, which containers forbid (as in firmware/test/host/build.ts).
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0', UBSAN_OPTIONS: 'print_stacktrace=1', ...env },
  });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.length > 0);
  return {
    status: r.status,
    failures: lines.filter((l) => l.startsWith('FAIL ')),
    summary: lines.find((l) => l.startsWith('suite ')) ?? `no summary; stderr:\n${r.stderr}`,
    stderr: r.stderr ?? '',
  };
}

function expectBuilt(build: HostBuildResult): void {
  expect(build.ok, `${build.command}\n${build.log}`).toBe(true);
}

describe('firmware core on the host (g++ -Werror, sanitizers)', () => {
  let build: HostBuildResult;
  beforeAll(async () => {
    build = await buildHostTest(
      [...coreSources, ...HIL_PROTOCOL_SOURCES, ...['check_main.cpp', 'host_platform.cpp', 'test_core.cpp'].map(hostApp)],
      path.join(hostBuildDir, 'host_app_core_tests'),
      { includeDirs },
    );
  }, 300_000);

  it('compiles', () => expectBuilt(build));

  for (const suite of ['cycles', 'sha256', 'buffers', 'model_image', 'log_text', 'op_profile', 'tensor_type']) {
    it(`${suite}: every check passes`, () => {
      expectBuilt(build);
      const r = runSuite(build.binary, suite);
      expect(r.failures).toEqual([]);
      expect(r.summary).toMatch(new RegExp(`^suite ${suite}: [1-9]\\d* tests, [1-9]\\d* checks, 0 failures$`));
      expect(r.status, r.stderr).toBe(0);
    });
  }

  it('an unknown suite fails (the runner cannot pass by running nothing)', () => {
    expectBuilt(build);
    const r = runSuite(build.binary, 'no_such_suite');
    expect(r.summary).toBe('suite no_such_suite: 0 tests, 0 checks, 0 failures');
    expect(r.status).toBe(1);
  });
});

describe('firmware command handler on the host: the protocol state machine over a byte stream (g++ -Werror, sanitizers)', () => {
  let build: HostBuildResult;
  let models = '';
  beforeAll(async () => {
    models = mkdtempSync(path.join(os.tmpdir(), 'hil-host-models-'));
    writeHostTestModels(models);
    build = await buildHostTest(
      [
        ...coreSources,
        ...HIL_PROTOCOL_SOURCES,
        ...['check_main.cpp', 'host_platform.cpp', 'host_runner.cpp', 'bench.cpp', 'test_handler.cpp'].map(hostApp),
      ],
      path.join(hostBuildDir, 'host_app_handler_tests'),
      { includeDirs },
    );
  }, 300_000);
  afterAll(() => {
    if (models) rmSync(models, { recursive: true, force: true });
  });

  it('compiles', () => expectBuilt(build));

  it('hello, errors, state machine, upload with sha256, arena, invoke with cycle counts, profile, outputs, accuracy, memory, partition', () => {
    expectBuilt(build);
    const r = runSuite(build.binary, 'handler', { HIL_HOST_MODELS: models });
    expect(r.failures).toEqual([]);
    expect(r.summary).toMatch(/^suite handler: [1-9]\d* tests, [1-9]\d* checks, 0 failures$/);
    expect(r.status, r.stderr).toBe(0);
  });

  it.runIf(hasShared)('hello_world_int8 through the handler gives TFLM\'s outputs (needs ../shared)', () => {
    expectBuilt(build);
    const r = runSuite(build.binary, 'shared', { HIL_HOST_MODELS: models, HIL_SHARED_MODELS: path.join(sharedDir, 'models') });
    expect(r.failures).toEqual([]);
    expect(r.summary).toMatch(/^suite shared: 1 tests, [1-9]\d* checks, 0 failures$/);
    expect(r.status, r.stderr).toBe(0);
  });
});
