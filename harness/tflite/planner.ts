/**
 * Arena planner: the tensor-arena bytes TFLite Micro needs for a model, i.e. what
 * `MicroInterpreter::arena_used_bytes()` returns after `AllocateTensors()`, for a 32-bit target
 * (the ESP32-S3) or a 64-bit host. It replays what TFLM (tensorflow/tflite-micro @ 90b983c2) does,
 * in its order, because the persistent section's alignment padding depends on that order:
 *
 * - persistent section (the arena's tail, growing down; micro_allocator.cc, micro_interpreter.cc):
 *   the allocator objects, one TfLiteEvalTensor per tensor, one NodeAndRegistration per operator,
 *   each operator's builtin params, each kernel's Init op data, each kernel's Prepare arrays,
 *   scratch buffer handles, variable tensors, then the TfLiteTensor structs (with quantization)
 *   of the model's inputs and outputs;
 * - non-persistent section (the head): the greedy memory plan of every activation tensor and
 *   scratch buffer, each rounded up to 16 bytes (./arena/greedy.ts).
 *
 * Struct sizes come from their C declarations (./arena/tflm-structs.ts) laid out for the pointer
 * size; per-kernel allocations from ./arena/op-allocations.ts. PLANNER.md explains the method and
 * compares the result with TFLM's measured numbers (FACTS.md). Assumes, like TFLM's examples, an
 * arena whose start and end are 16-byte aligned.
 */
import { abiFor, alignUp, layoutOf, type AbiFamily, type CType, type PointerSize } from './arena/abi.js';
import { planGreedy, type PlannerBuffer } from './arena/greedy.js';
import { OP_ALLOCATIONS } from './arena/op-allocations.js';
import * as S from './arena/tflm-structs.js';
import { elementSize, operatorName, tensorByteSize, type Model, type Tensor } from './model.js';

/** `MicroArenaBufferAlignment()` (micro_arena_constants.h). */
export const ARENA_ALIGNMENT = 16;

/**
 * What an operator without an entry in OP_ALLOCATIONS is charged: builtin params and Init op data
 * at least as large as any kernel in the table allocates (the largest are 40 and 80 bytes).
 * Scratch buffers and Prepare arrays of such ops are unknown: see `notes`.
 */
export const UNKNOWN_OP_PARAMS_BYTES = 64;
export const UNKNOWN_OP_DATA_BYTES = 128;

export interface ArenaTensor {
  index: number;
  offset: number;
  /** Bytes the planner reserves (the tensor's bytes rounded up to 16). */
  size: number;
  firstUse: number;
  lastUse: number;
}

export interface ArenaScratchBuffer {
  operator: number;
  offset: number;
  size: number;
}

export interface ArenaPlan {
  pointerSize: PointerSize;
  abi: AbiFamily;
  /** `arena_used_bytes()`: persistent + non-persistent. */
  totalBytes: number;
  /** The head: the greedy plan of activations and scratch buffers. */
  nonPersistentBytes: number;
  /** The tail: structs, op data, variables, I/O tensors, with alignment padding. */
  persistentBytes: number;
  /** Activation tensors placed by the memory planner, in tensor index order. */
  tensors: ArenaTensor[];
  scratchBuffers: ArenaScratchBuffer[];
  /** The persistent allocations in TFLM's order (bytes include the alignment padding each caused). */
  persistent: { what: string; bytes: number }[];
  /** Operators sized with the UNKNOWN_OP_* margin instead of their kernel's real allocations. */
  estimatedOperators: { index: number; op: string }[];
  notes: string[];
}

/** SingleArenaBufferAllocator's tail: each allocation moves it down by its size, then down to its alignment. */
class Tail {
  used = 0;
  readonly log: { what: string; bytes: number }[] = [];

  alloc(what: string, size: number, align: number): void {
    const before = this.used;
    this.used = alignUp(this.used + size, align); // the tail address is 16-aligned, so "down" is "up" here
    this.log.push({ what, bytes: this.used - before });
  }
}

/** Offsets from the `OfflineMemoryAllocation` metadata (micro_allocation_info.cc): [version, subgraph, count, offsets...]. */
function offlineOffsets(model: Model, tensorCount: number): number[] | null {
  const entry = model.metadata.find((m) => m.name === 'OfflineMemoryAllocation');
  const data = entry && model.buffers[entry.buffer];
  if (!data || data.length < 12) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(8, true);
  if (count !== tensorCount || data.length < 12 + 4 * count) return null;
  return Array.from({ length: count }, (_, i) => view.getInt32(12 + 4 * i, true));
}

export interface PlanArenaOptions {
  /** 4 (default): a 32-bit target such as the ESP32-S3; 8: a 64-bit host. */
  pointerSize?: PointerSize;
  /**
   * Struct layout rules: 'host' (default; i386 for 32 bits, as the 32-bit TFLM build that measured
   * FACTS.md's numbers) or 'xtensa' (the ESP32-S3 compiler: doubles aligned to 8, which makes the
   * QUANTIZE / DEQUANTIZE op data 8 bytes larger).
   */
  abi?: AbiFamily;
}

export function planArena(model: Model, opts: PlanArenaOptions = {}): ArenaPlan {
  const pointerSize = opts.pointerSize ?? 4;
  if (opts.abi === 'xtensa' && pointerSize !== 4) throw new Error('planArena: the xtensa ABI has 4-byte pointers');
  const abi = abiFor(pointerSize, opts.abi);
  const L = (t: CType) => layoutOf(t, abi);
  const sg = model.subgraphs[0];
  const tail = new Tail();
  const notes: string[] = [];
  const struct = (what: string, t: CType, count = 1): void => {
    const l = L(t);
    tail.alloc(what, l.size * count, l.align);
  };

  // MicroAllocator::Create and StartModelAllocation.
  struct('SingleArenaBufferAllocator', S.SingleArenaBufferAllocator);
  struct('GreedyMemoryPlanner', S.GreedyMemoryPlanner);
  struct('MicroAllocator', S.MicroAllocator);
  struct('MicroBuiltinDataAllocator', S.MicroBuiltinDataAllocator);
  struct('SubgraphAllocations', S.SubgraphAllocations);
  struct(`TfLiteEvalTensor x ${sg.tensors.length}`, S.TfLiteEvalTensor, sg.tensors.length);
  struct(`NodeAndRegistration x ${sg.operators.length}`, S.NodeAndRegistration, sg.operators.length);

  const estimatedOperators = sg.operators
    .filter((op) => OP_ALLOCATIONS[op.op] === undefined)
    .map((op) => ({ index: op.index, op: operatorName(model, op) }));

  // PrepareNodeAndRegistrationDataFromFlatbuffer: builtin params, all operators first.
  for (const op of sg.operators) {
    const known = OP_ALLOCATIONS[op.op];
    if (!known) tail.alloc(`operator ${op.index} ${op.op} params (margin)`, UNKNOWN_OP_PARAMS_BYTES, 8);
    else if (known.params) struct(`operator ${op.index} ${op.op} params`, known.params);
  }
  // InitSubgraphs: each kernel's op data (AllocatePersistentBuffer: 16-byte aligned).
  for (const op of sg.operators) {
    const known = OP_ALLOCATIONS[op.op];
    if (!known) tail.alloc(`operator ${op.index} ${op.op} op data (margin)`, UNKNOWN_OP_DATA_BYTES, ARENA_ALIGNMENT);
    else if (known.opData) tail.alloc(`operator ${op.index} ${op.op} op data`, L(known.opData).size, ARENA_ALIGNMENT);
  }
  // PrepareSubgraphs: persistent arrays and scratch buffer requests.
  const scratch: { operator: number; bytes: number }[] = [];
  for (const op of sg.operators) {
    const prepared = OP_ALLOCATIONS[op.op]?.prepare?.(op, sg);
    if (!prepared) continue;
    for (const bytes of prepared.persistent) tail.alloc(`operator ${op.index} ${op.op} prepare`, bytes, ARENA_ALIGNMENT);
    for (const bytes of prepared.scratch) scratch.push({ operator: op.index, bytes });
  }

  // FinishModelAllocation: scratch buffer handles, then variables (CommitStaticMemoryPlan).
  if (scratch.length > 0) struct(`ScratchBufferHandle x ${scratch.length}`, S.ScratchBufferHandle, scratch.length);
  const offline = offlineOffsets(model, sg.tensors.length);
  for (const t of sg.tensors) {
    if (t.isVariable && (offline === null || offline[t.index] === -1)) {
      tail.alloc(`variable tensor ${t.index}`, tensorByteSize(t), ARENA_ALIGNMENT);
    }
  }

  // The memory plan: lifetimes as AllocationInfoBuilder::MarkAllocationLifetimes marks them.
  const first = sg.tensors.map(() => -1);
  const last = sg.tensors.map(() => -1);
  const create = (i: number, scope: number): void => { if (first[i] === -1) first[i] = scope; };
  for (const i of sg.inputs) { create(i, 0); last[i] = 0; }
  sg.operators.forEach((op, k) => {
    const scope = k + 1;
    for (const i of op.outputs) create(i, scope);
    for (const i of op.inputs) if (i >= 0) last[i] = scope;
    for (const i of op.outputs) last[i] = scope;
  });
  const end = sg.operators.length;
  for (const i of sg.outputs) { create(i, end); last[i] = end; }

  const planned: { tensor?: Tensor; operator?: number; buffer: PlannerBuffer }[] = [];
  for (const t of sg.tensors) {
    const bytes = tensorByteSize(t);
    const constant = (model.buffers[t.buffer]?.length ?? 0) > 0;
    const offlineOffset = offline?.[t.index] ?? -1;
    const needs = (!constant && !t.isVariable && bytes !== 0) || (t.isVariable && offlineOffset !== -1);
    if (!needs) continue;
    const buffer: PlannerBuffer = { size: alignUp(bytes, ARENA_ALIGNMENT), firstUse: first[t.index], lastUse: last[t.index] };
    if (offlineOffset !== -1) buffer.offlineOffset = offlineOffset;
    planned.push({ tensor: t, buffer });
  }
  for (const s of scratch) {
    planned.push({ operator: s.operator, buffer: { size: alignUp(s.bytes, ARENA_ALIGNMENT), firstUse: s.operator + 1, lastUse: s.operator + 1 } });
  }
  const plan = planGreedy(planned.map((p) => p.buffer));

  // MicroInterpreter::AllocateTensors: TfLiteTensor structs for the inputs, then the outputs.
  for (const [what, list] of [['input', sg.inputs], ['output', sg.outputs]] as const) {
    tail.alloc(`${what} tensor pointers`, pointerSize * list.length, ARENA_ALIGNMENT);
    for (const i of list) {
      struct(`${what} TfLiteTensor ${i}`, S.TfLiteTensor);
      const q = sg.tensors[i].quantization;
      if (q && q.scale.length > 0 && q.zeroPoint.length > 0) {
        struct(`${what} ${i} TfLiteAffineQuantization`, S.TfLiteAffineQuantization);
        tail.alloc(`${what} ${i} zero points`, S.intArrayBytes(q.scale.length), 4);
      }
    }
  }

  if (estimatedOperators.length > 0) {
    notes.push(
      `${estimatedOperators.map((o) => `${o.op} (operator ${o.index})`).join(', ')}: no TFLM allocation model; charged ` +
      `${UNKNOWN_OP_PARAMS_BYTES} + ${UNKNOWN_OP_DATA_BYTES} bytes each, their Prepare arrays and scratch buffers are not counted`);
  }
  if (offline) notes.push('tensor offsets from the model\'s OfflineMemoryAllocation metadata (offline plan) are used as is');
  const strings = sg.tensors.filter((t) => elementSize(t.type) === null && t.type !== 'int4');
  if (strings.length > 0) notes.push(`tensors of types TFLM cannot size (${[...new Set(strings.map((t) => t.type))].join(', ')}) counted as 1 byte per element`);

  const tensors = planned.flatMap((p, k) => (p.tensor
    ? [{ index: p.tensor.index, offset: plan.offsets[k], size: p.buffer.size, firstUse: p.buffer.firstUse, lastUse: p.buffer.lastUse }]
    : []));
  const scratchBuffers = planned.flatMap((p, k) => (p.operator !== undefined
    ? [{ operator: p.operator, offset: plan.offsets[k], size: p.buffer.size }]
    : []));
  return {
    pointerSize,
    abi: opts.abi ?? 'host',
    totalBytes: tail.used + plan.size,
    nonPersistentBytes: plan.size,
    persistentBytes: tail.used,
    tensors,
    scratchBuffers,
    persistent: tail.log,
    estimatedOperators,
    notes,
  };
}
