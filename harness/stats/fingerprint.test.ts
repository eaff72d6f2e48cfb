import { describe, expect, it } from 'vitest';
import { checkComparable, type Fingerprint } from './fingerprint.js';

const reference: Fingerprint = {
  firmwareSha256: 'aa11',
  sdkconfigSha256: 'cfg1',
  kernelBackend: 'reference',
  cpuMhz: 240,
  flashMode: 'qio',
  arenaPlacement: 'internal',
  arenaBytes: 102400,
  idfVersion: 'v5.1.2',
  espNnVersion: '1.1.2',
  modelSha256: 'm1',
  simulated: true,
};
const espNn: Fingerprint = { ...reference, firmwareSha256: 'bb22', kernelBackend: 'esp-nn' };

describe('checkComparable', () => {
  it('allows reference vs esp-nn when only the declared axes differ, and lists them', () => {
    expect(checkComparable(reference, espNn, ['kernelBackend', 'firmwareSha256'])).toEqual({
      comparable: true,
      differingAxes: ['firmwareSha256', 'kernelBackend'],
    });
  });

  it('refuses a clock difference with one sentence naming the field, both values and the fix', () => {
    const r = checkComparable(reference, { ...espNn, cpuMhz: 160 }, ['kernelBackend', 'firmwareSha256']);
    expect(r).toEqual({
      comparable: false,
      reason:
        'not comparable: the fingerprints differ in cpuMhz (baseline 240, candidate 160), but the declared variant axes are kernelBackend, firmwareSha256; measure both with the same cpuMhz or declare it as a variant axis',
      field: 'cpuMhz',
      baselineValue: 240,
      candidateValue: 160,
      fields: ['cpuMhz'],
    });
  });

  it('names every other offending field and treats a missing field as different', () => {
    const { idfVersion: _dropped, ...withoutIdf } = espNn;
    const r = checkComparable(reference, { ...withoutIdf, sdkconfigSha256: 'cfg2', simulated: false }, ['kernelBackend']);
    expect(r.comparable).toBe(false);
    if (r.comparable) return;
    expect(r.fields).toEqual(['firmwareSha256', 'idfVersion', 'sdkconfigSha256', 'simulated']);
    expect(r.reason).toBe(
      'not comparable: the fingerprints differ in firmwareSha256 (baseline "aa11", candidate "bb22") (3 more fields differ: idfVersion, sdkconfigSha256, simulated), but the declared variant axes are kernelBackend; measure both with the same firmwareSha256 or declare it as a variant axis',
    );
    const missing = checkComparable(reference, withoutIdf, ['kernelBackend', 'firmwareSha256']);
    expect(missing.comparable === false && missing.reason).toContain('idfVersion (baseline "v5.1.2", candidate (missing))');
  });

  it('distinguishes the number 80 from the string "80" in any extra field, and refuses with no axes declared', () => {
    const r = checkComparable({ psramMhz: 80 }, { psramMhz: '80' }, []);
    expect(r.comparable === false && r.reason).toBe(
      'not comparable: the fingerprints differ in psramMhz (baseline 80, candidate "80"), but no variant axes are declared; measure both with the same psramMhz or declare it as a variant axis',
    );
  });

  it('accepts identical fingerprints (two runs of the same variant) with nothing differing', () => {
    expect(checkComparable(reference, { ...reference }, [])).toEqual({ comparable: true, differingAxes: [] });
  });
});
