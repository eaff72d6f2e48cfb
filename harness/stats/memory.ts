/**
 * Memory summary of a trial: tensor arena used vs configured, heap free / minimum free / largest
 * free block for internal RAM and PSRAM, and the app image against its partition.
 *
 * Where the numbers come from on the board (FACTS.md): `MicroInterpreter::arena_used_bytes()`
 * after `AllocateTensors()`; `heap_caps_get_free_size`, `heap_caps_get_minimum_free_size` and
 * `heap_caps_get_largest_free_block` with MALLOC_CAP_INTERNAL or MALLOC_CAP_SPIRAM. KB here is
 * 1024 bytes, as in ESP-IDF.
 */
import { fmt } from './samples.js';

export interface HeapStats {
  freeBytes: number;
  /** Low-water mark since boot (`heap_caps_get_minimum_free_size`). */
  minimumFreeBytes: number;
  largestFreeBlockBytes: number;
  /** Region size, when the board reports it. */
  totalBytes?: number;
}

export interface MemoryReport {
  arena: {
    usedBytes: number;
    configuredBytes: number;
    /** 'internal' or 'psram'. */
    placement?: string;
  };
  heap?: { internal?: HeapStats; psram?: HeapStats };
  image?: { appBytes: number; partitionBytes?: number };
}

export interface MemoryOptions {
  /** Warn below this arena headroom (default 1024 B: FACTS.md, scratch buffers are not tracked). */
  minArenaHeadroomBytes?: number;
  /** Warn when a region's lowest free heap fell below this (defaults: internal 16 KB, PSRAM 64 KB). */
  minInternalFreeBytes?: number;
  minPsramFreeBytes?: number;
  /** Warn when the app image fills more than this fraction of its partition (default 0.9). */
  maxImageFill?: number;
}

export interface HeapSummary extends HeapStats {
  /** 1 - largest free block / free: 0 = one contiguous block, near 1 = crumbs. NaN with nothing free. */
  fragmentation: number;
  /** (total - free) / total * 100, when the total is known. */
  usedPct?: number;
}

export interface MemorySummary {
  arena: {
    usedBytes: number;
    configuredBytes: number;
    headroomBytes: number;
    /** used / configured * 100. */
    usedPct: number;
    placement?: string;
  };
  heap: { internal?: HeapSummary; psram?: HeapSummary };
  image?: { appBytes: number; partitionBytes?: number; freeBytes?: number; usedPct?: number };
  warnings: string[];
}

/** "81,200 B (79.3 KB)": exact bytes for the diff-minded, KB for the eye. */
export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const exact = `${Math.round(bytes).toLocaleString('en-US')} B`;
  return Math.abs(bytes) >= 1024 ? `${exact} (${fmt(bytes / 1024, 3)} KB)` : exact;
}

function isByteCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

function summarizeHeap(region: 'internal' | 'PSRAM', h: HeapStats, minFree: number, warnings: string[]): HeapSummary {
  const fields: Array<keyof HeapStats> = ['freeBytes', 'minimumFreeBytes', 'largestFreeBlockBytes'];
  const bad = fields.filter((f) => !isByteCount(h[f]));
  if (bad.length > 0) warnings.push(`${region} heap: ${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} not a byte count`);
  const fragmentation = h.freeBytes > 0 ? 1 - h.largestFreeBlockBytes / h.freeBytes : Number.NaN;
  const out: HeapSummary = { ...h, fragmentation };
  if (h.totalBytes !== undefined && h.totalBytes > 0) out.usedPct = ((h.totalBytes - h.freeBytes) / h.totalBytes) * 100;
  if (h.minimumFreeBytes > h.freeBytes || h.largestFreeBlockBytes > h.freeBytes) {
    warnings.push(`${region} heap: the minimum free or largest block is above the free size (${fmtBytes(h.freeBytes)}): the board's report is inconsistent`);
  } else if (isByteCount(h.minimumFreeBytes) && h.minimumFreeBytes < minFree) {
    warnings.push(`${region} heap fell to ${fmtBytes(h.minimumFreeBytes)} free at its lowest, below ${fmtBytes(minFree)}: the board ran close to exhaustion`);
  }
  return out;
}

export function summarizeMemory(report: MemoryReport, options: MemoryOptions = {}): MemorySummary {
  const warnings: string[] = [];
  const { usedBytes, configuredBytes, placement } = report.arena;
  if (!isByteCount(usedBytes) || !isByteCount(configuredBytes)) {
    warnings.push(`arena: used ${usedBytes} / configured ${configuredBytes} are not byte counts`);
  }
  const headroomBytes = configuredBytes - usedBytes;
  const minHeadroom = options.minArenaHeadroomBytes ?? 1024;
  if (usedBytes > configuredBytes) {
    warnings.push(`arena used ${fmtBytes(usedBytes)} is more than its configured ${fmtBytes(configuredBytes)}: the board's report is inconsistent`);
  } else if (headroomBytes < minHeadroom) {
    warnings.push(
      `arena headroom ${fmtBytes(headroomBytes)} is below ${fmtBytes(minHeadroom)} (scratch buffers are not tracked by TFLM's recording allocator, FACTS.md): a kernel that needs scratch, such as ESP-NN's, may fail to allocate`,
    );
  }
  const summary: MemorySummary = {
    arena: {
      usedBytes,
      configuredBytes,
      headroomBytes,
      usedPct: configuredBytes > 0 ? (usedBytes / configuredBytes) * 100 : Number.NaN,
      ...(placement !== undefined ? { placement } : {}),
    },
    heap: {},
    warnings,
  };
  if (report.heap?.internal) summary.heap.internal = summarizeHeap('internal', report.heap.internal, options.minInternalFreeBytes ?? 16 * 1024, warnings);
  if (report.heap?.psram) summary.heap.psram = summarizeHeap('PSRAM', report.heap.psram, options.minPsramFreeBytes ?? 64 * 1024, warnings);
  if (report.image) {
    const { appBytes, partitionBytes } = report.image;
    const image: NonNullable<MemorySummary['image']> = { appBytes };
    if (partitionBytes !== undefined && partitionBytes > 0) {
      image.partitionBytes = partitionBytes;
      image.freeBytes = partitionBytes - appBytes;
      image.usedPct = (appBytes / partitionBytes) * 100;
      const maxFill = options.maxImageFill ?? 0.9;
      if (appBytes > partitionBytes) {
        warnings.push(`the app image (${fmtBytes(appBytes)}) is larger than its partition (${fmtBytes(partitionBytes)}): it cannot be flashed`);
      } else if (appBytes > maxFill * partitionBytes) {
        warnings.push(`the app image fills ${fmt(image.usedPct, 3)}% of its partition (${fmtBytes(image.freeBytes)} left)`);
      }
    }
    summary.image = image;
  }
  return summary;
}
