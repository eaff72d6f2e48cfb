/**
 * The demo models checked in under models/demo (made by `npm run models`), measured again here with
 * the lab's interpreter on the checked-in evaluation set: what their README promises must hold.
 * Needs neither ../shared nor the Fashion-MNIST package.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { top1Accuracy } from '../../harness/datasets/accuracy.js';
import { demoSetFiles, loadDemoEvalSet } from '../../harness/datasets/demo-sets.js';
import { quantizeFile } from '../../harness/cli/quantize.js';
import { readModel } from '../../harness/tflite/reader.js';
import type { DemoMetrics } from '../../scripts/models/build.js';
import { repoRoot } from '../shared.js';

const demoDir = path.join(repoRoot, 'models', 'demo');
const metrics = JSON.parse(readFileSync(path.join(demoDir, 'metrics.json'), 'utf8')) as DemoMetrics;
const readme = readFileSync(path.join(demoDir, 'README.md'), 'utf8');
const evalSet = loadDemoEvalSet();
const file = (name: string) => new Uint8Array(readFileSync(path.join(demoDir, name)));

describe('the checked-in demo models', () => {
  it.each(['cnn', 'mobilenet'])('fashion_%s: INT8 top-1 is within 1 point of float on the 2,000 evaluation images', (arch) => {
    const float = top1Accuracy(readModel(file(`fashion_${arch}_float.tflite`)), evalSet);
    const int8 = top1Accuracy(readModel(file(`fashion_${arch}_int8.tflite`)), evalSet);
    expect(float.images).toBe(2000);
    expect(float.top1).toBeGreaterThanOrEqual(0.85);
    expect(Math.abs(float.top1 - int8.top1)).toBeLessThanOrEqual(0.01);
    // The numbers the README table shows are the ones the lab measures today.
    const recorded = metrics.models.find((m) => m.architecture === arch)!;
    expect([float.correct, int8.correct]).toEqual([recorded.float.correct, recorded.int8.correct]);
    expect(readme).toContain(`| \`fashion_${arch}_int8.tflite\` | int8 | ${(100 * int8.top1).toFixed(2)} %`);
  });

  it.each(['cnn', 'mobilenet'])('fashion_%s: the INT8 file is at least 3x smaller than the float one', (arch) => {
    const ratio = file(`fashion_${arch}_float.tflite`).length / file(`fashion_${arch}_int8.tflite`).length;
    expect(ratio).toBeGreaterThanOrEqual(3);
  });

  it('INT8 models take pixel - 128 and give probabilities at scale 1/256, zero point -128', () => {
    for (const arch of ['cnn', 'mobilenet']) {
      const g = readModel(file(`fashion_${arch}_int8.tflite`)).subgraphs[0];
      const input = g.tensors[g.inputs[0]];
      const output = g.tensors[g.outputs[0]];
      expect([input.type, input.shape, input.quantization!.scale[0], input.quantization!.zeroPoint[0]]).toEqual(['int8', [1, 28, 28, 1], Math.fround(1 / 255), -128]);
      expect([output.type, output.shape, output.quantization!.scale[0], output.quantization!.zeroPoint[0]]).toEqual(['int8', [1, 10], 1 / 256, -128]);
    }
  });

  it.each(['cnn', 'mobilenet'])('hil model quantize reproduces fashion_%s_int8.tflite byte for byte from the float model and the calibration set', (arch) => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'hil-demo-')), 'int8.tflite');
    const summary = quantizeFile(path.join(demoDir, `fashion_${arch}_float.tflite`), {
      calibration: demoSetFiles.calibrationImages, out, io: 'int8', calibrationMethod: 'minmax', percentile: 99.99, pixelScale: 1 / 255, pixelOffset: 0,
    });
    expect(summary.calibration.samples).toBe(500);
    expect(Buffer.compare(readFileSync(out), readFileSync(path.join(demoDir, `fashion_${arch}_int8.tflite`)))).toBe(0);
  });

  it('are the files the README describes (sha256)', () => {
    for (const m of metrics.models.flatMap((a) => [a.float, a.int8])) {
      const sum = createHash('sha256').update(file(m.file)).digest('hex');
      expect(sum).toBe(m.sha256);
      expect(readme).toContain(`| \`${m.file}\` |`);
      expect(readme).toContain(`\`${sum}\``);
    }
  });
});
