import { describe, expect, it } from 'vitest';
import { hasShared, sharedModelPath } from '../../test/shared.js';
import { planGreedy } from './arena/greedy.js';
import { GraphBuilder } from './builder.js';
import { planArena } from './planner.js';
import { readModelFile } from './reader.js';

describe('planGreedy (TFLM GreedyMemoryPlanner)', () => {
  it('places the largest first and fills gaps between buffers alive at the same time', () => {
    // hello_world_float's activations: input 16 B [0,1], two 64 B layers [1,2] and [2,3], output 16 B [3,3].
    const plan = planGreedy([
      { size: 16, firstUse: 0, lastUse: 1 },
      { size: 64, firstUse: 1, lastUse: 2 },
      { size: 64, firstUse: 2, lastUse: 3 },
      { size: 16, firstUse: 3, lastUse: 3 },
    ]);
    // Equal sizes: the later-added 64 B buffer is placed first (TFLM fills its sort array from the end).
    expect(plan.offsets).toEqual([0, 64, 0, 64]);
    expect(plan.size).toBe(128);
  });

  it('keeps offline offsets and plans the rest around them', () => {
    const plan = planGreedy([
      { size: 32, firstUse: 0, lastUse: 2, offlineOffset: 16 },
      { size: 16, firstUse: 1, lastUse: 1 },
      { size: 48, firstUse: 0, lastUse: 0 },
    ]);
    expect(plan.offsets).toEqual([16, 0, 48]);
    expect(plan.size).toBe(96);
  });

  it('is empty for no buffers', () => {
    expect(planGreedy([])).toEqual({ offsets: [], size: 0 });
  });
});

describe('planArena on models the lab builds', () => {
  function floatAdd(op = 'ADD'): GraphBuilder {
    const g = new GraphBuilder();
    const a = g.addTensor({ type: 'float32', shape: [1, 4] });
    const b = g.addTensor({ type: 'float32', shape: [1, 4] });
    const y = g.addTensor({ type: 'float32', shape: [1, 4] });
    g.addOperator(op, [a, b], [y]);
    return g.setInputs([a, b]).setOutputs([y]);
  }

  it('sizes one float ADD as worked out by hand for a 32-bit target', () => {
    const plan = planArena(floatAdd().build(), { pointerSize: 4 });
    // Tail: allocators 36 + 44 + 36 + 8, SubgraphAllocations 8 = 132; 3 eval tensors x 12 = 168;
    // 1 NodeAndRegistration 32 = 200; TfLiteAddParams 8 = 208; OpDataAdd 60 at 16 = 272;
    // input pointers 8 at 16 = 288; 2 TfLiteTensor x 40 = 368; output pointer 4 at 16 = 384; + 40 = 424.
    expect(plan.persistentBytes).toBe(424);
    // Head: the three 16-byte tensors are alive together while the ADD runs.
    expect(plan.nonPersistentBytes).toBe(48);
    expect(plan.totalBytes).toBe(472);
    expect(plan.tensors.map((t) => [t.index, t.offset, t.size, t.firstUse, t.lastUse]))
      .toEqual([[0, 32, 16, 0, 1], [1, 16, 16, 0, 1], [2, 0, 16, 1, 1]]);
    expect(plan.estimatedOperators).toEqual([]);
    expect(plan.notes).toEqual([]);
  });

  it('charges an op without an allocation model a documented margin and says so', () => {
    const known = planArena(floatAdd('ADD').build());
    const unknown = planArena(floatAdd('SQUARED_DIFFERENCE').build());
    expect(unknown.estimatedOperators).toEqual([{ index: 0, op: 'SQUARED_DIFFERENCE' }]);
    expect(unknown.notes[0]).toMatch(/^SQUARED_DIFFERENCE \(operator 0\): no TFLM allocation model; charged 64 \+ 128 bytes each/);
    expect(unknown.totalBytes).toBeGreaterThan(known.totalBytes);
  });

  it('plans scratch buffers beside the activations (MEAN of an int8 tensor)', () => {
    const g = new GraphBuilder();
    const q = { scale: 0.1, zeroPoint: 0 };
    const x = g.addTensor({ type: 'int8', shape: [1, 4, 4, 8], quantization: q });
    const axes = g.addConstant('int32', [2], [1, 2]);
    const y = g.addTensor({ type: 'int8', shape: [1, 8], quantization: q });
    g.addOperator('MEAN', [x, axes], [y]);
    const plan = planArena(g.setInputs([x]).setOutputs([y]).build());
    // reduce_common.cc: accumulator (8 int32), input iterator (rank 4), resolved axes (2), each rounded to 16.
    expect(plan.scratchBuffers.map((s) => [s.operator, s.size])).toEqual([[0, 32], [0, 16], [0, 16]]);
    expect(plan.nonPersistentBytes).toBe(128 + 16 + 32 + 16 + 16);
  });
});

describe.runIf(hasShared)('planArena against TFLM arena_used_bytes() (needs ../shared)', () => {
  // FACTS.md: measured with TFLM's MicroInterpreter @ 90b983c2, reference kernels, 32-bit / 64-bit builds.
  const measured: [string, number, number][] = [
    ['person_detect', 82300, 85024],
    ['micro_speech_quantized', 6812, 7312],
    ['simple_add_model', 49628, 49936],
    ['keyword_scrambled', 13244, 14720],
    ['hello_world_int8', 716, 1184],
    ['hello_world_float', 776, 1216],
  ];
  it.each(measured)('%s: %i bytes (32-bit), %i bytes (64-bit)', (name, bytes32, bytes64) => {
    const model = readModelFile(sharedModelPath(`tflite-micro/${name}.tflite`));
    expect(planArena(model, { pointerSize: 4 }).totalBytes).toBe(bytes32);
    expect(planArena(model, { pointerSize: 8 }).totalBytes).toBe(bytes64);
  });

  it('on the ESP32-S3 ABI only the models with QUANTIZE op data need more (doubles aligned to 8)', () => {
    const extra = measured.map(([name]) => {
      const model = readModelFile(sharedModelPath(`tflite-micro/${name}.tflite`));
      return planArena(model, { abi: 'xtensa' }).totalBytes - planArena(model).totalBytes;
    });
    expect(extra).toEqual([0, 0, 0, 16, 0, 0]);
  });

  it('names the op it cannot size in person_detect_vela', () => {
    const plan = planArena(readModelFile(sharedModelPath('tflite-micro/person_detect_vela.tflite')));
    expect(plan.estimatedOperators).toEqual([{ index: 0, op: "CUSTOM 'ethos-u'" }]);
    expect(plan.notes.join('\n')).toMatch(/OfflineMemoryAllocation/);
  });
});
