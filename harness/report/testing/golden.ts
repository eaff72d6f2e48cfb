/**
 * Golden-file checks for the text reporters (CONVENTIONS.md: output tested against golden files).
 * `UPDATE_GOLDEN=1 npx vitest run harness/report` rewrites them; review the diff before committing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const dir = fileURLToPath(new URL('../testdata/golden/', import.meta.url));

export function expectGolden(name: string, actual: string): void {
  const file = path.join(dir, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing: run UPDATE_GOLDEN=1 npx vitest run harness/report and review it`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
