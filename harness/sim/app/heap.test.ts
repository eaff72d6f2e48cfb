import { describe, expect, it } from 'vitest';
import { BLOCK_OVERHEAD, SimHeap } from './heap.js';
import { BoardMemory, largestAlignedAllocation } from './memory.js';

describe('SimHeap', () => {
  it('charges a header per block, reports the largest block below the free total, and coalesces on free', () => {
    const h = new SimHeap('t', [{ start: 0x1000, size: 1000, kind: 'DRAM' }, { start: 0x8000, size: 400, kind: 'DRAM' }]);
    expect(h.figures()).toEqual({ total: 1400, free: 1400, minFree: 1400, largestFree: 1000 - BLOCK_OVERHEAD });
    const a = h.allocate(100)!;
    const b = h.allocate(100)!;
    expect(a % 16).toBe(0);
    expect(h.figures().free).toBe(1400 - 2 * (112 + BLOCK_OVERHEAD));
    expect(h.allocate(2000)).toBeNull();
    h.release(a);
    // a's hole is not next to the rest of the region while b sits between: fragmentation.
    expect(h.largestFree).toBe(1000 - 2 * 128 - BLOCK_OVERHEAD);
    h.release(b);
    expect(h.largestFree).toBe(1000 - BLOCK_OVERHEAD);
    expect(h.figures().minFree).toBe(1400 - 256);
    h.release(b); // double free does nothing
    expect(h.figures().free).toBe(1400);
  });

  it('serves requests from the lowest-address region that fits, like ESP-IDF heap_caps', () => {
    const h = new SimHeap('t', [{ start: 0x1000, size: 1000, kind: 'DRAM' }, { start: 0x8000, size: 400, kind: 'DRAM' }]);
    expect(h.allocate(100)! < 0x8000).toBe(true);
    expect(h.allocate(800)! >= 0x8000).toBe(false); // still fits low
    expect(h.allocate(300)! >= 0x8000).toBe(true);
  });
});

describe('BoardMemory after start-up', () => {
  it('leaves about 320 KB of internal SRAM with a largest block of about 250 KB; MQTT and no PSRAM leave less', () => {
    const plain = new BoardMemory({ psramBytes: 8 << 20, rxWindow: 4, mqtt: false }).figures('internal');
    expect(plain.free).toBeGreaterThan(300_000);
    expect(plain.largestFree).toBeLessThan(plain.free - 40_000);
    const mqtt = new BoardMemory({ psramBytes: 8 << 20, rxWindow: 4, mqtt: true }).figures('internal');
    expect(mqtt.free).toBeLessThan(plain.free - 60_000);
    expect(mqtt.minFree).toBeLessThan(mqtt.free); // Wi-Fi start-up buffers came and went
    const noPsram = new BoardMemory({ psramBytes: 0, rxWindow: 4, mqtt: false }).figures('internal');
    expect(noPsram.free).toBeLessThan(plain.free);
    expect(largestAlignedAllocation(plain.largestFree)).toBe((plain.largestFree - 32) & ~15);
  });
});
