/**
 * A simple but realistic model of an ESP32-S3's heaps as `heap_caps_*` reports them: internal SRAM
 * (`MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT`) made of the separate regions ESP-IDF registers at
 * start-up, and PSRAM (`MALLOC_CAP_SPIRAM`) as one region. It is an allocator over address ranges,
 * not a counter, so the numbers behave like the real ones: the largest free block is smaller than
 * the free total (several regions, and holes after frees), every block costs a header, and the
 * minimum-free watermark only goes down.
 *
 * Region layout: the `heap_init` lines of an ESP-IDF 5.x S3 app (main DRAM region from the end of
 * the app's static data up to 0x3FCE9710, the 21 KiB area the ROM used during boot, the 32 KiB
 * reclaimed from the 2nd-stage bootloader, 7.7 KiB of RTC fast memory). See app/boot-log.ts for the
 * lines printed and harness/sim/README.md for the start-up allocations charged.
 */

export interface HeapRegion {
  /** Address of the region's first byte. */
  start: number;
  size: number;
  /** What `heap_init` calls it ("DRAM", "RTCRAM", ...). */
  kind: string;
}

export interface HeapFigures {
  total: number;
  free: number;
  minFree: number;
  largestFree: number;
}

/** Bytes a block costs besides its payload: TLSF block header plus alignment slack (16-byte aligned). */
export const BLOCK_OVERHEAD = 16;
const ALIGN = 16;

interface Range { start: number; end: number }

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export class SimHeap {
  readonly name: string;
  readonly regions: readonly HeapRegion[];
  readonly total: number;
  /** Free ranges, kept sorted by address and merged. */
  private free: Range[];
  private readonly blocks = new Map<number, { size: number; label: string }>();
  private freeBytes: number;
  private minFreeBytes: number;

  constructor(name: string, regions: HeapRegion[]) {
    this.name = name;
    this.regions = regions;
    this.free = regions.map((r) => ({ start: r.start, end: r.start + r.size })).sort((a, b) => a.start - b.start);
    this.total = regions.reduce((n, r) => n + r.size, 0);
    this.freeBytes = this.total;
    this.minFreeBytes = this.total;
  }

  /**
   * A 16-byte aligned block of `bytes` (heap_caps_aligned_alloc): the address, or null when no free
   * range can hold it. ESP-IDF tries its heaps in address order and takes the first that can serve
   * the request (heap_caps.c), so blocks pile up in the low main DRAM region first; within a region
   * TLSF's good fit behaves much like first fit for these sizes.
   */
  allocate(bytes: number, label = ''): number | null {
    if (!Number.isInteger(bytes) || bytes <= 0) return null;
    const need = align(bytes) + BLOCK_OVERHEAD;
    const best = this.free.findIndex((r) => r.end - r.start >= need);
    if (best < 0) return null;
    const r = this.free[best]!;
    const address = r.start + BLOCK_OVERHEAD;
    r.start += need;
    if (r.start === r.end) this.free.splice(best, 1);
    this.blocks.set(address, { size: need, label });
    this.freeBytes -= need;
    this.minFreeBytes = Math.min(this.minFreeBytes, this.freeBytes);
    return address;
  }

  /** Free a block `allocate` returned (freeing null or an unknown address does nothing, like free(NULL)). */
  release(address: number | null): void {
    if (address === null) return;
    const block = this.blocks.get(address);
    if (!block) return;
    this.blocks.delete(address);
    this.freeBytes += block.size;
    const start = address - BLOCK_OVERHEAD;
    this.insertFree({ start, end: start + block.size });
  }

  /** `heap_caps_get_largest_free_block`: the largest payload one allocation can still get. */
  get largestFree(): number {
    let largest = 0;
    for (const r of this.free) largest = Math.max(largest, r.end - r.start);
    return Math.max(0, largest - BLOCK_OVERHEAD);
  }

  figures(): HeapFigures {
    return { total: this.total, free: this.freeBytes, minFree: this.minFreeBytes, largestFree: this.largestFree };
  }

  /** Blocks in use with their labels (for a board's debug view). */
  allocations(): { address: number; bytes: number; label: string }[] {
    return [...this.blocks].map(([address, b]) => ({ address, bytes: b.size, label: b.label }));
  }

  private insertFree(range: Range): void {
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < range.start) i++;
    this.free.splice(i, 0, range);
    // Merge with the neighbours (coalescing, as TLSF does on free).
    if (i + 1 < this.free.length && this.free[i]!.end === this.free[i + 1]!.start) {
      this.free[i]!.end = this.free[i + 1]!.end;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1]!.end === this.free[i]!.start) {
      this.free[i - 1]!.end = this.free[i]!.end;
      this.free.splice(i, 1);
    }
  }
}

/** Internal SRAM heap regions of the simulated app (see the header). */
export function internalRegions(): HeapRegion[] {
  return [
    { start: 0x3fc9e710, size: 0x3fce9710 - 0x3fc9e710, kind: 'DRAM' }, // 300 KiB after the app's IRAM code and static data
    { start: 0x3fce9710, size: 0x5724, kind: 'DRAM' }, // 21 KiB the ROM used during boot
    { start: 0x3fcf0000, size: 0x8000, kind: 'DRAM' }, // 32 KiB of the 2nd-stage bootloader
    { start: 0x600fe100, size: 0x1ee8, kind: 'RTCRAM' }, // RTC fast memory
  ];
}

/** The PSRAM heap: the whole chip mapped at 0x3C000000 + after the flash-mapped rodata (ESP-IDF maps it after the app). */
export function psramRegions(psramBytes: number): HeapRegion[] {
  return psramBytes > 0 ? [{ start: 0x3d000000, size: psramBytes, kind: 'PSRAM' }] : [];
}
