import { describe, expect, it } from 'vitest';
import type { BoardConfig } from '../config/types.js';
import type { BoardIdentity } from '../protocol/index.js';
import { checkComparable } from '../stats/fingerprint.js';
import { trialFingerprint } from './fingerprint.js';
import {
  describeProvenances, groupProvenance, leastTrusted, marksOf, provenanceOf, provenanceSet, recordedProvenance, recordedProvenances,
} from './provenance.js';

const base: BoardConfig = { id: 'b1', chip: 'esp32s3', transport: { serial: { port: '/dev/ttyACM0', baud: 921600, flashBaud: 921600, reset: 'classic' } }, identity: {}, tags: [] };
const simulated: BoardConfig = { ...base, simulated: { profile: 'esp32s3-devkitc-1-n16r8', seed: 1, faults: [] } };
const emulated: BoardConfig = { ...base, emulated: { profile: 'esp32s3-devkitc-1-n8r8', flashFile: '/lab/emu/b1.bin' } };

describe('provenanceOf', () => {
  it('a board whose HELLO carries the SIMULATED flag is simulated, whatever the rigs say', () => {
    expect(provenanceOf(base, { simulated: true })).toBe('simulated');
    expect(provenanceOf(emulated, { simulated: true })).toBe('simulated');
    expect(provenanceOf(undefined, { simulated: true })).toBe('simulated');
  });

  it('the rigs decide when the board does not say so: the firmware in QEMU says simulated: false', () => {
    expect(provenanceOf(emulated, { simulated: false })).toBe('emulated');
    expect(provenanceOf(simulated, { simulated: false })).toBe('simulated');
    expect(provenanceOf(emulated, undefined)).toBe('emulated');
    expect(provenanceOf(simulated, undefined)).toBe('simulated');
  });

  it('anything else is a board', () => {
    expect(provenanceOf(base, { simulated: false })).toBe('board');
    expect(provenanceOf(base, undefined)).toBe('board');
    expect(provenanceOf(undefined, undefined)).toBe('board');
  });

  it('marks keep simulated as the board said it and add the class', () => {
    expect(marksOf(emulated, { simulated: false })).toEqual({ simulated: false, provenance: 'emulated' });
    expect(marksOf(base, { simulated: true })).toEqual({ simulated: true, provenance: 'simulated' });
  });
});

describe('reading provenance', () => {
  it('a record of a journal older than the field gets its class from simulated', () => {
    expect(recordedProvenance({ simulated: true })).toBe('simulated');
    expect(recordedProvenance({ simulated: false })).toBe('board');
    expect(recordedProvenance({ simulated: false, provenance: 'emulated' })).toBe('emulated');
    expect(recordedProvenances({ simulated: false })).toEqual(['board']);
    expect(recordedProvenances({ simulated: true, provenances: ['emulated', 'simulated'] })).toEqual(['emulated', 'simulated']);
  });

  it('groups name their one class, or mixed', () => {
    expect(provenanceSet(['simulated', 'board', 'simulated'])).toEqual(['board', 'simulated']);
    expect(groupProvenance(['emulated', 'emulated'])).toBe('emulated');
    expect(groupProvenance(['emulated', 'board'])).toBe('mixed');
    expect(groupProvenance([])).toBeUndefined();
    expect(describeProvenances(['emulated', 'simulated'])).toBe('emulated + simulated');
  });

  it('two marks for the same numbers keep the least trusted', () => {
    expect(leastTrusted(undefined, 'board')).toBe('board');
    expect(leastTrusted('board', 'emulated')).toBe('emulated');
    expect(leastTrusted('simulated', 'emulated')).toBe('simulated');
  });
});

describe('the trial fingerprint', () => {
  const identity: BoardIdentity = {
    protocolMin: 1, protocolMax: 1, maxPayload: 4096, rxWindow: 4, simulated: false, resetReason: 1, cores: 2, chipRevision: 2, cpuMhz: 240,
    flashSize: 8 << 20, psramSize: 8 << 20, uptimeMs: 0, mac: '02:00:00:00:00:01', appSha256: 'ab'.repeat(32), chip: 'esp32s3',
    variant: 'esp-nn', kernelBackend: 'esp-nn', appVersion: '0.1.0', projectName: 'hil_bench', idfVersion: 'v5.3.3', tflmVersion: '1.4.0', espNnVersion: '1.1.2',
  };
  const fp = (config: BoardConfig) => trialFingerprint({
    identity, provenance: provenanceOf(config, identity), arena: { bytes: 65536, placement: 'internal' }, modelSha256: 'cd'.repeat(32),
  });

  it('records the provenance, so the same firmware on a board and in QEMU never compare trial for trial', () => {
    expect(fp(emulated)).toMatchObject({ provenance: 'emulated', simulated: false });
    expect(fp(base)).toMatchObject({ provenance: 'board', simulated: false });
    const r = checkComparable(fp(base), fp(emulated), ['firmwareSha256', 'kernelBackend']);
    expect(r.comparable).toBe(false);
    expect(!r.comparable && r.fields).toEqual(['provenance']);
    expect(!r.comparable && r.reason).toContain('the fingerprints differ in provenance (baseline "board", candidate "emulated")');
    expect(checkComparable(fp(emulated), fp(emulated), []).comparable).toBe(true);
  });
});
