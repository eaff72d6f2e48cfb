import { describe, expect, it } from 'vitest';
import { fmtBytes, summarizeMemory } from './memory.js';

describe('summarizeMemory', () => {
  it('gives arena headroom and percent for person_detect (FACTS.md: 82,300 B used, 100 KB arena)', () => {
    const m = summarizeMemory({ arena: { usedBytes: 82300, configuredBytes: 102400, placement: 'psram' } });
    // Hand: 102,400 - 82,300 = 20,100 B; 82,300 / 102,400 = 80.37%.
    expect(m.arena).toEqual({ usedBytes: 82300, configuredBytes: 102400, headroomBytes: 20100, usedPct: (82300 / 102400) * 100, placement: 'psram' });
    expect(m.warnings).toEqual([]);
  });

  it('warns below 1 KB of headroom, naming the untracked scratch buffers', () => {
    const m = summarizeMemory({ arena: { usedBytes: 716, configuredBytes: 1024 } });
    expect(m.arena.headroomBytes).toBe(308);
    expect(m.warnings).toEqual([
      "arena headroom 308 B is below 1,024 B (1 KB) (scratch buffers are not tracked by TFLM's recording allocator, FACTS.md): a kernel that needs scratch, such as ESP-NN's, may fail to allocate",
    ]);
  });

  it('summarises both heaps with fragmentation = 1 - largest / free and warns about a low minimum', () => {
    const m = summarizeMemory({
      arena: { usedBytes: 6812, configuredBytes: 16384 },
      heap: {
        internal: { freeBytes: 200_000, minimumFreeBytes: 12_000, largestFreeBlockBytes: 50_000, totalBytes: 400_000 },
        psram: { freeBytes: 8_000_000, minimumFreeBytes: 7_900_000, largestFreeBlockBytes: 8_000_000 },
      },
    });
    expect(m.heap.internal?.fragmentation).toBeCloseTo(0.75, 12);
    expect(m.heap.internal?.usedPct).toBeCloseTo(50, 12);
    expect(m.heap.psram?.fragmentation).toBe(0);
    expect(m.warnings).toEqual([
      'internal heap fell to 12,000 B (11.7 KB) free at its lowest, below 16,384 B (16 KB): the board ran close to exhaustion',
    ]);
  });

  it('reports the image against its partition and says when it cannot fit', () => {
    const ok = summarizeMemory({ arena: { usedBytes: 1, configuredBytes: 4096 }, image: { appBytes: 900_000, partitionBytes: 1_048_576 } });
    expect(ok.image).toEqual({ appBytes: 900_000, partitionBytes: 1_048_576, freeBytes: 148_576, usedPct: (900_000 / 1_048_576) * 100 });
    expect(ok.warnings).toEqual([]);
    const full = summarizeMemory({ arena: { usedBytes: 1, configuredBytes: 4096 }, image: { appBytes: 1_000_000, partitionBytes: 1_048_576 } });
    expect(full.warnings).toEqual(['the app image fills 95.4% of its partition (48,576 B (47.4 KB) left)']);
    const over = summarizeMemory({ arena: { usedBytes: 1, configuredBytes: 4096 }, image: { appBytes: 2_000_000, partitionBytes: 1_048_576 } });
    expect(over.warnings[0]).toMatch(/is larger than its partition .*: it cannot be flashed$/);
  });

  it('flags an inconsistent board report instead of computing nonsense silently', () => {
    const m = summarizeMemory({ arena: { usedBytes: 5000, configuredBytes: 4096 }, heap: { internal: { freeBytes: 10, minimumFreeBytes: 20, largestFreeBlockBytes: 5 } } });
    expect(m.warnings).toEqual([
      'arena used 5,000 B (4.88 KB) is more than its configured 4,096 B (4 KB): the board\'s report is inconsistent',
      'internal heap: the minimum free or largest block is above the free size (10 B): the board\'s report is inconsistent',
    ]);
  });

  it('formats bytes exactly with a KB companion', () => {
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtBytes(82300)).toBe('82,300 B (80.4 KB)');
  });
});
