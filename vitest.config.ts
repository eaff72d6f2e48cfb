import { defineConfig } from 'vitest/config';

// One id per test run, inherited by the workers: test/esp-kit.ts builds the emulated boards' firmware once per run.
process.env.HIL_TEST_RUN ??= `${Date.now()}-${process.pid}`;

export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts', 'firmware/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests start PTYs, brokers, Chromium and the real CLI: give them room, and keep
    // the machine (2 cores) from being oversubscribed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
