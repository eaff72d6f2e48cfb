/**
 * The firmware's portable C++ (firmware/components/hil_core) compiled with the host g++
 * (-std=c++17 -Wall -Wextra -Werror) and run: cycle-count wrap arithmetic, SHA-256 test vectors,
 * arena and chunk bookkeeping, the model partition header, log text and the per-op profiler.
 * A compile error fails every test here with the compiler's output.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHostBinary } from './build.js';

const coreSources = [
  'components/hil_core/src/buffers.cpp',
  'components/hil_core/src/cycles.cpp',
  'components/hil_core/src/log_text.cpp',
  'components/hil_core/src/model_image.cpp',
  'components/hil_core/src/op_profile.cpp',
  'components/hil_core/src/sha256.cpp',
];

/** Runs one suite of the C++ test binary; returns its failure lines and summary. */
function runSuite(binary: string, suite: string): { status: number | null; failures: string[]; summary: string } {
  const r = spawnSync(binary, [suite], { encoding: 'utf8', timeout: 60_000 });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.length > 0);
  return {
    status: r.status,
    failures: lines.filter((l) => l.startsWith('FAIL ')),
    summary: lines.find((l) => l.startsWith('suite ')) ?? `no summary (stderr: ${r.stderr})`,
  };
}

describe('firmware core on the host (g++ -std=c++17 -Wall -Wextra -Werror)', () => {
  let binary = '';
  beforeAll(async () => {
    binary = await buildHostBinary({
      name: 'host_app_core_tests',
      sources: [
        ...coreSources,
        'test/host-app/check_main.cpp',
        'test/host-app/host_platform.cpp',
        'test/host-app/test_core.cpp',
      ],
      includeDirs: ['components/hil_core/include', 'test/host-app'],
    });
  }, 180_000);

  for (const suite of ['cycles', 'sha256', 'buffers', 'model_image', 'log_text', 'op_profile']) {
    it(`${suite}: every check passes`, () => {
      const r = runSuite(binary, suite);
      expect(r.failures).toEqual([]);
      expect(r.summary).toMatch(new RegExp(`^suite ${suite}: [1-9]\\d* tests, [1-9]\\d* checks, 0 failures$`));
      expect(r.status).toBe(0);
    });
  }

  it('an unknown suite fails (the runner cannot pass by running nothing)', () => {
    const r = runSuite(binary, 'no_such_suite');
    expect(r.summary).toBe('suite no_such_suite: 0 tests, 0 checks, 0 failures');
    expect(r.status).toBe(1);
  });
});
