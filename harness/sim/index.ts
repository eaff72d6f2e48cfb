/**
 * The simulated ESP32-S3 fleet: what the rest of the harness uses (README.md in this folder).
 */
export { startSimFleet, defaultSimRigs, type SimFleet, type SimFleetBoard, type SimFleetOptions } from './fleet.js';
export { SimBoard, macForSeed, type SimBoardOptions, type SimBoardState, type SimBoardEvents } from './board.js';
export { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
export { parseFaultSpecs, faultsFor, BoardFaults, type FaultSpec, type FaultEvent } from './faults.js';
export { modelCost, LatencyNoise, PUBLISHED_CONDITIONS, type CostContext, type ModelCost, type OpCost, type KernelBackend } from './cost-model.js';
export { SimFirmware, type FirmwareStats, type FrameSink } from './app/firmware.js';
export { parseVariant, DEFAULT_VARIANT, type SimVariant } from './app/variants.js';
export { SessionRecorder, RECORDING_FORMAT, RECORDING_VERSION, type SessionRecording } from './app/recorder.js';
export { simulatedImages, installSimulatedFirmware } from './app/firmware-image.js';
