/**
 * Access to `../shared` (real models and inputs published by tflite-micro and esp-tflite-micro).
 * CI has that folder; a fresh clone does not. Tests that read it say so in their title and run only
 * when it is there (`describe.runIf(hasShared)`), so `npm test` on a fresh clone still passes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const sharedDir = process.env.HIL_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
export const hasShared = existsSync(path.join(sharedDir, 'models', 'tflite-micro', 'person_detect.tflite'));

/** Path of a file under `../shared/models`, e.g. `sharedModelPath('tflite-micro/person_detect.tflite')`. */
export function sharedModelPath(rel: string): string {
  return path.join(sharedDir, 'models', rel);
}

export function readSharedModel(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedModelPath(rel)));
}
