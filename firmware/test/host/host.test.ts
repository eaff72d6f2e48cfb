/**
 * `npm test` compiles the firmware's C++ protocol codec with the host g++ and runs it against the
 * golden frames the TypeScript codec is tested with (firmware/protocol/golden). A compile error,
 * a warning (-Werror) or a sanitizer report fails this test with the compiler's or program's output.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  goldenMessagesPath, goldenStreamsPath, loadGoldenMessages, loadGoldenStreams,
} from '../../../harness/protocol/golden.js';
import {
  HIL_PROTOCOL_SOURCES, HOST_SUPPORT_SOURCES, type HostBuildResult, type HostRunResult, buildHostTest,
  hostBuildDir, hostTestDir, protocolComponentDir, runHostTest,
} from './build.js';

describe('C++ protocol codec (firmware/components/hil_protocol) on the host', () => {
  let build: HostBuildResult;
  let result: HostRunResult | null = null;

  beforeAll(async () => {
    build = await buildHostTest(
      [...HIL_PROTOCOL_SOURCES, ...HOST_SUPPORT_SOURCES, path.join(hostTestDir, 'protocol_test.cpp')],
      path.join(hostBuildDir, 'protocol_test'),
    );
    if (build.ok) result = await runHostTest(build.binary, [goldenMessagesPath, goldenStreamsPath]);
  }, 300_000);

  function failures(prefix: string): string {
    return (result?.failed ?? []).filter((f) => f.id.startsWith(prefix)).map((f) => `${f.id}\n${f.detail}`).join('\n\n');
  }

  function expectPassed(ids: string[]): void {
    expect(result, 'the host test program did not run (see the compile test)').not.toBeNull();
    const passed = new Set(result!.passed);
    const missing = ids.filter((id) => !passed.has(id));
    expect(missing, `checks that did not pass:\n${failures('')}`).toEqual([]);
  }

  it('compiles with g++ -std=c++17 -Wall -Wextra -Werror -fno-exceptions -fno-rtti and sanitizers', () => {
    expect(build.ok, `${build.command}\n\n${build.log}`).toBe(true);
  });

  it('decodes every golden message to its JSON and encodes the JSON to the same bytes', () => {
    const { messages } = loadGoldenMessages();
    expectPassed(messages.flatMap((m) => (m.decodeOnly
      ? [`messages/${m.name}/decode`]
      : [`messages/${m.name}/decode`, `messages/${m.name}/encode`, `messages/${m.name}/encode-bounded`])));
  });

  it('rejects every invalid golden payload with the same reason as the TypeScript codec', () => {
    expectPassed(loadGoldenMessages().invalid.map((c) => `invalid/${c.name}`));
  });

  it('decodes every golden stream whole, byte by byte and split at every boundary', () => {
    expectPassed(loadGoldenStreams().flatMap((s) => ['whole', 'bytewise', 'split-anywhere'].map((k) => `streams/${s.name}/${k}`)));
  });

  it('passes its unit checks and the seeded decoder fuzz, with no failure and exit code 0', () => {
    expect(result, 'the host test program did not run (see the compile test)').not.toBeNull();
    expect(result!.failed, failures('')).toEqual([]);
    expect(result!.passed.filter((id) => id.startsWith('fuzz/')).length).toBeGreaterThanOrEqual(6);
    expect(result!.summary, `no SUMMARY line: the program crashed\n${result!.stderr}`).toEqual({ passed: result!.passed.length, failed: 0 });
    expect(result!.exitCode, result!.stderr).toBe(0);
  });

  it('the component is plain C++: no ESP-IDF header, and CMakeLists.txt builds every source the host builds', () => {
    const files = ['include/hil_protocol', 'src'].flatMap((d) =>
      readdirSync(path.join(protocolComponentDir, d)).map((f) => path.join(protocolComponentDir, d, f)));
    for (const file of files) {
      for (const [, header] of readFileSync(file, 'utf8').matchAll(/#include\s+[<"]([^>"]+)[>"]/g)) {
        expect(/^(c[a-z]+|hil_protocol\/[a-z_]+\.h)$/.test(header), `${file} includes ${header}`).toBe(true);
      }
    }
    const cpp = readdirSync(path.join(protocolComponentDir, 'src')).filter((f) => f.endsWith('.cpp'));
    expect(HIL_PROTOCOL_SOURCES.map((s) => path.basename(s)).sort()).toEqual(cpp.sort());
  });
});
