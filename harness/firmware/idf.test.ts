import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLabError } from '../errors.js';
import { findIdf, findOnPath, IDF_NOT_FOUND, parseIdfVersionCmake } from './idf.js';

const versionCmake = (major: number, minor: number, patch: number): string =>
  `set(IDF_VERSION_MAJOR ${major})\nset(IDF_VERSION_MINOR ${minor})\nset(IDF_VERSION_PATCH ${patch})\n\nset(ENV{IDF_VERSION} "\${IDF_VERSION_MAJOR}.\${IDF_VERSION_MINOR}.\${IDF_VERSION_PATCH}")\n`;

/** A fake file system: the set of existing files and their texts. */
function fakeFs(files: Record<string, string>): { isFile: (p: string) => boolean; readText: (p: string) => string } {
  return {
    isFile: (p) => p in files,
    readText: (p) => {
      if (!(p in files)) throw new Error(`ENOENT ${p}`);
      return files[p];
    },
  };
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isLabError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a LabError');
}

describe('finding ESP-IDF', () => {
  const idfPy = path.join('/opt/esp/idf/tools', 'idf.py');
  const version = path.join('/opt/esp/idf', 'tools', 'cmake', 'version.cmake');

  it('says how to get ESP-IDF when IDF_PATH is unset and idf.py is not on PATH', () => {
    const msg = failure(() => findIdf({ env: { PATH: '/usr/bin:/bin' }, ...fakeFs({}) }));
    expect(msg).toBe(IDF_NOT_FOUND);
    expect(msg).toBe('ESP-IDF not found: install ESP-IDF >= 5.1 and run `. $IDF_PATH/export.sh`, or use the GitHub Actions workflow (.github/workflows/firmware.yml).');
  });

  it('says the same when IDF_PATH is set but export.sh was not run (idf.py not on PATH)', () => {
    const fs = fakeFs({ [idfPy]: '', [version]: versionCmake(5, 3, 1) });
    expect(failure(() => findIdf({ env: { IDF_PATH: '/opt/esp/idf', PATH: '/usr/bin' }, ...fs }))).toBe(IDF_NOT_FOUND);
  });

  it('finds idf.py on PATH and reads the version from tools/cmake/version.cmake', () => {
    const fs = fakeFs({ [idfPy]: '', [version]: versionCmake(5, 1, 4) });
    const idf = findIdf({ env: { IDF_PATH: '/opt/esp/idf', PATH: ['/usr/bin', '/opt/esp/idf/tools'].join(path.delimiter) }, ...fs });
    expect(idf).toEqual({ idfPath: '/opt/esp/idf', idfPy, version: { major: 5, minor: 1, patch: 4 } });
  });

  it('refuses ESP-IDF older than 5.1, naming the version found', () => {
    const fs = fakeFs({ [idfPy]: '', [version]: versionCmake(5, 0, 6) });
    const msg = failure(() => findIdf({ env: { IDF_PATH: '/opt/esp/idf', PATH: '/opt/esp/idf/tools' }, ...fs }));
    expect(msg).toBe('ESP-IDF v5.0.6 at /opt/esp/idf is too old: the firmware needs ESP-IDF >= 5.1 (espressif/esp-tflite-micro requires it); install a newer one and run `. $IDF_PATH/export.sh`.');
  });

  it('says when IDF_PATH is not an ESP-IDF checkout', () => {
    const fs = fakeFs({ [idfPy]: '' });
    expect(failure(() => findIdf({ env: { IDF_PATH: '/opt/esp/idf', PATH: '/opt/esp/idf/tools' }, ...fs }))).toMatch(
      /^IDF_PATH=\/opt\/esp\/idf is not an ESP-IDF checkout \(no version in .*version\.cmake\)/,
    );
  });

  it('parses version.cmake and rejects other text', () => {
    expect(parseIdfVersionCmake(versionCmake(6, 0, 0))).toEqual({ major: 6, minor: 0, patch: 0 });
    expect(parseIdfVersionCmake('set(IDF_VERSION_MAJOR 5)')).toBeUndefined();
  });

  it('searches PATH entries in order and skips empty ones', () => {
    const isFile = (p: string): boolean => p === path.join('/b', 'idf.py') || p === path.join('/c', 'idf.py');
    expect(findOnPath('idf.py', ['', '/a', '/b', '/c'].join(path.delimiter), isFile)).toBe(path.join('/b', 'idf.py'));
    expect(findOnPath('idf.py', undefined, isFile)).toBeUndefined();
  });
});
