/**
 * A Keras-style layers model as plain data: the topology JSON that tfjs `model.toJSON()` and
 * Keras `model.to_json()` write (`class_name` + `config.layers[]` with `inbound_nodes`), and the
 * weights of each layer by their Keras names (`kernel`, `bias`, `depthwise_kernel`, `gamma`, ...).
 * The converter needs nothing else, so it does not depend on tfjs at run time.
 */
export interface WeightArray {
  shape: number[];
  data: Float32Array;
}

export interface KerasModelSpec {
  /** `model.toJSON(null, false)` (tfjs) or `json.loads(model.to_json())` (Keras). */
  topology: unknown;
  /** layer name -> weight name (the part after the last '/') -> values. */
  weights: Record<string, Record<string, WeightArray>>;
}

/** One layer as the converter sees it. */
export interface KerasLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers whose outputs this layer reads, in order. */
  inbound: string[];
}
