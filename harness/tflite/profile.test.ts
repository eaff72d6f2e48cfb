import { describe, expect, it } from 'vitest';
import { hasShared, sharedModelPath } from '../../test/shared.js';
import { GraphBuilder } from './builder.js';
import { tinyConvInt8 } from './example-models.js';
import { profileModel } from './profile.js';
import { readModelFile } from './reader.js';

describe('profileModel', () => {
  it('counts the tiny int8 conv net by hand', () => {
    const p = profileModel(tinyConvInt8());
    expect(p.operators.map((o) => [o.op, o.kind, o.macs, o.bytesRead, o.bytesWritten, o.paramBytes])).toEqual([
      // out 8x8x4, filter 4x3x3x1: 256 x 9 x 1; reads input 64 + weights 36 + bias 16, writes 256.
      ['CONV_2D', 'macs', 2304, 116, 256, 52],
      // out 4x4x4 x 3x3 window; reads 256 + 36 + 16, writes 64.
      ['DEPTHWISE_CONV_2D', 'macs', 576, 308, 64, 52],
      // out 2x2x4 x 2x2 window.
      ['AVERAGE_POOL_2D', 'ops', 64, 64, 16, 0],
      // no compute; reads the data and the int32[2] shape constant.
      ['RESHAPE', 'none', 0, 24, 16, 8],
      // out 3 x 16 inputs; reads 16 + 48 + 12.
      ['FULLY_CONNECTED', 'macs', 48, 76, 3, 60],
      ['SOFTMAX', 'ops', 3, 3, 3, 0],
    ]);
    expect(p.operators[0].inputShapes).toEqual([[1, 8, 8, 1], [4, 3, 3, 1], [4]]);
    expect(p.operators[0].outputShapes).toEqual([[1, 8, 8, 4]]);
    expect(p.totals).toEqual({ macs: 2928, ops: 67, bytesRead: 591, bytesWritten: 358, paramBytes: 172 });
    expect(p.unprofiled).toEqual([]);
  });

  it('leaves out an omitted bias, counts shared constants once, and lists ops without a rule', () => {
    const g = new GraphBuilder();
    const x = g.addTensor({ type: 'float32', shape: [2, 3] });
    const w = g.addConstant('float32', [3, 3], Array(9).fill(0.5));
    const h = g.addTensor({ type: 'float32', shape: [2, 3] });
    const y = g.addTensor({ type: 'float32', shape: [2, 3] });
    const z = g.addTensor({ type: 'float32', shape: [2, 3] });
    g.addOperator('FULLY_CONNECTED', [x, w, -1], [h]);
    g.addOperator('FULLY_CONNECTED', [h, w, -1], [y]);
    g.addOperator('CUMSUM', [y], [z]);
    const p = profileModel(g.setInputs([x]).setOutputs([z]).build());
    expect(p.operators[0]).toMatchObject({ macs: 18, inputShapes: [[2, 3], [3, 3]], paramBytes: 36 });
    expect(p.totals.paramBytes).toBe(36);
    expect(p.totals.macs).toBe(36);
    expect(p.unprofiled).toEqual([{ index: 2, op: 'CUMSUM' }]);
  });
});

describe.runIf(hasShared)('profileModel on person_detect (needs ../shared)', () => {
  it('counts 7,157,888 MACs, as MobileNetV1 x0.25 on a 96x96x1 input does', () => {
    // MobileNet v1 (Howard et al. 2017, Table 1) at width 0.25 and 96x96 grey input, by hand:
    //   conv 3x3/2 1->8 at 48x48: 165,888
    //   dw/pw pairs: 48x48 8->16: 165,888 + 294,912; 24x24 16->32 (dw stride 2): 82,944 + 294,912;
    //   24x24 32->32: 165,888 + 589,824; 12x12 32->64: 41,472 + 294,912; 12x12 64->64: 82,944 + 589,824;
    //   6x6 64->128: 20,736 + 294,912; 5 x 6x6 128->128: 5 x (41,472 + 589,824);
    //   3x3 128->256: 10,368 + 294,912; 3x3 256->256: 20,736 + 589,824
    //   logits 1x1 conv 256->2: 512.   Sum: 7,157,888.
    const p = profileModel(readModelFile(sharedModelPath('tflite-micro/person_detect.tflite')));
    expect(p.totals.macs).toBe(7_157_888);
    // The 3x3 average pool over 256 channels and the 2-way softmax.
    expect(p.totals.ops).toBe(2304 + 2);
    // Weights, biases and the reshape's shape constant: every constant tensor in the file.
    expect(p.totals.paramBytes).toBe(readModelFile(sharedModelPath('tflite-micro/person_detect.tflite')).buffers.reduce((n, b) => n + b.length, 0));
    expect(p.unprofiled).toEqual([]);
  });
});
