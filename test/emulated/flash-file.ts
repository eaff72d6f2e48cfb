/** A flash image for an emulated board written straight from a build (tests that do not test flashing). */
import { closeSync, openSync, writeSync } from 'node:fs';
import { buildRegions } from '../esp-kit.js';

/** Creates `file` erased (0xFF, `bytes` long) and writes the build's regions at their offsets. */
export function writeBuildToFlash(file: string, buildId: string, bytes: number): void {
  const fd = openSync(file, 'w');
  try {
    const erased = Buffer.alloc(1024 * 1024, 0xff);
    for (let done = 0; done < bytes; done += erased.length) writeSync(fd, erased, 0, Math.min(erased.length, bytes - done), done);
    for (const region of buildRegions(buildId)) writeSync(fd, region.bytes, 0, region.bytes.length, region.offset);
  } finally {
    closeSync(fd);
  }
}
