/**
 * Fuzzing the reader: thousands of seeded mutations (bit flips, byte overwrites, chunk deletions and
 * duplications, corrupted length / offset fields, truncations) of real models. Each case must end
 * in a `LabError` ('model-format', message starting with the file name) or in a Model that keeps the
 * reader's promises (indices in range, constant buffers large enough), within a time bound. Any
 * other exception, or a slow case, fails the test and prints the seed and mutations to replay it.
 */
import { describe, expect, it } from 'vitest';
import { hasShared, readSharedModel } from '../../test/shared.js';
import { mulberry32 } from '../datasets/random.js';
import { isLabError } from '../errors.js';
import { mlpFloat, tinyConvInt8 } from './example-models.js';
import { elementSize, shapeSize, type Model } from './model.js';
import { readModel } from './reader.js';
import { writeModel } from './writer.js';

/** Per-case bound. A case over it is re-timed once (the machine is shared) before it counts as slow. */
const TIME_BOUND_MS = 50;

const INTERESTING_U32 = [0, 1, 2, 3, 4, 8, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

interface Mutated { bytes: Uint8Array; steps: string[] }

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Applies 1-3 seeded mutations to a copy of `original`. */
function mutate(original: Uint8Array, seed: number): Mutated {
  const random = mulberry32(seed);
  const int = (n: number): number => Math.floor(random() * n);
  let bytes: Uint8Array = original.slice();
  const steps: string[] = [];
  const count = 1 + int(3);
  for (let k = 0; k < count && bytes.length > 0; k++) {
    const kind = int(6);
    const at = int(bytes.length);
    switch (kind) {
      case 0: { // bit flips
        const n = 1 + int(8);
        for (let i = 0; i < n; i++) { const p = int(bytes.length); bytes[p] ^= 1 << int(8); }
        steps.push(`flip ${n} bits`);
        break;
      }
      case 1: { // byte overwrites
        const n = 1 + int(16);
        for (let i = 0; i < n; i++) bytes[int(bytes.length)] = random() < 0.5 ? int(256) : [0, 0x7f, 0x80, 0xff][int(4)];
        steps.push(`overwrite ${n} bytes`);
        break;
      }
      case 2: { // chunk deletion
        const len = 1 + int(Math.min(256, bytes.length - at));
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + len));
        steps.push(`delete ${len} bytes at ${at}`);
        break;
      }
      case 3: { // chunk duplication (a copy of a chunk inserted elsewhere)
        const len = 1 + int(Math.min(256, bytes.length - at));
        const to = int(bytes.length);
        const chunk = bytes.slice(at, at + len);
        bytes = concat(bytes.subarray(0, to), chunk, bytes.subarray(to));
        steps.push(`duplicate ${len} bytes from ${at} to ${to}`);
        break;
      }
      case 4: { // a length or offset field: an aligned uint32 set to a boundary value
        const p = (at & ~3) + 4 <= bytes.length ? at & ~3 : Math.max(0, bytes.length - 4) & ~3;
        if (p + 4 > bytes.length) break;
        const value = random() < 0.7 ? INTERESTING_U32[int(INTERESTING_U32.length)]
          : random() < 0.5 ? bytes.length - p + int(16) - 8 : int(2 ** 32);
        new DataView(bytes.buffer, bytes.byteOffset).setUint32(p, value >>> 0, true);
        steps.push(`set u32 at ${p} to ${value >>> 0}`);
        break;
      }
      default: { // truncation
        bytes = bytes.slice(0, at);
        steps.push(`truncate to ${at} bytes`);
      }
    }
  }
  return { bytes, steps };
}

/** What the reader promises about a Model it returns; throws on a broken promise. */
function checkModel(m: Model): void {
  const sg = m.subgraphs[0];
  const n = sg.tensors.length;
  const inRange = (i: number, omittable: boolean): boolean => (i >= 0 && i < n) || (omittable && i === -1);
  if (m.subgraphs.length !== 1 || m.version !== 3) throw new Error('version or subgraph count');
  if (![...sg.inputs, ...sg.outputs].every((i) => inRange(i, false))) throw new Error('subgraph I/O index');
  for (const op of sg.operators) {
    if (!m.operatorCodes[op.opcodeIndex] || op.op !== m.operatorCodes[op.opcodeIndex].builtin) throw new Error('opcode');
    if (!op.inputs.every((i) => inRange(i, true)) || !op.outputs.every((i) => inRange(i, false))) throw new Error('operator tensor index');
  }
  for (const t of sg.tensors) {
    const data = m.buffers[t.buffer];
    if (t.buffer !== 0 && data === undefined) throw new Error(`tensor ${t.index} buffer index`);
    const bytes = shapeSize(t.shape) * (elementSize(t.type) ?? 0);
    if (data && data.length > 0 && data.length < bytes) throw new Error(`tensor ${t.index} buffer too small`);
  }
  for (const md of m.metadata) if (!m.buffers[md.buffer]) throw new Error('metadata buffer');
}

interface FuzzStats { cases: number; errors: number; models: number; maxMs: number; failures: string[] }

function fuzz(name: string, original: Uint8Array, cases: number, firstSeed: number): FuzzStats {
  const stats: FuzzStats = { cases: 0, errors: 0, models: 0, maxMs: 0, failures: [] };
  for (let seed = firstSeed; seed < firstSeed + cases; seed++) {
    const { bytes, steps } = mutate(original, seed);
    const source = `fuzz-${seed}.tflite`;
    const attempt = (): { ms: number; outcome: 'error' | 'model' | string } => {
      const t0 = performance.now();
      let outcome: string;
      try {
        checkModel(readModel(bytes, { source }));
        outcome = 'model';
      } catch (e) {
        outcome = isLabError(e) && e.code === 'model-format' && e.message.startsWith(`${source}: `)
          ? 'error' : `${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
      }
      return { ms: performance.now() - t0, outcome };
    };
    let result = attempt();
    if (result.ms > TIME_BOUND_MS) {
      const again = attempt();
      result = { ms: Math.min(result.ms, again.ms), outcome: result.outcome };
    }
    stats.cases++;
    stats.maxMs = Math.max(stats.maxMs, result.ms);
    const replay = `${name} seed ${seed} (${steps.join('; ')})`;
    if (result.outcome === 'error') stats.errors++;
    else if (result.outcome === 'model') stats.models++;
    else stats.failures.push(`${replay}: ${result.outcome}`);
    if (result.ms > TIME_BOUND_MS) stats.failures.push(`${replay}: took ${result.ms.toFixed(1)} ms (bound ${TIME_BOUND_MS} ms)`);
  }
  return stats;
}

function report(name: string, s: FuzzStats): void {
  console.log(`fuzz ${name}: ${s.cases} cases, ${s.errors} LabErrors, ${s.models} valid models, max ${s.maxMs.toFixed(2)} ms per case`);
  expect(s.failures, `cases that neither failed cleanly nor read a valid model:\n${s.failures.slice(0, 20).join('\n')}`).toEqual([]);
}

describe('reader fuzzing on models the lab writes', () => {
  it.each([
    ['tiny_conv_int8', tinyConvInt8],
    ['mlp_float', mlpFloat],
  ])('%s: 2500 mutated copies each end in a LabError or a valid model', (name, make) => {
    const stats = fuzz(name, writeModel(make()), 2500, 1);
    report(name, stats);
    // The mutations must reach past the header checks, or the fuzzing proves little.
    expect(stats.models).toBeGreaterThan(100);
    expect(stats.errors).toBeGreaterThan(500);
  });

});

describe.runIf(hasShared)('reader fuzzing on the shared models (needs ../shared)', () => {
  it.each(['hello_world_float', 'hello_world_int8', 'person_detect', 'person_detect_vela', 'micro_speech_quantized',
    'simple_add_model', 'keyword_scrambled'])('%s: 500 mutated copies each end in a LabError or a valid model', (name) => {
    report(name, fuzz(name, readSharedModel(`tflite-micro/${name}.tflite`), 500, 100_000));
  });
});
