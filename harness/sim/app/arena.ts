/**
 * The tensor-arena bytes a simulated board's `AllocateTensors()` needs: the arena planner's exact
 * TFLM figure for a 32-bit target (harness/tflite/planner.ts, FACTS.md), plus, on an ESP-NN build,
 * the scratch buffers ESP-NN's S3 conv and depthwise kernels request in Prepare (FACTS.md: "ESP-NN
 * kernels add their own scratch buffers on the board").
 *
 * Scratch sizes follow espressif/esp-nn v1.1.2 (the lab's default pin):
 * `esp_nn_get_conv_scratch_size_esp32s3` (src/convolution/esp_nn_conv_esp32s3.c) and
 * `esp_nn_get_depthwise_conv_scratch_size_esp32s3` (src/convolution/esp_nn_depthwise_conv_s8_esp32s3.c).
 * esp-tflite-micro's esp_nn kernels ask for them with RequestScratchBufferInArena, so they join the
 * greedy memory plan for the lifetime of their operator. The ANSI C build (reference) asks for none.
 * Approximations: the extra ScratchBufferHandle structs are charged 4 bytes each, and the plan is
 * rebuilt without TFLM's exact tie order among equal-sized buffers (the reference plan is exact).
 */
import type { Model, Operator, SubGraph } from '../../tflite/model.js';
import { planArena, type ArenaPlan } from '../../tflite/planner.js';
import { planGreedy, type PlannerBuffer } from '../../tflite/arena/greedy.js';
import type { KernelBackend } from '../cost-model.js';

export interface ArenaNeed {
  /** `arena_used_bytes()` after a successful `AllocateTensors()` on this build. */
  bytes: number;
  /** The planner's figure (TFLM reference kernels, 32-bit). */
  referenceBytes: number;
  /** ESP-NN scratch buffers requested, per operator. */
  espNnScratch: { operator: number; bytes: number }[];
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** TFLM's ComputePaddingHeightWidth for one dimension (padding.h): SAME pads floor(total / 2) before. */
function padBefore(padding: 'SAME' | 'VALID', stride: number, dilation: number, input: number, filter: number, output: number): number {
  if (padding === 'VALID') return 0;
  const effective = (filter - 1) * dilation + 1;
  return Math.max(0, Math.floor(((output - 1) * stride + effective - input) / 2));
}

/** Scratch bytes the ESP-NN S3 kernel of `op` requests (0 when it requests none or does not replace the op). */
export function espNnScratchBytes(op: Operator, graph: SubGraph): number {
  const input = graph.tensors[op.inputs[0] ?? -1];
  const filter = graph.tensors[op.inputs[1] ?? -1];
  const output = graph.tensors[op.outputs[0] ?? -1];
  if (!input || !filter || !output || input.type !== 'int8') return 0;
  const [, inH = 0, inW = 0, inC = 0] = input.shape;
  const [, outH = 0, outW = 0, outC = 0] = output.shape;
  if (op.op === 'CONV_2D' && op.options.kind === 'Conv2D') {
    const o = op.options.value;
    const [, fH = 0, fW = 0] = filter.shape;
    const padH = padBefore(o.padding, o.strideH, o.dilationH, inH, fH, outH);
    const padW = padBefore(o.padding, o.strideW, o.dilationW, inW, fW, outW);
    const alignBuf = 32;
    if (fW === 1 && fH === 1 && padW === 0 && padH === 0 && o.strideW === 1 && o.strideH === 1) {
      const channels8 = (inC + 7) & ~7;
      const transpose = inW * inH < 8 ? 0 : 2 * (8 * channels8);
      const inputScratch = inC % 8 ? inW * inH * channels8 : 0;
      return inputScratch + channels8 * outC + transpose + alignBuf;
    }
    const channels16 = (inC + 15) & ~15;
    const inputScratch = padW === 0 && padH === 0 ? 0 : (inW + 2 * padW) * (inH + 2 * padH) * inC;
    return inputScratch + fW * fH * channels16 * outC + alignBuf + outC * 4;
  }
  if (op.op === 'DEPTHWISE_CONV_2D' && op.options.kind === 'DepthwiseConv2D') {
    const o = op.options.value;
    const [, fH = 0, fW = 0] = filter.shape;
    const mult = inC > 0 ? Math.max(1, Math.round(outC / inC)) : 1;
    const filterSize = fW * fH * inC * mult;
    if (mult === 1 && inC % 8 === 0 && fW === 3 && fH === 3) {
      if (inC % 16 === 0) {
        const padH = padBefore(o.padding, o.strideH, o.dilationH, inH, fH, outH);
        const padW = padBefore(o.padding, o.strideW, o.dilationW, inW, fW, outW);
        let padWidth = padW * 2;
        let padHeight = padH * 2;
        if (padW === 0 && padH === 0) {
          padWidth = outW * o.strideW + fW - 1 - inW;
          padHeight = outH * o.strideH + fH - 1 - inH;
        }
        if (padWidth || padHeight) return filterSize + (inW + padWidth) * (inH + padHeight) * inC + 16;
        return filterSize + 16;
      }
      return 2 * (filterSize + inW * inH * inC) + 16;
    }
    if (mult % 4 === 0) return 2 * (filterSize + inW * inH * inC) + 16;
    return 32;
  }
  return 0;
}

/** The arena `AllocateTensors()` needs on a build with `backend` kernels. */
export function arenaNeed(model: Model, backend: KernelBackend, plan: ArenaPlan = planArena(model, { pointerSize: 4 })): ArenaNeed {
  const graph = model.subgraphs[0];
  if (backend !== 'esp-nn' || !graph) return { bytes: plan.totalBytes, referenceBytes: plan.totalBytes, espNnScratch: [] };
  const espNnScratch = graph.operators
    .map((op) => ({ operator: op.index, bytes: espNnScratchBytes(op, graph) }))
    .filter((s) => s.bytes > 0);
  if (espNnScratch.length === 0) return { bytes: plan.totalBytes, referenceBytes: plan.totalBytes, espNnScratch };
  // Scratch of operator k lives at scope k + 1, like the planner's other per-operator buffers.
  const buffers: PlannerBuffer[] = [
    ...plan.tensors.map((t) => ({ size: t.size, firstUse: t.firstUse, lastUse: t.lastUse })),
    ...plan.scratchBuffers.map((s) => ({ size: s.size, firstUse: s.operator + 1, lastUse: s.operator + 1 })),
    ...espNnScratch.map((s) => ({ size: align16(s.bytes), firstUse: s.operator + 1, lastUse: s.operator + 1 })),
  ];
  const head = Math.max(plan.nonPersistentBytes, planGreedy(buffers).size);
  const handles = align16(4 * espNnScratch.length);
  return { bytes: plan.persistentBytes + handles + head, referenceBytes: plan.totalBytes, espNnScratch };
}
