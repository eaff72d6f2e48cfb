/**
 * What `hil model inspect` reports about a model: I/O tensors, the operator table with shapes and
 * MACs, totals, the TFLM arena estimate (32-bit first, the ESP32-S3's size) and the operators the
 * host interpreter cannot run. `inspectModel` builds the data (the `--json` output); the CLI
 * (harness/cli/model.ts) renders it for a terminal.
 */
import { unsupportedOperators } from './interpreter.js';
import { operatorName, type Model, type Quantization, type Tensor } from './model.js';
import { planArena } from './planner.js';
import { profileModel, type ModelProfile } from './profile.js';

export interface TensorReport {
  index: number;
  name: string;
  type: string;
  shape: number[];
  quantization: Quantization | null;
}

export interface ModelReport {
  file: string;
  bytes: number;
  schemaVersion: number;
  description: string;
  inputs: TensorReport[];
  outputs: TensorReport[];
  operators: (ModelProfile['operators'][number] & { name: string })[];
  totals: ModelProfile['totals'];
  unprofiled: ModelProfile['unprofiled'];
  arena: {
    /** `arena_used_bytes()` on a 32-bit build (i386 struct layout, as TFLM's measured numbers). */
    bytes32: number;
    /** The same with the ESP32-S3's Xtensa struct layout. */
    bytesEsp32s3: number;
    bytes64: number;
    /** The 32-bit plan split into the activation plan (head) and persistent structs (tail). */
    nonPersistentBytes: number;
    persistentBytes: number;
    estimatedOperators: { index: number; op: string }[];
    notes: string[];
  };
  /** Operators the host interpreter cannot run, by operator index. */
  unsupportedOperators: { index: number; op: string }[];
}

function tensorReport(t: Tensor): TensorReport {
  return { index: t.index, name: t.name, type: t.type, shape: [...t.shape], quantization: t.quantization };
}

export function inspectModel(model: Model, file: { path: string; bytes: number }): ModelReport {
  const sg = model.subgraphs[0];
  const profile = profileModel(model);
  const plan32 = planArena(model, { pointerSize: 4 });
  return {
    file: file.path,
    bytes: file.bytes,
    schemaVersion: model.version,
    description: model.description,
    inputs: sg.inputs.map((i) => tensorReport(sg.tensors[i])),
    outputs: sg.outputs.map((i) => tensorReport(sg.tensors[i])),
    operators: profile.operators.map((p) => ({ ...p, name: operatorName(model, sg.operators[p.index]) })),
    totals: profile.totals,
    unprofiled: profile.unprofiled.map((u) => ({ index: u.index, op: operatorName(model, sg.operators[u.index]) })),
    arena: {
      bytes32: plan32.totalBytes,
      bytesEsp32s3: planArena(model, { abi: 'xtensa' }).totalBytes,
      bytes64: planArena(model, { pointerSize: 8 }).totalBytes,
      nonPersistentBytes: plan32.nonPersistentBytes,
      persistentBytes: plan32.persistentBytes,
      estimatedOperators: plan32.estimatedOperators,
      notes: plan32.notes,
    },
    unsupportedOperators: unsupportedOperators(model),
  };
}
