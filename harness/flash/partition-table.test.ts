import { describe, expect, it } from 'vitest';
import { appPartitions, buildPartitionTable, findPartition, parsePartitionTable, partitionTableProblems, subtypeName, typeName } from './partition-table.js';

const layout = [
  { label: 'nvs', type: 'data' as const, subtype: 'nvs', offset: 0x9000, size: 0x6000 },
  { label: 'phy_init', type: 'data' as const, subtype: 'phy', offset: 0xf000, size: 0x1000 },
  { label: 'factory', type: 'app' as const, subtype: 'factory', offset: 0x10000, size: 0x100000 },
  { label: 'model', type: 'data' as const, subtype: 0x40, offset: 0x110000, size: 0x80000, readonly: true },
];

describe('partition table', () => {
  it('builds the binary gen_esp32part.py writes and reads it back', () => {
    const bin = buildPartitionTable(layout);
    expect(bin.length).toBe(0xc00);
    // Entry 0: magic AA 50, type data (1), subtype nvs (2), offset 0x9000, size 0x6000, label "nvs".
    expect(Buffer.from(bin.subarray(0, 16)).toString('hex')).toBe('aa50010200900000006000006e767300');
    expect(bin[4 * 32]).toBe(0xeb); // MD5 entry after the last partition
    const parts = parsePartitionTable(bin, 'partition-table.bin');
    expect(parts.map((p) => [p.label, typeName(p), subtypeName(p), p.offset, p.size, p.readonly])).toEqual([
      ['nvs', 'data', 'nvs', 0x9000, 0x6000, false],
      ['phy_init', 'data', 'phy', 0xf000, 0x1000, false],
      ['factory', 'app', 'factory', 0x10000, 0x100000, false],
      ['model', 'data', '0x40', 0x110000, 0x80000, true],
    ]);
    expect(appPartitions(parts).map((p) => p.label)).toEqual(['factory']);
    expect(findPartition(parts, 'model')?.offset).toBe(0x110000);
    expect(partitionTableProblems(parts, 8 * 1024 * 1024)).toEqual([]);
  });

  it('catches a table whose MD5 entry does not match, naming the file', () => {
    const bin = buildPartitionTable(layout);
    bin[5] ^= 1; // nvs offset
    expect(() => parsePartitionTable(bin, 'build/partition_table/partition-table.bin')).toThrow(/partition-table\.bin is not a valid partition table: its MD5 entry says [0-9a-f]{32} but the entries hash to/);
  });

  it('rejects rows without the entry magic and an empty table', () => {
    const bin = buildPartitionTable(layout);
    bin[32] = 0x12;
    expect(() => parsePartitionTable(bin, 'pt.bin')).toThrow(/entry 1 at offset 0x20 starts with 0x12 0x50/);
    expect(() => parsePartitionTable(new Uint8Array(0xc00).fill(0xff), 'blank.bin')).toThrow(/has no entries/);
  });

  it('reports misaligned, overlapping and oversized partitions', () => {
    const parts = parsePartitionTable(buildPartitionTable([
      { label: 'factory', type: 'app', subtype: 'factory', offset: 0x18000, size: 0x100000 },
      { label: 'model', type: 'data', subtype: 0x40, offset: 0x110000, size: 0x800000 },
    ]), 'pt.bin');
    const problems = partitionTableProblems(parts, 4 * 1024 * 1024);
    expect(problems).toContain('partition factory at 0x18000 is not aligned to 0x10000');
    expect(problems).toContain('partition model (0x110000+0x800000) ends past the 4 MB flash');
    expect(problems).toContain('partitions factory and model overlap');
  });
});
