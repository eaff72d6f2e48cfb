/**
 * How long a simulated ESP32-S3 takes to run a model: CPU cycles per operator from the profiler's
 * MACs and bytes (harness/tflite/profile.ts), per kernel backend, CPU clock and memory placement,
 * plus seeded noise. harness/sim/COST-MODEL.md explains every constant and where it comes from;
 * the two fitted ones (REFERENCE_CYCLES_PER_MAC, ESP_NN_ANSI_GAIN) are calibrated so that
 * person_detect.tflite at 240 MHz takes the published 2300 ms (reference) and 54 ms (ESP-NN)
 * (FACTS.md: espressif/esp-tflite-micro README, "Internal memory used").
 *
 * Shape of the model, per operator:
 *   compute cycles = dispatch + per-MAC / per-element work of the TFLM reference kernel
 *   ESP-NN kernels (int8 paths only, FACTS.md) = reference compute / (kernel speed-up x gain)
 *   memory cycles  = bytes outside internal SRAM x the stall per byte of that memory (ns -> cycles
 *                    at the CPU clock: flash and PSRAM run on their own 80 MHz clocks)
 */
import type { Model, Operator, SubGraph, Tensor } from '../tflite/model.js';
import { tensorByteSize } from '../tflite/model.js';
import type { ModelProfile, OperatorProfile } from '../tflite/profile.js';
import { createRng, type Rng } from '../stats/rng.js';
import { normalVariate } from '../stats/variates.js';

export type KernelBackend = 'reference' | 'esp-nn';
export type PsramMode = 'octal' | 'quad' | 'none';

export interface CostContext {
  kernelBackend: KernelBackend;
  /** The esp-nn release the firmware links (only matters for backend 'esp-nn'). */
  espNnVersion: string;
  cpuMhz: number;
  /** Where the tensor arena (activations, inputs, outputs) lives. */
  arenaPlacement: 'internal' | 'psram';
  /** Where the model's weights are read from: an uploaded buffer, or the memory-mapped partition. */
  modelPlacement: 'internal' | 'psram' | 'flash';
  psramMode: PsramMode;
}

/** The conditions of the published person_detect numbers: arena in internal SRAM, model in flash (rodata). */
export const PUBLISHED_CONDITIONS: Omit<CostContext, 'kernelBackend'> = {
  espNnVersion: '1.1.2',
  cpuMhz: 240,
  arenaPlacement: 'internal',
  modelPlacement: 'flash',
  psramMode: 'octal',
};

export interface OpCost {
  index: number;
  op: string;
  /** Which implementation ran: ESP-NN only replaces some int8 kernels. */
  kernel: KernelBackend;
  computeCycles: number;
  memoryCycles: number;
  cycles: number;
}

export interface ModelCost {
  ops: OpCost[];
  /** One inference: every operator plus the interpreter's fixed cost around them. */
  cycles: number;
}

// ------------------------------------------------------------------------------------ constants

/**
 * Fitted: cycles per MAC of TFLM's reference int8 CONV_2D / DEPTHWISE_CONV_2D on the S3 (the
 * per-MAC Offset() arithmetic of reference_integer_ops dominates). Fitted so person_detect (7.16 M
 * MACs) takes 2300 ms at 240 MHz; see COST-MODEL.md.
 */
export const REFERENCE_CYCLES_PER_MAC = 74.9;
/**
 * Fitted: how much faster esp-nn's own ANSI C is than TFLM's reference kernels. The esp-nn README
 * speed-ups (FACTS.md) are optimized vs esp-nn ANSI C; the published "without ESP-NN" figure is
 * TFLM reference. esp-nn #1 (maintainer): "about 2x"; the esp-nn README's own ANSI C ticks give
 * 2.3x (depthwise 3x3) .. 6.6x (1x1 conv) against this model's reference cost. Fitted on person_detect.
 */
export const ESP_NN_ANSI_GAIN = 4.1;

/** Interpreter cost per operator: MicroInterpreter::Invoke loop, Eval call, GetEvalInput/Output. */
const DISPATCH_CYCLES = 400;
/** Interpreter cost per Invoke() outside the operators (ResetTempAllocations, graph bookkeeping). */
const INVOKE_CYCLES = 2_000;

/** Per output element of a quantized conv/FC: bias, MultiplyByQuantizedMultiplier (64-bit), offset, clamp. */
const REQUANT_CYCLES = 60;

/** Reference cycles per unit of work (MAC for conv-like ops, element / window element otherwise). */
const REFERENCE_INT8: Record<string, number> = {
  FULLY_CONNECTED: 8, // plain strided dot product (reference_integer_ops::FullyConnected)
  AVERAGE_POOL_2D: 25, MAX_POOL_2D: 20, // per window element: Offset() + add / compare
  ADD: 70, SUB: 70, // three rescalings per element (reference_integer_ops::AddElementwise)
  MUL: 50,
  SOFTMAX: 250, // fixed-point exp and reciprocal per element, two passes
  LOGISTIC: 60, TANH: 60, HARD_SWISH: 80,
  RELU: 35, RELU6: 35, LEAKY_RELU: 45, // requantizing activations
  QUANTIZE: 30, DEQUANTIZE: 30,
  MEAN: 25, // per input element
};
const REFERENCE_FLOAT: Record<string, number> = {
  FULLY_CONNECTED: 6,
  AVERAGE_POOL_2D: 20, MAX_POOL_2D: 18,
  ADD: 12, SUB: 12, MUL: 12,
  SOFTMAX: 150, LOGISTIC: 120, TANH: 120, HARD_SWISH: 20, // expf() ~ 100 cycles on the S3 FPU
  RELU: 8, RELU6: 8, LEAKY_RELU: 10, QUANTIZE: 30, DEQUANTIZE: 30, MEAN: 12,
};
/** Float conv / depthwise: the same Offset()-bound loop without requantization (no published S3 figure). */
const FLOAT_CONV_FACTOR = 0.85;
/** An operator the profile has no rule for: per output element. */
const UNKNOWN_CYCLES_PER_ELEMENT = 30;
/** Data movement (RESHAPE, PAD, CONCATENATION ...): memcpy-like, per byte moved. */
const COPY_CYCLES_PER_BYTE = 1;

/** ESP-NN speed-ups on the S3, optimized vs ANSI C (FACTS.md, espressif/esp-nn README). */
export const ESP_NN_SPEEDUP = {
  conv1x1: 14.2, // 1x1 conv 10x10x64 -> 64
  conv: 5.6, // conv 8x8, 3x3x3 -> 64
  depthwise3x3: 6.3, // depthwise 3x3x16 on 18x18
  depthwise: 4.5, // depthwise 5x5, pad 1
  maxPool: 7.8,
  avgPool: 3.6,
  fullyConnected: 7.8,
  add: 3.8,
  mul: 3.5,
  softmax: 1.4,
} as const;

/**
 * Known esp-nn release regressions, as a slowdown per kernel. esp-nn #36: an LSTM-heavy model whose
 * time is in FULLY_CONNECTED-shaped gate matmuls went from 24.2 s (1.1.2) to 51.4-56 s (1.2.6).
 */
const ESP_NN_RELEASE_SLOWDOWN: Record<string, Partial<Record<string, number>>> = {
  '1.2.6': { FULLY_CONNECTED: 2.2 },
};

/**
 * Stall per byte read or written outside internal SRAM, in ns (so it scales with the CPU clock):
 * one 32-byte cache line fill per 32 bytes streamed. Octal PSRAM 80 MHz DDR: ~100 ns latency +
 * 32 B at 160 MB/s; quad PSRAM 80 MHz: 100 ns + 32 B at 40 MB/s; quad SPI flash 80 MHz (QIO):
 * like quad PSRAM plus command/address overhead. See COST-MODEL.md.
 */
export const STALL_NS_PER_BYTE = { internal: 0, octalPsram: 9.4, quadPsram: 28, flash: 31 } as const;

// ------------------------------------------------------------------------------------ the model

function stallNs(where: 'internal' | 'psram' | 'flash', psram: PsramMode): number {
  if (where === 'internal') return STALL_NS_PER_BYTE.internal;
  if (where === 'flash') return STALL_NS_PER_BYTE.flash;
  return psram === 'quad' ? STALL_NS_PER_BYTE.quadPsram : STALL_NS_PER_BYTE.octalPsram;
}

function isConstant(model: Model, t: Tensor): boolean {
  return (model.buffers[t.buffer]?.length ?? 0) > 0;
}

function sameShape(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The ESP-NN speed-up of an operator on the S3, or null when ESP-NN does not replace its kernel. */
export function espNnSpeedup(op: Operator, graph: SubGraph): number | null {
  const input = graph.tensors[op.inputs[0] ?? -1];
  if (!input || input.type !== 'int8') return null; // float always runs reference kernels (FACTS.md)
  const t = (i: number): Tensor | undefined => (op.inputs[i] !== undefined && op.inputs[i]! >= 0 ? graph.tensors[op.inputs[i]!] : undefined);
  switch (op.op) {
    case 'CONV_2D': {
      const filter = t(1)?.shape ?? [];
      const o = op.options.kind === 'Conv2D' ? op.options.value : undefined;
      const pointwise = filter[1] === 1 && filter[2] === 1 && (!o || (o.strideW === 1 && o.strideH === 1));
      return pointwise ? ESP_NN_SPEEDUP.conv1x1 : ESP_NN_SPEEDUP.conv;
    }
    case 'DEPTHWISE_CONV_2D': {
      const filter = t(1)?.shape ?? [];
      const mult1 = (input.shape[3] ?? 0) === (filter[3] ?? 0); // depth multiplier 1
      return filter[1] === 3 && filter[2] === 3 && mult1 ? ESP_NN_SPEEDUP.depthwise3x3 : ESP_NN_SPEEDUP.depthwise;
    }
    case 'FULLY_CONNECTED':
      return ESP_NN_SPEEDUP.fullyConnected;
    case 'MAX_POOL_2D':
    case 'AVERAGE_POOL_2D':
      // The S3 assembly path needs channels % 4 == 0; otherwise esp-nn falls back to ANSI C.
      if ((input.shape[input.shape.length - 1] ?? 0) % 4 !== 0) return 1;
      return op.op === 'MAX_POOL_2D' ? ESP_NN_SPEEDUP.maxPool : ESP_NN_SPEEDUP.avgPool;
    case 'ADD':
    case 'MUL':
      // Elementwise only: broadcasting falls back to TFLM's reference kernel (FACTS.md).
      if (!sameShape(t(0)?.shape, t(1)?.shape)) return null;
      return op.op === 'ADD' ? ESP_NN_SPEEDUP.add : ESP_NN_SPEEDUP.mul;
    case 'SOFTMAX':
      return ESP_NN_SPEEDUP.softmax;
    default:
      return null;
  }
}

/** Reference-kernel compute cycles of one operator (without dispatch). */
function referenceCycles(p: OperatorProfile, op: Operator, graph: SubGraph): number {
  const input = graph.tensors[op.inputs[0] ?? -1];
  const isFloat = input?.type === 'float32';
  const outElements = op.outputs.reduce((n, i) => n + (graph.tensors[i] ? tensorElements(graph.tensors[i]!) : 0), 0);
  switch (op.op) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D':
      return isFloat
        ? p.macs * REFERENCE_CYCLES_PER_MAC * FLOAT_CONV_FACTOR + 15 * outElements
        : p.macs * REFERENCE_CYCLES_PER_MAC + REQUANT_CYCLES * outElements;
    case 'FULLY_CONNECTED':
      return isFloat ? p.macs * REFERENCE_FLOAT.FULLY_CONNECTED! : p.macs * REFERENCE_INT8.FULLY_CONNECTED! + REQUANT_CYCLES * outElements;
  }
  if (p.kind === 'none') return COPY_CYCLES_PER_BYTE * p.bytesWritten;
  const table = isFloat ? REFERENCE_FLOAT : REFERENCE_INT8;
  const perUnit = table[op.op];
  if (perUnit !== undefined) return perUnit * p.macs;
  if (p.kind === 'ops') return UNKNOWN_CYCLES_PER_ELEMENT * p.macs;
  return UNKNOWN_CYCLES_PER_ELEMENT * outElements + COPY_CYCLES_PER_BYTE * p.bytesWritten;
}

function tensorElements(t: Tensor): number {
  return t.shape.reduce((n, d) => n * Math.max(0, d), 1);
}

/** Cycles of each operator and of one inference under `ctx` (deterministic: no noise). */
export function modelCost(model: Model, profile: ModelProfile, ctx: CostContext): ModelCost {
  const graph = model.subgraphs[0];
  if (!graph) return { ops: [], cycles: INVOKE_CYCLES };
  const arenaStall = stallNs(ctx.arenaPlacement, ctx.psramMode) * ctx.cpuMhz / 1000;
  const modelStall = stallNs(ctx.modelPlacement, ctx.psramMode) * ctx.cpuMhz / 1000;
  const slowdown = ctx.kernelBackend === 'esp-nn' ? ESP_NN_RELEASE_SLOWDOWN[ctx.espNnVersion] ?? {} : {};
  const ops = profile.operators.map((p): OpCost => {
    const op = graph.operators[p.index]!;
    let compute = referenceCycles(p, op, graph);
    let kernel: KernelBackend = 'reference';
    if (ctx.kernelBackend === 'esp-nn') {
      const s = espNnSpeedup(op, graph);
      if (s !== null) {
        compute = (compute / (s * ESP_NN_ANSI_GAIN)) * (slowdown[op.op] ?? 1);
        kernel = 'esp-nn';
      }
    }
    // Every tensor byte crosses memory once (the 32 KB data cache absorbs the re-reads of a window).
    let constBytes = 0;
    let arenaBytes = 0;
    for (const i of op.inputs) {
      const t = i >= 0 ? graph.tensors[i] : undefined;
      if (!t) continue;
      if (isConstant(model, t)) constBytes += tensorByteSize(t);
      else arenaBytes += tensorByteSize(t);
    }
    for (const i of op.outputs) {
      const t = graph.tensors[i];
      if (t) arenaBytes += tensorByteSize(t);
    }
    const memory = arenaBytes * arenaStall + constBytes * modelStall;
    const computeCycles = Math.round(compute + DISPATCH_CYCLES);
    const memoryCycles = Math.round(memory);
    return { index: p.index, op: p.op, kernel, computeCycles, memoryCycles, cycles: computeCycles + memoryCycles };
  });
  return { ops, cycles: INVOKE_CYCLES + ops.reduce((n, o) => n + o.cycles, 0) };
}

// ------------------------------------------------------------------------------------ noise

export interface NoiseOptions {
  /** The board's seed (rigs.json `simulated.seed`): the same seed gives the same sequence. */
  seed: number;
  /** Relative standard deviation of one inference (default 0.15 %: cache and bus arbitration). */
  jitter?: number;
  /** Interrupts landing in an inference, per second of inference (default 0.5). */
  spikesPerSecond?: number;
  /** Cost of one interrupt in microseconds: uniform in [min, max] (default 20..200). */
  spikeUs?: [number, number];
  /** Relative standard deviation of the per-board offset (default 0.5 %, clipped to 3 sd). */
  boardSpread?: number;
  /**
   * Seed of the per-inference stream (jitter, interrupts); default: derived from `seed`. The same
   * board (same `seed`, same board factor) on another night draws another stream with this.
   */
  streamSeed?: number;
}

/**
 * Run-to-run variation of a simulated board: a fixed per-board factor (boards differ slightly,
 * like real silicon, flash and PSRAM parts), small multiplicative jitter per inference, rare
 * interrupt spikes, and a cold-cache first inference after each (re)allocation. Seeded.
 */
export class LatencyNoise {
  readonly boardFactor: number;
  private readonly rng: Rng;
  private readonly jitter: number;
  private readonly spikesPerSecond: number;
  private readonly spikeUs: [number, number];

  constructor(options: NoiseOptions) {
    this.jitter = options.jitter ?? 0.0015;
    this.spikesPerSecond = options.spikesPerSecond ?? 0.5;
    this.spikeUs = options.spikeUs ?? [20, 200];
    const spread = options.boardSpread ?? 0.005;
    // The board factor comes from its own stream so it does not depend on how much noise was drawn.
    const boardRng = createRng(hashSeed(options.seed, 0x5eed));
    const z = Math.max(-3, Math.min(3, normalVariate(boardRng)));
    this.boardFactor = 1 + spread * z;
    this.rng = createRng(hashSeed(options.streamSeed ?? options.seed, 0x1a7e));
  }

  /**
   * The cycles one inference takes: `cycles` from the cost model, `sinceAllocate` = inferences run
   * since the arena was allocated (0 = the first, with cold caches).
   */
  inference(cycles: number, cpuMhz: number, sinceAllocate: number): number {
    let c = cycles * this.boardFactor * coldCacheFactor(sinceAllocate);
    c *= 1 + this.jitter * normalVariate(this.rng);
    const seconds = c / (cpuMhz * 1e6);
    // Poisson number of interrupts: inversion of the cumulative distribution (small means).
    const mean = this.spikesPerSecond * seconds;
    let k = 0;
    let p = Math.exp(-mean);
    let cum = p;
    const u = this.rng.next();
    while (u > cum && k < 1000) {
      k++;
      p *= mean / k;
      cum += p;
    }
    for (let i = 0; i < k; i++) {
      const us = this.spikeUs[0] + (this.spikeUs[1] - this.spikeUs[0]) * this.rng.next();
      c += us * cpuMhz;
    }
    return Math.max(1, Math.round(c));
  }

  /** Per-operator cycles of a profiled inference: the same jitter, no interrupt spikes. */
  operator(cycles: number): number {
    return Math.max(1, Math.round(cycles * this.boardFactor * (1 + this.jitter * normalVariate(this.rng))));
  }
}

/**
 * The first inferences after AllocateTensors() run with cold instruction and data caches (flash-
 * mapped code and weights): +6 % on the first, fading by a factor 0.35 per inference. This is what
 * a benchmark's warm-up exists for.
 */
export function coldCacheFactor(sinceAllocate: number): number {
  return 1 + 0.06 * Math.pow(0.35, Math.max(0, sinceAllocate));
}

function hashSeed(seed: number, salt: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ salt) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
