/**
 * TFLM's GreedyMemoryPlanner (micro/memory_planner/greedy_memory_planner.cc), reproduced so the lab
 * gets the same offsets and the same total: buffers with an offline offset keep it; the others are
 * placed largest first, each in the first gap (by offset) between buffers alive at the same time
 * that is big enough, else after the last of them.
 *
 * Tie order matters for exactness: TFLM fills its sort array from the end (the last buffer added
 * comes first) and then bubble-sorts by size, which is stable, so equal sizes keep that reversed
 * order. Array.prototype.sort is stable too.
 */
export interface PlannerBuffer {
  size: number;
  firstUse: number;
  lastUse: number;
  /** Offset fixed by an offline plan (OfflineMemoryAllocation metadata), if any. */
  offlineOffset?: number;
}

export interface GreedyPlan {
  offsets: number[];
  /** `GetMaximumMemorySize()`: the end of the highest buffer. */
  size: number;
}

const overlaps = (a: PlannerBuffer, b: PlannerBuffer): boolean => !(a.firstUse > b.lastUse || b.firstUse > a.lastUse);

export function planGreedy(buffers: readonly PlannerBuffer[]): GreedyPlan {
  const offsets = buffers.map(() => -1);
  if (buffers.length === 0) return { offsets, size: 0 };

  const offline = buffers.map((_, i) => i).filter((i) => buffers[i].offlineOffset !== undefined);
  const online = buffers.map((_, i) => i).filter((i) => buffers[i].offlineOffset === undefined).reverse();
  online.sort((a, b) => buffers[b].size - buffers[a].size);
  const order = [...offline, ...online];

  // Placed buffers, kept sorted by offset (TFLM's linked list; insertion after equal offsets).
  const placed: { offset: number; id: number }[] = [];
  for (const id of order) {
    const wanted = buffers[id];
    let offset = 0;
    if (wanted.offlineOffset !== undefined) {
      offset = wanted.offlineOffset;
    } else if (placed.length > 0) {
      for (const entry of placed) {
        const other = buffers[entry.id];
        if (!overlaps(other, wanted)) continue;
        if (entry.offset - offset >= wanted.size) break; // the gap before this buffer fits
        offset = Math.max(offset, entry.offset + other.size);
      }
    }
    offsets[id] = offset;
    // After every placed buffer at the same or a lower offset, as TFLM's list insertion does.
    const at = placed.findIndex((e) => e.offset > offset);
    placed.splice(at < 0 ? placed.length : at, 0, { offset, id });
  }
  let size = 0;
  for (const entry of placed) size = Math.max(size, entry.offset + buffers[entry.id].size);
  return { offsets, size };
}
