import { describe, expect, it } from 'vitest';
import { parseVariant } from './variants.js';

describe('parseVariant', () => {
  it('reads the variant files and the build ids the planner makes of them', () => {
    expect(parseVariant('esp-nn')).toEqual({ name: 'esp-nn', kernelBackend: 'esp-nn', espNnVersion: '1.1.2', cpuMhz: 240 });
    expect(parseVariant('reference')).toEqual({ name: 'reference', kernelBackend: 'reference', espNnVersion: '1.1.2', cpuMhz: 240 });
    expect(parseVariant('esp-nn-1.2.6')).toMatchObject({ kernelBackend: 'esp-nn', espNnVersion: '1.2.6' });
    expect(parseVariant('esp-nn-160mhz')).toMatchObject({ name: 'esp-nn-160mhz', cpuMhz: 160 });
    expect(parseVariant('reference-1.2.3-80mhz')).toMatchObject({ kernelBackend: 'reference', espNnVersion: '1.2.3', cpuMhz: 80 });
  });

  it('refuses names no simulated build stands for', () => {
    for (const bad of ['', 'esp-nn-9000', 'esp-nn-120mhz', 'tflite', 'ESP-NN']) expect(parseVariant(bad)).toBeUndefined();
  });
});
