/**
 * Writes the example model `npm start` inspects: harness/tflite/testdata/tiny_conv_int8.tflite, a
 * tiny int8 image classifier in the shape of person_detect made with the lab's GraphBuilder
 * (harness/tflite/example-models.ts). Deterministic: re-running it rewrites the same bytes, which
 * harness/cli/model.test.ts checks.
 *
 *   npx tsx scripts/make-example-model.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tinyConvInt8 } from '../harness/tflite/example-models.js';
import { writeModel } from '../harness/tflite/writer.js';

export const exampleModelPath = fileURLToPath(new URL('../harness/tflite/testdata/tiny_conv_int8.tflite', import.meta.url));

export function makeExampleModel(): Uint8Array {
  return writeModel(tinyConvInt8());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = makeExampleModel();
  writeFileSync(exampleModelPath, bytes);
  process.stdout.write(`wrote ${exampleModelPath} (${bytes.length} bytes)\n`);
}
