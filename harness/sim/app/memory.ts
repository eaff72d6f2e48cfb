/**
 * The simulated board's memory: the internal SRAM and PSRAM heaps (app/heap.ts) with what the
 * firmware allocates at start-up, so the first MEMORY_REPORT already looks like a real board's
 * (about 330 KB of internal SRAM free, the largest block well below that).
 *
 * Start-up allocations, from ESP-IDF 5.x defaults and firmware/main (app_main.cpp, Kconfig):
 * FreeRTOS idle and IPC tasks of both cores, the esp_timer task, the benchmark task's 16 KiB stack
 * (CONFIG_HIL_BENCH_TASK_STACK; stacks stay internal), the UART driver's receive buffer (rx_window
 * frames + 1 KiB), the interpreter object (internal, Invoke() reads it per operator); the command
 * handler and one Session per link are "long-lived" and go to PSRAM when there is PSRAM
 * (app_main.cpp makeLongLived). A board on MQTT also has Wi-Fi, lwIP and esp-mqtt buffers in
 * internal RAM (~75 KiB in many small blocks: static RX buffers, TCBs, pbufs, mqtt in/out buffers).
 */
import { SimHeap, internalRegions, psramRegions, type HeapFigures } from './heap.js';
import type { Placement } from '../../protocol/index.js';

/** `largestAlignedAllocation` of firmware/components/hil_core/src/buffers.cpp: what an aligned block can still get. */
export function largestAlignedAllocation(largestFree: number): number {
  const overhead = 16 + 16;
  if (largestFree <= overhead) return 0;
  return (largestFree - overhead) & ~15;
}

export interface MemoryOptions {
  psramBytes: number;
  rxWindow: number;
  /** The links the firmware brings up ('serial' always; 'mqtt' adds Wi-Fi). */
  mqtt: boolean;
}

const FRAME = 4112;

export class BoardMemory {
  readonly internal: SimHeap;
  readonly psram: SimHeap | undefined;

  constructor(options: MemoryOptions) {
    this.internal = new SimHeap('internal', internalRegions());
    this.psram = options.psramBytes > 0 ? new SimHeap('psram', psramRegions(options.psramBytes)) : undefined;
    const longLived = this.psram ?? this.internal;
    const tcb = 0x15c;
    for (const [label, bytes] of [
      ['IDLE0 task', tcb + 1536], ['IDLE1 task', tcb + 1536], ['ipc0 task', tcb + 1280], ['ipc1 task', tcb + 1280],
      ['esp_timer task', tcb + 3584], ['event loop', 2048], ['hil_bench task stack', tcb + 16384],
      ['uart0 driver rx buffer', options.rxWindow * FRAME + 1024], ['uart0 driver', 512],
      ['usb_serial_jtag driver', 2 * 256 + 256], ['TflmRunner', 3072], ['console log lock', 96],
    ] as const) this.internal.allocate(bytes, label);
    longLived.allocate(FRAME + 1023 * 4 + 4088 + 128 * 12 + 512, 'CommandHandler');
    longLived.allocate(FRAME + 5200, 'Session serial');
    if (options.mqtt) {
      longLived.allocate(FRAME + 5200, 'Session mqtt');
      // Wi-Fi / lwIP / esp-mqtt: many blocks, allocated and partly freed while connecting (fragmentation).
      const held: number[] = [];
      for (let i = 0; i < 10; i++) this.internal.allocate(1600, `wifi static rx buffer ${i}`);
      for (let i = 0; i < 12; i++) held.push(this.internal.allocate(1700, 'wifi dynamic tx buffer') ?? -1);
      for (const [label, bytes] of [
        ['wifi driver', 12_000], ['wifi task', tcb + 6656], ['tiT (lwIP) task', tcb + 3072], ['lwIP pbufs', 6000],
        ['esp-mqtt task', tcb + 6144], ['esp-mqtt buffers', 2 * FRAME + 2048], ['mqtt outbox', 1024],
      ] as const) this.internal.allocate(bytes, label);
      held.filter((_, i) => i % 2 === 0).forEach((a) => this.internal.release(a));
    }
  }

  heap(placement: Placement): SimHeap | undefined {
    return placement === 'psram' ? this.psram : placement === 'internal' ? this.internal : undefined;
  }

  figures(placement: 'internal' | 'psram'): HeapFigures {
    return this.heap(placement)?.figures() ?? { total: 0, free: 0, minFree: 0, largestFree: 0 };
  }
}
